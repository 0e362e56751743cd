/**
 * Opens the learning loop's sources from the configuration: the creative library (pairs,
 * metrics, re-projection) and, once it is in this build, the round store (votes, rounds).
 * The one place that knows which concrete stores back the seams in `sources.ts`.
 */
import { type Config, libraryUri } from '../config.ts';
import { openLibrary } from '../library/open.ts';
import { libraryPairSource, rewriteLibraryEmbeddings } from '../library/training-pairs.ts';
import type { Logger } from '../log.ts';
import type { LearningSources } from './sources.ts';

export async function openLearningSources(cfg: Config, opts: { logger?: Logger } = {}): Promise<LearningSources> {
  const uri = libraryUri(cfg);
  const library = await openLibrary({ uri, logger: opts.logger });
  const { model, dims } = library.info();
  if (!model || !dims) {
    // Nothing ingested yet: reports still work, training says what is missing.
    await library.close();
    return { model: { name: '(empty library)', dims: 0 }, close: async () => {} };
  }
  let lib = library;
  let closed = false;
  const close = async () => {
    if (!closed) {
      closed = true;
      await lib.close();
    }
  };
  return {
    model: { name: model, dims },
    library: {
      pairs: () => libraryPairSource(lib).pairs(),
      count: () => lib.count(),
      // The rewrite replaces the table under the open handle: close ours, rewrite, reopen.
      async rewriteEmbeddings(fn) {
        await lib.close();
        try {
          return await rewriteLibraryEmbeddings({ uri, fn, logger: opts.logger });
        } finally {
          lib = await openLibrary({ uri, logger: opts.logger });
        }
      },
    },
    close,
  };
}
