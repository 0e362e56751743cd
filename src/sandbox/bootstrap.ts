/**
 * First run with nothing configured: the sandbox must work on a fresh clone. Where a real
 * part is missing it puts a stand-in in place — the synthetic `tiny` CLIP model, the demo
 * library, the offline studio — and says so on the page, with the command that replaces
 * the stand-in with the real thing. What the first start made is reused by later ones.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

// The model part of the first run is CLIP's (the CLI's generate uses it too).
export {
  chooseModel,
  type ModelChoice,
  type ModelFacts,
  modelPresence,
  type SynthesizeModel,
  syntheticModelDir,
} from '../clip/first-run.ts';

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
