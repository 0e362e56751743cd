/**
 * `adcreative models synth`, `models quantize`, `models fp16` (and `models rgb8`): the model
 * tooling that needs no network.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Command, intArg } from '../cli/command.ts';
import { config, dataPath } from '../config.ts';
import { ModelError, UsageError } from '../errors.ts';
import { fp16ModelDir } from './fp16.ts';
import { fp16Parity } from './fp16-check.ts';
import { quantizeModelDir } from './quantize.ts';
import { rgb8ModelDir } from './rgb8.ts';
import { isArchName } from './synth/arch.ts';
import { ARCH_NAMES, DEFAULT_SEED, synthesizeModel } from './synth/index.ts';
import { synthesizeMultilingualText } from './synth/multilingual.ts';

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

const PARITY_MIN = 0.999;

const fp16: Command = {
  name: 'models fp16',
  summary: 'Write fp16 versions (onnx/*_fp16.onnx: fp16 weights and arithmetic, fp32 inputs and outputs) for GPU hosts',
  usage: 'DIR [--keep LayerNormalization,Softmax,ReduceMean,Pow,Sqrt|none] [--no-check]',
  options: { keep: { type: 'string' }, 'no-check': { type: 'boolean' } },
  positionals: true,
  async run(args, io) {
    if (args.positionals.length !== 1) {
      throw new UsageError(`expected one model directory; got ${args.positionals.length}\nusage: adcreative ${fp16.name} ${fp16.usage}`);
    }
    const dir = resolve(args.positionals[0]);
    const keepArg = args.values.keep;
    const keep =
      typeof keepArg === 'string'
        ? keepArg.trim() === 'none'
          ? []
          : keepArg
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean)
        : undefined;
    if (keep?.some((op) => !/^[A-Z][A-Za-z0-9]*$/.test(op)))
      throw new UsageError(
        `--keep takes ONNX operator names separated by commas (e.g. LayerNormalization,Softmax) or none; got ${JSON.stringify(keepArg)}`,
      );
    const files = await fp16ModelDir(dir, { keep, onProgress: (m) => io.stderr.write(`${m}\n`) });
    io.stdout.write(`${files.join('\n')}\n`);
    if (args.values['no-check'] !== true) {
      // The CPU provider is the reference every host has: fp16 must stay within cos 0.999 of fp32.
      io.stderr.write('checking fp16 against fp32 on the CPU…\n');
      const results = await fp16Parity(dir);
      let ok = true;
      for (const r of results) {
        const pass = r.cosine.min >= PARITY_MIN;
        ok &&= pass;
        io.stdout.write(
          `${r.kind}: cosine to fp32 min ${r.cosine.min.toFixed(7)} (1 − cos ${(1 - r.cosine.min).toExponential(1)}), mean ${r.cosine.mean.toFixed(7)} over ${r.inputs} inputs: ${pass ? 'ok' : `BELOW ${PARITY_MIN}`}\n`,
        );
      }
      if (!ok) {
        io.stderr.write(
          `fp16 embeddings are further than cos ${PARITY_MIN} from fp32: keep more operators in fp32 (--keep), or use CLIP_PRECISION=fp32\n`,
        );
        return 1;
      }
    }
    io.stdout.write('used on a GPU with CLIP_PRECISION=auto (or fp16)\n');
    return 0;
  },
};

const rgb8: Command = {
  name: 'models rgb8',
  summary: 'Write 8-bit-pixel vision models (onnx/vision_model*_rgb8.onnx: uint8 HWC input, normalised inside the graph)',
  usage: 'DIR',
  options: {},
  positionals: true,
  async run(args, io) {
    if (args.positionals.length !== 1) {
      throw new UsageError(`expected one model directory; got ${args.positionals.length}\nusage: adcreative ${rgb8.name} ${rgb8.usage}`);
    }
    const files = await rgb8ModelDir(resolve(args.positionals[0]), { onProgress: (m) => io.stderr.write(`${m}\n`) });
    io.stdout.write(`${files.join('\n')}\nused with CLIP_VISION_INPUT=auto (or rgb8)\n`);
    return 0;
  },
};

const synthText: Command = {
  name: 'models synth-text',
  summary:
    'Write the synthetic stand-in of the multilingual text encoder (CLIP_TEXT_MODEL_DIR): concept words shared across en/de/es/zh, for tests',
  usage: '[--out DIR] [--seed N] [--layout export|sentence-transformers]',
  options: { out: { type: 'string' }, seed: { type: 'string' }, layout: { type: 'string' } },
  async run(args, io) {
    const seed = intArg(args, 'seed', DEFAULT_SEED, 0, 0xffffffff);
    const layout = args.values.layout ?? 'export';
    if (layout !== 'export' && layout !== 'sentence-transformers') {
      throw new UsageError(`--layout must be export or sentence-transformers; got ${JSON.stringify(layout)}`);
    }
    const out = typeof args.values.out === 'string' ? resolve(args.values.out) : dataPath(config(), 'models', 'multilingual-text-synth');
    const cfgPath = join(out, 'config.json');
    if (existsSync(cfgPath) && JSON.parse(readFileSync(cfgPath, 'utf8')).adcreative_synthetic !== true) {
      throw new ModelError(
        'SYNTH_REFUSED',
        `refusing to write a synthetic model into ${out}: it holds a model whose config.json is not marked synthetic`,
        {
          hint: 'choose an empty folder for --out',
        },
      );
    }
    await synthesizeMultilingualText(out, seed, layout);
    io.stdout.write(`wrote the synthetic multilingual text model (seed ${seed}, ${layout} layout) to ${out}\n`);
    io.stdout.write(`use it with CLIP_TEXT_MODEL_DIR=${out} (a stand-in: only its built-in concept words mean anything)\n`);
    return 0;
  },
};

export const commands: Command[] = [synth, synthText, quantize, fp16, rgb8];
