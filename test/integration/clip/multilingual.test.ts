/**
 * The multilingual text path (CLIP_TEXT_MODEL_DIR) on the real ONNX Runtime: the synthetic
 * stand-in model written to a temp dir, run in its inference worker, tokenized by the WordPiece
 * tokenizer; a Chinese, German or Spanish brief finds the right past creative in a real LanceDB
 * library whose captions it embedded, the inspiration note says so, and the library records the
 * text encoder and refuses to mix it with another.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMultilingualTextEncoder, inspectTextModelDir, type TextEncoder, withTextEncoder } from '../../../src/clip/multilingual.ts';
import { SYNTH_MULTILINGUAL_NAME, synthesizeMultilingualText } from '../../../src/clip/synth/multilingual.ts';
import { cosine, type Encoder } from '../../../src/clip/types.ts';
import { LibraryError } from '../../../src/errors.ts';
import { inspire } from '../../../src/generate/inspire.ts';
import { connectLance } from '../../../src/library/connect.ts';
import { LanceLibrary } from '../../../src/library/lance-library.ts';
import { reembedLibrary } from '../../../src/library/reembed.ts';
import { META_TEXT_MODEL, TABLE } from '../../../src/library/schema.ts';
import { silentLogger } from '../../../src/log.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import { testImage } from '../../helpers/images.ts';

const DIMS = 512;
let root: string;
let modelDir: string;
let text: TextEncoder;
let encoder: Encoder;

const CREATIVES = [
  { headline: 'Summer running shoes sale', seed: 31 },
  { headline: 'Fresh coffee, free delivery', seed: 32 },
  { headline: 'Winter jackets for the family', seed: 33 },
  { headline: 'Water bottles for the beach', seed: 34 },
];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'adc-multilingual-'));
  modelDir = join(root, 'text');
  await synthesizeMultilingualText(modelDir);
  text = createMultilingualTextEncoder({ modelDir, device: 'cpu', threads: 1, logger: silentLogger });
  // Images by the fake CLIP (512-d), texts by the multilingual model.
  encoder = withTextEncoder(fakeEncoder({ dims: DIMS, model: 'test/fake-clip-512' }), text);
});
afterAll(async () => {
  await encoder?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

async function filledLibrary(uri: string, enc: Encoder): Promise<LanceLibrary> {
  const lib = await LanceLibrary.open({ uri, encoder: enc, settings: { weights: { image: 0.6, caption: 0.4, ctr: 0 }, optimizeEvery: 0 } });
  const images = await Promise.all(CREATIVES.map((c) => testImage(c.seed)));
  await lib.add(CREATIVES.map((c, i) => ({ image: images[i], headline: c.headline, caption: c.headline })));
  return lib;
}

describe('the synthetic multilingual text model', () => {
  it('has the interface of the real export and embeds translations of one brief together', async () => {
    expect(inspectTextModelDir(modelDir)).toMatchObject({ name: SYNTH_MULTILINGUAL_NAME, dims: 512, synthetic: true });
    const [zh, de, es, en, other] = await text.embedTexts([
      '夏季跑鞋大促销',
      'Sommerschlussverkauf: Laufschuhe',
      'Rebajas de verano en zapatillas para correr',
      'Summer sale on running shoes',
      'Fresh coffee, free delivery',
    ]);
    expect(zh).toHaveLength(512);
    for (const v of [zh, de, es]) {
      expect(cosine(v, en)).toBeGreaterThan(0.6);
      expect(cosine(v, en)).toBeGreaterThan(cosine(v, other) + 0.4);
    }
  });

  it("runs sentence-transformers' own layout (transformer ONNX, mean pooling and Dense here) to the same embeddings", async () => {
    const stDir = join(root, 'clip-ViT-B-32-multilingual-v1');
    await synthesizeMultilingualText(stDir, 1, 'sentence-transformers');
    expect(inspectTextModelDir(stDir)).toMatchObject({
      layout: 'sentence-transformers',
      name: 'sentence-transformers/clip-ViT-B-32-multilingual-v1',
      dims: 512,
    });
    const st = createMultilingualTextEncoder({ modelDir: stDir, device: 'cpu', threads: 1, logger: silentLogger });
    try {
      const texts = [
        '夏季跑鞋大促销',
        'Summer sale on running shoes',
        'Fresh coffee, free delivery, and a much longer text to pad the others',
      ];
      const [a, b] = await Promise.all([st.embedTexts(texts), text.embedTexts(texts)]);
      a.forEach((v, i) => {
        expect(cosine(v, b[i])).toBeGreaterThan(0.99999);
        expect(Math.hypot(...v)).toBeCloseTo(1, 5);
      });
    } finally {
      await st.close();
    }
  });

  it('refuses a directory without the model, naming what is missing', () => {
    expect(() => inspectTextModelDir(root)).toThrow(/incomplete: missing config.json, onnx\/text_model.onnx, tokenizer.json or vocab.txt/);
  });
});

describe('retrieval with the multilingual text encoder', () => {
  it('a Chinese, German or Spanish brief finds the running-shoes creative, and the note names the path', async () => {
    const lib = await filledLibrary(join(root, 'lib-a'), encoder);
    for (const brief of ['夏季跑鞋大促销', 'Laufschuhe für den Sommer', 'Zapatillas para correr en verano']) {
      const found = await inspire({ brief, k: 3, encoder, library: lib });
      expect(found.hits[0].headline, brief).toBe('Summer running shoes sale');
      expect(found.query).toMatchObject({
        kind: 'multilingual',
        text: brief,
        note: `multilingual text encoder (${SYNTH_MULTILINGUAL_NAME})`,
      });
    }
    const coffee = await inspire({ brief: '新鲜咖啡，免费送货', k: 1, encoder, library: lib });
    expect(coffee.hits[0].headline).toBe('Fresh coffee, free delivery');
    await lib.close();
  });

  it('finds a creative by its image alone when the image embedding lies where its English description does', async () => {
    // The real model is trained so a text in any language embeds near CLIP's embedding of the
    // matching image; here each image is pinned where the stand-in puts its English description.
    const clip = fakeEncoder({ dims: DIMS, model: 'test/fake-clip-512' });
    const enc = withTextEncoder(clip, text);
    const pictures = await Promise.all([41, 42, 43].map((s) => testImage(s)));
    const described = ['running shoes', 'coffee', 'winter jacket'];
    const at = await text.embedTexts(described);
    for (const [i, p] of pictures.entries()) clip.pinImage(p, at[i]);
    const lib = await LanceLibrary.open({
      uri: join(root, 'lib-images'),
      encoder: enc,
      settings: { weights: { image: 1, caption: 0, ctr: 0 }, optimizeEvery: 0 },
    });
    await lib.add(pictures.map((image, i) => ({ image, headline: `picture ${i}`, caption: '' })));
    for (const [brief, want] of [
      ['夏季跑鞋大促销', 'picture 0'],
      ['Frischer Kaffee', 'picture 1'],
      ['Chaquetas de invierno', 'picture 2'],
    ]) {
      const found = await inspire({ brief, k: 3, encoder: enc, library: lib });
      expect(found.hits[0].headline, brief).toBe(want);
      // Clearly ahead of the other pictures, not by a hair.
      expect(found.hits[0].scores.image - found.hits[1].scores.image, brief).toBeGreaterThan(0.2);
    }
    await lib.close();
  });

  it('records the text encoder in the table and refuses to mix it with another; re-embedding switches it', async () => {
    const uri = join(root, 'lib-b');
    const lib = await filledLibrary(uri, encoder);
    await lib.close();
    const db = await connectLance(uri);
    const table = await db.openTable(TABLE);
    expect((await table.schema()).metadata.get(META_TEXT_MODEL)).toBe(SYNTH_MULTILINGUAL_NAME);
    table.close();
    db.close();

    const english = fakeEncoder({ dims: DIMS, model: 'test/fake-clip-512' });
    const err = await LanceLibrary.open({ uri, encoder: english }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LibraryError);
    expect((err as LibraryError).code).toBe('LIBRARY_TEXT_MODEL_MISMATCH');
    expect((err as LibraryError).message).toMatch(
      new RegExp(`captions embedded by the text encoder ${SYNTH_MULTILINGUAL_NAME}, but texts are now embedded by test/fake-clip-512`),
    );

    const r = await reembedLibrary({ uri, encoder: english });
    expect(r.from).toBe(`test/fake-clip-512 (512-d), captions by ${SYNTH_MULTILINGUAL_NAME}`);
    expect(r.to).toBe('test/fake-clip-512 (512-d)');
    expect(r.rows).toBe(CREATIVES.length);
    const reopened = await LanceLibrary.open({ uri, encoder: english });
    expect(await reopened.count()).toBe(CREATIVES.length);
    await reopened.close();
  });

  it("opens a table from before the text encoder was recorded: its captions count as the CLIP model's own", async () => {
    const uri = join(root, 'lib-old');
    const english = fakeEncoder({ dims: DIMS, model: 'test/fake-clip-512' });
    const lib = await filledLibrary(uri, english);
    await lib.close();
    // Drop the key, as a table written before it existed lacks it.
    const db = await connectLance(uri);
    const table = await db.openTable(TABLE);
    const schema = await table.schema();
    const rows = await table.query().toArrow();
    table.close();
    const meta = new Map([...schema.metadata].filter(([k]) => k !== META_TEXT_MODEL));
    const Schema = schema.constructor as new (f: typeof schema.fields, m: Map<string, string>) => typeof schema;
    const old = await db.createEmptyTable(TABLE, new Schema(schema.fields, meta), { mode: 'overwrite' });
    await old.add(rows);
    expect((await old.schema()).metadata.has(META_TEXT_MODEL)).toBe(false);
    old.close();
    db.close();

    const reopened = await LanceLibrary.open({ uri, encoder: english });
    expect(await reopened.count()).toBe(CREATIVES.length);
    await reopened.close();
    const err = await LanceLibrary.open({ uri, encoder }).catch((e: unknown) => e);
    expect((err as LibraryError).code).toBe('LIBRARY_TEXT_MODEL_MISMATCH');
  });
});
