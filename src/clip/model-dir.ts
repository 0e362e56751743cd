/**
 * What a CLIP model directory must hold (the Hugging Face layout of DESIGN.md §3), which
 * ONNX files a precision selects, and a check that says exactly what is missing and how to
 * get it, before any ONNX Runtime session is created.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ModelError } from '../errors.ts';
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

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads the facts the encoder needs from config.json: name, embedding width, synthetic flag. */
export function readModelFacts(dir: string): { name: string; dims: number; synthetic: boolean } {
  const path = join(dir, 'config.json');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ModelError('MODEL_CORRUPT', `${path}: not readable JSON (${e instanceof Error ? e.message : String(e)})`, {
      cause: e,
      hint: MODEL_FIX_HINT,
    });
  }
  if (!isRecord(json)) throw new ModelError('MODEL_CORRUPT', `${path}: expected a JSON object`, { hint: MODEL_FIX_HINT });
  const dims = json.projection_dim ?? 512;
  if (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1) {
    throw new ModelError('MODEL_CORRUPT', `${path}: projection_dim must be a positive integer; got ${JSON.stringify(dims)}`, {
      hint: MODEL_FIX_HINT,
    });
  }
  const synthetic = json.adcreative_synthetic === true;
  const rawName = typeof json._name_or_path === 'string' && json._name_or_path ? json._name_or_path : undefined;
  const name =
    rawName ??
    (synthetic ? `synthetic/${typeof json.adcreative_arch === 'string' ? json.adcreative_arch : 'clip'}` : 'openai/clip-vit-base-patch32');
  return { name, dims, synthetic };
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
  const facts = readModelFacts(dir);
  return {
    dir,
    ...facts,
    precision,
    textModel: join(dir, onnxFile('text', precision)),
    visionModel: join(dir, onnxFile('vision', precision)),
    tokenizer: join(dir, 'tokenizer.json'),
  };
}
