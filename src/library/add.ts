/**
 * Adding creatives: every image hashed and checked (its thumbnail made), merged with what the
 * library already holds for the same picture, embedded where new (images never seen, captions
 * that changed), and written in one merge for the whole batch.
 */
import { createHash } from 'node:crypto';
import type { Encoder } from '../clip/types.ts';
import { describeError, InputError, LibraryError } from '../errors.ts';
import { type ImageLimits, makeThumbnail } from '../image/thumbnail.ts';
import type { Logger } from '../log.ts';
import { type LiveTable, requireEncoder } from './live-table.ts';
import {
  creativeFromRow,
  IMAGE_VECTOR,
  META_COLUMNS,
  type Row,
  rowFromCreative,
  type StoredCreative,
  sqlString,
  TEXT_VECTOR,
} from './schema.ts';
import type { AddResult, NewCreative } from './types.ts';

/** Ids per `IN (…)` filter. */
export const IN_CHUNK = 500;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Library ids are the image's sha256 prefix: the same picture is the same creative. */
export function idForSha(sha: string): string {
  return sha.slice(0, 16);
}

export function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function norm(v: string | undefined): string | undefined {
  return v === undefined ? undefined : v.trim().toLowerCase();
}

/** Something to embed as the caption of a creative that came without copy. */
function fallbackCaption(fileName: string | undefined, brand: string, tags: string[]): string {
  const stem = (fileName ?? '')
    .replace(/^.*[/\\]/, '')
    .replace(/\.[a-z0-9]+$/i, '')
    .replace(/[-_]+/g, ' ')
    .trim();
  return [brand, stem, ...tags].filter(Boolean).join(' ') || 'an advertising creative';
}

/**
 * The creative an add stores for one image: what the item gives wins, what it leaves out keeps the
 * stored creative's value (`old`, the same picture added before). Embeddings still fitting are
 * kept: the image's always, the caption's only while the caption is unchanged; empty ones are
 * embedded by the caller.
 */
export function draftCreative(
  it: NewCreative,
  old: StoredCreative | undefined,
  at: { sha: string; thumbnail: Uint8Array; now: Date },
): StoredCreative {
  const headline = it.headline ?? old?.headline ?? '';
  const body = it.body ?? old?.body ?? '';
  const brand = norm(it.brand) ?? old?.brand ?? '';
  const channel = norm(it.channel) ?? old?.channel ?? '';
  const format = norm(it.format) ?? old?.format ?? '';
  const tags = it.tags ?? old?.tags ?? [];
  const derived = [headline, body].filter(Boolean).join(' — ');
  const caption =
    it.caption ??
    (it.headline !== undefined || it.body !== undefined ? derived : undefined) ??
    old?.caption ??
    (derived || fallbackCaption(it.fileName, brand, tags));
  return {
    id: old?.id ?? idForSha(at.sha),
    sha256: at.sha,
    source: it.source ?? old?.source ?? (it.fileName ? `ingest:${it.fileName}` : 'api'),
    brand,
    channel,
    format,
    headline,
    body,
    cta: it.cta ?? old?.cta ?? '',
    caption,
    tags,
    image: it.image,
    thumbnail: at.thumbnail,
    fileName: it.fileName ?? old?.fileName ?? '',
    imageEmbedding: old?.imageEmbedding ?? new Float32Array(0),
    textEmbedding: old?.caption === caption && old ? old.textEmbedding : new Float32Array(0),
    impressions: it.impressions ?? old?.impressions ?? 0,
    clicks: it.clicks ?? old?.clicks ?? 0,
    conversions: it.conversions ?? old?.conversions ?? 0,
    createdAt: it.createdAt ?? old?.createdAt ?? at.now,
    demo: it.demo ?? old?.demo ?? false,
    provenance: it.provenance ?? old?.provenance,
  };
}

async function bySha(live: LiveTable, shas: string[], columns: string[]): Promise<Map<string, StoredCreative>> {
  const out = new Map<string, StoredCreative>();
  if (!live.table || shas.length === 0) return out;
  for (const part of chunks(shas, IN_CHUNK)) {
    const rows = await live.table
      .query()
      .where(`sha256 IN (${part.map(sqlString).join(', ')})`)
      .select(columns)
      .toArray();
    for (const r of rows) {
      const c = creativeFromRow(r as Row);
      out.set(c.sha256, c);
    }
  }
  return out;
}

/** Embeds in one call; when that fails, one by one, so a bad input costs only itself. */
async function embedEach<T>(
  inputs: { name: string; input: T }[],
  embed: (xs: T[]) => Promise<Float32Array[]>,
  result: AddResult,
  failedNames: Set<string>,
  logger: Logger,
): Promise<(Float32Array | undefined)[]> {
  if (inputs.length === 0) return [];
  try {
    const v = await embed(inputs.map((x) => x.input));
    if (v.length === inputs.length) return v;
  } catch (e) {
    logger.debug('library: batch embedding failed, retrying one by one', { error: e });
  }
  const out: (Float32Array | undefined)[] = [];
  for (const x of inputs) {
    try {
      out.push((await embed([x.input]))[0]);
    } catch (e) {
      failedNames.add(x.name);
      result.failed.push({ path: x.name, reason: describeError(e) });
      out.push(undefined);
    }
  }
  return out;
}

export interface AddContext {
  encoder: Encoder | undefined;
  imageLimits: ImageLimits;
  logger: Logger;
  /** Called once the batch is written (upkeep). */
  afterWrite: () => void;
}

/**
 * One try at adding `items`. Throws the live table's TABLE_REPLACED when a rewrite replaced the
 * table after this read from it (run it through `retryReplaced`).
 */
export async function addOnce(live: LiveTable, items: NewCreative[], ctx: AddContext): Promise<AddResult> {
  live.assertOpen();
  await live.syncGeneration();
  live.assertModel(ctx.encoder);
  const generation = live.generation;
  const encoder = requireEncoder(ctx.encoder, 'adding creatives');
  const encoderDims = () => live.dims || encoder.dims;
  const result: AddResult = { ingested: 0, updated: 0, ids: [], failed: [] };
  if (items.length === 0) return result;

  // 1. Hash and check every image; the thumbnail step sorts bad files into reasons.
  interface Prepared {
    item: NewCreative;
    name: string;
    sha: string;
    thumb: Uint8Array;
  }
  const prepared = new Map<string, Prepared>();
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const name = item.fileName ?? `item ${i + 1}`;
    try {
      if (!(item.image instanceof Uint8Array)) throw new InputError('IMAGE_MISSING', `${name}: no image bytes`);
      const thumb = await makeThumbnail(item.image, ctx.imageLimits, name);
      const sha = sha256Hex(item.image);
      const prev = prepared.get(sha);
      // The same picture twice in one batch: one creative, later metadata wins.
      prepared.set(sha, { item: prev ? { ...prev.item, ...stripUndefined(item) } : item, name, sha, thumb: thumb.webp });
    } catch (e) {
      result.failed.push({ path: name, reason: describeError(e) });
    }
  }
  if (prepared.size === 0) return result;

  // 2. Merge with what the library already holds for these images.
  const existing = await bySha(live, [...prepared.keys()], [...META_COLUMNS, IMAGE_VECTOR, TEXT_VECTOR]);
  const now = new Date();
  const drafts = [...prepared.values()].map((p) => {
    const old = existing.get(p.sha);
    return { c: draftCreative(p.item, old, { sha: p.sha, thumbnail: p.thumb, now }), name: p.name, isNew: !old };
  });

  // 3. Embed what is new: images never seen, captions that changed.
  const failedNames = new Set<string>();
  const needImage = drafts.filter((d) => d.c.imageEmbedding.length === 0);
  const imageVecs = await embedEach(
    needImage.map((d) => ({ name: d.name, input: d.c.image })),
    (xs) => encoder.embedImages(xs),
    result,
    failedNames,
    ctx.logger,
  );
  needImage.forEach((d, i) => {
    if (imageVecs[i]) d.c.imageEmbedding = imageVecs[i]!;
  });
  const needText = drafts.filter((d) => d.c.textEmbedding.length === 0 && !failedNames.has(d.name));
  const textVecs = await embedEach(
    needText.map((d) => ({ name: d.name, input: d.c.caption })),
    (xs) => encoder.embedTexts(xs),
    result,
    failedNames,
    ctx.logger,
  );
  needText.forEach((d, i) => {
    if (textVecs[i]) d.c.textEmbedding = textVecs[i]!;
  });
  const ready = drafts.filter((d) => !failedNames.has(d.name));
  if (ready.length === 0) return result;
  for (const d of ready) {
    if (d.c.imageEmbedding.length !== encoderDims() || d.c.textEmbedding.length !== encoderDims()) {
      throw new LibraryError(
        'LIBRARY_BAD_EMBEDDING',
        `${d.name}: the encoder returned a ${d.c.imageEmbedding.length}-d embedding; the library expects ${encoderDims()}`,
      );
    }
  }

  // 4. One write for the whole batch.
  await live.queue.run(async () => {
    await live.assertSameTable(generation);
    const table = await live.ensureTable(ctx.encoder);
    await table
      .mergeInsert('id')
      .whenMatchedUpdateAll()
      .whenNotMatchedInsertAll()
      .execute(ready.map((d) => rowFromCreative(d.c)));
  });
  ctx.afterWrite();
  for (const d of ready) {
    if (d.isNew) result.ingested++;
    else result.updated++;
    result.ids.push(d.c.id);
  }
  return result;
}
