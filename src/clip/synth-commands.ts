/**
 * `adcreative models synth` and `adcreative models quantize`: the model tooling that
 * needs no network.
 */
import { resolve } from 'node:path';
import { type Command, intArg } from '../cli/command.ts';
import { config, dataPath } from '../config.ts';
import { UsageError } from '../errors.ts';
import { quantizeModelDir } from './quantize.ts';
import { isArchName } from './synth/arch.ts';
import { ARCH_NAMES, DEFAULT_SEED, synthesizeModel } from './synth/index.ts';

const synth: Command = {
  name: 'models synth',
  summary: 'Write a synthetic CLIP model (seeded random weights, real layout and interface) for tests and benchmarks',
  usage: `--arch ${ARCH_NAMES.join('|')} [--out DIR] [--seed N] [--quantize]`,
  options: {
    arch: { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string' },
    quantize: { type: 'boolean' },
  },
  async run(args, io) {
    const arch = args.values.arch;
    if (typeof arch !== 'string' || !isArchName(arch)) {
      throw new UsageError(
        `--arch must be one of ${ARCH_NAMES.join(', ')}; got ${arch === undefined ? 'nothing' : JSON.stringify(arch)}\nusage: adcreative ${synth.name} ${synth.usage}`,
      );
    }
    const seed = intArg(args, 'seed', DEFAULT_SEED, 0, 0xffffffff);
    const out = typeof args.values.out === 'string' ? resolve(args.values.out) : dataPath(config(), 'models', `clip-${arch}`);
    const t0 = performance.now();
    const r = await synthesizeModel({
      arch,
      outDir: out,
      seed,
      quantize: args.values.quantize === true,
      onProgress: (m) => io.stderr.write(`${m}\n`),
    });
    io.stdout.write(`wrote synthetic ${arch} model (seed ${seed}) to ${r.outDir} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    io.stdout.write(`use it with CLIP_MODEL_DIR=${r.outDir} (similarities are meaningless: the weights are random)\n`);
    return 0;
  },
};

const quantize: Command = {
  name: 'models quantize',
  summary: 'Write int8 versions (onnx/*_quantized.onnx) of a model directory, dynamic quantization of weight MatMuls',
  usage: 'DIR [--per-tensor] [--reduce-range]',
  options: {
    'per-tensor': { type: 'boolean' },
    'reduce-range': { type: 'boolean' },
  },
  positionals: true,
  async run(args, io) {
    if (args.positionals.length !== 1) {
      throw new UsageError(
        `expected one model directory; got ${args.positionals.length}\nusage: adcreative ${quantize.name} ${quantize.usage}`,
      );
    }
    const dir = resolve(args.positionals[0]);
    const files = await quantizeModelDir(dir, {
      perChannel: args.values['per-tensor'] !== true,
      reduceRange: args.values['reduce-range'] === true,
      onProgress: (m) => io.stderr.write(`${m}\n`),
    });
    io.stdout.write(`${files.join('\n')}\nselect them with CLIP_PRECISION=int8\n`);
    return 0;
  },
};

export const commands: Command[] = [synth, quantize];
