/**
 * The synthetic `tiny` model, written to a temp dir and run on the real onnxruntime-node:
 * the real export's interface, dynamic shapes, padding invariance, seeding, int8.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoTokenizer, env as hfEnv } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli.ts';
import { quantizeOnnx } from '../../../src/clip/quantize.ts';
import { GraphBuilder } from '../../../src/clip/synth/graph.ts';
import { REAL_MODEL_DIR, SYNTH_VOCAB_SIZE, synthesizeModel } from '../../../src/clip/synth/index.ts';
import { sampleImages } from '../../../src/clip/synth/int8-check.ts';
import { DataType } from '../../../src/clip/synth/onnx.ts';
import { createRng } from '../../../src/clip/synth/rng.ts';
import { ClipTokenizer } from '../../../src/clip/tokenizer.ts';
import { cosine } from '../../../src/clip/types.ts';

const START = SYNTH_VOCAB_SIZE - 2;
const END = SYNTH_VOCAB_SIZE - 1;

let root: string;
let dir: string;
let text: ort.InferenceSession;
let vision: ort.InferenceSession;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'adcreative-synth-'));
  dir = join(root, 'clip-tiny');
  await synthesizeModel({ arch: 'tiny', outDir: dir, seed: 11, quantize: true });
  text = await ort.InferenceSession.create(join(dir, 'onnx/text_model.onnx'));
  vision = await ort.InferenceSession.create(join(dir, 'onnx/vision_model.onnx'));
});

afterAll(async () => {
  await text?.release();
  await vision?.release();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Token rows padded with the end token to `len`, attention_mask 0 on the padding. */
function textFeeds(rows: number[][], len: number): Record<string, ort.Tensor> {
  const ids = new BigInt64Array(rows.length * len).fill(BigInt(END));
  const mask = new BigInt64Array(rows.length * len);
  rows.forEach((r, b) => {
    r.forEach((v, i) => {
      ids[b * len + i] = BigInt(v);
      mask[b * len + i] = 1n;
    });
  });
  return {
    input_ids: new ort.Tensor('int64', ids, [rows.length, len]),
    attention_mask: new ort.Tensor('int64', mask, [rows.length, len]),
  };
}

const row = (body: number[]) => [START, ...body, END];
const rowsOf = (e: Float32Array, n: number) => Array.from({ length: n }, (_, i) => e.subarray(i * 512, (i + 1) * 512));

describe('models synth --arch tiny', () => {
  it('writes the Hugging Face layout of the real export, marked synthetic', () => {
    for (const f of [
      'config.json',
      'preprocessor_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'special_tokens_map.json',
      'onnx/text_model.onnx',
      'onnx/vision_model.onnx',
      'onnx/text_model_quantized.onnx',
      'onnx/vision_model_quantized.onnx',
    ]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ adcreative_synthetic: true, adcreative_arch: 'tiny', adcreative_seed: 11, projection_dim: 512 });
    expect(cfg.text_config).toMatchObject({
      max_position_embeddings: 77,
      hidden_act: 'quick_gelu',
      vocab_size: SYNTH_VOCAB_SIZE,
      eos_token_id: END,
    });
    expect(cfg.vision_config).toMatchObject({ patch_size: 32, image_size: 224 });
    const pre = JSON.parse(readFileSync(join(dir, 'preprocessor_config.json'), 'utf8'));
    expect(pre).toMatchObject({
      size: { shortest_edge: 224 },
      crop_size: { height: 224, width: 224 },
      image_mean: [0.48145466, 0.4578275, 0.40821073],
      image_std: [0.26862954, 0.26130258, 0.27577711],
      resample: 3,
      image_processor_type: 'CLIPImageProcessor',
    });
    expect(pre.rescale_factor).toBeCloseTo(1 / 255, 12);
  });

  it('has the real export inputs and outputs, with their types and dynamic dims', () => {
    const meta = (s: ort.InferenceSession, which: 'inputMetadata' | 'outputMetadata') =>
      s[which].map((m) => (m.isTensor ? [m.name, m.type, m.shape.map((d) => (typeof d === 'string' ? 'dyn' : d))] : [m.name]));
    expect(meta(text, 'inputMetadata')).toEqual([
      ['input_ids', 'int64', ['dyn', 'dyn']],
      ['attention_mask', 'int64', ['dyn', 'dyn']],
    ]);
    expect(meta(text, 'outputMetadata')).toEqual([
      ['text_embeds', 'float32', ['dyn', 512]],
      ['last_hidden_state', 'float32', ['dyn', 'dyn', 64]],
    ]);
    expect(meta(vision, 'inputMetadata')).toEqual([['pixel_values', 'float32', ['dyn', 3, 224, 224]]]);
    expect(meta(vision, 'outputMetadata')).toEqual([
      ['image_embeds', 'float32', ['dyn', 512]],
      ['last_hidden_state', 'float32', ['dyn', 50, 64]],
    ]);
  });

  it('runs any batch size and every sequence length from 5 to 77', async () => {
    for (const batch of [1, 3]) {
      const r = await vision.run({ pixel_values: new ort.Tensor('float32', sampleImages(batch), [batch, 3, 224, 224]) });
      expect(r.image_embeds.dims).toEqual([batch, 512]);
      expect(r.last_hidden_state.dims).toEqual([batch, 50, 64]);
      expect((r.image_embeds.data as Float32Array).every(Number.isFinite)).toBe(true);
    }
    for (let len = 5; len <= 77; len++) {
      const rows = [row([10, 20, 30]), row(Array.from({ length: len - 2 }, (_, i) => 100 + i))];
      const r = await text.run(textFeeds(rows, len));
      expect(r.text_embeds.dims).toEqual([2, 512]);
      expect(r.last_hidden_state.dims).toEqual([2, len, 64]);
      expect((r.text_embeds.data as Float32Array).every(Number.isFinite)).toBe(true);
    }
  });

  it('gives the same text embeddings padded to the longest sequence as padded to 77', async () => {
    const rows = [row([320, 79, 697]), row([522, 80, 84, 72, 651, 65, 554, 667, 722]), row([5])];
    const short = rowsOf((await text.run(textFeeds(rows, 11))).text_embeds.data as Float32Array, 3);
    const full = rowsOf((await text.run(textFeeds(rows, 77))).text_embeds.data as Float32Array, 3);
    for (let i = 0; i < 3; i++) expect(cosine(short[i], full[i])).toBeGreaterThanOrEqual(0.9999);
    // ...and the same as each text run alone, unpadded.
    const alone = (await text.run(textFeeds([rows[0]], rows[0].length))).text_embeds.data as Float32Array;
    expect(cosine(alone, short[0])).toBeGreaterThanOrEqual(0.9999);
  });

  it('gives clearly different embeddings for different inputs', async () => {
    const rows = [row([320, 79, 697]), row([320, 79, 698]), row([600, 601, 602, 603, 604])];
    const e = rowsOf((await text.run(textFeeds(rows, 7))).text_embeds.data as Float32Array, 3);
    expect(cosine(e[0], e[1])).toBeLessThan(0.98);
    expect(cosine(e[0], e[2])).toBeLessThan(0.98);
    const imgs = rowsOf(
      (await vision.run({ pixel_values: new ort.Tensor('float32', sampleImages(4), [4, 3, 224, 224]) })).image_embeds.data as Float32Array,
      4,
    );
    for (let i = 1; i < 4; i++) expect(cosine(imgs[0], imgs[i])).toBeLessThan(0.98);
  });

  it('keeps int8 embeddings within cosine 0.99 of fp32', async () => {
    const qText = await ort.InferenceSession.create(join(dir, 'onnx/text_model_quantized.onnx'));
    const qVision = await ort.InferenceSession.create(join(dir, 'onnx/vision_model_quantized.onnx'));
    try {
      const feeds = textFeeds([row([320, 79, 697]), row([522, 80, 84, 72, 651])], 7);
      const a = rowsOf((await text.run(feeds)).text_embeds.data as Float32Array, 2);
      const b = rowsOf((await qText.run(feeds)).text_embeds.data as Float32Array, 2);
      for (let i = 0; i < 2; i++) expect(cosine(a[i], b[i])).toBeGreaterThanOrEqual(0.99);
      const px = { pixel_values: new ort.Tensor('float32', sampleImages(4), [4, 3, 224, 224]) };
      const c = rowsOf((await vision.run(px)).image_embeds.data as Float32Array, 4);
      const d = rowsOf((await qVision.run(px)).image_embeds.data as Float32Array, 4);
      for (let i = 0; i < 4; i++) expect(cosine(c[i], d[i])).toBeGreaterThanOrEqual(0.99);
      expect(qVision.outputNames).toEqual(vision.outputNames);
    } finally {
      await qText.release();
      await qVision.release();
    }
  });

  it('quantizes a patch-embedding Conv into the same patches and channels', async () => {
    const g = new GraphBuilder('conv');
    const x = g.input('x', DataType.FLOAT, ['n', 3, 64, 96]);
    const w = g.init('w', createRng(3).fillNormal(new Float32Array(16 * 3 * 32 * 32), 0.02), [16, 3, 32, 32]);
    const b = g.init('b', createRng(4).fillNormal(new Float32Array(16), 0.1), [16]);
    g.node('Conv', [x, w, b], { outputs: ['y'], attrs: { kernel_shape: { ints: [32, 32] }, strides: { ints: [32, 32] } } });
    g.output('y', DataType.FLOAT, ['n', 16, 2, 3]);
    const fp = g.encode({ opset: 17, producer: 'test' });
    const { bytes, stats } = quantizeOnnx(fp);
    expect(stats.patchConvs).toBe(1);
    const feeds = { x: new ort.Tensor('float32', createRng(5).fillNormal(new Float32Array(2 * 3 * 64 * 96), 1), [2, 3, 64, 96]) };
    const [a, q] = await Promise.all(
      [fp, bytes].map(async (m) => {
        const s = await ort.InferenceSession.create(m);
        const r = (await s.run(feeds)).y;
        await s.release();
        return r;
      }),
    );
    expect(q.dims).toEqual([2, 16, 2, 3]);
    const av = a.data as Float32Array;
    const qv = q.data as Float32Array;
    let err = 0;
    let ref = 0;
    for (let i = 0; i < av.length; i++) {
      err += (av[i] - qv[i]) ** 2;
      ref += av[i] ** 2;
    }
    expect(Math.sqrt(err / ref)).toBeLessThan(0.02); // every output in its own place, int8-close
  });

  it('writes byte-identical files for the same seed and different weights for another', async () => {
    const again = join(root, 'again');
    const other = join(root, 'other');
    const a = await synthesizeModel({ arch: 'tiny', outDir: again, seed: 11 });
    await synthesizeModel({ arch: 'tiny', outDir: other, seed: 12 });
    for (const f of a.files) {
      const rel = f.slice(again.length + 1);
      expect(readFileSync(f).equals(readFileSync(join(dir, rel))), rel).toBe(true);
    }
    for (const f of ['onnx/text_model.onnx', 'onnx/vision_model.onnx']) {
      expect(readFileSync(join(other, f)).equals(readFileSync(join(dir, f))), f).toBe(false);
    }
    expect(readFileSync(join(other, 'tokenizer.json')).equals(readFileSync(join(dir, 'tokenizer.json')))).toBe(true);
    // Other weights, another name: a library embedded with one refuses the other (LIBRARY_MODEL_MISMATCH).
    const name = (d: string) => JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'))._name_or_path;
    expect(name(again)).toBe('adcreative/synthetic-clip-tiny-seed11');
    expect(name(other)).toBe('adcreative/synthetic-clip-tiny-seed12');
  });

  it('removes int8 files of earlier weights when it rewrites a model without --quantize', async () => {
    const redo = join(root, 'redo');
    await synthesizeModel({ arch: 'tiny', outDir: redo, seed: 1, quantize: true });
    expect(existsSync(join(redo, 'onnx/vision_model_quantized.onnx'))).toBe(true);
    await synthesizeModel({ arch: 'tiny', outDir: redo, seed: 2 });
    expect(existsSync(join(redo, 'onnx/vision_model_quantized.onnx'))).toBe(false);
    expect(existsSync(join(redo, 'onnx/text_model_quantized.onnx'))).toBe(false);
    expect(JSON.parse(readFileSync(join(redo, 'config.json'), 'utf8')).adcreative_seed).toBe(2);
  });

  it('writes a tokenizer.json that a Hugging Face tokenizer loads and pads with the end token', async () => {
    hfEnv.allowRemoteModels = false;
    hfEnv.localModelPath = `${root}/`;
    const tok = await AutoTokenizer.from_pretrained('clip-tiny');
    const enc = tok(['a photo of a cat', 'the brown fox'], { padding: true });
    const ids = (enc.input_ids.tolist() as bigint[][]).map((r) => r.map(Number));
    for (const r of ids) {
      expect(r[0]).toBe(START);
      expect(r.every((v) => v >= 0 && v <= END)).toBe(true);
    }
    expect(ids[0].lastIndexOf(START)).toBe(0);
    expect(ids[1].at(-1)).toBe(END);
    // The ids it makes run through the text model, pooled at the first end token.
    const feeds = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.flat(), BigInt), [2, ids[0].length]),
      attention_mask: new ort.Tensor('int64', BigInt64Array.from((enc.attention_mask.tolist() as bigint[][]).flat()), [2, ids[0].length]),
    };
    const e = rowsOf((await text.run(feeds)).text_embeds.data as Float32Array, 2);
    expect(cosine(e[0], e[1])).toBeLessThan(0.98);
  });

  it("loads in the project's own tokenizer with the same ids as Hugging Face's, and the model pads invariantly", async () => {
    const ours = ClipTokenizer.fromTokenizerJson(join(dir, 'tokenizer.json'));
    expect([ours.startId, ours.endId, ours.padId, ours.vocabSize]).toEqual([START, END, END, SYNTH_VOCAB_SIZE]);
    hfEnv.allowRemoteModels = false;
    hfEnv.localModelPath = `${root}/`;
    const hf = await AutoTokenizer.from_pretrained('clip-tiny');
    const texts = ['Summer sale: 50% off everything!', 'a photo of a cat', "the kids' shoes, in bright colours", 'Über-cool café'];
    for (const t of texts) {
      const theirs = (hf(t).input_ids.tolist() as bigint[][])[0].map(Number);
      expect(ours.encode(t), t).toEqual(theirs);
    }
    const longest = ours.encodeBatch(texts);
    const full = ours.encodeBatch(texts, { padTo: 'max' });
    const run = async (b: typeof longest) =>
      rowsOf(
        (
          await text.run({
            input_ids: new ort.Tensor('int64', b.inputIds, [b.batch, b.seqLen]),
            attention_mask: new ort.Tensor('int64', b.attentionMask, [b.batch, b.seqLen]),
          })
        ).text_embeds.data as Float32Array,
        b.batch,
      );
    const [a, c] = [await run(longest), await run(full)];
    for (let i = 0; i < texts.length; i++) expect(cosine(a[i], c[i])).toBeGreaterThanOrEqual(0.9999);
  });

  it("refuses to write into the real model's folder", async () => {
    await expect(synthesizeModel({ arch: 'tiny', outDir: join(REAL_MODEL_DIR, 'x') })).rejects.toMatchObject({ code: 'SYNTH_REFUSED' });
    await expect(synthesizeModel({ arch: 'tiny', outDir: REAL_MODEL_DIR })).rejects.toThrow(/real model's folder/);
    // A link elsewhere that points into it is refused too.
    const link = join(root, 'sneaky');
    symlinkSync(join(process.cwd(), 'models'), link);
    await expect(synthesizeModel({ arch: 'tiny', outDir: join(link, 'clip-vit-base-patch32') })).rejects.toMatchObject({
      code: 'SYNTH_REFUSED',
    });
    expect(existsSync(join(REAL_MODEL_DIR, 'x'))).toBe(false);
  });

  it('refuses a folder holding a model not marked synthetic', async () => {
    const realish = join(root, 'realish');
    await synthesizeModel({ arch: 'tiny', outDir: realish });
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(realish, 'config.json'), JSON.stringify({ model_type: 'clip' }));
    await expect(synthesizeModel({ arch: 'tiny', outDir: realish })).rejects.toMatchObject({ code: 'SYNTH_REFUSED' });
  });

  it('runs as a CLI command, with errors and exit codes', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
      stdin: process.stdin,
    } as unknown as Parameters<typeof main>[1];
    expect(await main(['models', 'synth', '--arch', 'tiny', '--out', join(root, 'cli'), '--seed', '3'], io)).toBe(0);
    expect(out.join('')).toMatch(/wrote synthetic tiny model \(seed 3\)/);
    expect(await main(['models', 'quantize', join(root, 'cli')], io)).toBe(0);
    expect(existsSync(join(root, 'cli', 'onnx', 'vision_model_quantized.onnx'))).toBe(true);
    expect(await main(['models', 'synth', '--arch', 'huge'], io)).toBe(2);
    expect(await main(['models', 'synth', '--arch', 'tiny', '--seed', 'x'], io)).toBe(2);
    expect(await main(['models', 'quantize', join(root, 'nothing-here')], io)).toBe(1);
    expect(err.join('')).toMatch(/missing .*text_model\.onnx/);
  });
});
