/**
 * `models triton` on the tiny synthetic model: the repository layout Triton expects, the ONNX
 * files byte for byte, and config.pbtxt declaring what serve-clip serves.
 */
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../../src/clip/serve-commands.ts';
import { synthesizeModel } from '../../../src/clip/synth/index.ts';
import { runCommand } from '../../helpers/run-command.ts';

let root: string;
let modelDir: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'triton-'));
  modelDir = join(root, 'clip-tiny');
  await synthesizeModel({ arch: 'tiny', outDir: modelDir, seed: 2 });
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('models triton', () => {
  it('writes clip-text and clip-vision with the same ONNX files and dynamic-batching configs', async () => {
    const out = join(root, 'repo');
    const r = await runCommand(commands, [
      'models',
      'triton',
      '--out',
      out,
      '--model',
      modelDir,
      '--max-batch',
      '32',
      '--queue-delay-us',
      '2500',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Triton model repository ready in ${out}`);
    for (const [name, file] of [
      ['clip-text', 'text_model.onnx'],
      ['clip-vision', 'vision_model.onnx'],
    ]) {
      expect(readFileSync(join(out, name, '1', 'model.onnx')).equals(readFileSync(join(modelDir, 'onnx', file)))).toBe(true);
    }
    const text = readFileSync(join(out, 'clip-text', 'config.pbtxt'), 'utf8');
    expect(text).toContain('name: "clip-text"');
    expect(text).toContain('platform: "onnxruntime_onnx"');
    expect(text).toContain('max_batch_size: 32');
    expect(text).toMatch(/name: "input_ids"\s+data_type: TYPE_INT64\s+dims: \[ -1 \]/);
    expect(text).toMatch(/name: "attention_mask"\s+data_type: TYPE_INT64\s+dims: \[ -1 \]/);
    expect(text).toMatch(/name: "text_embeds"\s+data_type: TYPE_FP32\s+dims: \[ 512 \]/);
    expect(text).toMatch(/dynamic_batching \{\s+preferred_batch_size: \[ 8, 16 \]\s+max_queue_delay_microseconds: 2500\s+\}/);
    expect(text).toMatch(/kind: KIND_GPU/);
    expect(text).toMatch(/# instance_group \[ \{ count: 1 kind: KIND_CPU \} \]/);
    const vision = readFileSync(join(out, 'clip-vision', 'config.pbtxt'), 'utf8');
    expect(vision).toMatch(/name: "pixel_values"\s+data_type: TYPE_FP32\s+dims: \[ 3, 224, 224 \]/);
    expect(vision).toMatch(/name: "image_embeds"\s+data_type: TYPE_FP32\s+dims: \[ 512 \]/);

    // Again with --link: symlinks to the model directory's files, replacing the copies.
    const again = await runCommand(commands, ['models', 'triton', '--out', out, '--model', modelDir, '--link']);
    expect(again.code).toBe(0);
    const dest = join(out, 'clip-vision', '1', 'model.onnx');
    expect(lstatSync(dest).isSymbolicLink()).toBe(true);
    expect(readlinkSync(dest)).toBe(join(modelDir, 'onnx', 'vision_model.onnx'));
  });

  it('refuses a missing --out, a bad precision and a model directory without the files', async () => {
    expect((await runCommand(commands, ['models', 'triton', '--model', modelDir])).code).toBe(2);
    const p = await runCommand(commands, ['models', 'triton', '--out', join(root, 'x'), '--model', modelDir, '--precision', 'bf16']);
    expect(p.code).toBe(2);
    expect(p.stderr).toContain('--precision must be auto, fp32, fp16 or int8; got "bf16"');
    const m = await runCommand(commands, ['models', 'triton', '--out', join(root, 'y'), '--model', join(root, 'nope')]);
    expect(m.code).toBe(1);
    expect(m.stderr).toContain('no CLIP model directory');
  });

  it('serve-clip refuses an unknown flag with its usage', async () => {
    const r = await runCommand(commands, ['serve-clip', '--gpu']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('usage: adcreative serve-clip');
  });
});
