/**
 * `library reembed`: after a model change, every creative's image and caption are embedded again
 * with the current encoder, through the crash-safe table rewrite (rewrite.ts): an interrupted run
 * is resumed by the next, which embeds only the rows not yet done.
 */
import type { Encoder } from '../clip/types.ts';
import { type Logger, silentLogger } from '../log.ts';
import { connectLance } from './connect.ts';
import { finishInterruptedRewrite, interruptedRewriteError, interruptedRewrites, rewriteTable, withRewriteLock } from './rewrite.ts';
import { creativeFromRow, creativesSchema, META_DIMS, META_MODEL, rowFromCreative, storedTextModel, TABLE, textModelOf } from './schema.ts';

export interface ReembedReport {
  rows: number;
  from: string;
  to: string;
  /** Why nothing was done, when nothing was. */
  skipped?: string;
}

export async function reembedLibrary(opts: {
  uri: string;
  storageOptions?: Record<string, string>;
  encoder: Encoder;
  logger?: Logger;
  batch?: number;
  force?: boolean;
  onProgress?: (done: number, total: number) => void;
  /** Rows copied back into the live table (the last step). */
  onRestore?: (n: number) => void;
}): Promise<ReembedReport> {
  const logger = opts.logger ?? silentLogger;
  const info = opts.encoder.info();
  const textModel = textModelOf(info);
  const withText = (model: string, dims: string | number, text: string) =>
    `${model} (${dims}-d)${text === model ? '' : `, captions by ${text}`}`;
  const to = withText(info.model, info.dims, textModel);
  return withRewriteLock(opts.uri, async () => {
    const db = await connectLance(opts.uri, { storageOptions: opts.storageOptions });
    try {
      // A crash while copying back left the only whole copy in the staging table: restore it first.
      const restored = (await finishInterruptedRewrite(db, 'reembed', logger))?.rows;
      if ((await interruptedRewrites(db)).includes('reproject')) throw interruptedRewriteError('reproject');
      const names = await db.tableNames();
      if (!names.includes(TABLE)) return { rows: 0, from: '—', to, skipped: 'the library is empty: nothing to re-embed' };
      const table = await db.openTable(TABLE);
      const meta = (await table.schema()).metadata;
      table.close();
      const from = withText(meta.get(META_MODEL) ?? '(unknown)', meta.get(META_DIMS) ?? '?', storedTextModel(meta));
      if (from === to && !opts.force) {
        const skipped =
          restored === undefined ? `the library is already embedded with ${to}` : `finished an interrupted re-embed (${restored} rows)`;
        return { rows: restored ?? 0, from, to, skipped };
      }
      const rows = await rewriteTable(db, {
        kind: 'reembed',
        schema: creativesSchema(info.model, info.dims, textModel),
        // Rows staged by an interrupted run for the same model are good: embed only the rest.
        resumable: (_, s) =>
          s.metadata.get(META_MODEL) === info.model &&
          Number(s.metadata.get(META_DIMS)) === info.dims &&
          storedTextModel(s.metadata) === textModel,
        batch: opts.batch ?? 32,
        transform: async (rows) => {
          const cs = rows.map(creativeFromRow);
          const imgs = await opts.encoder.embedImages(cs.map((c) => c.image));
          const txts = await opts.encoder.embedTexts(cs.map((c) => c.caption));
          return cs.map((c, i) => rowFromCreative({ ...c, imageEmbedding: imgs[i], textEmbedding: txts[i] }));
        },
        onProgress: opts.onProgress,
        onRestore: opts.onRestore,
        logger,
      });
      logger.info('library: re-embedded', { rows, from, to });
      return { rows, from, to };
    } finally {
      db.close();
    }
  });
}
