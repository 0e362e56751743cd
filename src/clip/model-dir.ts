/**
 * What a CLIP model directory must hold (the Hugging Face layout of DESIGN.md §3), which
 * ONNX files a precision selects, and a check that says exactly what is missing and how to
 * get it, before any ONNX Runtime session is created.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ModelError } from '../errors.ts';
import { readModelConfig } from './model-config.ts';
import { MODEL_FIX_HINT } from './session.ts';

export type Precision = 'fp32' | 'int8';
export type ModelKind = 'text' | 'vision';

export const METADATA_FILES = ['config.json', 'preprocessor_config.json', 'tokenizer.json'] as const;

/** ONNX file of a model half at a precision, relative to the model directory. */
export function onnxFile(kind: ModelKind, precision: Precision): string {
  return `onnx/${kind}_model${precision === 'int8' ? '_quantized' : ''}.onnx`;
}

/** Every file a precision needs, relative to the model directory. */
export function requiredFiles(precision: Precision): string[] {
  return [...METADATA_FILES, onnxFile('text', precision), onnxFile('vision', precision)];
}

export interface ModelDir {
  dir: string;
  /** Model name as recorded with embeddings. */
  name: string;
  dims: number;
  synthetic: boolean;
  precision: Precision;
  textModel: string;
  visionModel: string;
  tokenizer: string;
}

/**
 * Checks that `dir` holds a usable model at `precision` and returns its file paths.
 * Throws ModelError naming the path and the command that fixes it.
 */
export function inspectModelDir(dirIn: string, precision: Precision): ModelDir {
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
    const onlyQuantized = precision === 'int8' && missing.every((f) => f.endsWith('_quantized.onnx')) && empty.length === 0;
    const parts = [missing.length ? `missing ${missing.join(', ')}` : '', empty.length ? `empty ${empty.join(', ')}` : ''].filter(Boolean);
    throw new ModelError(
      onlyQuantized ? 'MODEL_NO_INT8' : 'MODEL_INCOMPLETE',
      `CLIP model directory ${dir} is incomplete: ${parts.join('; ')}`,
      {
        hint: onlyQuantized
          ? `CLIP_PRECISION=int8 needs the quantized files: run \`npm run -s adcreative -- models fetch --precision int8\` (real model) or \`npm run -s adcreative -- models quantize ${dir}\`, or set CLIP_PRECISION=fp32`
          : MODEL_FIX_HINT,
      },
    );
  }
  const cfg = readModelConfig(dir);
  return {
    dir,
    name: cfg.name,
    dims: cfg.projectionDim,
    synthetic: cfg.synthetic,
    precision,
    textModel: join(dir, onnxFile('text', precision)),
    visionModel: join(dir, onnxFile('vision', precision)),
    tokenizer: join(dir, 'tokenizer.json'),
  };
}
