/**
 * What a CLIP model directory must hold (the Hugging Face layout of DESIGN.md §3), which
 * ONNX files a precision selects, and a check that says exactly what is missing and how to
 * get it, before any ONNX Runtime session is created.
 *
 * Precision `auto` settles per execution provider once a session loads (fp16 on a GPU when
 * the fp16 files are there, fp32 otherwise): it needs the fp32 files, and offers the fp16 ones
 * it finds. A named precision needs exactly its own files.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ModelError } from '../errors.ts';
import { readModelConfig } from './model-config.ts';

export type Precision = 'fp32' | 'fp16' | 'int8';
/** CLIP_PRECISION: a precision, or `auto` (by provider: GPU fp16, CPU fp32). */
export type PrecisionSetting = Precision | 'auto';
export type ModelKind = 'text' | 'vision';
export const PRECISIONS: readonly Precision[] = ['fp32', 'fp16', 'int8'];

/** Vision input: CLIP-normalised float32 CHW (the standard export), or 8-bit RGB HWC normalised inside the graph. */
export type VisionInput = 'float' | 'rgb8';

const SUFFIX: Record<Precision, string> = { fp32: '', fp16: '_fp16', int8: '_quantized' };

/** The fix for a model that is missing or cannot be read, shown with every model error. */
export const MODEL_FIX_HINT =
  'run `npm run -s adcreative -- models fetch` for the real model, or `npm run -s adcreative -- models synth --arch tiny --out DIR` and set CLIP_MODEL_DIR=DIR';

export const METADATA_FILES = ['config.json', 'preprocessor_config.json', 'tokenizer.json'] as const;

/** ONNX file of a model half at a precision, relative to the model directory (`rgb8`: the 8-bit-pixel vision variant). */
export function onnxFile(kind: ModelKind, precision: Precision, input: VisionInput = 'float'): string {
  return `onnx/${kind}_model${SUFFIX[precision]}${kind === 'vision' && input === 'rgb8' ? '_rgb8' : ''}.onnx`;
}

/** Every file a precision setting needs, relative to the model directory (`auto` needs the fp32 files). */
export function requiredFiles(precision: PrecisionSetting): string[] {
  const p = precision === 'auto' ? 'fp32' : precision;
  return [...METADATA_FILES, onnxFile('text', p), onnxFile('vision', p)];
}

/** The ONNX files of one model half the encoder may load, by precision and vision input; absolute paths. */
export type ModelFiles = Partial<Record<Precision, { float?: string; rgb8?: string }>>;

export interface ModelDir {
  dir: string;
  /** Model name as recorded with embeddings. */
  name: string;
  dims: number;
  synthetic: boolean;
  /** As asked for; `auto` settles per provider when a session loads. */
  precision: PrecisionSetting;
  /** The files of the asked precision (`auto`: fp32). */
  textModel: string;
  visionModel: string;
  /** Every ONNX file present, per half, precision and vision input. */
  files: Record<ModelKind, ModelFiles>;
  tokenizer: string;
}

function present(p: string): boolean {
  return existsSync(p) && statSync(p).size > 0;
}

/**
 * Checks that `dir` holds a usable model at `precision` and returns its file paths.
 * Throws ModelError naming the path and the command that fixes it.
 */
export function inspectModelDir(dirIn: string, precision: PrecisionSetting): ModelDir {
  const dir = resolve(dirIn);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ModelError('MODEL_MISSING', `no CLIP model directory at ${dir}`, { hint: MODEL_FIX_HINT });
  }
  const missing: string[] = [];
  const empty: string[] = [];
  for (const f of requiredFiles(precision)) {
    const p = join(dir, f);
    if (!existsSync(p)) missing.push(f);
    else if (statSync(p).size === 0) empty.push(f);
  }
  if (missing.length || empty.length) {
    const onlyVariant =
      (precision === 'int8' || precision === 'fp16') && missing.every((f) => f.endsWith(`${SUFFIX[precision]}.onnx`)) && empty.length === 0;
    const parts = [missing.length ? `missing ${missing.join(', ')}` : '', empty.length ? `empty ${empty.join(', ')}` : ''].filter(Boolean);
    const variantHint: Record<'int8' | 'fp16', string> = {
      int8: `CLIP_PRECISION=int8 needs the quantized files: run \`npm run -s adcreative -- models fetch --precision int8\` (real model) or \`npm run -s adcreative -- models quantize ${dir}\`, or set CLIP_PRECISION=fp32`,
      fp16: `CLIP_PRECISION=fp16 needs the fp16 files: run \`npm run -s adcreative -- models fp16 ${dir}\`, or set CLIP_PRECISION=auto (fp16 where the files are, fp32 otherwise)`,
    };
    throw new ModelError(
      onlyVariant ? (precision === 'int8' ? 'MODEL_NO_INT8' : 'MODEL_NO_FP16') : 'MODEL_INCOMPLETE',
      `CLIP model directory ${dir} is incomplete: ${parts.join('; ')}`,
      { hint: onlyVariant ? variantHint[precision as 'int8' | 'fp16'] : MODEL_FIX_HINT },
    );
  }
  const cfg = readModelConfig(dir);
  const files: Record<ModelKind, ModelFiles> = { text: {}, vision: {} };
  for (const kind of ['text', 'vision'] as const) {
    for (const p of PRECISIONS) {
      const float = join(dir, onnxFile(kind, p));
      const rgb8 = kind === 'vision' ? join(dir, onnxFile(kind, p, 'rgb8')) : undefined;
      const entry = { float: present(float) ? float : undefined, rgb8: rgb8 && present(rgb8) ? rgb8 : undefined };
      if (entry.float || entry.rgb8) files[kind][p] = entry;
    }
  }
  const asked = precision === 'auto' ? 'fp32' : precision;
  return {
    dir,
    name: cfg.name,
    dims: cfg.projectionDim,
    synthetic: cfg.synthetic,
    precision,
    textModel: join(dir, onnxFile('text', asked)),
    visionModel: join(dir, onnxFile('vision', asked)),
    files,
    tokenizer: join(dir, 'tokenizer.json'),
  };
}
