/**
 * Opens the learning loop's sources from the configuration: the creative library (pairs,
 * metrics, re-projection) and the round store (votes, rounds; variant image embeddings from
 * the asset store, copy embedded again with the configured encoder, opened only if needed).
 * The one place that knows which concrete stores back the seams in `sources.ts`.
 */
import type { Encoder } from '../clip/types.ts';
import { type Config, libraryUri } from '../config.ts';
import { openLibrary } from '../library/open.ts';
import { finishInterruptedReprojection, libraryPairSource, rewriteLibraryEmbeddings } from '../library/training-pairs.ts';
import type { Logger } from '../log.ts';
import { libraryStorageOptions } from '../object-storage.ts';
import { openState, type State, stateExists } from '../rounds/state.ts';
import { writeLibrarySpace } from './learning.ts';
import { roundStatsSource, roundVoteSource } from './round-sources.ts';
import type { LearningSources } from './sources.ts';

export async function openLearningSources(
  cfg: Config,
  /** `state`: the bot's own, already open (not closed here); otherwise opened from `cfg` and closed with the sources. */
  opts: { logger?: Logger; state?: Pick<State, 'store' | 'assets'> } = {},
): Promise<LearningSources> {
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  };
  try {
    const out: LearningSources = { model: { name: '(empty library)', dims: 0 }, close };

    const uri = libraryUri(cfg);
    const storageOptions = libraryStorageOptions(cfg);
    // A re-projection that crashed while copying back: finish it and record the space the library
    // is now in before anything reads (or re-projects) its embeddings.
    await finishInterruptedReprojection({ uri, storageOptions, logger: opts.logger, record: (space) => writeLibrarySpace(cfg, space) });
    let lib = await openLibrary({ uri, storageOptions, logger: opts.logger });
    const { model, dims, textModel } = lib.info();
    if (model && dims) {
      closers.push(() => lib.close());
      out.model = { name: model, dims, ...(textModel ? { textModel } : {}) };
      out.library = {
        pairs: () => libraryPairSource(lib).pairs(),
        count: () => lib.count(),
        // The rewrite replaces the table under the open handle: close ours, rewrite, reopen.
        async rewriteEmbeddings(fn, target) {
          await lib.close();
          try {
            return await rewriteLibraryEmbeddings({
              uri,
              storageOptions,
              fn,
              target,
              logger: opts.logger,
              // The space file must name the new adapter before the staging copy goes (see rewrite.ts).
              onRewritten: () => writeLibrarySpace(cfg, { model: lib.info().model, adapter: target }),
            });
          } finally {
            lib = await openLibrary({ uri, storageOptions, logger: opts.logger });
          }
        },
      };
    } else {
      // Nothing ingested yet: reports still work, training says what is missing.
      await lib.close();
    }

    // The rounds state (PostgreSQL with DATABASE_URL, else SQLite): only read when the bot has
    // made it (eval must not create a SQLite file).
    let state = opts.state;
    if (!state && stateExists(cfg)) {
      const opened = await openState(cfg, { logger: opts.logger });
      closers.push(() => opened.close());
      state = opened;
    }
    if (state) {
      const { store, assets } = state;
      let encoder: Encoder | undefined;
      closers.push(async () => {
        await encoder?.close();
      });
      out.rounds = roundStatsSource(store);
      out.votes = roundVoteSource({
        store,
        assets,
        encoder: async () => {
          encoder ??= await (await import('../clip/open.ts')).openEncoder(cfg, { logger: opts.logger });
          return encoder;
        },
      });
    }
    return out;
  } catch (e) {
    await close();
    throw e;
  }
}
