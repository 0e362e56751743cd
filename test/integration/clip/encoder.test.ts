/**
 * The encoder through its public API, on real onnxruntime-node and the `tiny` synthetic
 * model generated into a temp dir.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOnnxEncoder, type OnnxEncoder, type OnnxEncoderOptions, type RunEvent } from '../../../src/clip/encoder.ts';
import { commands } from '../../../src/clip/model-commands.ts';
import { openEncoder } from '../../../src/clip/open.ts';
import { preprocessImage, readPreprocessConfig } from '../../../src/clip/preprocess.ts';
import { quantizeModelDir } from '../../../src/clip/quantize.ts';
import { synthesizeModel } from '../../../src/clip/synth/index.ts';
import { ClipTokenizer } from '../../../src/clip/tokenizer.ts';
import { cosine } from '../../../src/clip/types.ts';
import { loadConfig } from '../../../src/config.ts';
import { ImageError, InferenceError, ModelError } from '../../../src/errors.ts';
import { generateJpegs } from '../../../src/image/bench-images.ts';
import { createLogger } from '../../../src/log.ts';
import { runCommand } from '../../helpers/run-command.ts';

let root: string;
let modelDir: string;
let jpegs: Buffer[];
const open: OnnxEncoder[] = [];

function makeEncoder(over: Partial<OnnxEncoderOptions> = {}) {
  const lines: string[] = [];
  const enc = createOnnxEncoder({
    modelDir,
    device: 'cpu',
    precision: 'fp32',
    threads: 1,
    batchMax: 32,
    batchWaitMs: 20,
    limits: { maxPixels: 40_000_000, maxBytes: 25 * 1024 * 1024 },
    logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }),
    ...over,
  });
  open.push(enc);
  const runs: RunEvent[] = [];
  enc.onRun((e) => runs.push(e));
  return { enc, lines, runs };
}

function norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'clip-encoder-'));
  modelDir = join(root, 'clip-tiny');
  await synthesizeModel({ arch: 'tiny', outDir: modelDir, seed: 7 });
  jpegs = await generateJpegs({ count: 6, width: 320, height: 240, seed: 3 });
});

afterAll(async () => {
  await Promise.all(open.map((e) => e.close()));
  rmSync(root, { recursive: true, force: true });
});

describe('ONNX encoder on the tiny synthetic model', () => {
  it('returns L2-normalised embeddings of the model width, and says the model is synthetic', async () => {
    const { enc, lines } = makeEncoder();
    expect(enc.dims).toBe(512);
    const [t] = await enc.embedTexts(['summer sale on running shoes']);
    const [i] = await enc.embedImages([jpegs[0]]);
    for (const v of [t, i]) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v.length).toBe(512);
      expect(Math.abs(norm(v) - 1)).toBeLessThan(1e-5);
    }
    expect(enc.info()).toMatchObject({ dims: 512, synthetic: true, device: 'cpu', precision: 'fp32' });
    const warn = lines.map((l) => JSON.parse(l)).find((r) => r.level === 'warn' && /SYNTHETIC/.test(r.msg));
    expect(warn?.msg).toMatch(/MEANINGLESS/);
    expect(warn?.msg).toContain(modelDir);
  });

  it('gathers concurrent calls into one run and keeps every caller in order', async () => {
    // Images are decoded one at a time on CPU; the wait covers decoding all four on a loaded machine.
    const { enc, runs } = makeEncoder({ batchWaitMs: 1500 });
    await enc.warmup();
    const texts = ['red shoes', 'a blue car at night', 'coffee', 'the quick brown fox jumps over the lazy dog', 'sale!'];
    const singles: Float32Array[] = [];
    for (const t of texts) singles.push((await enc.embedTexts([t]))[0]);
    runs.length = 0;
    const [a, b, c] = await Promise.all([enc.embedTexts(texts.slice(0, 2)), enc.embedTexts([texts[2]]), enc.embedTexts(texts.slice(3))]);
    expect(runs.filter((r) => r.kind === 'text').map((r) => r.size)).toEqual([5]);
    const together = [...a, ...b, ...c];
    for (let i = 0; i < texts.length; i++) {
      expect(cosine(together[i], singles[i])).toBeGreaterThan(0.9999);
      for (let j = 0; j < texts.length; j++) if (j !== i) expect(cosine(together[i], singles[j])).toBeLessThan(0.999);
    }

    runs.length = 0;
    const imgs = await Promise.all(jpegs.slice(0, 4).map((j) => enc.embedImages([j])));
    expect(runs.filter((r) => r.kind === 'vision').map((r) => r.size)).toEqual([4]);
    const batch = await enc.embedImages(jpegs.slice(0, 4));
    for (let i = 0; i < 4; i++) expect(cosine(imgs[i][0], batch[i])).toBeGreaterThan(0.9999);
  });

  it('splits a call larger than the batch limit and preserves its order', async () => {
    const { enc, runs } = makeEncoder({ batchMax: 4 });
    const texts = Array.from({ length: 10 }, (_, i) => `brief number ${i} about ${'shoes '.repeat(i)}`);
    const all = await enc.embedTexts(texts);
    expect(runs.map((r) => r.size)).toEqual([4, 4, 2]);
    const last = await enc.embedTexts([texts[9]]);
    expect(cosine(all[9], last[0])).toBeGreaterThan(0.9999);
  });

  it('pads text to the longest in the batch, with the same embeddings as padding to 77', async () => {
    const longest = makeEncoder();
    const max = makeEncoder({ textPadding: 'max' });
    const texts = ['new sneakers', 'a short brief for a summer campaign about iced coffee'];
    const [a, b] = await Promise.all([longest.enc.embedTexts(texts), max.enc.embedTexts(texts)]);
    const tok = ClipTokenizer.load(join(modelDir, 'tokenizer.json'));
    const longestIds = Math.max(...texts.map((t) => tok.encode(t).length));
    expect(longestIds).toBeLessThan(77);
    expect(longest.runs[0].seqLen).toBe(longestIds);
    expect(max.runs[0].seqLen).toBe(77);
    for (let i = 0; i < texts.length; i++) expect(cosine(a[i], b[i])).toBeGreaterThanOrEqual(0.9999);
  });

  it('creates each session once when first calls race', async () => {
    const { enc } = makeEncoder({ batchWaitMs: 0, batchMax: 1 });
    expect(enc.stats().loads).toEqual({ text: 0, vision: 0 });
    await Promise.all([
      enc.embedTexts(['a']),
      enc.embedTexts(['b']),
      enc.warmup(['text']),
      enc.embedImages([jpegs[0]]),
      enc.embedImages([jpegs[1]]),
      enc.warmup(),
    ]);
    expect(enc.stats().loads).toEqual({ text: 1, vision: 1 });
    expect(enc.stats().runs).toEqual({ text: 2, vision: 2 });
  });

  it('fails only the caller whose image is bad, in a concurrent burst', async () => {
    const { enc, runs } = makeEncoder();
    const calls = [
      enc.embedImages([jpegs[0]]),
      enc.embedImages([Buffer.from('this is not an image')]),
      enc.embedImages([jpegs[1], jpegs[2]]),
    ];
    const [ok1, bad, ok2] = await Promise.allSettled(calls);
    expect(ok1.status).toBe('fulfilled');
    expect(ok2.status).toBe('fulfilled');
    expect((ok2 as PromiseFulfilledResult<Float32Array[]>).value).toHaveLength(2);
    expect(bad.status).toBe('rejected');
    const e = (bad as PromiseRejectedResult).reason;
    expect(e).toBeInstanceOf(ImageError);
    expect(e.code).toMatch(/^IMAGE_/);
    expect(runs.reduce((n, r) => n + r.size, 0)).toBe(3);
  });

  it('a bad image among good ones in one call rejects that call, naming which image', async () => {
    const { enc } = makeEncoder();
    const e = await enc.embedImages([jpegs[0], Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x01]), jpegs[1]]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ImageError);
    expect((e as ImageError).message).toMatch(/^image 2 of 3: /);
    // The encoder is still fine for the next caller.
    expect(await enc.embedImages([jpegs[2]])).toHaveLength(1);
  });

  it('CLIP_DEVICE=auto tries CUDA, then WebGPU, then CPU, logging each failure once and the provider it chose', async () => {
    const { enc, lines } = makeEncoder({ device: 'auto', threads: 0 });
    await enc.embedTexts(['hello']);
    await enc.embedImages([jpegs[0]]);
    const recs = lines.map((l) => JSON.parse(l));
    const loads = recs.filter((r) => r.msg === 'clip session loaded');
    expect(loads.map((r) => r.kind).sort()).toEqual(['text', 'vision']);
    expect(loads[0]).toMatchObject({ requestedDevice: 'auto', requestedPrecision: 'fp32' });
    const provider = loads[0].provider;
    // Both halves run where the first one landed.
    expect(loads[1].provider).toBe(provider);
    expect(enc.info().device).toBe(provider);
    const failures = recs.filter((r) => r.level === 'warn' && /execution provider could not load/.test(r.msg));
    // Each provider before the chosen one failed once, in the order tried, and is not tried again for the second half.
    const order = ['cuda', 'webgpu', 'cpu'];
    expect(failures.map((r) => r.provider)).toEqual(order.slice(0, order.indexOf(provider)));
    for (const f of failures) expect(f.reason).toEqual(expect.any(String));
    if (provider === 'cpu') {
      expect(failures.map((r) => r.msg)).toEqual([
        'CLIP_DEVICE=auto: the cuda execution provider could not load; trying webgpu',
        'CLIP_DEVICE=auto: the webgpu execution provider could not load; trying cpu',
      ]);
      // CPU-sized batching and a preprocessing pool of the cores inference leaves (at least one).
      expect(enc.settings()).toMatchObject({ provider: 'cpu', batchMax: 32, prepThreads: 1 });
    }
  });

  it('CLIP_DEVICE=cuda without CUDA is a clear error, not a silent fallback', async () => {
    const { enc } = makeEncoder({ device: 'cuda' });
    const e = await enc.embedTexts(['hello']).catch((x: unknown) => x);
    if (Array.isArray(e)) return; // a machine with CUDA: nothing to fall back from
    expect(e).toBeInstanceOf(InferenceError);
    expect((e as InferenceError).code).toBe('PROVIDER_UNAVAILABLE');
    expect((e as InferenceError).message).toContain('CLIP_DEVICE=cuda');
    expect((e as InferenceError).hint).toContain('CLIP_DEVICE=webgpu');
    expect((e as InferenceError).hint).toContain('npm run install-cuda');
  });

  it('CLIP_DEVICE=webgpu without a usable GPU fails loudly and says what to install', async () => {
    const { enc } = makeEncoder({ device: 'webgpu' });
    const e = await enc.embedTexts(['hello']).catch((x: unknown) => x);
    if (Array.isArray(e)) return; // a machine with WebGPU over Vulkan
    expect(e).toBeInstanceOf(InferenceError);
    expect((e as InferenceError).code).toBe('PROVIDER_UNAVAILABLE');
    expect((e as InferenceError).message).toContain('CLIP_DEVICE=webgpu, but the webgpu execution provider cannot load');
    const hint = (e as InferenceError).hint ?? '';
    expect(hint).toContain('libvulkan1');
    expect(hint).toContain('nvidia_icd.json');
    expect(hint).toMatch(/NVIDIA_DRIVER_CAPABILITIES.*graphics/);
    // The encoder is not stuck: the next call tries again.
    expect(await enc.embedTexts(['again']).catch((x: unknown) => (x as InferenceError).code)).toBe('PROVIDER_UNAVAILABLE');
  });

  it('a missing model directory names the path and the fetch command', () => {
    const missing = join(root, 'no-such-model');
    try {
      makeEncoder({ modelDir: missing });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ModelError);
      expect((e as ModelError).message).toContain(missing);
      expect((e as ModelError).hint).toContain('npm run -s adcreative -- models fetch');
      expect((e as ModelError).hint).toContain('models synth --arch tiny');
    }
  });

  it('a corrupt ONNX file is a clear error naming it; the other model half still works', async () => {
    const broken = join(root, 'broken');
    cpSync(modelDir, broken, { recursive: true });
    writeFileSync(join(broken, 'onnx/vision_model.onnx'), Buffer.from('definitely not a protobuf'.repeat(10)));
    const { enc } = makeEncoder({ modelDir: broken });
    const e = await enc.embedImages([jpegs[0]]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ModelError);
    expect((e as ModelError).code).toBe('MODEL_CORRUPT');
    expect((e as ModelError).message).toContain(join(broken, 'onnx/vision_model.onnx'));
    expect((e as ModelError).hint).toContain('models fetch');
    expect(await enc.embedTexts(['still works'])).toHaveLength(1);
  });

  it('int8 without quantized files says how to make them', () => {
    expect(() => makeEncoder({ precision: 'int8' })).toThrow(expect.objectContaining({ code: 'MODEL_NO_INT8' }));
  });

  it('CLIP_PRECISION=int8 loads the quantized files, with embeddings close to fp32', async () => {
    const q = join(root, 'quantized');
    cpSync(modelDir, q, { recursive: true });
    await quantizeModelDir(q);
    const fp32 = makeEncoder({ modelDir: q });
    const int8 = makeEncoder({ modelDir: q, precision: 'int8' });
    const texts = ['summer sale', 'winter coats for kids'];
    const [a, b] = await Promise.all([fp32.enc.embedTexts(texts), int8.enc.embedTexts(texts)]);
    const [c, d] = await Promise.all([fp32.enc.embedImages(jpegs.slice(0, 2)), int8.enc.embedImages(jpegs.slice(0, 2))]);
    expect(int8.enc.info().precision).toBe('int8');
    expect(int8.lines.some((l) => l.includes('_quantized.onnx'))).toBe(true);
    for (let i = 0; i < 2; i++) {
      expect(Math.abs(norm(b[i]) - 1)).toBeLessThan(1e-5);
      expect(cosine(a[i], b[i])).toBeGreaterThan(0.99);
      expect(cosine(c[i], d[i])).toBeGreaterThan(0.99);
    }
  });

  it('preprocesses in the worker exactly as on this thread, and leaves the caller its bytes', async () => {
    const { enc } = makeEncoder();
    const cfg = readPreprocessConfig(modelDir);
    const limits = { maxPixels: 40_000_000, maxBytes: 25 * 1024 * 1024 };
    const here = await Promise.all(jpegs.slice(0, 3).map((j) => preprocessImage(j, cfg, limits)));
    const expected = await enc.embedPreprocessed(here);
    const copies = jpegs.slice(0, 3).map((j) => Buffer.from(j));
    const viaWorker = await enc.embedImages(copies);
    // Same tensors in; batches may split differently, so equal up to float reassociation.
    for (const [i, v] of viaWorker.entries()) expect(cosine(v, expected[i])).toBeGreaterThan(0.99999);
    // Transferring to the worker must not detach the caller's buffers.
    for (const [i, c] of copies.entries()) expect(c.equals(jpegs[i])).toBe(true);
  });

  it('keeps the event loop responsive while a large image batch is embedded', async () => {
    const { enc } = makeEncoder({ batchMax: 16 });
    await enc.warmup(['vision']);
    const many = Array.from({ length: 48 }, (_, i) => jpegs[i % jpegs.length]);
    const h = monitorEventLoopDelay({ resolution: 5 });
    h.enable();
    const out = await enc.embedImages(many);
    h.disable();
    expect(out).toHaveLength(48);
    // Generous for a shared, loaded machine (the OS alone can deschedule this thread for a
    // few hundred ms there); the benchmark measures it on ViT-B/32, where a blocked loop
    // would show as whole batch runs of about a second.
    expect(h.max / 1e6).toBeLessThan(1000);
  });

  it('refuses work after close()', async () => {
    const { enc } = makeEncoder();
    await enc.embedTexts(['x']);
    await enc.close();
    await expect(enc.embedTexts(['y'])).rejects.toMatchObject({ code: 'ENCODER_CLOSED' });
  });

  it('close() with work in flight settles every call: finished, or ENCODER_CLOSED', async () => {
    const { enc } = makeEncoder({ batchMax: 2 });
    await enc.warmup(['vision']);
    const inFlight = Promise.allSettled([enc.embedImages(jpegs)]);
    await new Promise((r) => setTimeout(r, 30));
    await enc.close();
    const [r] = await inFlight;
    if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'ENCODER_CLOSED' });
    else expect(r.value).toHaveLength(jpegs.length);
  });

  it('openEncoder builds the in-process encoder from the configuration', async () => {
    const cfg = loadConfig({ CLIP_MODEL_DIR: modelDir, CLIP_DEVICE: 'cpu', CLIP_BATCH_MAX: '4' });
    const enc = await openEncoder(cfg);
    open.push(enc as OnnxEncoder);
    const [v] = await enc.embedTexts(['hello']);
    expect(Math.abs(norm(v) - 1)).toBeLessThan(1e-5);
    expect(enc.info()).toMatchObject({ synthetic: true, device: 'cpu', precision: 'fp32', dims: 512 });
    // CLIP_ENDPOINT selects the remote (KServe v2) encoder instead (tested in remote.test.ts).
    const remote = await openEncoder(loadConfig({ CLIP_MODEL_DIR: modelDir, CLIP_ENDPOINT: 'http://127.0.0.1:8000' }));
    expect(remote.info()).toMatchObject({ device: 'remote http://127.0.0.1:8000', dims: 512, synthetic: true });
    await remote.close();
  });

  it('`clip embed` prints dims, norm and the embedding as JSON', async () => {
    const img = join(root, 'photo.jpg');
    writeFileSync(img, jpegs[0]);
    for (const args of [
      ['--text', 'a red bicycle'],
      ['--image', img],
    ]) {
      const r = await runCommand(commands, ['clip', 'embed', ...args, '--model', modelDir, '--device', 'cpu']);
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.dims).toBe(512);
      expect(Math.abs(out.norm - 1)).toBeLessThan(1e-5);
      expect(out.embedding).toHaveLength(512);
    }
    const bad = await runCommand(commands, ['clip', 'embed', '--text', 'x', '--image', img]);
    expect(bad.code).toBe(2);
    const missing = await runCommand(commands, ['clip', 'embed', '--text', 'x', '--model', join(root, 'nowhere')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(join(root, 'nowhere'));
    expect(missing.stderr).toContain('models fetch');
    const broken = join(root, 'broken.jpg');
    writeFileSync(broken, jpegs[0].subarray(0, 200));
    const corrupt = await runCommand(commands, ['clip', 'embed', '--image', broken, '--model', modelDir, '--device', 'cpu']);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toMatch(/broken\.jpg: the JPEG data is corrupt or truncated/);
  });
});
