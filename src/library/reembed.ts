/**
 * `library reembed`: after a model change, every creative's image and caption are embedded again
 * with the current encoder. LanceDB OSS cannot rename tables, so the new embeddings go to a
 * staging table first and are copied back once complete; until then the old table is untouched.
 */
import * as lancedb from '@lancedb/lancedb';
import type { Encoder } from '../clip/types.ts';
import { LibraryError } from '../errors.ts';
import { type Logger, silentLogger } from '../log.ts';
import { creativeFromRow, creativesSchema, META_DIMS, META_MODEL, type Row, rowFromCreative, TABLE } from './schema.ts';

const STAGING = `${TABLE}_reembed`;

export interface ReembedReport {
  rows: number;
  from: string;
  to: string;
  /** Why nothing was done, when nothing was. */
  skipped?: string;
}

/**
 * Copies every row of `from` into `to` in batches through `transform`: the one way the library
 * rewrites its table (re-embedding, re-projection), since local LanceDB cannot rename tables.
 */
export async function copyRows(
  from: lancedb.Table,
  to: lancedb.Table,
  batch: number,
  transform: (rows: Row[]) => Row[] | Promise<Row[]>,
  onBatch: (n: number) => void = () => {},
): Promise<number> {
  let n = 0;
  let buf: Row[] = [];
  const flush = async () => {
    if (!buf.length) return;
    await to.add(await transform(buf));
    n += buf.length;
    onBatch(n);
    buf = [];
  };
  for await (const b of from.query()) {
    for (let i = 0; i < b.numRows; i++) {
      const r = b.get(i);
      if (r) buf.push(r.toJSON() as Row);
      if (buf.length >= batch) await flush();
    }
  }
  await flush();
  return n;
}

export async function reembedLibrary(opts: {
  uri: string;
  encoder: Encoder;
  logger?: Logger;
  batch?: number;
  force?: boolean;
  onProgress?: (done: number, total: number) => void;
}): Promise<ReembedReport> {
  const logger = opts.logger ?? silentLogger;
  const info = opts.encoder.info();
  const to = `${info.model} (${info.dims}-d)`;
  const db = await lancedb.connect(opts.uri);
  try {
    const names = await db.tableNames();
    if (!names.includes(TABLE)) {
      if (names.includes(STAGING)) {
        throw new LibraryError(
          'LIBRARY_REEMBED_INTERRUPTED',
          `a previous re-embed stopped half-way; the embedded rows are in table ${STAGING}`,
          {
            hint: 'restore it by hand or ingest again',
          },
        );
      }
      return { rows: 0, from: '—', to, skipped: 'the library is empty: nothing to re-embed' };
    }
    const table = await db.openTable(TABLE);
    const meta = (await table.schema()).metadata;
    const from = `${meta.get(META_MODEL) ?? '(unknown)'} (${meta.get(META_DIMS) ?? '?'}-d)`;
    if (from === to && !opts.force) return { rows: 0, from, to, skipped: `the library is already embedded with ${to}` };
    const total = await table.countRows();
    const batch = opts.batch ?? 32;
    if (names.includes(STAGING)) await db.dropTable(STAGING);
    const staging = await db.createEmptyTable(STAGING, creativesSchema(info.model, info.dims));
    await copyRows(
      table,
      staging,
      batch,
      async (rows) => {
        const cs = rows.map(creativeFromRow);
        const imgs = await opts.encoder.embedImages(cs.map((c) => c.image));
        const txts = await opts.encoder.embedTexts(cs.map((c) => c.caption));
        return cs.map((c, i) => rowFromCreative({ ...c, imageEmbedding: imgs[i], textEmbedding: txts[i] }));
      },
      (n) => opts.onProgress?.(n, total),
    );
    table.close();
    await db.dropTable(TABLE);
    const fresh = await db.createEmptyTable(TABLE, creativesSchema(info.model, info.dims));
    const rows = await copyRows(
      staging,
      fresh,
      256,
      async (rs) => rs.map((r) => rowFromCreative(creativeFromRow(r))),
      () => {},
    );
    staging.close();
    await db.dropTable(STAGING);
    fresh.close();
    logger.info('library: re-embedded', { rows, from, to });
    return { rows, from, to };
  } finally {
    db.close();
  }
}
