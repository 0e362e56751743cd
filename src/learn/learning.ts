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
import { collectPairs, type LearningSources } from './sources.ts';
import { TasteModel } from './taste.ts';
import { type FitTasteOptions, fitTaste } from './taste-fit.ts';
import { type PriorRow, tasteInput } from './taste-prior.ts';

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

/**
 * The trained preference (taste) model, or null when none has been trained yet. A file from
 * the point-estimate model (version 1) counts as none: the next retrain replaces it.
 */
export function loadConfiguredPreference(cfg: Pick<Config, 'dataDir' | 'preferenceModel'>, logger?: Logger): TasteModel | null {
  const p = preferencePath(cfg);
  if (!existsSync(p)) return null;
  try {
    return TasteModel.load(p);
  } catch (e) {
    if (e instanceof ModelError && e.code === 'PREFERENCE_OUTDATED') {
      logger?.warn('the preference model file is from an older version; it is replaced at the next retrain', { path: p });
      return null;
    }
    throw e;
  }
}

/**
 * A getter for the preference model that re-reads the file when it changes (retraining
 * from the CLI or the schedule takes effect without a restart). A bad file is logged and
 * the previous model kept. With `encoder`, a model trained on another model's or another text
 * encoder's embeddings (CLIP_TEXT_MODEL_DIR changed since) is ignored, and the log says why once
 * per file: scoring copy embedded in another space would be noise that looks like taste.
 */
export function followPreferenceModel(
  cfg: Pick<Config, 'dataDir' | 'preferenceModel'>,
  logger?: Logger,
  o: { encoder?: () => { model: string; dims: number; textModel?: string } } = {},
): () => TasteModel | null {
  let current: TasteModel | null = null;
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
    let loaded: TasteModel | null;
    try {
      loaded = now === 'missing' ? null : loadConfiguredPreference(cfg, logger);
    } catch (e) {
      logger?.warn('preference model could not be reloaded; keeping the previous one', { error: e });
      return current;
    }
    try {
      if (loaded && o.encoder) loaded.assertCompatible(o.encoder());
      current = loaded;
    } catch (e) {
      if (!(e instanceof ModelError)) throw e;
      logger?.warn('preference model ignored: ranking goes on without it until it is retrained', {
        path: p,
        error: e.message,
        hint: e.hint,
      });
      current = null;
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
  const { name: model, dims, textModel } = sources.model;
  const from = currentSpaceAdapter(cfg);
  // Undone, not applied: the same model and width suffice (captions may since have been re-embedded by another text encoder).
  if (from) from.assertCompatible({ model, dims }, 'the library', { text: false });
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
  const adapter = adapterFromResult(result, { model, textModel, dims, libraryRows });
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
  to?.assertCompatible(
    { model: ctx.sources.model.name, dims: ctx.sources.model.dims, textModel: ctx.sources.model.textModel },
    'the library',
  );
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
  model: TasteModel;
  path: string;
  ctrObservations: number;
}

/** Rebuild the basis once the creatives it was built on have grown by this share; until then scores stay on one scale. */
const BASIS_REBUILD_GROWTH = 0.25;

/**
 * The periodic full retrain of the taste model: priors from the library (CTR, past winners),
 * every vote of finished rounds, hyperparameters by evidence. Works with no votes at all as
 * long as the library gives priors, so the model is useful before the first vote.
 */
export async function retrainPreference(
  ctx: LearningContext,
  opts: FitTasteOptions & { out?: string; rank?: number } = {},
): Promise<PreferenceRun> {
  const { cfg, sources } = ctx;
  const votes = sources.votes ? await sources.votes.votes() : [];
  const library: PriorRow[] = [];
  if (sources.library) {
    for await (const r of sources.library.pairs()) {
      if (r.imageEmbedding.length !== sources.model.dims || r.textEmbedding.length !== sources.model.dims) continue;
      library.push(r);
    }
  }
  if (!votes.length && !library.length) {
    throw new InputError('NO_PREFERENCE_DATA', 'no votes and no library creatives to learn preferences from', {
      hint: 'ingest creatives (with metrics) into the library, or run some rounds and vote',
    });
  }
  const path = opts.out ?? preferencePath(cfg);
  const adapter = readLibrarySpace(cfg)?.adapter ?? null;
  // The copy of votes is embedded with the configured encoder and the library's captions with the
  // one the library names (it refuses another): the model records that text encoder.
  const space = sources.model.dims || !sources.votes?.model ? sources.model : await sources.votes.model();
  const { name: model, textModel } = space;
  // Keep the previous basis while the creatives have not grown much: a vote's meaning stays put.
  let basis: { basis: TasteModel['basis']; items: number } | undefined;
  try {
    const prev = existsSync(path) ? TasteModel.load(path) : null;
    const items = library.length + new Set(votes.flatMap((v) => v.shown.map((s) => s.variantId))).size;
    if (
      prev &&
      prev.meta.model === model &&
      prev.meta.textModel === textModel &&
      prev.meta.adapter === adapter &&
      prev.meta.basisItems &&
      items < prev.meta.basisItems * (1 + BASIS_REBUILD_GROWTH)
    ) {
      basis = { basis: prev.basis, items: prev.meta.basisItems };
    }
  } catch (e) {
    ctx.logger?.debug('previous preference model not reused', { error: e });
  }
  const input = tasteInput({ votes, library, model, textModel, adapter }, { seed: opts.seed, basis, rank: opts.rank });
  const fitted = fitTaste(input, opts);
  fitted.save(path);
  ctx.logger?.info('preference model trained', {
    path,
    votes: fitted.meta.votes,
    accuracy: fitted.meta.heldOut.accuracy,
    priors: fitted.meta.prior,
  });
  return { model: fitted, path, ctrObservations: fitted.meta.prior.ctrRows };
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
