/**
 * First run with nothing configured: the sandbox must work on a fresh clone. Where a real
 * part is missing it puts a stand-in in place — the synthetic `tiny` CLIP model, the demo
 * library, the offline studio — and says so on the page, with the command that replaces
 * the stand-in with the real thing. What the first start made is reused by later ones.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { type Config, dataPath } from '../config.ts';
import type { AddResult, Library } from '../library/types.ts';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';

/** A line at the top of the sandbox page: which stand-in is in place of which real part. */
export interface Banner {
  level: 'info' | 'warn';
  text: string;
  /** The command that replaces the stand-in with the real thing. */
  command?: string;
}

/** The synthetic model's folder: always under DATA_DIR, never the real model's folder. */
export function syntheticModelDir(cfg: Pick<Config, 'dataDir'>): string {
  return dataPath(cfg, 'models', 'clip-tiny');
}

export interface ModelFacts {
  present: boolean;
  synthetic: boolean;
}

/** A model folder counts when it has config.json and both ONNX towers for the precision asked. */
export function inspectModelDir(dir: string, precision: 'auto' | 'fp32' | 'fp16' | 'int8' = 'fp32'): ModelFacts {
  // `auto` needs the fp32 files (the CPU's, and any GPU's fallback).
  const suffix = precision === 'int8' ? '_quantized' : precision === 'fp16' ? '_fp16' : '';
  const files = ['config.json', join('onnx', `text_model${suffix}.onnx`), join('onnx', `vision_model${suffix}.onnx`)];
  if (!files.every((f) => existsSync(join(dir, f)))) return { present: false, synthetic: false };
  try {
    const json = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { adcreative_synthetic?: unknown };
    return { present: true, synthetic: json.adcreative_synthetic === true };
  } catch {
    return { present: false, synthetic: false };
  }
}

export interface ModelChoice {
  /** The configuration to build the services with (CLIP_MODEL_DIR possibly swapped). */
  cfg: Config;
  banner?: Banner;
  /** True when this start generated the synthetic model. */
  synthesized: boolean;
}

export type SynthesizeModel = (p: { arch: 'tiny'; dir: string; logger: Logger }) => Promise<void>;

/**
 * Keeps a real model (or a remote encoder) when there is one; otherwise uses the synthetic
 * `tiny` model under DATA_DIR, generating it once.
 */
export async function chooseModel(cfg: Config, synthesize: SynthesizeModel, logger: Logger = silentLogger): Promise<ModelChoice> {
  if (cfg.clipEndpoint) return { cfg, synthesized: false };
  const fetchCmd = 'npm run -s adcreative -- models fetch';
  const configured = resolve(cfg.clipModelDir);
  const here = inspectModelDir(configured, cfg.clipPrecision);
  if (here.present && !here.synthetic) return { cfg, synthesized: false };
  if (here.present) {
    return {
      cfg,
      synthesized: false,
      banner: {
        level: 'warn',
        text: `CLIP: the synthetic model at ${shown(configured)} is loaded, so similarities and rankings are meaningless`,
        command: fetchCmd,
      },
    };
  }
  const dir = syntheticModelDir(cfg);
  if (resolve(dir) === configured) {
    // Only reachable when someone points CLIP_MODEL_DIR into DATA_DIR's synthetic folder; still ours.
    logger.info('sandbox: CLIP_MODEL_DIR is the synthetic model folder', { dir });
  }
  let synthesized = false;
  if (!inspectModelDir(dir, 'fp32').present) {
    logger.info('sandbox: no CLIP model found; generating the synthetic tiny model', { configured, dir });
    mkdirSync(dirname(dir), { recursive: true });
    await synthesize({ arch: 'tiny', dir, logger });
    if (!inspectModelDir(dir, 'fp32').present) throw new Error(`the synthetic model was not written to ${dir}`);
    synthesized = true;
  }
  return {
    cfg: { ...cfg, clipModelDir: dir, clipPrecision: 'fp32' },
    synthesized,
    banner: {
      level: 'warn',
      text: `CLIP: no model at ${shown(configured)}, so the synthetic tiny model is used and similarities and rankings are meaningless`,
      command: fetchCmd,
    },
  };
}

export type BuildDemoLibrary<L = Library> = (
  library: L,
  opts: { count?: number; onProgress?: (done: number, total: number) => void },
) => Promise<AddResult>;

interface Marker {
  demoLibrary?: { count: number; at: string };
}

function markerPath(cfg: Pick<Config, 'dataDir'>): string {
  return dataPath(cfg, 'sandbox.json');
}

function readMarker(cfg: Pick<Config, 'dataDir'>): Marker {
  try {
    return JSON.parse(readFileSync(markerPath(cfg), 'utf8')) as Marker;
  } catch {
    return {};
  }
}

/**
 * Fills an empty library with the demo creatives (once). The banner stays while the library
 * holds only the demo and the winners of rounds drawn from it: no ads of the team's own yet.
 */
export async function ensureLibrary<L extends Pick<Library, 'count' | 'stats'>>(
  cfg: Pick<Config, 'dataDir'>,
  library: L,
  build: BuildDemoLibrary<L>,
  opts: { count?: number; logger?: Logger } = {},
): Promise<{ banner?: Banner; built: boolean; count: number }> {
  const logger = opts.logger ?? silentLogger;
  const ingestCmd = 'npm run -s adcreative -- ingest <folder of your ads>';
  const before = await library.count();
  const marker = readMarker(cfg);
  const demoBanner = (demo: number, winners = 0): Banner => ({
    level: 'info',
    text: `Library: ${demo} demo creatives drawn by the project${winners ? ` and ${winners} sandbox winner${winners === 1 ? '' : 's'}` : ''}, not your ads`,
    command: ingestCmd,
  });
  if (before > 0) {
    if (marker.demoLibrary === undefined) return { built: false, count: before, banner: undefined };
    const s = await library.stats();
    const onlyDemo = s.demoRows > 0 && s.rows === s.demoRows + s.winnerRows;
    return { built: false, count: before, banner: onlyDemo ? demoBanner(s.demoRows, s.winnerRows) : undefined };
  }
  logger.info('sandbox: the creative library is empty; building the demo library', { count: opts.count });
  let last = 0;
  const r = await build(library, {
    count: opts.count,
    onProgress: (done, total) => {
      if (done - last >= 32 || done === total) logger.info('sandbox: demo library', { done, total });
      last = done;
    },
  });
  if (r.failed.length) logger.warn('sandbox: some demo creatives failed', { failed: r.failed.slice(0, 5) });
  const count = await library.count();
  mkdirSync(dataPath(cfg), { recursive: true });
  writeFileSync(markerPath(cfg), `${JSON.stringify({ ...marker, demoLibrary: { count, at: new Date().toISOString() } }, null, 2)}\n`);
  return { built: true, count, banner: demoBanner(count) };
}

/** No OpenAI key (or the studio asked for): drafts come from the offline studio. */
export function generationBanner(cfg: { openaiApiKey?: string; imageProvider?: string }): Banner | undefined {
  if (cfg.openaiApiKey && cfg.imageProvider !== 'studio') return undefined;
  return {
    level: 'info',
    text: cfg.openaiApiKey
      ? 'Images: the offline studio draws the variants (IMAGE_PROVIDER=studio)'
      : 'Copy and images: offline studio drafts, no OpenAI key set',
    command: cfg.openaiApiKey ? 'IMAGE_PROVIDER=auto npm start' : 'OPENAI_API_KEY=sk-… npm start',
  };
}

/** The banner that is always there: this is not Slack. */
export function sandboxBanner(): Banner {
  return {
    level: 'info',
    text: 'Local sandbox: no Slack workspace is connected; everything here stays on this machine',
    command: 'SLACK_BOT_TOKEN=xoxb-… SLACK_APP_TOKEN=xapp-… npm start',
  };
}

function shown(p: string): string {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
}
