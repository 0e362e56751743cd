import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import type { AddResult, Library, LibraryStats, NewCreative } from '../../../src/library/types.ts';
import {
  type BuildDemoLibrary,
  chooseModel,
  ensureLibrary,
  generationBanner,
  modelPresence,
  type SynthesizeModel,
  syntheticModelDir,
} from '../../../src/sandbox/bootstrap.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'adc-bootstrap-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeModel(at: string, synthetic: boolean): void {
  mkdirSync(join(at, 'onnx'), { recursive: true });
  writeFileSync(
    join(at, 'config.json'),
    JSON.stringify(synthetic ? { adcreative_synthetic: true, adcreative_arch: 'tiny' } : { model_type: 'clip' }),
  );
  writeFileSync(join(at, 'onnx', 'text_model.onnx'), 'x');
  writeFileSync(join(at, 'onnx', 'vision_model.onnx'), 'x');
}

function countingSynth(): SynthesizeModel & { calls: string[] } {
  const calls: string[] = [];
  const f: SynthesizeModel = async ({ dir: out }) => {
    calls.push(out);
    writeModel(out, true);
  };
  return Object.assign(f, { calls });
}

/** A library that holds rows in memory: enough for count and add. */
type MemoryLibrary = Pick<Library, 'count' | 'add' | 'stats'> & { rows: NewCreative[] };

function memoryLibrary(): MemoryLibrary {
  const rows: NewCreative[] = [];
  return {
    rows,
    count: async () => rows.length,
    stats: async () =>
      ({
        rows: rows.length,
        demoRows: rows.filter((r) => r.demo).length,
        winnerRows: rows.filter((r) => !r.demo && r.source?.startsWith('winner:')).length,
      }) as LibraryStats,
    add: async (items: NewCreative[]): Promise<AddResult> => {
      rows.push(...items);
      return { ingested: items.length, updated: 0, ids: items.map((_, i) => String(rows.length - items.length + i)), failed: [] };
    },
  };
}

const demo: BuildDemoLibrary<MemoryLibrary> = async (library, opts) => {
  const n = opts.count ?? 240;
  const items = Array.from({ length: n }, () => ({ image: new Uint8Array([1]), demo: true }));
  const r = await library.add(items);
  opts.onProgress?.(n, n);
  return r;
};

describe('model choice', () => {
  it('generates the tiny synthetic model under DATA_DIR when no model is configured, once', async () => {
    const cfg = loadConfig({ DATA_DIR: dir, CLIP_MODEL_DIR: join(dir, 'nowhere', 'clip-vit-base-patch32') });
    const synth = countingSynth();
    const first = await chooseModel(cfg, synth);
    expect(first.synthesized).toBe(true);
    expect(first.cfg.clipModelDir).toBe(syntheticModelDir(cfg));
    expect(first.cfg.clipModelDir.startsWith(dir)).toBe(true);
    expect(first.banner?.level).toBe('warn');
    expect(first.banner?.text).toMatch(/synthetic tiny model.*meaningless/);
    expect(first.banner?.command).toBe('npm run -s adcreative -- models fetch');
    // Never into the real model's folder.
    expect(existsSync(join(dir, 'nowhere'))).toBe(false);

    const second = await chooseModel(cfg, synth);
    expect(second.synthesized).toBe(false);
    expect(second.cfg.clipModelDir).toBe(first.cfg.clipModelDir);
    expect(synth.calls).toHaveLength(1);
  });

  it('keeps a real model without a banner', async () => {
    const real = join(dir, 'real');
    writeModel(real, false);
    const cfg = loadConfig({ DATA_DIR: dir, CLIP_MODEL_DIR: real });
    const synth = countingSynth();
    const c = await chooseModel(cfg, synth);
    expect(c.cfg.clipModelDir).toBe(real);
    expect(c.banner).toBeUndefined();
    expect(synth.calls).toHaveLength(0);
  });

  it('keeps a synthetic model someone configured, and says it is synthetic', async () => {
    const mine = join(dir, 'mine');
    writeModel(mine, true);
    const c = await chooseModel(loadConfig({ DATA_DIR: dir, CLIP_MODEL_DIR: mine }), countingSynth());
    expect(c.cfg.clipModelDir).toBe(mine);
    expect(c.banner?.text).toMatch(/synthetic model .* meaningless/);
  });

  it('needs no model with a remote encoder', async () => {
    const synth = countingSynth();
    const c = await chooseModel(loadConfig({ DATA_DIR: dir, CLIP_ENDPOINT: 'http://127.0.0.1:9/' }), synth);
    expect(c.banner).toBeUndefined();
    expect(synth.calls).toHaveLength(0);
  });

  it('does not count a folder without both towers as a model', () => {
    const half = join(dir, 'half');
    mkdirSync(join(half, 'onnx'), { recursive: true });
    writeFileSync(join(half, 'config.json'), '{}');
    writeFileSync(join(half, 'onnx', 'text_model.onnx'), 'x');
    expect(modelPresence(half).present).toBe(false);
    writeFileSync(join(half, 'onnx', 'vision_model.onnx'), 'x');
    expect(modelPresence(half)).toEqual({ present: true, synthetic: false });
    expect(modelPresence(half, 'int8').present).toBe(false);
  });
});

describe('library', () => {
  it('builds the demo library into an empty library once, and keeps saying it is the demo', async () => {
    const cfg = { dataDir: dir };
    const lib = memoryLibrary();
    const first = await ensureLibrary(cfg, lib, demo, { count: 12 });
    expect(first).toMatchObject({ built: true, count: 12 });
    expect(first.banner?.text).toMatch(/12 demo creatives/);
    expect(first.banner?.command).toMatch(/adcreative -- ingest/);
    const again = await ensureLibrary(cfg, lib, demo, { count: 12 });
    expect(again).toMatchObject({ built: false, count: 12 });
    expect(again.banner?.text).toMatch(/12 demo creatives/);
    expect(lib.rows).toHaveLength(12);
  });

  it('leaves a library with real creatives alone, without a banner', async () => {
    const lib = memoryLibrary();
    await lib.add([{ image: new Uint8Array([1]) }]);
    const r = await ensureLibrary({ dataDir: dir }, lib, demo);
    expect(r).toEqual({ built: false, count: 1, banner: undefined });
    expect(lib.rows).toHaveLength(1);
  });

  it('keeps the demo banner when only sandbox winners were added, naming them', async () => {
    const lib = memoryLibrary();
    await ensureLibrary({ dataDir: dir }, lib, demo, { count: 3 });
    await lib.add([{ image: new Uint8Array([3]), source: 'winner:r1' }]);
    expect((await ensureLibrary({ dataDir: dir }, lib, demo)).banner?.text).toBe(
      'Library: 3 demo creatives drawn by the project and 1 sandbox winner, not your ads',
    );
  });

  it('drops the demo banner once someone ingests their own ads', async () => {
    const lib = memoryLibrary();
    await ensureLibrary({ dataDir: dir }, lib, demo, { count: 3 });
    await lib.add([{ image: new Uint8Array([2]) }]);
    expect((await ensureLibrary({ dataDir: dir }, lib, demo)).banner).toBeUndefined();
  });
});

describe('generation', () => {
  it('says when the offline studio stands in for OpenAI, and how to use OpenAI', () => {
    expect(generationBanner({})?.command).toBe('OPENAI_API_KEY=sk-… npm start');
    expect(generationBanner({ openaiApiKey: 'sk-x', imageProvider: 'studio' })?.text).toMatch(/offline studio/);
    expect(generationBanner({ openaiApiKey: 'sk-x', imageProvider: 'auto' })).toBeUndefined();
  });
});
