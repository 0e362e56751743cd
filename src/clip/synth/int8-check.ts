/**
 * Measures what int8 quantization buys on a model directory's vision model: raw
 * onnxruntime-node sessions, fp32 and int8 runs interleaved (so a noisy shared machine
 * slows both alike), median throughput, and the cosine between the two precisions'
 * embeddings of the same images.
 */
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { CLIP_MEAN, CLIP_STD } from './configs.ts';
import { createRng } from './rng.ts';

export interface Int8CheckOptions {
  dir: string;
  batch?: number;
  runs?: number;
  threads?: number;
  /** fp32 file and int8 file, relative to dir. */
  fp32File?: string;
  int8File?: string;
}

export interface Int8CheckResult {
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; onnxruntime: string };
  settings: { dir: string; batch: number; runs: number; threads: number; fp32File: string; int8File: string };
  fp32: { medianMs: number; imagesPerSecond: number };
  int8: { medianMs: number; imagesPerSecond: number };
  speedup: number;
  cosine: { min: number; mean: number };
}

/** Varied, image-like inputs (gradients, blocks, discs, noise) in CLIP's normalised space. */
export function sampleImages(batch: number, seed = 7, size = 224): Float32Array {
  const rng = createRng(seed);
  const plane = size * size;
  const out = new Float32Array(batch * 3 * plane);
  for (let b = 0; b < batch; b++) {
    const c0 = [rng.next(), rng.next(), rng.next()];
    const c1 = [rng.next(), rng.next(), rng.next()];
    const cx = rng.next() * size;
    const cy = rng.next() * size;
    const r = 20 + rng.next() * 80;
    const block = 8 << Math.floor(rng.next() * 3);
    const noise = rng.next() * 0.3;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inDisc = (x - cx) ** 2 + (y - cy) ** 2 < r * r;
        const checker = ((Math.floor(x / block) + Math.floor(y / block)) & 1) === 1;
        const t = (x + y) / (2 * size);
        for (let k = 0; k < 3; k++) {
          let v = inDisc ? c1[k] : c0[k] * (1 - t) + c1[k] * t;
          if (checker && !inDisc) v *= 0.8;
          v = Math.min(1, Math.max(0, v + (rng.next() - 0.5) * noise));
          out[b * 3 * plane + k * plane + y * size + x] = (v - CLIP_MEAN[k]) / CLIP_STD[k];
        }
      }
    }
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function cos(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return d / Math.sqrt(na * nb);
}

export async function int8Check(opts: Int8CheckOptions): Promise<Int8CheckResult> {
  const batch = opts.batch ?? 8;
  const runs = opts.runs ?? 10;
  const threads = opts.threads ?? cpus().length;
  const fp32File = opts.fp32File ?? 'onnx/vision_model.onnx';
  const int8File = opts.int8File ?? 'onnx/vision_model_quantized.onnx';
  const so: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
  };
  const fp32 = await ort.InferenceSession.create(join(opts.dir, fp32File), so);
  const int8 = await ort.InferenceSession.create(join(opts.dir, int8File), so);
  const input = fp32.inputNames[0];
  const output = fp32.outputNames[0];
  const feeds = { [input]: new ort.Tensor('float32', sampleImages(batch), [batch, 3, 224, 224]) };

  const a = (await fp32.run(feeds))[output].data as Float32Array;
  const b = (await int8.run(feeds))[output].data as Float32Array;
  const d = a.length / batch;
  const cosines = Array.from({ length: batch }, (_, i) => cos(a.subarray(i * d, (i + 1) * d), b.subarray(i * d, (i + 1) * d)));

  const times: Record<'fp32' | 'int8', number[]> = { fp32: [], int8: [] };
  for (let r = 0; r < runs; r++) {
    for (const [name, s] of [
      ['fp32', fp32],
      ['int8', int8],
    ] as const) {
      const t0 = performance.now();
      await s.run(feeds);
      times[name].push(performance.now() - t0);
    }
  }
  await fp32.release();
  await int8.release();
  const stat = (xs: number[]) => {
    const m = median(xs);
    return { medianMs: m, imagesPerSecond: (batch * 1000) / m };
  };
  const f = stat(times.fp32);
  const q = stat(times.int8);
  return {
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      onnxruntime: ort.env.versions.common,
    },
    settings: { dir: opts.dir, batch, runs, threads, fp32File, int8File },
    fp32: f,
    int8: q,
    speedup: q.imagesPerSecond / f.imagesPerSecond,
    cosine: { min: Math.min(...cosines), mean: cosines.reduce((x, y) => x + y, 0) / batch },
  };
}
