import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inspectModelDir, onnxFile, requiredFiles } from '../../../src/clip/model-dir.ts';
import { ModelError } from '../../../src/errors.ts';

let dir: string;

function writeModel(d: string, files: string[], config: Record<string, unknown> = { projection_dim: 512 }) {
  mkdirSync(join(d, 'onnx'), { recursive: true });
  for (const f of files) writeFileSync(join(d, f), f === 'config.json' ? JSON.stringify(config) : 'x');
}

function caught(fn: () => unknown): ModelError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelError);
    return e as ModelError;
  }
  throw new Error('expected a ModelError');
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'model-dir-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('model directory', () => {
  it('selects the fp32 or int8 ONNX files', () => {
    expect(onnxFile('text', 'fp32')).toBe('onnx/text_model.onnx');
    expect(onnxFile('vision', 'int8')).toBe('onnx/vision_model_quantized.onnx');
    writeModel(dir, requiredFiles('int8'), { projection_dim: 256, _name_or_path: 'x/y' });
    const m = inspectModelDir(dir, 'int8');
    expect(m.visionModel).toBe(join(dir, 'onnx/vision_model_quantized.onnx'));
    expect(m.textModel).toBe(join(dir, 'onnx/text_model_quantized.onnx'));
    expect(m.dims).toBe(256);
    expect(m.name).toBe('x/y');
    expect(m.synthetic).toBe(false);
  });

  it('reads the synthetic flag from config.json', () => {
    writeModel(dir, requiredFiles('fp32'), { projection_dim: 512, adcreative_synthetic: true });
    expect(inspectModelDir(dir, 'fp32').synthetic).toBe(true);
  });

  it('a missing directory names the path and the fetch and synth commands', () => {
    const missing = join(dir, 'nope');
    const e = caught(() => inspectModelDir(missing, 'fp32'));
    expect(e.code).toBe('MODEL_MISSING');
    expect(e.message).toContain(missing);
    expect(e.hint).toContain('models fetch');
    expect(e.hint).toContain('models synth --arch tiny');
  });

  it('lists every missing or empty file', () => {
    writeModel(dir, ['config.json', 'tokenizer.json', 'onnx/text_model.onnx']);
    writeFileSync(join(dir, 'tokenizer.json'), '');
    const e = caught(() => inspectModelDir(dir, 'fp32'));
    expect(e.code).toBe('MODEL_INCOMPLETE');
    expect(e.message).toContain(dir);
    expect(e.message).toContain('missing preprocessor_config.json, onnx/vision_model.onnx');
    expect(e.message).toContain('empty tokenizer.json');
  });

  it('int8 without quantized files says how to get them', () => {
    writeModel(dir, requiredFiles('fp32'));
    const e = caught(() => inspectModelDir(dir, 'int8'));
    expect(e.code).toBe('MODEL_NO_INT8');
    expect(e.hint).toContain('models quantize');
    expect(e.hint).toContain('CLIP_PRECISION=fp32');
  });

  it('an unreadable config.json is a corrupt model naming the file', () => {
    writeModel(dir, requiredFiles('fp32'));
    writeFileSync(join(dir, 'config.json'), '{not json');
    const e = caught(() => inspectModelDir(dir, 'fp32'));
    expect(e.code).toBe('MODEL_CORRUPT');
    expect(e.message).toContain(join(dir, 'config.json'));
  });

  it('rejects a projection_dim that is not a positive integer', () => {
    writeModel(dir, requiredFiles('fp32'), { projection_dim: 'big' });
    expect(caught(() => inspectModelDir(dir, 'fp32')).message).toContain('projection_dim');
  });
});
