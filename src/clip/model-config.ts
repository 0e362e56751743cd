/**
 * What the project needs from a model directory's Hugging Face `config.json`: the model's
 * name, embedding width, text context and vocabulary size, and whether it is one of the
 * project's synthetic models (`"adcreative_synthetic": true`).
 */
import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ModelError } from '../errors.ts';

export interface ModelConfig {
  /** `_name_or_path` (e.g. "openai/clip-vit-base-patch32"), else the directory's name. */
  name: string;
  projectionDim: number;
  synthetic: boolean;
  /** Text positions (77 for CLIP). */
  textMaxPositions: number;
  vocabSize: number;
}

export const MODEL_FETCH_HINT =
  'fetch the model with `npm run -s adcreative -- models fetch`, or point CLIP_MODEL_DIR at a model directory';

function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelError('MODEL_FILE_MISSING', `${file} is missing${code && code !== 'ENOENT' ? ` (${code})` : ''}`, {
      cause: e,
      hint: MODEL_FETCH_HINT,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelError('MODEL_CONFIG_INVALID', `${file} is not valid JSON (${(e as Error).message})`, {
      cause: e,
      hint: MODEL_FETCH_HINT,
    });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelError('MODEL_CONFIG_INVALID', `${file}: expected a JSON object`, { hint: MODEL_FETCH_HINT });
  }
  return json as Record<string, unknown>;
}

function intField(file: string, name: string, v: unknown, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new ModelError('MODEL_CONFIG_INVALID', `${file}: ${name} must be a positive integer; got ${JSON.stringify(v)}`, {
      hint: MODEL_FETCH_HINT,
    });
  }
  return v;
}

/** Reads `<modelDir>/config.json`; ModelError naming the file when missing or invalid. */
export function readModelConfig(modelDir: string): ModelConfig {
  const file = join(modelDir, 'config.json');
  const j = readJson(file);
  // Older exports keep the text settings under `text_config_dict`.
  const textRaw = j.text_config ?? j.text_config_dict ?? {};
  if (typeof textRaw !== 'object' || textRaw === null) {
    throw new ModelError('MODEL_CONFIG_INVALID', `${file}: text_config must be an object`, { hint: MODEL_FETCH_HINT });
  }
  const text = textRaw as Record<string, unknown>;
  const name = typeof j._name_or_path === 'string' && j._name_or_path !== '' ? j._name_or_path : basename(resolve(modelDir));
  return {
    name,
    projectionDim: intField(file, 'projection_dim', j.projection_dim, 512),
    synthetic: j.adcreative_synthetic === true,
    textMaxPositions: intField(file, 'text_config.max_position_embeddings', text.max_position_embeddings, 77),
    vocabSize: intField(file, 'text_config.vocab_size', text.vocab_size, 49408),
  };
}
