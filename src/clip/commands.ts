/**
 * `adcreative clip …` commands: the tokenizer and the preprocessing, as the model sees them.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type Command, type CommandIO, stringArg } from '../cli/command.ts';
import { config } from '../config.ts';
import { InputError, ModelError, UsageError } from '../errors.ts';
import { CLIP_PREPROCESS, type PreprocessConfig, preprocessImage, readPreprocessConfig } from './preprocess.ts';
import { ClipTokenizer } from './tokenizer.ts';

const TOKENIZER_HINT =
  'fetch the real model with `npm run -s adcreative -- models fetch`, or make a synthetic one with `npm run -s adcreative -- models synth --arch tiny --out DIR` and set CLIP_MODEL_DIR=DIR; or pass --vocab FILE (tokenizer.json or bpe_simple_vocab_16e6.txt.gz)';

function loadTokenizer(vocab: string | undefined): ClipTokenizer {
  const path = vocab ?? join(config().clipModelDir, 'tokenizer.json');
  if (!existsSync(path)) {
    throw new ModelError(
      'TOKENIZER_MISSING',
      `tokenizer file ${path} does not exist${vocab ? '' : ' (the default: $CLIP_MODEL_DIR/tokenizer.json)'}`,
      {
        hint: TOKENIZER_HINT,
      },
    );
  }
  return ClipTokenizer.load(path);
}

async function tokenizeStream(tok: ClipTokenizer, io: CommandIO): Promise<number> {
  const rl = createInterface({ input: io.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNo = 0;
  let failed = 0;
  let pending: string[] = [];
  const flush = async () => {
    if (!pending.length) return;
    const chunk = pending.join('');
    pending = [];
    if (!io.stdout.write(chunk)) await new Promise<void>((r) => io.stdout.once('drain', () => r()));
  };
  for await (const line of rl) {
    lineNo++;
    if (line.trim() === '') continue;
    let text: unknown;
    try {
      text = (JSON.parse(line) as { text?: unknown })?.text;
    } catch {
      text = undefined;
    }
    if (typeof text !== 'string') {
      failed++;
      const msg = `line ${lineNo}: expected a JSON object {"text": "..."}; got ${JSON.stringify(line.length > 80 ? `${line.slice(0, 80)}…` : line)}`;
      io.stderr.write(`adcreative clip tokenize: ${msg}\n`);
      // One output line per input record, so outputs still line up with inputs.
      pending.push(`${JSON.stringify({ error: msg })}\n`);
      continue;
    }
    pending.push(`{"ids":[${tok.encode(text).join(',')}]}\n`);
    if (pending.length >= 256) await flush();
  }
  await flush();
  if (failed) {
    io.stderr.write(`adcreative clip tokenize: ${failed} of the input lines could not be read (see above)\n`);
    return 1;
  }
  return 0;
}

function preprocessConfigFor(modelArg: string | undefined, io: CommandIO): PreprocessConfig {
  if (modelArg !== undefined) return readPreprocessConfig(modelArg);
  const dir = config().clipModelDir;
  if (!existsSync(dir)) {
    io.stderr.write(
      `note: model directory ${dir} (CLIP_MODEL_DIR) does not exist; using openai/clip-vit-base-patch32's preprocessing (224 px, bicubic, CLIP mean/std)\n`,
    );
    return CLIP_PREPROCESS;
  }
  return readPreprocessConfig(dir);
}

export const commands: Command[] = [
  {
    name: 'clip tokenize',
    summary: 'Tokenize JSON lines {"text": ...} from stdin into {"ids": [...]} lines (CLIP BPE, start/end tokens, at most 77)',
    usage: '[--vocab FILE] < texts.jsonl',
    options: { vocab: { type: 'string' } },
    async run(args, io) {
      const vocab = args.values.vocab;
      if (vocab !== undefined && (typeof vocab !== 'string' || vocab === '')) throw new UsageError('--vocab needs a file');
      const tok = loadTokenizer(vocab as string | undefined);
      return tokenizeStream(tok, io);
    },
  },
  {
    name: 'clip preprocess',
    summary: "Preprocess an image as CLIP's vision model sees it; writes a CHW float32 little-endian tensor",
    usage: 'IMAGE --out FILE.f32 [--model DIR] [--exact]',
    options: { out: { type: 'string' }, model: { type: 'string' }, exact: { type: 'boolean' } },
    positionals: true,
    async run(args, io) {
      const cmd = commands[1];
      if (args.positionals.length !== 1) {
        throw new UsageError(`expected exactly one IMAGE; got ${args.positionals.length}\nusage: adcreative ${cmd.name} ${cmd.usage}`);
      }
      const out = stringArg(args, 'out', cmd);
      const image = args.positionals[0];
      const model = args.values.model;
      const cfg = preprocessConfigFor(typeof model === 'string' ? model : undefined, io);
      let bytes: Uint8Array;
      try {
        if (statSync(image).isDirectory()) throw new Error('is a directory');
        bytes = readFileSync(image);
      } catch (e) {
        throw new InputError('INPUT_NOT_FOUND', `cannot read image ${image}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      const { imageMaxPixels, imageMaxBytes } = config();
      const t = await preprocessImage(
        bytes,
        cfg,
        { maxPixels: imageMaxPixels, maxBytes: imageMaxBytes },
        { source: image, exact: args.values.exact === true },
      );
      const buf = Buffer.from(t.buffer, t.byteOffset, t.byteLength);
      if (endianness() === 'BE') buf.swap32();
      writeFileSync(out, buf);
      io.stdout.write(`wrote ${out}: float32 CHW 3×${cfg.cropHeight}×${cfg.cropWidth} (${buf.length} bytes, little-endian)\n`);
      return 0;
    },
  },
];
