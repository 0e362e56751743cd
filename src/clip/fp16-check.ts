/**
 * Parity of a model directory's fp16 files with its fp32 ones on ONNX Runtime's CPU provider:
 * the same varied inputs through both (images like `sampleImages`, texts of several lengths
 * with padding), the cosine of each pair of embeddings. The CPU is where the reference runs on
 * every machine; a GPU's fp16 kernels are checked against it by the GPU benchmark.
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { readModelConfig } from './model-config.ts';
import type { ModelKind, VisionInput } from './model-dir.ts';
import { onnxFile } from './model-dir.ts';
import { sessionOptions } from './session.ts';
import { sampleImages } from './synth/int8-check.ts';
import { cosine } from './types.ts';

export interface ParityResult {
  kind: ModelKind;
  input: VisionInput;
  inputs: number;
  cosine: { min: number; mean: number };
}

/** Token rows of lengths 2…S with padding after the end token (ids from the vocabulary's lower range). */
function sampleTokens(batch: number, seq: number, vocab: number): { ids: BigInt64Array; mask: BigInt64Array } {
  const ids = new BigInt64Array(batch * seq);
  const mask = new BigInt64Array(batch * seq);
  const end = BigInt(vocab - 1);
  for (let r = 0; r < batch; r++) {
    const len = 2 + Math.floor(((r + 1) * (seq - 2)) / batch);
    for (let i = 0; i < seq; i++) {
      const id = i === 0 ? BigInt(vocab - 2) : i < len - 1 ? BigInt(1 + ((r * 131 + i * 17) % (vocab - 3))) : end;
      ids[r * seq + i] = id;
      mask[r * seq + i] = i < len ? 1n : 0n;
    }
  }
  return { ids, mask };
}

/** Pixels of `sampleImages` as 8-bit HWC, for the `rgb8` graphs (the inverse of CLIP's normalisation). */
function samplePixels(batch: number): Uint8Array {
  const f = sampleImages(batch);
  const mean = [0.48145466, 0.4578275, 0.40821073];
  const std = [0.26862954, 0.26130258, 0.27577711];
  const plane = 224 * 224;
  const out = new Uint8Array(batch * plane * 3);
  for (let b = 0; b < batch; b++)
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < plane; p++) {
        const v = Math.round((f[b * 3 * plane + c * plane + p] * std[c] + mean[c]) * 255);
        out[b * plane * 3 + p * 3 + c] = Math.min(255, Math.max(0, v));
      }
  return out;
}

async function embed(
  path: string,
  kind: ModelKind,
  input: VisionInput,
  batch: number,
  vocab: number,
  threads: number,
): Promise<Float32Array[]> {
  const s = await ort.InferenceSession.create(path, sessionOptions('cpu', threads));
  try {
    let feeds: Record<string, ort.Tensor>;
    if (kind === 'vision') {
      feeds =
        input === 'rgb8'
          ? { pixels: new ort.Tensor('uint8', samplePixels(batch), [batch, 224, 224, 3]) }
          : { pixel_values: new ort.Tensor('float32', sampleImages(batch), [batch, 3, 224, 224]) };
    } else {
      const seq = 24;
      const t = sampleTokens(batch, seq, vocab);
      feeds = { input_ids: new ort.Tensor('int64', t.ids, [batch, seq]), attention_mask: new ort.Tensor('int64', t.mask, [batch, seq]) };
    }
    const name = kind === 'vision' ? 'image_embeds' : 'text_embeds';
    const output = s.outputNames.includes(name) ? name : s.outputNames[0];
    const data = (await s.run(feeds, [output]))[output].data as Float32Array;
    const d = data.length / batch;
    return Array.from({ length: batch }, (_, i) => data.slice(i * d, (i + 1) * d));
  } finally {
    await s.release();
  }
}

/** Cosine between fp32 and fp16 embeddings of the same inputs, per model file pair. */
export async function fp16Parity(
  dir: string,
  opts: { batch?: number; vocab?: number; threads?: number; inputs?: { kind: ModelKind; input: VisionInput }[] } = {},
): Promise<ParityResult[]> {
  const batch = opts.batch ?? 4;
  const vocab = opts.vocab ?? readModelConfig(dir).vocabSize;
  const pairs = opts.inputs ?? [
    { kind: 'text' as const, input: 'float' as const },
    { kind: 'vision' as const, input: 'float' as const },
  ];
  const results: ParityResult[] = [];
  for (const { kind, input } of pairs) {
    const [a, b] = [
      await embed(join(dir, onnxFile(kind, 'fp32', input)), kind, input, batch, vocab, opts.threads ?? 0),
      await embed(join(dir, onnxFile(kind, 'fp16', input)), kind, input, batch, vocab, opts.threads ?? 0),
    ];
    const cos = a.map((v, i) => cosine(v, b[i]));
    results.push({
      kind,
      input,
      inputs: batch,
      cosine: { min: Math.min(...cos), mean: cos.reduce((x, y) => x + y, 0) / cos.length },
    });
  }
  return results;
}
