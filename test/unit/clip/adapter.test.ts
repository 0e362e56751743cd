import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Adapter,
  type AdapterMeta,
  adapterOf,
  adapterOutputPath,
  applyConfiguredAdapter,
  reproject,
  resolveAdapterPath,
  withAdapter,
} from '../../../src/clip/adapter.ts';
import { cosine, l2normalize } from '../../../src/clip/types.ts';
import { ModelError } from '../../../src/errors.ts';
import { createRng } from '../../../src/linalg.ts';
import { silentLogger } from '../../../src/log.ts';
import { fakeEncoder as fake } from '../../helpers/fake-encoder.ts';

const D = 8;

function meta(over: Partial<AdapterMeta> = {}): AdapterMeta {
  return {
    model: 'openai/clip-vit-base-patch32',
    dims: D,
    libraryRows: 100,
    trainedAt: '2026-01-01T00:00:00.000Z',
    logitScale: 50,
    seed: 1,
    pairs: { train: 90, heldOut: 10 },
    epochs: 3,
    bestEpoch: 2,
    ...over,
  };
}

function randomDelta(seed: number, scale = 0.3): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: D * D }, () => rng.normal() * scale);
}

function unit(seed: number): Float32Array {
  const rng = createRng(seed);
  return l2normalize(Float32Array.from({ length: D }, () => rng.normal()));
}

const fakeEncoder = (over: { dims?: number } = {}) => fake({ dims: D, model: 'openai/clip-vit-base-patch32', ...over });

describe('Adapter', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'adapter-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is the identity when the deltas are zero, and always returns unit vectors', () => {
    const a = new Adapter(meta(), new Float32Array(D * D), randomDelta(1));
    const v = unit(5);
    expect([...a.applyText(v)].map((x) => Number(x.toFixed(6)))).toEqual([...v].map((x) => Number(x.toFixed(6))));
    const w = a.applyImage(v);
    expect(Math.hypot(...w)).toBeCloseTo(1, 5);
    expect(cosine(w, v)).toBeLessThan(0.999);
  });

  it('gives the same answer one at a time and batched', () => {
    const a = new Adapter(meta(), randomDelta(2), randomDelta(3));
    const vs = [1, 2, 3, 4, 5, 6].map(unit);
    const batched = a.applyImages(vs);
    vs.forEach((v, i) => {
      const one = a.applyImage(v);
      one.forEach((x, j) => {
        expect(batched[i][j]).toBeCloseTo(x, 5);
      });
    });
  });

  it('saves and loads with its model, width and library size', () => {
    const a = new Adapter(meta({ libraryRows: 1234 }), randomDelta(4), randomDelta(5));
    const path = join(dir, 'sub', 'adapter.json');
    a.save(path);
    const b = Adapter.load(path);
    expect(b.model).toBe('openai/clip-vit-base-patch32');
    expect(b.dims).toBe(D);
    expect(b.meta.libraryRows).toBe(1234);
    expect(b.id).toBe(a.id);
    expect([...b.applyText(unit(9))]).toEqual([...a.applyText(unit(9))]);
  });

  it('refuses files that are not adapters, with a message saying what was expected', () => {
    const p = join(dir, 'x.json');
    writeFileSync(p, '{"hello":1}');
    expect(() => Adapter.load(p)).toThrow(/not an adcreative adapter file/);
    writeFileSync(p, 'not json');
    expect(() => Adapter.load(p)).toThrow(/is not JSON/);
    const good = new Adapter(meta(), randomDelta(1), randomDelta(2)).toJSON();
    writeFileSync(p, JSON.stringify({ ...good, text: Buffer.alloc(12).toString('base64') }));
    expect(() => Adapter.load(p)).toThrow(/text weights have 3 values, expected 8×8 = 64/);
    expect(() => Adapter.load(join(dir, 'missing.json'))).toThrow(/cannot read the adapter file/);
  });

  it('suggests retraining once the library has grown by the configured share', () => {
    const a = new Adapter(meta({ libraryRows: 100 }), randomDelta(1), randomDelta(2));
    expect(a.needsRetraining(120, 0.25)).toBe(false);
    expect(a.needsRetraining(125, 0.25)).toBe(true);
  });

  it('re-projects stored embeddings from one adapter to another without the encoder', () => {
    const a = new Adapter(meta(), randomDelta(6), randomDelta(7));
    const b = new Adapter(meta(), randomDelta(8), randomDelta(9));
    const raw = unit(10);
    const underA = a.applyImage(raw);
    const moved = reproject(underA, 'image', a, b);
    const direct = b.applyImage(raw);
    moved.forEach((x, i) => {
      expect(x).toBeCloseTo(direct[i], 4);
    });
    const back = reproject(underA, 'image', a, null);
    back.forEach((x, i) => {
      expect(x).toBeCloseTo(raw[i], 4);
    });
    expect(reproject(raw, 'text', null, a)).toEqual(a.applyText(raw));
  });
});

describe('withAdapter', () => {
  it("passes the encoder's embeddings through the adapter on both sides", async () => {
    const base = fakeEncoder();
    const a = new Adapter(meta(), randomDelta(11), randomDelta(12));
    const enc = withAdapter(base, a);
    const [t] = await enc.embedTexts(['summer sale']);
    const [rawT] = await base.embedTexts(['summer sale']);
    expect([...t]).toEqual([...a.applyText(rawT)]);
    const img = new Uint8Array([1, 2, 3, 200, 100]);
    const [i] = await enc.embedImages([img]);
    expect([...i]).toEqual([...a.applyImage((await base.embedImages([img]))[0])]);
    expect(adapterOf(enc)).toBe(a);
    expect(adapterOf(base)).toBeNull();
    await enc.close();
    expect(base.closed).toBe(true);
  });

  it('refuses an adapter trained for another model', () => {
    const a = new Adapter(meta({ model: 'some/other-model' }), randomDelta(1), randomDelta(2));
    expect(() => withAdapter(fakeEncoder(), a)).toThrow(ModelError);
    expect(() => withAdapter(fakeEncoder(), a)).toThrow(
      /trained for some\/other-model \(8-d\) but the encoder is openai\/clip-vit-base-patch32/,
    );
    const wide = new Adapter(meta(), randomDelta(1), randomDelta(2));
    expect(() => withAdapter(fakeEncoder({ dims: 16 }), wide)).toThrow(/ADAPTER|8-d\) but the encoder is .*16-d/);
  });

  it('refuses an adapter trained on another text encoder (CLIP_TEXT_MODEL_DIR set or changed since), saying which', () => {
    const multilingual = 'sentence-transformers/clip-ViT-B-32-multilingual-v1';
    const textEncoder = () =>
      fake({ dims: D, model: 'openai/clip-vit-base-patch32', info: { textModel: multilingual, multilingualText: true } });
    // Trained on CLIP's own text tower (older files record nothing): its text side does not fit the multilingual space.
    const own = new Adapter(meta(), randomDelta(1), randomDelta(2));
    expect(() => withAdapter(textEncoder(), own)).toThrow(
      expect.objectContaining({
        code: 'ADAPTER_TEXT_MODEL_MISMATCH',
        message: expect.stringMatching(
          /trained on captions embedded by openai\/clip-vit-base-patch32's own text tower but the encoder embeds texts with sentence-transformers/,
        ),
      }),
    );
    // Trained with the multilingual encoder: fits it, and refuses CLIP's own text tower.
    const ml = new Adapter(meta({ textModel: multilingual }), randomDelta(1), randomDelta(2));
    expect(withAdapter(textEncoder(), ml).adapter.id).toBe(ml.id);
    expect(() => withAdapter(fakeEncoder(), ml)).toThrow(expect.objectContaining({ code: 'ADAPTER_TEXT_MODEL_MISMATCH' }));
    // The text encoder is kept in the file.
    expect(Adapter.parse(JSON.stringify(ml.toJSON())).meta.textModel).toBe(multilingual);
  });
});

describe('configured adapter (CLIP_ADAPTER)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'adapter-cfg-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('uses $DATA_DIR/adapter.json when present, a named path when set, nothing when off', async () => {
    const cfg = { dataDir: dir, clipAdapter: undefined as string | undefined };
    expect(resolveAdapterPath(cfg)).toBeNull();
    expect(adapterOf(applyConfiguredAdapter(cfg, fakeEncoder()))).toBeNull();
    expect(adapterOutputPath(cfg)).toBe(join(dir, 'adapter.json'));
    new Adapter(meta(), randomDelta(1), randomDelta(2)).save(join(dir, 'adapter.json'));
    expect(resolveAdapterPath(cfg)).toBe(join(dir, 'adapter.json'));
    expect(adapterOf(applyConfiguredAdapter(cfg, fakeEncoder()))).not.toBeNull();
    expect(resolveAdapterPath({ ...cfg, clipAdapter: 'off' })).toBeNull();
    expect(adapterOf(applyConfiguredAdapter({ ...cfg, clipAdapter: 'OFF' }, fakeEncoder()))).toBeNull();
    expect(() => applyConfiguredAdapter({ ...cfg, clipAdapter: join(dir, 'nope.json') }, fakeEncoder())).toThrow(
      /cannot read the adapter file .*nope\.json/,
    );
    const other = join(dir, 'other.json');
    new Adapter(meta({ model: 'another/model' }), randomDelta(1), randomDelta(2)).save(other);
    expect(() => applyConfiguredAdapter({ ...cfg, clipAdapter: other }, fakeEncoder())).toThrow(/trained for another\/model/);
  });

  it('follows the adapter file: a newly trained adapter is used from the next embedding on, without a restart', async () => {
    const cfg = { dataDir: dir, clipAdapter: undefined as string | undefined };
    const base = fakeEncoder();
    const enc = applyConfiguredAdapter(cfg, base, { logger: silentLogger });
    const [raw] = await base.embedTexts(['spring launch']);
    expect([...(await enc.embedTexts(['spring launch']))[0]]).toEqual([...raw]);
    const first = new Adapter(meta(), randomDelta(21), randomDelta(22));
    first.save(join(dir, 'adapter.json'));
    expect([...(await enc.embedTexts(['spring launch']))[0]]).toEqual([...first.applyText(raw)]);
    expect(adapterOf(enc)?.id).toBe(first.id);
    const second = new Adapter(meta(), randomDelta(23), randomDelta(24));
    second.save(join(dir, 'adapter.json'));
    expect([...(await enc.embedTexts(['spring launch']))[0]]).toEqual([...second.applyText(raw)]);
    // A broken file later on: the previous adapter stays in use (and it is logged).
    writeFileSync(join(dir, 'adapter.json'), '{"format":"adcreative-adapter","version":1');
    expect([...(await enc.embedTexts(['spring launch']))[0]]).toEqual([...second.applyText(raw)]);
  });
});
