/**
 * What the learning loop (src/learn/) needs from the library beyond its contract: the
 * caption/image embedding pairs with their metrics (a PairSource), and rewriting the stored
 * embeddings in place when an adapter is trained or turned off (re-projection: no CLIP run).
 *
 * The rewrite is the crash-safe one `library reembed` uses (rewrite.ts). The model recorded in the
 * table's metadata stays as it was (an adapter does not change the embedding model).
 */
import type * as lancedb from '@lancedb/lancedb';
import { type Logger, silentLogger } from '../log.ts';
import { connectLance } from './connect.ts';
import type { LanceLibrary } from './lance-library.ts';
import { finishInterruptedRewrite, interruptedRewriteError, interruptedRewrites, rewriteTable, withRewriteLock } from './rewrite.ts';
import { creativeFromRow, creativesSchema, META_DIMS, META_MODEL, rowFromCreative, storedTextModel, TABLE } from './schema.ts';

export interface EmbeddingPair {
  id: string;
  textEmbedding: Float32Array;
  imageEmbedding: Float32Array;
  impressions: number;
  clicks: number;
  /** For the taste model's priors: past winners ("winner:…" or tagged "winner") among their brand's creatives. */
  brand: string;
  source: string;
  tags: string[];
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
        yield {
          id: c.id,
          textEmbedding: c.textEmbedding,
          imageEmbedding: c.imageEmbedding,
          impressions: c.impressions,
          clicks: c.clicks,
          brand: c.brand,
          source: c.source,
          tags: c.tags,
        };
      }
    },
    count: () => library.count(),
  };
}

/** On a re-projection's staging table: the adapter id its embeddings are in ("" for raw CLIP). */
const TARGET = 'adcreative.rewrite.target_adapter';

/**
 * Replaces every row's embeddings with `fn(row)`, moving the library into `target`'s space (an
 * adapter id, or null for raw CLIP). Resolves to the number of rows rewritten. Call with the
 * library closed (or about to be reopened), after `finishInterruptedReprojection`.
 */
export async function rewriteLibraryEmbeddings(opts: {
  uri: string;
  storageOptions?: Record<string, string>;
  fn: (row: { id: string; textEmbedding: Float32Array; imageEmbedding: Float32Array }) => {
    textEmbedding: Float32Array;
    imageEmbedding: Float32Array;
  };
  target: string | null;
  logger?: Logger;
  batch?: number;
  /** Rows copied back into the live table (the last step). */
  onRestore?: (n: number) => void;
  /** Runs once the table is whole in `target`'s space, before the staging copy is dropped (record the space here). */
  onRewritten?: () => void | Promise<void>;
}): Promise<number> {
  const logger = opts.logger ?? silentLogger;
  return withRewriteLock(opts.uri, async () => {
    const db = await connectLance(opts.uri, { storageOptions: opts.storageOptions });
    try {
      const stuck = await interruptedRewrites(db);
      if (stuck.length) throw interruptedRewriteError(stuck[0]);
      if (!(await db.tableNames()).includes(TABLE)) return 0;
      const table = await db.openTable(TABLE);
      const schema = await table.schema();
      table.close();
      const model = schema.metadata.get(META_MODEL) ?? '(unknown)';
      const dims = Number(schema.metadata.get(META_DIMS) ?? 0);
      const rows = await rewriteTable(db, {
        kind: 'reproject',
        schema: creativesSchema(model, dims, storedTextModel(schema.metadata)),
        marks: { [TARGET]: opts.target ?? '' },
        // Another adapter may have been trained since: rows half re-projected are not reused.
        resumable: () => false,
        batch: opts.batch ?? 256,
        transform: (rows) =>
          rows.map((r) => {
            const c = creativeFromRow(r);
            const out = opts.fn({ id: c.id, textEmbedding: c.textEmbedding, imageEmbedding: c.imageEmbedding });
            return rowFromCreative({ ...c, textEmbedding: out.textEmbedding, imageEmbedding: out.imageEmbedding });
          }),
        onRestore: opts.onRestore,
        beforeDropStaging: opts.onRewritten,
        logger,
      });
      logger.info('library: embeddings re-projected', { rows, model, target: opts.target });
      return rows;
    } finally {
      db.close();
    }
  });
}

/**
 * Finishes a re-projection that crashed while copying back. `record` is told the space the library
 * is in afterwards (the adapter id the staged embeddings were projected into, null for raw CLIP)
 * before the staging copy is dropped, so the caller's record of it can never lag the table.
 * Resolves to what was restored, or undefined when there was nothing to finish (then no lock is
 * taken: read-only passes do not wait for a running re-embed).
 */
export async function finishInterruptedReprojection(opts: {
  uri: string;
  storageOptions?: Record<string, string>;
  logger?: Logger;
  record?: (space: { adapter: string | null; model: string }) => void | Promise<void>;
}): Promise<{ rows: number; adapter: string | null; model: string } | undefined> {
  const pending = async () => {
    const db = await connectLance(opts.uri, { storageOptions: opts.storageOptions });
    try {
      return (await interruptedRewrites(db)).includes('reproject');
    } finally {
      db.close();
    }
  };
  if (!(await pending())) return undefined;
  return withRewriteLock(opts.uri, async () => {
    const db = await connectLance(opts.uri, { storageOptions: opts.storageOptions });
    try {
      let space: { adapter: string | null; model: string } | undefined;
      const done = await finishInterruptedRewrite(db, 'reproject', opts.logger, async (marks) => {
        space = { adapter: marks.get(TARGET) || null, model: (await liveModel(db)) ?? '(unknown)' };
        await opts.record?.(space);
      });
      if (!done || !space) return undefined;
      return { rows: done.rows, ...space };
    } finally {
      db.close();
    }
  });
}

async function liveModel(db: lancedb.Connection): Promise<string | undefined> {
  const table = await db.openTable(TABLE);
  try {
    return (await table.schema()).metadata.get(META_MODEL);
  } finally {
    table.close();
  }
}
