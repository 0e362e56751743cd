/**
 * fp16 and 8-bit-pixel model files, written by the project's own commands into a synthetic
 * `tiny` model and run by the real encoder on ONNX Runtime's CPU provider: parity with fp32,
 * which files each setting loads, and the errors that say how to make missing files.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOnnxEncoder, type OnnxEncoder, type OnnxEncoderOptions } from '../../../src/clip/encoder.ts';
import { fp16Parity } from '../../../src/clip/fp16-check.ts';
import { cropRgb, readPreprocessConfig } from '../../../src/clip/preprocess.ts';
import { synthesizeModel } from '../../../src/clip/synth/index.ts';
import { commands } from '../../../src/clip/synth-commands.ts';
import { cosine } from '../../../src/clip/types.ts';
import { InputError, ModelError } from '../../../src/errors.ts';
import { generateJpegs } from '../../../src/image/bench-images.ts';
import { createLogger } from '../../../src/log.ts';
import { runCommand } from '../../helpers/run-command.ts';

let root: string;
let dir: string;
let plain: string;
let jpegs: Buffer[];
const open: OnnxEncoder[] = [];
const LIMITS = { maxPixels: 40_000_000, maxBytes: 25 * 1024 * 1024 };

function encoder(over: Partial<OnnxEncoderOptions> = {}) {
  const lines: string[] = [];
  const enc = createOnnxEncoder({
    modelDir: dir,
    device: 'cpu',
    precision: 'auto',
    visionInput: 'float',
    threads: 1,
    limits: LIMITS,
    logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }),
    ...over,
  });
  open.push(enc);
  return { enc, logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'clip-precision-'));
  dir = join(root, 'clip-tiny');
  plain = join(root, 'clip-plain');
  await synthesizeModel({ arch: 'tiny', outDir: dir, seed: 5, quantize: true });
  await synthesizeModel({ arch: 'tiny', outDir: plain, seed: 5 });
  jpegs = await generateJpegs({ count: 4, width: 320, height: 240, seed: 9 });
});

afterAll(async () => {
  await Promise.all(open.map((e) => e.close()));
  rmSync(root, { recursive: true, force: true });
});

describe('fp16 model files', () => {
  it('`models fp16 DIR` writes both halves and checks them against fp32 on the CPU', async () => {
    const r = await runCommand(commands, ['models', 'fp16', dir]);
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, 'onnx/text_model_fp16.onnx'))).toBe(true);
    expect(existsSync(join(dir, 'onnx/vision_model_fp16.onnx'))).toBe(true);
    expect(r.stderr).toMatch(/vision_model_fp16\.onnx: \d+ nodes fp16, kept fp32: \d+ LayerNormalization, \d+ Softmax/);
    expect(r.stdout).toMatch(/^text: cosine to fp32 min 0\.99\d+ .*: ok$/m);
    expect(r.stdout).toMatch(/^vision: cosine to fp32 min 0\.99\d+ .*: ok$/m);
  });

  it('embeds within cos 0.999 of fp32, and the files really are different (fp16 weights)', async () => {
    for (const p of await fp16Parity(dir, { batch: 6 })) {
      expect(p.cosine.min).toBeGreaterThanOrEqual(0.999);
      expect(p.cosine.min).toBeLessThan(1 - 1e-9);
    }
    const fp32 = encoder({ precision: 'fp32' }).enc;
    const { enc: fp16, logs } = encoder({ precision: 'fp16' });
    const texts = ['summer sale on running shoes', 'iced coffee', 'a much longer brief about a new electric bike for city commuters'];
    const [a, b] = await Promise.all([fp32.embedTexts(texts), fp16.embedTexts(texts)]);
    const [ia, ib] = await Promise.all([fp32.embedImages(jpegs), fp16.embedImages(jpegs)]);
    for (let i = 0; i < texts.length; i++) expect(cosine(a[i], b[i])).toBeGreaterThanOrEqual(0.999);
    for (let i = 0; i < jpegs.length; i++) expect(cosine(ia[i], ib[i])).toBeGreaterThanOrEqual(0.999);
    expect(fp16.info()).toMatchObject({ device: 'cpu', precision: 'fp16' });
    const loaded = logs().filter((r) => r.msg === 'clip session loaded');
    expect(loaded.map((r) => String(r.path).split('/').pop()).sort()).toEqual(['text_model_fp16.onnx', 'vision_model_fp16.onnx']);
    // fp16 on the CPU works, and the log says it is the slow choice there.
    expect(logs().some((r) => r.level === 'warn' && /fp16 on the CPU/.test(String(r.msg)))).toBe(true);
  });

  it('CLIP_PRECISION=auto loads fp32 on the CPU even where fp16 files exist', async () => {
    const { enc, logs } = encoder({ precision: 'auto' });
    await enc.warmup();
    expect(enc.info().precision).toBe('fp32');
    const paths = logs()
      .filter((r) => r.msg === 'clip session loaded')
      .map((r) => String(r.path).split('/').pop());
    expect(paths.sort()).toEqual(['text_model.onnx', 'vision_model.onnx']);
  });

  it('CLIP_PRECISION=fp16 without the files names the command that writes them', () => {
    let e: unknown;
    try {
      encoder({ modelDir: plain, precision: 'fp16' });
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(ModelError);
    expect((e as ModelError).code).toBe('MODEL_NO_FP16');
    expect((e as ModelError).hint).toContain(`models fp16 ${plain}`);
  });
});

describe('8-bit-pixel vision models', () => {
  it('`models rgb8 DIR` writes a variant of every vision file, and the encoder uses it with the same embeddings', async () => {
    const r = await runCommand(commands, ['models', 'rgb8', dir]);
    expect(r.code).toBe(0);
    for (const f of ['vision_model_rgb8.onnx', 'vision_model_fp16_rgb8.onnx', 'vision_model_quantized_rgb8.onnx'])
      expect(existsSync(join(dir, 'onnx', f))).toBe(true);
    const float = encoder({ visionInput: 'float' }).enc;
    const rgb8 = encoder({ visionInput: 'auto' }).enc;
    const [a, b] = await Promise.all([float.embedImages(jpegs), rgb8.embedImages(jpegs)]);
    expect(rgb8.settings().visionInput).toBe('rgb8');
    expect(await rgb8.visionInput()).toEqual({ name: 'pixels', type: 'uint8', dims: [-1, 224, 224, 3] });
    // The normalisation in the graph is the preprocessing's own float32 arithmetic: identical embeddings.
    for (let i = 0; i < jpegs.length; i++) expect(Array.from(b[i])).toEqual(Array.from(a[i]));
    const int8 = encoder({ precision: 'int8', visionInput: 'auto' }).enc;
    const [c] = await int8.embedImages([jpegs[0]]);
    expect(int8.settings().visionInput).toBe('rgb8');
    expect(cosine(c, a[0])).toBeGreaterThan(0.99);
  });

  it('takes preprocessed 8-bit crops, and refuses float tensors with what it expects', async () => {
    const enc = encoder({ visionInput: 'rgb8' }).enc;
    const cfg = readPreprocessConfig(dir);
    const crops = await Promise.all(jpegs.slice(0, 2).map((j) => cropRgb(j, cfg, LIMITS)));
    const [fromCrops, fromJpegs] = [await enc.embedPreprocessed(crops), await enc.embedImages(jpegs.slice(0, 2))];
    expect(Array.from(fromCrops[1])).toEqual(Array.from(fromJpegs[1]));
    const e = await enc.embedPreprocessed([new Float32Array(3 * 224 * 224)]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).message).toContain('this vision model takes 8-bit RGB 224×224×3 (HWC)');
  });

  it('CLIP_VISION_INPUT=rgb8 without the files says how to make them', async () => {
    const enc = encoder({ modelDir: plain, visionInput: 'rgb8' }).enc;
    const e = await enc.embedImages([jpegs[0]]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ModelError);
    expect((e as ModelError).hint).toContain('models rgb8');
  });
});
