/**
 * `synthesizeModel`: writes a synthetic CLIP model directory in the layout of the standard
 * ONNX export of openai/clip-vit-base-patch32 (DESIGN.md §3/§4), with seeded weights, so
 * tests and benchmarks run the real inference path without downloading anything.
 */
import { existsSync, lstatSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelError, UsageError } from '../../errors.ts';
import { QUANTIZE_TARGETS, quantizeModelDir } from '../quantize.ts';
import { ARCH_NAMES, ARCHS, type ArchName, isArchName } from './arch.ts';
import { configJson, DEFAULT_SEED, preprocessorConfigJson, specialTokensMapJson, tokenizerConfigJson } from './configs.ts';
import { buildTextModel, buildVisionModel } from './models.ts';
import { tokenizerJson } from './tokenizer-json.ts';

export { ARCH_NAMES, ARCHS, type ArchName, type ArchSpec } from './arch.ts';
export { DEFAULT_SEED, syntheticModelName } from './configs.ts';
export { SYNTH_VOCAB_SIZE, synthVocab } from './tokenizer-json.ts';

/** The real model's folder (relative to the repository root), which synth never writes. */
export const REAL_MODEL_DIR = 'models/clip-vit-base-patch32';

export interface SynthOptions {
  arch: ArchName;
  outDir: string;
  seed?: number;
  quantize?: boolean;
  onProgress?: (msg: string) => void;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function inside(child: string, parent: string): boolean {
  const r = relative(parent, child);
  return r === '' || (r !== '..' && !r.startsWith(`..${sep}`) && !isAbsolute(r));
}

/** Resolves symlinks in the part of `p` that exists (dangling links too), so a link cannot smuggle a path in. */
function realish(p: string, depth = 0): string {
  let head = resolve(p);
  const tail: string[] = [];
  const present = (q: string) => {
    try {
      lstatSync(q);
      return true;
    } catch {
      return false;
    }
  };
  while (!present(head)) {
    const up = dirname(head);
    if (up === head) break;
    tail.unshift(basename(head));
    head = up;
  }
  try {
    head = realpathSync(head);
  } catch {
    if (depth < 16 && lstatSync(head).isSymbolicLink())
      return realish(join(resolve(dirname(head), readlinkSync(head)), ...tail), depth + 1);
  }
  return join(head, ...tail);
}

/** Refuses the real model's folder (under the repository or the working directory) and any real model. */
export function assertSynthTarget(outDir: string): string {
  const out = resolve(outDir);
  for (const root of new Set([REPO_ROOT, process.cwd()])) {
    const real = resolve(root, REAL_MODEL_DIR);
    if (inside(out, real) || inside(realish(out), realish(real))) {
      throw new ModelError(
        'SYNTH_REFUSED',
        `refusing to write a synthetic model into ${out}: that is the real model's folder (${REAL_MODEL_DIR}).`,
        { hint: 'pass --out elsewhere, e.g. data/models/clip-tiny' },
      );
    }
  }
  const cfgPath = join(out, 'config.json');
  if (existsSync(cfgPath)) {
    let synthetic = false;
    try {
      synthetic = (JSON.parse(readFileSync(cfgPath, 'utf8')) as { adcreative_synthetic?: unknown }).adcreative_synthetic === true;
    } catch {
      synthetic = false;
    }
    if (!synthetic) {
      throw new ModelError(
        'SYNTH_REFUSED',
        `refusing to write a synthetic model into ${out}: it holds a model whose config.json is not marked synthetic.`,
        { hint: 'choose an empty folder for --out' },
      );
    }
  }
  return out;
}

/** Writes via a temporary name so a crash never leaves a truncated file that looks complete. */
async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

export async function synthesizeModel(opts: SynthOptions): Promise<{ outDir: string; files: string[] }> {
  if (!isArchName(opts.arch)) {
    throw new UsageError(`unknown architecture ${JSON.stringify(opts.arch)}; expected one of ${ARCH_NAMES.join(', ')}`);
  }
  const seed = opts.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new UsageError(`seed must be an integer from 0 to 4294967295; got ${seed}`);
  }
  const arch = ARCHS[opts.arch];
  const say = opts.onProgress ?? (() => {});
  const outDir = assertSynthTarget(opts.outDir);
  await mkdir(join(outDir, 'onnx'), { recursive: true });

  const files: string[] = [];
  const put = async (name: string, data: string | Uint8Array) => {
    const path = join(outDir, name);
    await writeAtomic(path, data);
    files.push(path);
  };
  await put('config.json', json(configJson(arch, seed)));
  await put('preprocessor_config.json', json(preprocessorConfigJson(arch)));
  await put('tokenizer.json', json(tokenizerJson()));
  await put('tokenizer_config.json', json(tokenizerConfigJson(arch)));
  await put('special_tokens_map.json', json(specialTokensMapJson()));

  // One graph at a time, so peak memory is the larger model's weights plus its encoding.
  for (const [what, build] of [
    ['text', buildTextModel],
    ['vision', buildVisionModel],
  ] as const) {
    const t0 = performance.now();
    say(`${what} model (${arch.name}): generating weights…`);
    // Big models report every few layers; tiny ones build too fast to need it.
    const m = build(arch, seed, (done, total) => {
      if (arch.name !== 'tiny' && (done % 4 === 0 || done === total)) say(`${what} model: ${done}/${total} layers of weights`);
    });
    await put(`onnx/${what}_model.onnx`, m.bytes);
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    say(`${what} model: ${(m.parameters / 1e6).toFixed(1)}M parameters, ${(m.bytes.length / 2 ** 20).toFixed(1)} MiB in ${s} s`);
  }
  if (opts.quantize) {
    say('quantizing to int8…');
    files.push(...(await quantizeModelDir(outDir, { onProgress: say })));
  } else {
    // int8 files left from an earlier run would hold other weights than the new fp32 ones.
    for (const [, q] of QUANTIZE_TARGETS) await rm(join(outDir, q), { force: true });
  }
  return { outDir, files };
}
