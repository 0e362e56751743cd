/**
 * `npm run bench -- clip-quant [--dir DIR] [--batch 8] [--runs 10] [--threads N]`:
 * int8 vs fp32 model-only throughput and embedding cosine on the synthetic ViT-B/32 vision
 * model (generated, with its int8 files, if DIR has none). Writes bench/results/clip-quant.json.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { quantizeModelDir } from '../src/clip/quantize.ts';
import { synthesizeModel } from '../src/clip/synth/index.ts';
import { int8Check } from '../src/clip/synth/int8-check.ts';
import { config, dataPath } from '../src/config.ts';

export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { dir: { type: 'string' }, batch: { type: 'string' }, runs: { type: 'string' }, threads: { type: 'string' } },
  });
  const dir = values.dir ?? dataPath(config(), 'models', 'clip-vit-b-32');
  const say = (m: string) => process.stderr.write(`${m}\n`);
  if (!existsSync(join(dir, 'onnx', 'vision_model.onnx'))) await synthesizeModel({ arch: 'vit-b-32', outDir: dir, onProgress: say });
  if (!existsSync(join(dir, 'onnx', 'vision_model_quantized.onnx'))) await quantizeModelDir(dir, { onProgress: say });
  const r = await int8Check({
    dir,
    batch: values.batch ? Number(values.batch) : 8,
    runs: values.runs ? Number(values.runs) : 10,
    threads: values.threads ? Number(values.threads) : undefined,
  });
  await mkdir('bench/results', { recursive: true });
  await writeFile('bench/results/clip-quant.json', `${JSON.stringify(r, null, 2)}\n`);
  process.stdout.write(
    [
      `machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB, node ${r.machine.node}, onnxruntime ${r.machine.onnxruntime}`,
      `vision model, batch ${r.settings.batch}, ${r.settings.threads} threads, median of ${r.settings.runs} runs each (interleaved):`,
      `  fp32: ${r.fp32.imagesPerSecond.toFixed(1)} img/s (${r.fp32.medianMs.toFixed(0)} ms/batch)`,
      `  int8: ${r.int8.imagesPerSecond.toFixed(1)} img/s (${r.int8.medianMs.toFixed(0)} ms/batch)`,
      `  int8/fp32: ${r.speedup.toFixed(2)}x   cosine int8 vs fp32: min ${r.cosine.min.toFixed(5)}, mean ${r.cosine.mean.toFixed(5)}`,
      'written: bench/results/clip-quant.json',
    ].join('\n') + '\n',
  );
}
