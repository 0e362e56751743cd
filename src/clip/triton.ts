/**
 * `models triton`: a Triton Inference Server model repository for the same two ONNX files
 * serve-clip runs, so a team can run Triton instead (same KServe v2 protocol; the bot's
 * remote encoder talks to either):
 *
 *   OUT/clip-text/config.pbtxt    OUT/clip-text/1/model.onnx
 *   OUT/clip-vision/config.pbtxt  OUT/clip-vision/1/model.onnx
 *
 * `max_batch_size` > 0 makes Triton add the batch dimension itself, so the dims below are
 * per item and the model metadata reports [-1, …] as serve-clip does. Text inputs are
 * declared [-1] (any length ≤ 77); the remote encoder always pads them to 77 so requests
 * from different callers have equal shapes and Triton's dynamic batcher can merge them.
 */
import { copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { clipModels, type ModelMetadata } from './kserve.ts';
import { inspectModelDir, type Precision } from './model-dir.ts';

export interface TritonRepoOptions {
  modelDir: string;
  out: string;
  precision: Precision;
  /** Symlink the ONNX files instead of copying them (same host only; links do not survive a container mount). */
  link?: boolean;
  maxBatchSize?: number;
  preferredBatchSizes?: number[];
  maxQueueDelayMicroseconds?: number;
}

const TYPE = { FP32: 'TYPE_FP32', INT64: 'TYPE_INT64', UINT8: 'TYPE_UINT8' } as const;

export function configPbtxt(
  meta: ModelMetadata,
  o: Required<Pick<TritonRepoOptions, 'maxBatchSize' | 'preferredBatchSizes' | 'maxQueueDelayMicroseconds'>>,
): string {
  const tensor = (t: ModelMetadata['inputs'][number]) =>
    `  {\n    name: "${t.name}"\n    data_type: ${TYPE[t.datatype]}\n    dims: [ ${t.shape.slice(1).join(', ')} ]\n  }`;
  return [
    `# Written by \`adcreative models triton\`. Same model and protocol as \`adcreative serve-clip\`.`,
    `name: "${meta.name}"`,
    'platform: "onnxruntime_onnx"',
    `max_batch_size: ${o.maxBatchSize}`,
    `input [\n${meta.inputs.map(tensor).join(',\n')}\n]`,
    `output [\n${meta.outputs.map(tensor).join(',\n')}\n]`,
    'dynamic_batching {',
    `  preferred_batch_size: [ ${o.preferredBatchSizes.join(', ')} ]`,
    `  max_queue_delay_microseconds: ${o.maxQueueDelayMicroseconds}`,
    '}',
    'instance_group [',
    '  {',
    '    count: 1',
    '    kind: KIND_GPU',
    '  }',
    ']',
    '# No GPU on this host? Use instead:',
    '# instance_group [ { count: 1 kind: KIND_CPU } ]',
    '',
  ].join('\n');
}

export function writeTritonRepository(opts: TritonRepoOptions): { out: string; files: string[] } {
  const model = inspectModelDir(opts.modelDir, opts.precision);
  const out = resolve(opts.out);
  const metas = clipModels(model.dims);
  const settings = {
    maxBatchSize: opts.maxBatchSize ?? 64,
    preferredBatchSizes: opts.preferredBatchSizes ?? [8, 16],
    maxQueueDelayMicroseconds: opts.maxQueueDelayMicroseconds ?? 4000,
  };
  const files: string[] = [];
  const plan: [ModelMetadata, string][] = [
    [metas['clip-text'], model.textModel],
    [metas['clip-vision'], model.visionModel],
  ];
  for (const [meta, src] of plan) {
    const dir = join(out, meta.name);
    mkdirSync(join(dir, '1'), { recursive: true });
    const cfg = join(dir, 'config.pbtxt');
    writeFileSync(cfg, configPbtxt(meta, settings));
    const dest = join(dir, '1', 'model.onnx');
    rmSync(dest, { force: true });
    if (opts.link) symlinkSync(src, dest);
    else copyFileSync(src, dest);
    files.push(cfg, dest);
  }
  return { out, files };
}
