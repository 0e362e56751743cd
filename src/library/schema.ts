/**
 * The `creatives` table: its Arrow schema (embedding width and model recorded in the schema's
 * metadata) and conversions between LanceDB rows and `Creative` objects.
 */
import { Binary, Bool, Field, FixedSizeList, Float32, Int64, List, Schema, TimestampMillisecond, Utf8 } from 'apache-arrow';
import type { Creative } from './types.ts';

export const TABLE = 'creatives';
export const SCHEMA_VERSION = '1';
export const META_MODEL = 'adcreative.model';
export const META_DIMS = 'adcreative.dims';
/** On the image-embedding field: the row count the ANN index settings were picked for. */
export const META_INDEX_ROWS = 'adcreative.index_rows';
export const META_SCHEMA = 'adcreative.schema';
/**
 * The text encoder that embedded the captions (`text_embedding`): CLIP's own text tower (the
 * model's name) or CLIP_TEXT_MODEL_DIR's multilingual one. Tables from before it was recorded
 * lack it: their captions were embedded by the model's own tower.
 */
export const META_TEXT_MODEL = 'adcreative.text_model';

/** The text encoder recorded in a table's metadata (the model's own tower where none is). */
export function storedTextModel(meta: Map<string, string>): string {
  return meta.get(META_TEXT_MODEL) ?? meta.get(META_MODEL) ?? '(unknown)';
}

/** The text encoder an encoder embeds captions with. */
export function textModelOf(info: { model: string; textModel?: string }): string {
  return info.textModel ?? info.model;
}

export const IMAGE_VECTOR = 'image_embedding';
export const TEXT_VECTOR = 'text_embedding';

/** Columns that carry no image bytes (search results, refs, stats). */
export const META_COLUMNS = [
  'id',
  'source',
  'brand',
  'channel',
  'format',
  'headline',
  'body',
  'cta',
  'caption',
  'tags',
  'sha256',
  'file_name',
  'impressions',
  'clicks',
  'conversions',
  'created_at',
  'demo',
  'provenance',
];

export function creativesSchema(model: string, dims: number, textModel: string = model): Schema {
  const vec = () => new FixedSizeList(dims, new Field('item', new Float32(), true));
  const fields = [
    new Field('id', new Utf8(), false),
    new Field('source', new Utf8(), true),
    new Field('brand', new Utf8(), true),
    new Field('channel', new Utf8(), true),
    new Field('format', new Utf8(), true),
    new Field('headline', new Utf8(), true),
    new Field('body', new Utf8(), true),
    new Field('cta', new Utf8(), true),
    new Field('caption', new Utf8(), true),
    new Field('tags', new List(new Field('item', new Utf8(), true)), true),
    new Field('image', new Binary(), true),
    new Field('thumbnail', new Binary(), true),
    new Field('sha256', new Utf8(), false),
    new Field('file_name', new Utf8(), true),
    new Field(IMAGE_VECTOR, vec(), true),
    new Field(TEXT_VECTOR, vec(), true),
    new Field('impressions', new Int64(), true),
    new Field('clicks', new Int64(), true),
    new Field('conversions', new Int64(), true),
    new Field('created_at', new TimestampMillisecond(), true),
    new Field('demo', new Bool(), true),
    new Field('provenance', new Utf8(), true),
  ];
  return new Schema(
    fields,
    new Map([
      [META_MODEL, model],
      [META_DIMS, String(dims)],
      [META_SCHEMA, SCHEMA_VERSION],
      [META_TEXT_MODEL, textModel],
    ]),
  );
}

/** `schema` with field `field`'s metadata changed: `set` added, keys matching `drop` removed. */
export function withFieldMetadata(
  schema: Schema,
  field: string,
  set: Record<string, string>,
  drop: (key: string) => boolean = () => false,
): Schema {
  const fields = schema.fields.map((f) => {
    if (f.name !== field) return f;
    const meta = new Map([...f.metadata].filter(([k]) => !drop(k)));
    for (const [k, v] of Object.entries(set)) meta.set(k, v);
    return new Field(f.name, f.type, f.nullable, meta);
  });
  return new Schema(fields, schema.metadata);
}

export type Row = Record<string, unknown>;

export function rowFromCreative(c: Creative & { fileName?: string }): Row {
  return {
    id: c.id,
    source: c.source,
    brand: c.brand,
    channel: c.channel,
    format: c.format,
    headline: c.headline,
    body: c.body,
    cta: c.cta,
    caption: c.caption,
    tags: c.tags,
    image: c.image,
    thumbnail: c.thumbnail,
    sha256: c.sha256,
    file_name: c.fileName ?? '',
    [IMAGE_VECTOR]: Array.from(c.imageEmbedding),
    [TEXT_VECTOR]: Array.from(c.textEmbedding),
    impressions: Math.round(c.impressions),
    clicks: Math.round(c.clicks),
    conversions: Math.round(c.conversions),
    created_at: c.createdAt,
    demo: c.demo,
    provenance: c.provenance ?? null,
  };
}

function toF32(v: unknown): Float32Array {
  if (v instanceof Float32Array) return v;
  if (v && typeof v === 'object' && 'toArray' in v && typeof v.toArray === 'function') {
    const a = v.toArray() as ArrayLike<number>;
    return a instanceof Float32Array ? new Float32Array(a) : Float32Array.from(a);
  }
  if (Array.isArray(v)) return Float32Array.from(v as number[]);
  return new Float32Array(0);
}

function toStrings(v: unknown): string[] {
  if (!v) return [];
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'object' && 'toArray' in v && typeof v.toArray === 'function')
    return Array.from(v.toArray() as ArrayLike<unknown>, String);
  return [];
}

function toBytes(v: unknown): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(0);
}

const n = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : 0);
const s = (v: unknown): string => (typeof v === 'string' ? v : '');

export type StoredCreative = Creative & { fileName: string };

export function creativeFromRow(r: Row): StoredCreative {
  const created = r.created_at;
  return {
    id: s(r.id),
    source: s(r.source),
    brand: s(r.brand),
    channel: s(r.channel),
    format: s(r.format),
    headline: s(r.headline),
    body: s(r.body),
    cta: s(r.cta),
    caption: s(r.caption),
    tags: toStrings(r.tags),
    image: toBytes(r.image),
    thumbnail: toBytes(r.thumbnail),
    sha256: s(r.sha256),
    fileName: s(r.file_name),
    imageEmbedding: toF32(r[IMAGE_VECTOR]),
    textEmbedding: toF32(r[TEXT_VECTOR]),
    impressions: n(r.impressions),
    clicks: n(r.clicks),
    conversions: n(r.conversions),
    createdAt: created instanceof Date ? created : new Date(n(created)),
    demo: r.demo === true,
    provenance: typeof r.provenance === 'string' ? r.provenance : undefined,
  };
}

/** SQL string literal for LanceDB filters. */
export function sqlString(v: string): string {
  return `'${v.replace(/'/g, "''")}'`;
}
