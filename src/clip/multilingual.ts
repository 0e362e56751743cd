/**
 * CLIP_TEXT_MODEL_DIR: a multilingual text encoder aligned with CLIP's image space (the real one:
 * sentence-transformers `clip-ViT-B-32-multilingual-v1`, exported by
 * scripts/export-multilingual-clip.py), which takes the place of CLIP's English-only text tower
 * so Chinese, German or Spanish briefs and captions embed near the images they describe, with
 * no translation. Images are still embedded by the CLIP model.
 *
 * The directory holds `config.json` (`_name_or_path`, `projection_dim`: 512, optional
 * `adcreative_synthetic`), a BERT WordPiece tokenizer (`tokenizer.json` or `vocab.txt`, with
 * `tokenizer_config.json`), and `onnx/text_model.onnx`: inputs `input_ids` and
 * `attention_mask` (int64 [batch, sequence]), output `text_embeds` (float32 [batch, 512]).
 * It runs in its own inference worker thread (the same worker as CLIP's), fp32.
 *
 * The sentence-transformers repository's own layout is taken too (what `models fetch
 * clip-ViT-B-32-multilingual-v1` downloads): `onnx/model.onnx` (the DistilBERT transformer only:
 * `last_hidden_state` [batch, sequence, 768]), `1_Pooling/config.json` (mean pooling) and
 * `2_Dense/model.safetensors` (`linear.weight` [512, 768], no bias, identity activation): the
 * pooling and the projection then run here, as sentence-transformers runs them after its ONNX
 * backend.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type AdError, InferenceError, InputError, ModelError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { type WireError, WorkerRpc } from '../workers/rpc.ts';
import { createBatcher } from './batcher.ts';
import { readModelConfig } from './model-config.ts';
import type { Device } from './session.ts';
import type { Encoder, EncoderInfo } from './types.ts';
import { WordPieceTokenizer } from './wordpiece.ts';
import type { LoadResult, RunResult, WorkerRequest } from './worker.ts';

export const TEXT_MODEL_ONNX = 'onnx/text_model.onnx';
const OUTPUT = 'text_embeds';
const ST_ONNX = 'onnx/model.onnx';
const ST_DENSE = '2_Dense/model.safetensors';
const ST_HIDDEN = 'last_hidden_state';

export const MULTILINGUAL_FIX_HINT =
  'run `npm run -s adcreative -- models fetch clip-ViT-B-32-multilingual-v1` for the real model (or export it with scripts/export-multilingual-clip.py), or unset CLIP_TEXT_MODEL_DIR to use CLIP’s English text tower';

export interface TextModelDir {
  dir: string;
  name: string;
  dims: number;
  synthetic: boolean;
  onnx: string;
  /** `export`: one graph to `text_embeds`; `sentence-transformers`: the transformer, then pooling and Dense here. */
  layout: 'export' | 'sentence-transformers';
  /** sentence-transformers layout: the Dense projection, row-major [dims, hidden]. */
  dense?: { weight: Float32Array; hidden: number };
}

/** The Dense layer's weight from a safetensors file (F32 `linear.weight` [out, in]). */
export function readDenseWeight(file: string): { weight: Float32Array; out: number; hidden: number } {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new ModelError('MODEL_FILE_MISSING', `${file} is missing`, { cause: e, hint: MULTILINGUAL_FIX_HINT });
  }
  const bad = (why: string) =>
    new ModelError('MODEL_CORRUPT', `${file}: ${why}; expected a safetensors file with F32 linear.weight [512, 768]`, {
      hint: MULTILINGUAL_FIX_HINT,
    });
  if (buf.length < 8) throw bad('too short');
  const headerLen = Number(buf.readBigUInt64LE(0));
  if (headerLen <= 0 || 8 + headerLen > buf.length) throw bad('the header length is out of range');
  let header: Record<string, { dtype?: string; shape?: number[]; data_offsets?: [number, number] }>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + headerLen).toString('utf8'));
  } catch {
    throw bad('the header is not JSON');
  }
  const t = header['linear.weight'];
  if (t?.dtype !== 'F32' || t.shape?.length !== 2 || !t.data_offsets) throw bad(`linear.weight is ${JSON.stringify(t ?? null)}`);
  const [out, hidden] = t.shape;
  const [b, e] = t.data_offsets;
  if (e - b !== out * hidden * 4 || 8 + headerLen + e > buf.length) throw bad('linear.weight has the wrong byte length');
  const start = 8 + headerLen + b;
  const weight = new Float32Array(out * hidden);
  for (let i = 0; i < weight.length; i++) weight[i] = buf.readFloatLE(start + i * 4);
  return { weight, out, hidden };
}

/** Mean over the attended tokens, then `dense` (row-major [dims, hidden]), then L2-normalised: one row per text. */
export function poolAndProject(
  states: Float32Array,
  mask: BigInt64Array,
  batch: number,
  seqLen: number,
  dense: { weight: Float32Array; hidden: number },
): Float32Array[] {
  const h = dense.hidden;
  const dims = dense.weight.length / h;
  const out: Float32Array[] = [];
  for (let b = 0; b < batch; b++) {
    const mean = new Float64Array(h);
    let n = 0;
    for (let s = 0; s < seqLen; s++) {
      if (mask[b * seqLen + s] === 0n) continue;
      n++;
      const off = (b * seqLen + s) * h;
      for (let i = 0; i < h; i++) mean[i] += states[off + i];
    }
    for (let i = 0; i < h; i++) mean[i] /= Math.max(n, 1e-9);
    const v = new Float32Array(dims);
    let norm = 0;
    for (let d = 0; d < dims; d++) {
      let acc = 0;
      const row = d * h;
      for (let i = 0; i < h; i++) acc += dense.weight[row + i] * mean[i];
      v[d] = acc;
      norm += acc * acc;
    }
    norm = Math.sqrt(norm);
    if (norm > 0) for (let d = 0; d < dims; d++) v[d] /= norm;
    out.push(v);
  }
  return out;
}

/** Checks that `dir` holds a multilingual text model; ModelError naming what is missing. */
export function inspectTextModelDir(dirIn: string): TextModelDir {
  const dir = resolve(dirIn);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ModelError('MODEL_MISSING', `CLIP_TEXT_MODEL_DIR: no multilingual text model directory at ${dir}`, {
      hint: MULTILINGUAL_FIX_HINT,
    });
  }
  const has = (f: string) => existsSync(join(dir, f)) && statSync(join(dir, f)).size > 0;
  const st = !has(TEXT_MODEL_ONNX) && (has(ST_ONNX) || has(ST_DENSE));
  const missing = ['config.json', ...(st ? [ST_ONNX, ST_DENSE] : [TEXT_MODEL_ONNX])].filter((f) => !has(f));
  if (!has('tokenizer.json') && !has('vocab.txt')) missing.push('tokenizer.json or vocab.txt');
  if (missing.length) {
    throw new ModelError('MODEL_INCOMPLETE', `multilingual text model directory ${dir} is incomplete: missing ${missing.join(', ')}`, {
      hint: MULTILINGUAL_FIX_HINT,
    });
  }
  const cfg = readModelConfig(dir);
  if (st) {
    const pooling = join(dir, '1_Pooling/config.json');
    if (existsSync(pooling)) {
      const p = JSON.parse(readFileSync(pooling, 'utf8')) as { pooling_mode_mean_tokens?: boolean };
      if (p.pooling_mode_mean_tokens !== true) {
        throw new ModelError('MODEL_INTERFACE', `${pooling}: only mean pooling is supported (pooling_mode_mean_tokens: true)`, {
          hint: MULTILINGUAL_FIX_HINT,
        });
      }
    }
    const d = readDenseWeight(join(dir, ST_DENSE));
    // The transformer's config names its base model: the library records the repository's name instead.
    return {
      dir,
      name: `sentence-transformers/${basename(dir)}`,
      dims: d.out,
      synthetic: cfg.synthetic,
      onnx: join(dir, ST_ONNX),
      layout: 'sentence-transformers',
      dense: { weight: d.weight, hidden: d.hidden },
    };
  }
  return { dir, name: cfg.name, dims: cfg.projectionDim, synthetic: cfg.synthetic, onnx: join(dir, TEXT_MODEL_ONNX), layout: 'export' };
}

export interface TextEncoder {
  readonly model: TextModelDir;
  embedTexts(texts: string[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}

function revive(e: WireError): AdError {
  if (e.name === 'ModelError') return new ModelError(e.code ?? 'MODEL_CORRUPT', e.message, { hint: e.hint });
  return new InferenceError(e.code ?? 'INFERENCE_FAILED', `multilingual text model: ${e.message}`, { hint: e.hint });
}

export function createMultilingualTextEncoder(opts: { modelDir: string; device: Device; threads: number; logger: Logger }): TextEncoder {
  const model = inspectTextModelDir(opts.modelDir);
  const log = opts.logger.child({ component: 'clip-text' });
  if (model.synthetic) {
    log.warn(`SYNTHETIC MULTILINGUAL TEXT MODEL LOADED from ${model.dir}: a stand-in for tests, not a real encoder.`, {
      model: model.name,
    });
  }
  const tokenizer = WordPieceTokenizer.load(model.dir);
  const output = model.layout === 'export' ? OUTPUT : ST_HIDDEN;
  const closedError = () => new InferenceError('ENCODER_CLOSED', 'the multilingual text encoder has been closed');
  let loaded: Promise<LoadResult> | undefined;
  const worker = new WorkerRpc<WorkerRequest>({
    entry: new URL('./worker.ts', import.meta.url),
    name: 'the multilingual text encoder worker',
    closedError,
    onExit: () => {
      loaded = undefined;
    },
  });
  const ensure = (): Promise<LoadResult> => {
    loaded ??= worker
      .call<LoadResult>(
        {
          type: 'load',
          kind: 'text',
          files: { fp32: { float: model.onnx } },
          settings: { device: opts.device, threads: opts.threads, precision: 'fp32' },
        },
        [],
        revive,
      )
      .then((r) => {
        const names = r.inputs.map((i) => i.name);
        if (!names.includes('input_ids') || !names.includes('attention_mask') || !r.outputNames.includes(output)) {
          throw new ModelError(
            'MODEL_INTERFACE',
            `${model.onnx} takes ${names.join(', ')} and gives ${r.outputNames.join(', ')}; expected input_ids, attention_mask → ${output}`,
            { hint: MULTILINGUAL_FIX_HINT },
          );
        }
        log.info('multilingual text model loaded', { path: r.path, provider: r.provider, loadMs: Math.round(r.loadMs) });
        return r;
      });
    loaded.catch(() => {
      loaded = undefined;
    });
    return loaded;
  };
  const batcher = createBatcher<string, Float32Array>({
    batchMax: 16,
    waitMs: 4,
    run: async (texts) => {
      await ensure();
      const enc = tokenizer.encodeBatch(texts);
      const dims = [enc.batch, enc.seqLen];
      const mask = enc.attentionMask.slice();
      const r = await worker.call<RunResult>(
        {
          type: 'run',
          kind: 'text',
          output,
          normalize: model.layout === 'export',
          inputs: [
            { name: 'input_ids', type: 'int64', dims, parts: [enc.inputIds.buffer as ArrayBuffer] },
            { name: 'attention_mask', type: 'int64', dims, parts: [enc.attentionMask.buffer as ArrayBuffer] },
          ],
        },
        [enc.inputIds.buffer as ArrayBuffer, enc.attentionMask.buffer as ArrayBuffer],
        revive,
      );
      if (model.dense) {
        if (r.rows !== enc.batch * enc.seqLen || r.dims !== model.dense.hidden) {
          throw new InferenceError(
            'INFERENCE_FAILED',
            `the multilingual transformer returned ${r.rows}×${r.dims} token states for ${enc.batch}×${enc.seqLen} tokens; expected ${model.dense.hidden} wide`,
          );
        }
        return poolAndProject(new Float32Array(r.data), mask, enc.batch, enc.seqLen, model.dense);
      }
      if (r.rows !== texts.length || r.dims !== model.dims) {
        throw new InferenceError(
          'INFERENCE_FAILED',
          `the multilingual text model returned ${r.rows}×${r.dims} for ${texts.length} texts; expected ${model.dims}-d embeddings`,
        );
      }
      return Array.from({ length: r.rows }, (_, i) => new Float32Array(r.data, i * r.dims * 4, r.dims));
    },
  });
  let closed = false;
  return {
    model,
    async embedTexts(texts) {
      if (closed) throw closedError();
      if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) {
        throw new InputError('INPUT_INVALID', 'embedTexts expects an array of strings');
      }
      if (texts.length === 0) return [];
      return batcher.submit(texts);
    },
    async close() {
      if (closed) return;
      closed = true;
      batcher.close(closedError());
      await worker.close({ farewell: { type: 'close' } });
    },
  };
}

/**
 * `base` with its texts embedded by `text` instead: images and everything else stay the base
 * encoder's; `info()` names the text model, which the library records with caption embeddings.
 */
export function withTextEncoder(base: Encoder, text: TextEncoder): Encoder {
  if (text.model.dims !== base.dims) {
    throw new ModelError(
      'MODEL_DIMS',
      `CLIP_TEXT_MODEL_DIR's model gives ${text.model.dims}-d embeddings but the CLIP model ${base.dims}-d; they must share CLIP's image space`,
      { hint: MULTILINGUAL_FIX_HINT },
    );
  }
  const wrapped: Encoder = {
    dims: base.dims,
    info: (): EncoderInfo => ({
      ...base.info(),
      textModel: text.model.name,
      multilingualText: true,
      synthetic: base.info().synthetic || text.model.synthetic,
    }),
    embedTexts: (texts) => text.embedTexts(texts),
    embedImages: (images) => base.embedImages(images),
    async close() {
      await Promise.all([text.close(), base.close()]);
    },
    base: base.base ?? base,
  };
  if (base.warmup) wrapped.warmup = () => base.warmup!();
  if (base.ready) wrapped.ready = () => base.ready!();
  if (base.onRun) wrapped.onRun = (l) => base.onRun!(l);
  return wrapped;
}
