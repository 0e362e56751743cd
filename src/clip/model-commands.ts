/**
 * CLI: `models fetch`, `models list`, `clip embed`.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Command } from '../cli/command.ts';
import { config, dataPath } from '../config.ts';
import { ImageError, InputError, UsageError } from '../errors.ts';
import { createLogger } from '../log.ts';
import { type FetchPrecision, fetchModel, formatBytes, listModels, loadManifest, PROJECT_ROOT } from './fetch.ts';
import type { Device } from './session.ts';

function oneOfArg<T extends string>(v: unknown, name: string, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')}; got ${JSON.stringify(v)}`);
  }
  return v as T;
}

const fetchCmd: Command = {
  name: 'models fetch',
  summary: 'Download the real CLIP model (default: the manifest default) with resume and checksum verification.',
  usage: '[NAME] [--precision fp32|int8|all] [--dir DIR]',
  positionals: true,
  options: { precision: { type: 'string' }, dir: { type: 'string' } },
  async run(args, io) {
    const cfg = config();
    const manifest = loadManifest();
    if (args.positionals.length > 1) throw new UsageError(`expected at most one model name; got ${args.positionals.join(' ')}`);
    const name = args.positionals[0] ?? manifest.default;
    const model = manifest.models[name];
    if (!model) throw new UsageError(`unknown model "${name}"; the manifest has: ${Object.keys(manifest.models).join(', ')}`);
    // fp16 files are made here from the fp32 ones (`models fp16`), not downloaded.
    const precision = oneOfArg<FetchPrecision>(
      args.values.precision,
      'precision',
      ['fp32', 'int8', 'all'],
      cfg.clipPrecision === 'int8' ? 'int8' : 'fp32',
    );
    const dir = typeof args.values.dir === 'string' ? resolve(args.values.dir) : join(PROJECT_ROOT, model.dir);
    const logger = createLogger({ level: cfg.logLevel });
    io.stderr.write(`fetching ${name} (${model.repo}@${model.revision}, ${precision}) into ${dir} from ${cfg.clipHubEndpoint}\n`);
    const files = await fetchModel({
      model,
      name,
      dir,
      precision,
      endpoint: cfg.clipHubEndpoint,
      progressStream: io.stderr as NodeJS.WritableStream & { isTTY?: boolean },
      logger,
    });
    for (const f of files) {
      const what = f.status === 'recorded' ? 'present; checksum recorded (trust on first use)' : f.status;
      io.stdout.write(
        `${f.status === 'skipped' ? '-' : 'ok'} ${f.path}  ${f.size !== undefined ? formatBytes(f.size) : ''}  ${what}${f.sha256 ? `  sha256 ${f.sha256}` : ''}\n`,
      );
    }
    const shown = isAbsolute(dir) ? relative(process.cwd(), dir) || '.' : dir;
    if (model.role === 'text') {
      io.stdout.write(
        `text model ready in ${shown}: set CLIP_TEXT_MODEL_DIR=${shown}, then \`library reembed\` re-embeds the captions with it\n`,
      );
      return 0;
    }
    io.stdout.write(`model ready in ${shown}${precision === 'int8' ? ' (set CLIP_PRECISION=int8)' : ''}\n`);
    if (precision !== 'int8') io.stdout.write(`for a GPU host: npm run -s adcreative -- models fp16 ${shown}\n`);
    return 0;
  },
};

/** Relative to the working directory when inside it, absolute otherwise (no `../../..`). */
function shownDir(dir: string): string {
  const rel = relative(process.cwd(), dir);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : dir;
}

const listCmd: Command = {
  name: 'models list',
  summary: 'Model directories under models/ and $DATA_DIR/models/, and CLIP_MODEL_DIR: real or synthetic, sizes, checksum status.',
  usage: '[--quick] [--json]',
  options: { quick: { type: 'boolean' }, json: { type: 'boolean' } },
  async run(args, io) {
    const cfg = config();
    const roots = [join(PROJECT_ROOT, 'models'), dataPath(cfg, 'models')];
    const models = await listModels(roots, { verify: args.values.quick !== true, dirs: [cfg.clipModelDir] });
    if (args.values.json === true) {
      io.stdout.write(`${JSON.stringify(models, null, 2)}\n`);
      return 0;
    }
    if (models.length === 0) {
      io.stdout.write(
        `no models under ${roots.join(' or ')}, and none at CLIP_MODEL_DIR=${cfg.clipModelDir}\nfetch the real one: npm run -s adcreative -- models fetch\nor make a synthetic one: npm run -s adcreative -- models synth --arch tiny --out ${join(cfg.dataDir, 'models', 'clip-tiny')}\n`,
      );
      return 0;
    }
    const active = resolve(cfg.clipModelDir);
    for (const m of models) {
      const kind = m.synthetic ? `SYNTHETIC${m.arch ? ` ${m.arch}` : ''} (meaningless similarities)` : 'real';
      io.stdout.write(`${m.dir === active ? '* ' : '  '}${shownDir(m.dir)}  ${m.name}  ${kind}  ${formatBytes(m.totalBytes)}\n`);
      for (const f of m.files) io.stdout.write(`      ${f.path.padEnd(36)} ${formatBytes(f.size).padStart(10)}  checksum ${f.checksum}\n`);
    }
    io.stdout.write('(* = CLIP_MODEL_DIR)\n');
    return models.some((m) => m.files.some((f) => f.checksum === 'mismatch')) ? 1 : 0;
  },
};

const embedCmd: Command = {
  name: 'clip embed',
  summary: 'Embed one text or one image; prints {"dims", "norm", "embedding"} as JSON.',
  usage: '--text TEXT | --image PATH [--model DIR] [--precision auto|fp32|fp16|int8] [--device auto|cpu|cuda|webgpu]',
  options: {
    text: { type: 'string' },
    image: { type: 'string' },
    model: { type: 'string' },
    precision: { type: 'string' },
    device: { type: 'string' },
  },
  async run(args, io) {
    const text = args.values.text;
    const image = args.values.image;
    if ((text === undefined) === (image === undefined))
      throw new UsageError(`give exactly one of --text or --image\nusage: adcreative clip embed ${this.usage}`);
    const cfg = config();
    // Loaded here so other commands do not pull in the tokenizer and image stack.
    const { createOnnxEncoder } = await import('./encoder.ts');
    const { encoderOptions } = await import('./open.ts');
    const encoder = createOnnxEncoder(
      encoderOptions(cfg, {
        modelDir: typeof args.values.model === 'string' ? args.values.model : cfg.clipModelDir,
        device: oneOfArg<Device>(args.values.device, 'device', ['auto', 'cpu', 'cuda', 'webgpu'], cfg.clipDevice),
        precision: oneOfArg(args.values.precision, 'precision', ['auto', 'fp32', 'fp16', 'int8'] as const, cfg.clipPrecision),
        logger: createLogger({ level: cfg.logLevel }),
      }),
    );
    try {
      let v: Float32Array;
      if (typeof text === 'string') {
        [v] = await encoder.embedTexts([text]);
      } else {
        const path = String(image);
        const bytes = await readFile(path).catch((e: unknown) => {
          throw new InputError('INPUT_UNREADABLE', `${path}: cannot read (${e instanceof Error ? e.message : String(e)})`);
        });
        // The encoder sees bytes, not files: put the file's name on an image error here.
        [v] = await encoder.embedImages([bytes]).catch((e: unknown) => {
          throw e instanceof ImageError ? new ImageError(e.code, `${path}: ${e.message}`, { cause: e, hint: e.hint }) : e;
        });
      }
      let s = 0;
      for (const x of v) s += x * x;
      io.stdout.write(`${JSON.stringify({ dims: v.length, norm: Math.sqrt(s), embedding: Array.from(v) })}\n`);
      return 0;
    } finally {
      await encoder.close();
    }
  },
};

export const commands: Command[] = [fetchCmd, listCmd, embedCmd];
