/**
 * The learning loop as a service: retrain the adapter (and re-project the library's stored
 * embeddings into its space), retrain the preference model, gather the figures for the
 * report. The CLI commands and the in-bot schedule both call these.
 *
 * Which space the library's stored embeddings are in (raw CLIP, or an adapter's) is kept
 * in `$DATA_DIR/library-space.json`: training un-applies that adapter to get back to raw
 * CLIP, and re-projection moves every row to the new adapter without running CLIP.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Adapter, adapterOutputPath, reproject, resolveAdapterPath } from '../clip/adapter.ts';
import { type Config, dataPath } from '../config.ts';
import { InputError, ModelError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { adapterFromResult, type TrainAdapterOptions, type TrainAdapterResult, trainAdapter } from './adapter-train.ts';
import type { StatsInput } from './eval-report.ts';
import { type CtrObservation, PreferenceModel, type TrainPreferenceOptions, trainPreference } from './preference.ts';
import { collectPairs, type LearningSources } from './sources.ts';

export type LearningConfig = Pick<
  Config,
  'dataDir' | 'clipAdapter' | 'adapterRetrainShare' | 'preferenceModel' | 'preferenceMinVotes' | 'learningSchedule'
>;

export interface LearningContext {
  cfg: LearningConfig;
  sources: LearningSources;
  logger?: Logger;
}

/** Where the library's stored embeddings stand. */
export interface LibrarySpace {
  model: string;
  /** Adapter id, or null for raw CLIP. */
  adapter: string | null;
  updatedAt: string;
}

export function librarySpacePath(cfg: Pick<Config, 'dataDir'>): string {
  return dataPath(cfg, 'library-space.json');
}

export function readLibrarySpace(cfg: Pick<Config, 'dataDir'>): LibrarySpace | null {
  const p = librarySpacePath(cfg);
  if (!existsSync(p)) return null;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as LibrarySpace;
  } catch (e) {
    throw new ModelError('LIBRARY_SPACE_INVALID', `${p} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

function writeJsonAtomic(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2));
  renameSync(tmp, path);
}

export function writeLibrarySpace(cfg: Pick<Config, 'dataDir'>, space: Omit<LibrarySpace, 'updatedAt'>): void {
  writeJsonAtomic(librarySpacePath(cfg), { ...space, updatedAt: new Date().toISOString() });
}

export function preferencePath(cfg: Pick<Config, 'dataDir' | 'preferenceModel'>): string {
  return cfg.preferenceModel?.trim() || dataPath(cfg, 'preference.json');
}

/** The trained preference model, or null when none has been trained yet. */
export function loadConfiguredPreference(cfg: Pick<Config, 'dataDir' | 'preferenceModel'>): PreferenceModel | null {
  const p = preferencePath(cfg);
  return existsSync(p) ? PreferenceModel.load(p) : null;
}

/**
 * A getter for the preference model that re-reads the file when it changes (retraining
 * from the CLI or the schedule takes effect without a restart). A bad file is logged and
 * the previous model kept.
 */
export function followPreferenceModel(cfg: Pick<Config, 'dataDir' | 'preferenceModel'>, logger?: Logger): () => PreferenceModel | null {
  let current: PreferenceModel | null = null;
  let stamp: string | undefined;
  return () => {
    const p = preferencePath(cfg);
    let now = 'missing';
    try {
      const st = statSync(p);
      now = `${st.ino}:${st.mtimeMs}:${st.size}`;
    } catch {}
    if (now === stamp) return current;
    stamp = now;
    try {
      current = now === 'missing' ? null : PreferenceModel.load(p);
    } catch (e) {
      logger?.warn('preference model could not be reloaded; keeping the previous one', { error: e });
    }
    return current;
  };
}

/** Where an adapter the library's embeddings were made under is kept once a newer one replaces it. */
export function archivedAdapterPath(cfg: Pick<Config, 'dataDir'>, id: string): string {
  return dataPath(cfg, 'adapters', `${id}.json`);
}

/** The adapter the library's stored embeddings were made under, or null for raw CLIP. */
function currentSpaceAdapter(cfg: LearningConfig): Adapter | null {
  const space = readLibrarySpace(cfg);
  if (!space?.adapter) return null;
  for (const p of [resolveAdapterPath(cfg), adapterOutputPath(cfg), archivedAdapterPath(cfg, space.adapter)]) {
    if (p && existsSync(p)) {
      const a = Adapter.load(p);
      if (a.id === space.adapter) return a;
    }
  }
  throw new ModelError(
    'LIBRARY_SPACE_UNKNOWN',
    `the library's embeddings were made under adapter ${space.adapter}, which is no longer at ${adapterOutputPath(cfg)}`,
    { hint: `restore that adapter file, or re-embed the library and delete ${librarySpacePath(cfg)}` },
  );
}

export interface AdapterRun {
  adapter: Adapter;
  path: string;
  result: TrainAdapterResult;
  pairs: number;
  skipped: number;
  /** Rows re-projected into the new adapter's space; null when the library cannot rewrite. */
  reprojected: number | null;
}

export async function retrainAdapter(
  ctx: LearningContext,
  opts: TrainAdapterOptions & { out?: string; reproject?: boolean } = {},
): Promise<AdapterRun> {
  const { cfg, sources } = ctx;
  const lib = sources.library;
  if (!lib) {
    throw new InputError('LIBRARY_EMPTY', 'adapter training needs caption/image pairs, and the creative library has none', {
      hint: 'ingest creatives with `adcreative ingest` first',
    });
  }
  const { name: model, dims } = sources.model;
  const from = currentSpaceAdapter(cfg);
  if (from) from.assertCompatible({ model, dims }, 'the library');
  const { rows, text, image, skipped } = await collectPairs(lib, dims);
  if (skipped) ctx.logger?.warn('library rows skipped: embeddings of another width', { skipped, dims });
  // Train on raw CLIP: undo the adapter the stored embeddings were made under.
  if (from) {
    for (let i = 0; i < rows.length; i++) {
      text.set(from.unapplyText(text.subarray(i * dims, (i + 1) * dims)), i * dims);
      image.set(from.unapplyImage(image.subarray(i * dims, (i + 1) * dims)), i * dims);
    }
  }
  const result = await trainAdapter({ text, image, n: rows.length, d: dims }, opts);
  const libraryRows = await lib.count();
  const adapter = adapterFromResult(result, { model, dims, libraryRows });
  const path = opts.out ?? adapterOutputPath(cfg);
  // Keep the adapter the library is in: without it the stored embeddings could not be taken back to raw CLIP.
  if (from) from.save(archivedAdapterPath(cfg, from.id));
  adapter.save(path);
  ctx.logger?.info('adapter trained', { id: adapter.id, path, pairs: rows.length, bestEpoch: result.bestEpoch });

  let reprojected: number | null = null;
  if (opts.reproject !== false && lib.rewriteEmbeddings) {
    const to = adapter;
    reprojected = await lib.rewriteEmbeddings(
      (r) => ({
        textEmbedding: r.textEmbedding.length === dims ? reproject(r.textEmbedding, 'text', from, to) : r.textEmbedding,
        imageEmbedding: r.imageEmbedding.length === dims ? reproject(r.imageEmbedding, 'image', from, to) : r.imageEmbedding,
      }),
      to.id,
    );
    writeLibrarySpace(cfg, { model, adapter: to.id });
  }
  return { adapter, path, result, pairs: rows.length, skipped, reprojected };
}

/**
 * Moves the library's stored embeddings into the space the configuration asks for (the
 * configured adapter, or raw CLIP when CLIP_ADAPTER=off), without running CLIP.
 */
export async function reprojectLibrary(ctx: LearningContext): Promise<{ rows: number; from: string | null; to: string | null }> {
  const lib = ctx.sources.library;
  if (!lib?.rewriteEmbeddings) throw new InputError('LIBRARY_UNAVAILABLE', 'this library cannot rewrite its stored embeddings');
  const from = currentSpaceAdapter(ctx.cfg);
  const toPath = resolveAdapterPath(ctx.cfg);
  const to = toPath ? Adapter.load(toPath) : null;
  to?.assertCompatible({ model: ctx.sources.model.name, dims: ctx.sources.model.dims }, 'the library');
  const d = ctx.sources.model.dims;
  const rows =
    from?.id === to?.id
      ? 0
      : await lib.rewriteEmbeddings(
          (r) => ({
            textEmbedding: r.textEmbedding.length === d ? reproject(r.textEmbedding, 'text', from, to) : r.textEmbedding,
            imageEmbedding: r.imageEmbedding.length === d ? reproject(r.imageEmbedding, 'image', from, to) : r.imageEmbedding,
          }),
          to?.id ?? null,
        );
  writeLibrarySpace(ctx.cfg, { model: ctx.sources.model.name, adapter: to?.id ?? null });
  return { rows, from: from?.id ?? null, to: to?.id ?? null };
}

export interface PreferenceRun {
  model: PreferenceModel;
  path: string;
  ctrObservations: number;
}

export async function retrainPreference(
  ctx: LearningContext,
  opts: TrainPreferenceOptions & { out?: string } = {},
): Promise<PreferenceRun> {
  const { cfg, sources } = ctx;
  const votes = sources.votes ? await sources.votes.votes() : [];
  const ctr: CtrObservation[] = [];
  if (sources.library) {
    for await (const r of sources.library.pairs()) {
      if (r.imageEmbedding.length !== sources.model.dims || r.textEmbedding.length !== sources.model.dims) continue;
      ctr.push({
        id: r.id,
        imageEmbedding: r.imageEmbedding,
        textEmbedding: r.textEmbedding,
        impressions: r.impressions,
        clicks: r.clicks,
      });
    }
  }
  const model = trainPreference(
    {
      votes,
      ctr,
      // The percentile scale: the team's own past creatives when there are any.
      reference: ctr.length ? ctr : undefined,
      model: sources.model.dims || !sources.votes?.model ? sources.model.name : (await sources.votes.model()).name,
      adapter: readLibrarySpace(cfg)?.adapter ?? null,
    },
    opts,
  );
  const path = opts.out ?? preferencePath(cfg);
  model.save(path);
  ctx.logger?.info('preference model trained', { path, votes: model.meta.votes, accuracy: model.meta.heldOut.accuracy });
  return { model, path, ctrObservations: ctr.filter((c) => c.impressions > 0).length };
}

/**
 * The figures for `/adcreative stats` and the report, from what the caller already has
 * (library size, rounds) plus the adapter and preference files. Pure apart from reading those.
 */
export function learningStatsInput(cfg: LearningConfig, have: { libraryRows: number | null; rounds: StatsInput['rounds'] }): StatsInput {
  const off = cfg.clipAdapter?.trim().toLowerCase() === 'off';
  const adapterPath = off ? adapterOutputPath({ ...cfg, clipAdapter: undefined }) : (resolveAdapterPath(cfg) ?? adapterOutputPath(cfg));
  const adapter = existsSync(adapterPath) ? Adapter.load(adapterPath) : null;
  const preference = loadConfiguredPreference(cfg);
  return {
    rounds: have.rounds,
    adapter: adapter ? { id: adapter.id, meta: adapter.meta } : null,
    adapterEnabled: !off,
    preference: preference ? { meta: preference.meta } : null,
    preferenceMinVotes: cfg.preferenceMinVotes,
    libraryRows: have.libraryRows,
    retrainShare: cfg.adapterRetrainShare,
  };
}

/** Reads the adapter, preference model, library size and rounds for the report and `/adcreative stats`. */
export async function gatherStats(ctx: LearningContext): Promise<StatsInput> {
  const { cfg, sources } = ctx;
  let libraryRows: number | null = null;
  try {
    libraryRows = sources.library ? await sources.library.count() : null;
  } catch (e) {
    ctx.logger?.warn('library size unavailable', { error: e });
  }
  return learningStatsInput(cfg, { libraryRows, rounds: sources.rounds ? await sources.rounds.rounds() : [] });
}
