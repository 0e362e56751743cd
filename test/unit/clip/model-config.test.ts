import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readModelConfig } from '../../../src/clip/model-config.ts';
import { ModelError } from '../../../src/errors.ts';

const tmp = mkdtempSync(join(tmpdir(), 'clip-cfg-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function modelDir(name: string, config: unknown): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return dir;
}

describe('readModelConfig', () => {
  it("reads the real export's fields", () => {
    const dir = modelDir('real', {
      _name_or_path: 'openai/clip-vit-base-patch32',
      architectures: ['CLIPModel'],
      projection_dim: 512,
      text_config: { max_position_embeddings: 77, vocab_size: 49408, hidden_size: 512 },
      vision_config: { hidden_size: 768, patch_size: 32 },
    });
    expect(readModelConfig(dir)).toEqual({
      name: 'openai/clip-vit-base-patch32',
      projectionDim: 512,
      synthetic: false,
      textMaxPositions: 77,
      vocabSize: 49408,
    });
  });

  it('marks synthetic models and falls back to the folder name and CLIP defaults', () => {
    const dir = modelDir('synthetic-tiny', { adcreative_synthetic: true, projection_dim: 64, text_config: { vocab_size: 514 } });
    expect(readModelConfig(dir)).toEqual({
      name: 'synthetic-tiny',
      projectionDim: 64,
      synthetic: true,
      textMaxPositions: 77,
      vocabSize: 514,
    });
    // Only the literal true marks a model synthetic.
    expect(readModelConfig(modelDir('truthy', { adcreative_synthetic: 'yes' })).synthetic).toBe(false);
  });

  it('names the file and says how to fetch the model when config.json is missing or corrupt', () => {
    const missing = join(tmp, 'nothing');
    let err: unknown;
    try {
      readModelConfig(missing);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).code).toBe('MODEL_FILE_MISSING');
    expect((err as ModelError).message).toContain(join(missing, 'config.json'));
    expect((err as ModelError).hint).toContain('npm run -s adcreative -- models fetch');
    expect(() => readModelConfig(modelDir('corrupt', '{"projection_dim": 5'))).toThrow(/corrupt\/config\.json is not valid JSON/);
    expect(() => readModelConfig(modelDir('array', '[1, 2]'))).toThrow(/expected a JSON object/);
    expect(() => readModelConfig(modelDir('badfield', { projection_dim: -3 }))).toThrow(
      /projection_dim must be a positive integer; got -3/,
    );
  });
});
