/**
 * What the learning loop (src/rank/) needs from the library beyond its contract: the
 * caption/image embedding pairs with their metrics (a PairSource), and rewriting the stored
 * embeddings in place when an adapter is trained or turned off (re-projection: no CLIP run).
 *
 * The rewrite is the crash-safe one `library reembed` uses (rewrite.ts). The model recorded in the
 * table's metadata stays as it was (an adapter does not change the embedding model).
 */
import * as lancedb from '@lancedb/lancedb';
import { type Logger, silentLogger } from '../log.ts';
import type { LanceLibrary } from './lance-library.ts';
import { finishInterruptedRewrite, orphanedStaging, rewriteTable } from './rewrite.ts';
import { creativeFromRow, creativesSchema, META_DIMS, META_MODEL, rowFromCreative, TABLE } from './schema.ts';

const STAGING = `${TABLE}_reproject`;

export interface EmbeddingPair {
  id: string;
  textEmbedding: Float32Array;
  imageEmbedding: Float32Array;
  impressions: number;
  clicks: number;
}

/** The library as the learning loop reads it: rows with both embeddings, no image bytes. */
export function libraryPairSource(library: LanceLibrary): {
  pairs(): AsyncIterable<EmbeddingPair>;
  count(): Promise<number>;
} {
  return {
    async *pairs() {
      for await (const c of library.scan({ images: false })) {
        if (!c.textEmbedding.length || !c.imageEmbedding.length) continue;
        yield { id: c.id, textEmbedding: c.textEmbedding, imageEmbedding: c.imageEmbedding, impressions: c.impressions, clicks: c.clicks };
      }
    },
    count: () => library.count(),
  };
}

/**
 * Replaces every row's embeddings with `fn(row)`. Resolves to the number of rows rewritten.
 * Call with the library closed (or about to be reopened): its ANN index is rebuilt by the
 * library's own `optimize`/`index` once it is large enough.
 */
export async function rewriteLibraryEmbeddings(opts: {
  uri: string;
  fn: (row: { id: string; textEmbedding: Float32Array; imageEmbedding: Float32Array }) => {
    textEmbedding: Float32Array;
    imageEmbedding: Float32Array;
  };
  logger?: Logger;
  batch?: number;
}): Promise<number> {
  const logger = opts.logger ?? silentLogger;
  const db = await lancedb.connect(opts.uri);
  try {
    await finishInterruptedRewrite(db, STAGING, logger);
    const names = await db.tableNames();
    if (!names.includes(TABLE)) {
      if (names.includes(STAGING)) throw orphanedStaging('LIBRARY_REPROJECT_INTERRUPTED', 're-projection', STAGING);
      return 0;
    }
    const table = await db.openTable(TABLE);
    const schema = await table.schema();
    table.close();
    const model = schema.metadata.get(META_MODEL) ?? '(unknown)';
    const dims = Number(schema.metadata.get(META_DIMS) ?? 0);
    const rows = await rewriteTable(db, {
      staging: STAGING,
      schema: creativesSchema(model, dims),
      // Another adapter may have been trained since: rows half re-projected are not reused.
      resumable: () => false,
      batch: opts.batch ?? 256,
      transform: (rows) =>
        rows.map((r) => {
          const c = creativeFromRow(r);
          const out = opts.fn({ id: c.id, textEmbedding: c.textEmbedding, imageEmbedding: c.imageEmbedding });
          return rowFromCreative({ ...c, textEmbedding: out.textEmbedding, imageEmbedding: out.imageEmbedding });
        }),
      logger,
    });
    logger.info('library: embeddings re-projected', { rows, model });
    return rows;
  } finally {
    db.close();
  }
}
