/**
 * Library commands: `ingest`, `metrics import`, `library stats|search|remove|export|index|demo|reembed`.
 * Every command takes `--json` for machine-readable output; human output goes to stdout, progress
 * to stderr. The encoder comes through `deps`, so tests run the real commands on a fake encoder.
 */
import { readFile } from 'node:fs/promises';
import { type Command, type CommandIO, intArg, type ParsedArgs } from '../cli/command.ts';
import { createProgress } from '../cli/progress.ts';
import type { Encoder } from '../clip/types.ts';
import { type Config, config, libraryUri } from '../config.ts';
import { describeError, InputError, UsageError } from '../errors.ts';
import { createLogger, type Logger } from '../log.ts';
import { describeLocation, libraryStorageOptions, s3Settings } from '../object-storage.ts';
import { buildDemoLibrary } from './demo.ts';
import { exportLibrary } from './export.ts';
import { planIngest, runIngest } from './ingest.ts';
import type { LanceLibrary } from './lance-library.ts';
import { importMetrics } from './metrics.ts';
import { librarySettings, openLibrary } from './open.ts';
import { reembedLibrary } from './reembed.ts';
import type { SearchFilters, SearchHit } from './types.ts';

export interface LibraryCommandDeps {
  config: () => Config;
  openEncoder: (cfg: Config, logger: Logger) => Promise<Encoder>;
  /** Progress lines on stderr; off in tests. */
  progress?: boolean;
}

const json = { type: 'boolean' } as const;
const str = { type: 'string' } as const;
const filterOptions = {
  brand: str,
  channel: str,
  format: str,
  audience: str,
  since: str,
  until: str,
  'min-impressions': str,
} as const;

function write(io: CommandIO, s: string): void {
  io.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
}

function dateArg(args: ParsedArgs, name: string): Date | undefined {
  const v = args.values[name];
  if (v === undefined) return undefined;
  const d = new Date(String(v));
  if (typeof v !== 'string' || Number.isNaN(d.getTime()))
    throw new UsageError(`--${name} must be a date like 2025-01-31; got ${JSON.stringify(v)}`);
  // A bare day given to --until means through the end of that day (UTC), not its first instant.
  if (name === 'until' && /^\d{4}-\d{2}-\d{2}$/.test(v.trim())) return new Date(d.getTime() + 86_400_000 - 1);
  return d;
}

function filtersFrom(args: ParsedArgs): SearchFilters {
  const s = (n: string) => (typeof args.values[n] === 'string' ? (args.values[n] as string) : undefined);
  const f: SearchFilters = {
    brand: s('brand'),
    channel: s('channel'),
    format: s('format'),
    audience: s('audience'),
    since: dateArg(args, 'since'),
    until: dateArg(args, 'until'),
  };
  if (args.values['min-impressions'] !== undefined) f.minImpressions = intArg(args, 'min-impressions', 0, 0);
  return f;
}

function pad(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n);
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** The readable table `library search` prints. */
export function formatHits(hits: SearchHit[]): string {
  if (hits.length === 0) return 'no matching creatives';
  const head = `${'#'.padStart(2)}  ${pad('id', 16)}  ${'fused'.padStart(6)} ${'image'.padStart(6)} ${'caption'.padStart(7)}  ${'CTR'.padStart(7)} ${'(raw)'.padStart(8)}  ${pad('brand/channel/format', 28)}  headline`;
  const rows = hits.map(
    (h, i) =>
      `${String(i + 1).padStart(2)}  ${pad(h.id, 16)}  ${h.scores.fused.toFixed(3).padStart(6)} ${h.scores.image.toFixed(3).padStart(6)} ${h.scores.caption.toFixed(3).padStart(7)}  ${pct(h.ctr.smoothed).padStart(7)} ${`(${pct(h.ctr.raw)})`.padStart(8)}  ${pad(`${h.brand}/${h.channel}/${h.format}`, 28)}  ${h.demo ? '[demo] ' : ''}${h.headline}${h.duplicates.length ? ` (+${h.duplicates.length} near-duplicate${h.duplicates.length > 1 ? 's' : ''})` : ''}`,
  );
  const demo = hits.some((h) => h.demo) ? ['', '[demo] = demo data drawn by `adcreative library demo`, not real performance.'] : [];
  return [head, ...rows, ...demo, '', 'CTR is smoothed (Beta prior at the library CTR); raw clicks/impressions in brackets.'].join('\n');
}

function hitJson(h: SearchHit): Record<string, unknown> {
  const { thumbnail, ...rest } = h;
  return { ...rest, createdAt: h.createdAt.toISOString(), thumbnailBytes: thumbnail.byteLength };
}

export function makeLibraryCommands(deps: LibraryCommandDeps): Command[] {
  const setup = async (withEncoder: boolean) => {
    const cfg = deps.config();
    const logger = createLogger({ level: cfg.logLevel });
    const encoder = withEncoder ? await deps.openEncoder(cfg, logger) : undefined;
    try {
      const library = await openLibrary({
        uri: libraryUri(cfg),
        storageOptions: libraryStorageOptions(cfg),
        encoder,
        logger,
        settings: librarySettings(cfg),
      });
      return { cfg, logger, encoder, library };
    } catch (e) {
      await encoder?.close();
      throw e;
    }
  };
  const done = async (ctx: { library: LanceLibrary; encoder?: Encoder }) => {
    await ctx.library.close();
    await ctx.encoder?.close();
  };
  const progress = (label: string, total: number, unit: string) => createProgress(label, total, { unit, enabled: deps.progress ?? true });
  const warnSynthetic = (io: CommandIO, enc: Encoder | undefined, asJson: boolean) => {
    if (enc?.info().synthetic && !asJson)
      io.stderr.write(`warning: ${enc.info().model} is a SYNTHETIC model: similarities are meaningless\n`);
  };

  const ingest: Command = {
    name: 'ingest',
    summary: 'Add images (folders, files, or CSV/JSONL manifests) to the creative library; same image again updates its metadata',
    usage: 'PATH… [--dry-run] [--batch N] [--allow-outside] [--json]',
    positionals: true,
    options: { 'dry-run': { type: 'boolean' }, batch: str, 'allow-outside': { type: 'boolean' }, json },
    async run(args, io) {
      if (args.positionals.length === 0)
        throw new UsageError(`give at least one folder, image or manifest\nusage: adcreative ingest ${this.usage}`);
      const dryRun = args.values['dry-run'] === true;
      const asJson = args.values.json === true;
      const plan = await planIngest(args.positionals, { allowOutside: args.values['allow-outside'] === true });
      const ctx = await setup(!dryRun);
      try {
        warnSynthetic(io, ctx.encoder, asJson);
        const bar = progress(dryRun ? 'checking' : 'ingesting', plan.items.length, 'images');
        const batch = intArg(args, 'batch', ctx.cfg.libraryBatch, 1, 1024);
        let last = 0;
        const r = await runIngest(ctx.library, plan, {
          batch,
          dryRun,
          imageLimits: librarySettings(ctx.cfg).imageLimits,
          onProgress: (n) => {
            bar.tick(n - last);
            last = n;
          },
        });
        bar.done();
        if (!dryRun) {
          const say = {
            running: 'finishing the search index build started during the ingest…',
            first: 'building the search index (the library passed LIBRARY_INDEX_MIN_ROWS; minutes at a million rows)…',
            grown: 'rebuilding the search index for the library’s new size (minutes at a million rows)…',
          };
          const built = await ctx.library.indexIfDue((why) => {
            if (!asJson) io.stderr.write(`${say[why]}\n`);
          });
          if (built && !asJson) io.stderr.write(`search index built in ${built.seconds.toFixed(1)} s (${built.vector.reason})\n`);
        }
        if (asJson) write(io, JSON.stringify({ ingested: r.ingested, updated: r.updated, failed: r.failed, skipped: r.skipped, dryRun }));
        else {
          const verb = dryRun ? 'would ingest' : 'ingested';
          write(io, `${verb} ${r.ingested}, ${dryRun ? 'would update' : 'updated'} ${r.updated}, failed ${r.failed.length}`);
          if (r.skipped.length) {
            const shown = r.skipped.slice(0, 5).join(', ') + (r.skipped.length > 5 ? `, and ${r.skipped.length - 5} more` : '');
            write(io, `skipped ${r.skipped.length} file(s) that are neither images nor manifests: ${shown}`);
          }
          if (r.failed.length) write(io, ['failures:', ...r.failed.map((f) => `  ${f.path}: ${f.reason}`)].join('\n'));
        }
        return r.failed.length ? 1 : 0;
      } finally {
        await done(ctx);
      }
    },
  };

  const metrics: Command = {
    name: 'metrics import',
    summary: 'Update impressions, clicks and conversions from a CSV, matching rows by id, sha256 or file name',
    usage: 'FILE.csv [--dry-run] [--json]',
    positionals: true,
    options: { 'dry-run': { type: 'boolean' }, json },
    async run(args, io) {
      if (args.positionals.length !== 1) throw new UsageError(`give one CSV file\nusage: adcreative metrics import ${this.usage}`);
      const ctx = await setup(false);
      try {
        const r = await importMetrics(ctx.library, args.positionals[0], { dryRun: args.values['dry-run'] === true });
        if (args.values.json === true) write(io, JSON.stringify(r));
        else {
          write(io, `${r.rows} row(s): updated ${r.updated}, unmatched ${r.unmatched.length}, failed ${r.failed.length}`);
          if (r.unmatched.length)
            write(io, ['unmatched:', ...r.unmatched.map((u) => `  line ${u.line} ${JSON.stringify(u.key)}: ${u.reason}`)].join('\n'));
          if (r.failed.length) write(io, ['failed:', ...r.failed.map((f) => `  line ${f.line}: ${f.reason}`)].join('\n'));
        }
        return r.unmatched.length || r.failed.length ? 1 : 0;
      } finally {
        await done(ctx);
      }
    },
  };

  const stats: Command = {
    name: 'library stats',
    summary: 'Row counts, brands, channels, formats, metrics, the CTR prior and index state',
    usage: '[--json]',
    options: { json },
    async run(args, io) {
      const ctx = await setup(false);
      try {
        const s = await ctx.library.stats();
        // The URI and, on object storage, the endpoint and addressing style: never credentials.
        const location = describeLocation(s.uri, s3Settings(ctx.cfg));
        if (args.values.json === true) {
          write(io, JSON.stringify({ ...s, location }));
          return 0;
        }
        const kv = (m: Record<string, number>) =>
          Object.entries(m)
            .sort((a, b) => b[1] - a[1])
            .map(([k, v]) => `${k} ${v}`)
            .join(', ') || '—';
        write(
          io,
          [
            `library   ${location}`,
            `model     ${s.model || '—'} (${s.dims}-d)`,
            `rows      ${s.rows}${s.demoRows ? ` (${s.demoRows} demo)` : ''}`,
            `brands    ${kv(s.brands)}`,
            `channels  ${kv(s.channels)}`,
            `formats   ${kv(s.formats)}`,
            `metrics   ${s.impressions} impressions, ${s.clicks} clicks, ${s.conversions} conversions`,
            `CTR prior mean ${pct(s.ctrPrior.mean)}, strength ${Math.round(s.ctrPrior.strength)} impressions${s.ctrPrior.estimated ? ' (estimated from the library)' : ''}`,
            `index     ${s.index.vector ? `IVF_PQ${s.index.builtForRows ? ` for ${s.index.builtForRows} rows` : ''} (${s.index.unindexedRows} rows not yet indexed)` : 'none: exact search'}${s.index.building ? ' (building now)' : ''}; scalar: ${s.index.scalar.join(', ') || 'none'}`,
          ].join('\n'),
        );
        return 0;
      } finally {
        await done(ctx);
      }
    },
  };

  const search: Command = {
    name: 'library search',
    summary: 'Find creatives for a brief (text → images and captions) or a reference image',
    usage:
      '"TEXT" [--image PATH] [--k N] [--brand B] [--channel C] [--format F] [--audience SEGMENT] [--since DATE] [--until DATE] [--min-impressions N] [--json]',
    positionals: true,
    options: { image: str, k: str, ...filterOptions, json },
    async run(args, io) {
      const text = args.positionals.join(' ').trim();
      const imagePath = typeof args.values.image === 'string' ? args.values.image : undefined;
      if (!text && !imagePath) throw new UsageError(`give a brief text or --image PATH\nusage: adcreative library search ${this.usage}`);
      const k = intArg(args, 'k', 10, 1, 200);
      const filters = filtersFrom(args);
      let image: Uint8Array | undefined;
      if (imagePath) {
        try {
          image = new Uint8Array(await readFile(imagePath));
        } catch (e) {
          throw new InputError('FILE_UNREADABLE', `${imagePath}: unreadable (${describeError(e)})`);
        }
      }
      const ctx = await setup(true);
      try {
        const asJson = args.values.json === true;
        warnSynthetic(io, ctx.encoder, asJson);
        const hits = await ctx.library.search({ text: text || undefined, image, k, filters });
        if (!asJson && hits.length === 0 && (await ctx.library.count()) === 0) {
          write(io, 'the library is empty: add creatives with `adcreative ingest PATH…`, or a demo set with `adcreative library demo`');
          return 0;
        }
        write(io, asJson ? JSON.stringify(hits.map(hitJson)) : formatHits(hits));
        return 0;
      } finally {
        await done(ctx);
      }
    },
  };

  const remove: Command = {
    name: 'library remove',
    summary: 'Delete creatives by id',
    usage: 'ID… [--json]',
    positionals: true,
    options: { json },
    async run(args, io) {
      if (args.positionals.length === 0) throw new UsageError(`give at least one id\nusage: adcreative library remove ${this.usage}`);
      const ctx = await setup(false);
      try {
        const r = await ctx.library.remove(args.positionals);
        if (args.values.json === true) write(io, JSON.stringify(r));
        else {
          write(io, `removed ${r.removed.length}`);
          if (r.missing.length) write(io, `not in the library: ${r.missing.join(', ')}`);
        }
        return r.missing.length ? 1 : 0;
      } finally {
        await done(ctx);
      }
    },
  };

  const exportCmd: Command = {
    name: 'library export',
    summary: 'Write every creative image and a creatives.csv of metadata (a manifest `ingest` reads back)',
    usage: 'DIR [--brand B] [--channel C] [--format F] [--audience SEGMENT] [--since DATE] [--until DATE] [--min-impressions N] [--json]',
    positionals: true,
    options: { ...filterOptions, json },
    async run(args, io) {
      if (args.positionals.length !== 1) throw new UsageError(`give one output folder\nusage: adcreative library export ${this.usage}`);
      const ctx = await setup(false);
      try {
        const filters = filtersFrom(args);
        const bar = progress('exporting', await ctx.library.count(filters), 'creatives');
        const r = await exportLibrary(ctx.library, args.positionals[0], { filters, onProgress: () => bar.tick() });
        bar.done();
        write(io, args.values.json === true ? JSON.stringify(r) : `exported ${r.rows} creative(s); metadata in ${r.csv}`);
        return 0;
      } finally {
        await done(ctx);
      }
    },
  };

  const index: Command = {
    name: 'library index',
    summary: 'Build the ANN index (settings from the row count) and filter-column indexes, then compact',
    usage: '[--force] [--json]',
    options: { force: { type: 'boolean' }, json },
    async run(args, io) {
      const ctx = await setup(false);
      try {
        const r = await ctx.library.buildIndex({ force: args.values.force === true });
        if (args.values.json === true) write(io, JSON.stringify(r));
        else
          write(
            io,
            [
              `rows ${r.rows}`,
              `vector index: ${r.vector.built ? `IVF_PQ, ${r.vector.partitions} partitions, ${r.vector.subVectors} sub-vectors` : 'not built'} (${r.vector.reason})`,
              `scalar indexes: ${r.scalar.join(', ') || 'none'}`,
              `took ${r.seconds.toFixed(1)} s`,
            ].join('\n'),
          );
        return 0;
      } finally {
        await done(ctx);
      }
    },
  };

  const demo: Command = {
    name: 'library demo',
    summary: 'Build the seeded demo library (drawn creatives for 5 brands, 4 channels, plausible metrics; marked as demo data)',
    usage: '[--count N] [--seed N] [--json]',
    options: { count: str, seed: str, json },
    async run(args, io) {
      const count = intArg(args, 'count', 240, 1, 100_000);
      const seed = intArg(args, 'seed', 7, 0);
      const asJson = args.values.json === true;
      const ctx = await setup(true);
      try {
        warnSynthetic(io, ctx.encoder, asJson);
        const bar = progress('demo', count, 'creatives');
        let last = 0;
        const r = await buildDemoLibrary(ctx.library, {
          count,
          seed,
          batch: ctx.cfg.libraryBatch,
          onProgress: (n) => {
            bar.tick(n - last);
            last = n;
          },
        });
        bar.done();
        const rows = await ctx.library.count();
        if (asJson) write(io, JSON.stringify({ ingested: r.ingested, updated: r.updated, failed: r.failed, rows, demo: true }));
        else write(io, `demo library: ${r.ingested} new, ${r.updated} updated, ${r.failed.length} failed; ${rows} rows now (marked demo)`);
        return r.failed.length ? 1 : 0;
      } finally {
        await done(ctx);
      }
    },
  };

  const reembed: Command = {
    name: 'library reembed',
    summary: 'Re-embed every creative with the current CLIP model (after changing models); keeps images, metadata and metrics',
    usage: '[--json]',
    options: { json },
    async run(args, io) {
      const cfg = deps.config();
      const logger = createLogger({ level: cfg.logLevel });
      const encoder = await deps.openEncoder(cfg, logger);
      try {
        const bar = progress('re-embedding', 0, 'creatives');
        let last = 0;
        const r = await reembedLibrary({
          uri: libraryUri(cfg),
          storageOptions: libraryStorageOptions(cfg),
          encoder,
          logger,
          batch: cfg.libraryBatch,
          onProgress: (n, total) => {
            bar.setTotal(total);
            bar.tick(n - last);
            last = n;
          },
        });
        bar.done();
        if (args.values.json === true) write(io, JSON.stringify(r));
        else write(io, r.skipped ? r.skipped : `re-embedded ${r.rows} creative(s): ${r.from} → ${r.to}`);
        return 0;
      } finally {
        await encoder.close();
      }
    },
  };

  return [ingest, metrics, stats, search, remove, exportCmd, index, demo, reembed];
}

export const commands: Command[] = makeLibraryCommands({
  config,
  openEncoder: async (cfg, logger) => (await import('../clip/open.ts')).openEncoder(cfg, { logger }),
});
