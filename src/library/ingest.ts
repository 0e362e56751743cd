/**
 * Ingest: folders of images (with optional `<image>.json` sidecars) and manifests (CSV or JSONL)
 * become `NewCreative`s, read lazily batch by batch. Every problem is collected with the file
 * (and manifest line) it belongs to; the rest is still ingested.
 *
 * Every file is looked at before it is read: only regular files (a manifest row or a symlink
 * pointing at /dev/zero or a FIFO would be read forever), no larger than their limit (an image
 * over IMAGE_MAX_BYTES is refused without reading it), and a manifest's rows name files inside
 * the manifest's folder unless the operator says `--allow-outside`.
 */
import { constants } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { describeError, InputError } from '../errors.ts';
import { fileTooLarge } from '../image/decode.ts';
import { type ImageLimits, makeThumbnail } from '../image/thumbnail.ts';
import { CHANNELS, FORMATS } from '../vocabulary.ts';
import { readCsvRecords } from './csv.ts';
import { sha256Hex } from './lance-library.ts';
import type { AddResult, CreativeMeta, Library, NewCreative } from './types.ts';

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.avif', '.tif', '.tiff']);
const MANIFEST_EXTENSIONS = new Set(['.csv', '.jsonl']);
/** A sidecar holds one creative's metadata: a few hundred bytes. */
const SIDECAR_MAX_BYTES = 1 << 20;
/** A manifest is read whole; 256 MiB is over a million rows. */
export const MANIFEST_MAX_BYTES = 256 * (1 << 20);

export type IngestMeta = Partial<Omit<CreativeMeta, 'demo'>>;

export interface IngestItem {
  /** What messages call it: the path as given (relative when inside the working directory). */
  path: string;
  file: string;
  meta: IngestMeta;
  /** From a manifest: the folder (real path) the file must resolve inside, unless --allow-outside. */
  within?: string;
}

export interface PlanOptions {
  /** Manifest rows may name files outside the manifest's folder (`--allow-outside`). */
  allowOutside?: boolean;
}

export interface IngestPlan {
  items: IngestItem[];
  failed: { path: string; reason: string }[];
  /** Files in the folders that are neither images nor sidecars/manifests. */
  skipped: string[];
}

function shown(p: string): string {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
}

const text = (v: unknown): string | undefined => (v === undefined || v === null || v === '' ? undefined : String(v).trim());

function count(v: unknown, name: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const s = String(v).trim().replace(/_/g, '');
  if (!/^\d+(\.0+)?$/.test(s)) throw new InputError('MANIFEST_BAD_VALUE', `${name} must be a whole number ≥ 0; got ${JSON.stringify(v)}`);
  return Number.parseInt(s, 10);
}

function tagList(v: unknown): string[] | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (Array.isArray(v)) return v.map((t) => String(t).trim()).filter(Boolean);
  return String(v)
    .split(/[|;,]/)
    .map((t) => t.trim())
    .filter(Boolean);
}

function oneOfList(v: unknown, name: string, allowed: readonly string[]): string | undefined {
  const s = text(v)?.toLowerCase();
  if (s === undefined) return undefined;
  if (!allowed.includes(s))
    throw new InputError('MANIFEST_BAD_VALUE', `${name} must be one of ${allowed.join(', ')}; got ${JSON.stringify(v)}`);
  return s;
}

function date(v: unknown): Date | undefined {
  const s = text(v);
  if (s === undefined) return undefined;
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s);
  if (Number.isNaN(d.getTime()))
    throw new InputError('MANIFEST_BAD_VALUE', `date must be an ISO date like 2024-05-31; got ${JSON.stringify(v)}`);
  return d;
}

/** Validates a manifest row or sidecar object into creative metadata; throws `InputError` naming the field. */
export function parseMeta(rec: Record<string, unknown>): IngestMeta {
  const meta: IngestMeta = {
    headline: text(rec.headline),
    body: text(rec.body ?? rec.primary_text ?? rec.text),
    cta: text(rec.cta),
    caption: text(rec.caption),
    brand: text(rec.brand)?.toLowerCase(),
    channel: oneOfList(rec.channel, 'channel', CHANNELS),
    format: oneOfList(rec.format, 'format', FORMATS),
    tags: tagList(rec.tags),
    impressions: count(rec.impressions, 'impressions'),
    clicks: count(rec.clicks, 'clicks'),
    conversions: count(rec.conversions, 'conversions'),
    createdAt: date(rec.date ?? rec.created_at ?? rec.createdAt),
  };
  if (meta.clicks !== undefined && meta.impressions !== undefined && meta.clicks > meta.impressions) {
    throw new InputError('MANIFEST_BAD_VALUE', `clicks (${meta.clicks}) cannot exceed impressions (${meta.impressions})`);
  }
  return Object.fromEntries(Object.entries(meta).filter(([, v]) => v !== undefined)) as IngestMeta;
}

/**
 * Reads `file` only if it is a regular file of at most `maxBytes` (checked on the open handle,
 * so a file swapped after the check is not read either), and never more than its size said.
 */
async function readRegularFile(file: string, maxBytes: number, tooLarge: (size: number) => Error): Promise<Buffer> {
  // Non-blocking: opening a FIFO for reading would otherwise wait for a writer forever.
  const fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new InputError('FILE_NOT_REGULAR', `not a regular file (${kindOf(st)}); only regular files are read`);
    if (st.size > maxBytes) throw tooLarge(st.size);
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < st.size) {
      const { bytesRead } = await fh.read(buf, got, st.size - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === st.size ? buf : buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}

function kindOf(st: {
  isDirectory(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
}): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isFIFO()) return 'a pipe';
  if (st.isSocket()) return 'a socket';
  return 'not a plain file';
}

function unreadable(e: unknown): InputError {
  if (e instanceof InputError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : describeError(e);
  return new InputError('FILE_UNREADABLE', `unreadable: ${why}`);
}

async function sidecarFor(file: string): Promise<IngestMeta> {
  for (const p of [`${file}.json`, join(dirname(file), `${basename(file, extname(file))}.json`)]) {
    let raw: string;
    try {
      raw = (
        await readRegularFile(
          p,
          SIDECAR_MAX_BYTES,
          (size) =>
            new InputError('SIDECAR_INVALID', `sidecar ${shown(p)} is ${size} bytes; a sidecar holds at most ${SIDECAR_MAX_BYTES} bytes`),
        )
      ).toString('utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      if (e instanceof InputError && e.code === 'FILE_NOT_REGULAR')
        throw new InputError('SIDECAR_INVALID', `sidecar ${shown(p)}: ${e.message}`);
      if (e instanceof InputError) throw e;
      continue;
    }
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (e) {
      throw new InputError('SIDECAR_INVALID', `sidecar ${shown(p)} is not valid JSON (${describeError(e)})`);
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj))
      throw new InputError('SIDECAR_INVALID', `sidecar ${shown(p)} must hold a JSON object`);
    try {
      return parseMeta(obj as Record<string, unknown>);
    } catch (e) {
      throw new InputError('SIDECAR_INVALID', `sidecar ${shown(p)}: ${describeError(e)}`);
    }
  }
  return {};
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    // Symlinks are not followed into folders (no loops), but a link to an image is read like
    // the image; anything else (a device, a pipe) is refused with its reason when it is read.
    else out.push(p);
  }
}

function manifestRecords(file: string, raw: string): { line: number; rec?: Record<string, unknown>; error?: string }[] {
  if (extname(file).toLowerCase() === '.jsonl') {
    const out: { line: number; rec?: Record<string, unknown>; error?: string }[] = [];
    raw.split(/\r?\n/).forEach((l, i) => {
      if (!l.trim()) return;
      try {
        const v = JSON.parse(l);
        if (!v || typeof v !== 'object' || Array.isArray(v)) out.push({ line: i + 1, error: 'expected a JSON object' });
        else out.push({ line: i + 1, rec: v as Record<string, unknown> });
      } catch (e) {
        out.push({ line: i + 1, error: `not valid JSON (${describeError(e)})` });
      }
    });
    return out;
  }
  return readCsvRecords(shown(file), raw).map((r) => ({ line: r.line, rec: r.record }));
}

async function planManifest(file: string, plan: IngestPlan, opts: PlanOptions): Promise<void> {
  let raw: string;
  try {
    raw = (
      await readRegularFile(
        file,
        MANIFEST_MAX_BYTES,
        (size) =>
          new InputError(
            'MANIFEST_TOO_LARGE',
            `the manifest is ${size} bytes; the limit is ${MANIFEST_MAX_BYTES} bytes (split it into several files)`,
          ),
      )
    ).toString('utf8');
  } catch (e) {
    plan.failed.push({ path: shown(file), reason: unreadable(e).message });
    return;
  }
  let rows: ReturnType<typeof manifestRecords>;
  try {
    rows = manifestRecords(file, raw);
  } catch (e) {
    plan.failed.push({ path: shown(file), reason: describeError(e) });
    return;
  }
  const base = dirname(file);
  const within = opts.allowOutside ? undefined : await realpath(base).catch(() => base);
  for (const r of rows) {
    const where = `${shown(file)} line ${r.line}`;
    if (r.error || !r.rec) {
      plan.failed.push({ path: where, reason: r.error ?? 'empty row' });
      continue;
    }
    const rel = text(r.rec.file ?? r.rec.path ?? r.rec.image);
    if (!rel) {
      plan.failed.push({ path: where, reason: 'no file column (expected the image path relative to the manifest)' });
      continue;
    }
    const abs = resolve(base, rel);
    if (within && !inside(base, abs)) {
      plan.failed.push({ path: `${where} (${rel})`, reason: outsideReason(base) });
      continue;
    }
    try {
      const meta = parseMeta(r.rec);
      plan.items.push({ path: `${where} (${rel})`, file: abs, meta, within });
    } catch (e) {
      plan.failed.push({ path: where, reason: describeError(e) });
    }
  }
}

/** Whether `path` lies inside the folder `dir` (both resolved). */
function inside(dir: string, path: string): boolean {
  const r = relative(dir, path);
  return r !== '' && !r.startsWith(`..${sep}`) && r !== '..' && !isAbsolute(r);
}

function outsideReason(dir: string): string {
  return `outside the manifest's folder ${shown(dir)}: a manifest names files in its own folder (pass --allow-outside to read files elsewhere)`;
}

/** Works out what to ingest from the given paths, without reading any image yet. */
export async function planIngest(paths: string[], opts: PlanOptions = {}): Promise<IngestPlan> {
  const plan: IngestPlan = { items: [], failed: [], skipped: [] };
  for (const given of paths) {
    const abs = resolve(given);
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(abs);
    } catch (e) {
      plan.failed.push({ path: given, reason: `unreadable: ${describeError(e)}` });
      continue;
    }
    const files: string[] = [];
    if (st.isDirectory()) await walk(abs, files);
    else if (st.isFile()) files.push(abs);
    else {
      plan.failed.push({ path: given, reason: `not a regular file (${kindOf(st)}); give image files, manifests or folders` });
      continue;
    }
    const explicit = !st.isDirectory();
    for (const f of files) {
      const ext = extname(f).toLowerCase();
      if (MANIFEST_EXTENSIONS.has(ext)) {
        await planManifest(f, plan, opts);
      } else if (IMAGE_EXTENSIONS.has(ext)) {
        try {
          plan.items.push({ path: shown(f), file: f, meta: await sidecarFor(f) });
        } catch (e) {
          plan.failed.push({ path: shown(f), reason: describeError(e) });
        }
      } else if (ext === '.json' && !explicit) {
        // sidecars are read with their image
      } else if (explicit) {
        plan.failed.push({
          path: shown(f),
          reason: `not an image or a manifest (expected ${[...IMAGE_EXTENSIONS].join(', ')}, .csv or .jsonl)`,
        });
      } else {
        plan.skipped.push(shown(f));
      }
    }
  }
  return plan;
}

export interface IngestOptions {
  batch: number;
  dryRun?: boolean;
  imageLimits: ImageLimits;
  onProgress?: (done: number, total: number) => void;
}

export interface IngestReport extends AddResult {
  skipped: string[];
  dryRun: boolean;
}

async function readItem(it: IngestItem, limits: ImageLimits): Promise<NewCreative> {
  let image: Uint8Array;
  try {
    // A symlink inside the manifest's folder may still point out of it.
    if (it.within && !inside(it.within, await realpath(it.file))) throw new InputError('FILE_OUTSIDE', outsideReason(it.within));
    const buf = await readRegularFile(it.file, limits.maxBytes, (size) => fileTooLarge(size, limits));
    image = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw unreadable(e);
  }
  return { ...it.meta, image, fileName: shown(it.file), source: `ingest:${shown(it.file)}` };
}

/** Reads, checks, embeds and writes `plan` batch by batch; one bad file costs only itself. */
export async function runIngest(library: Library, plan: IngestPlan, opts: IngestOptions): Promise<IngestReport> {
  const report: IngestReport = { ingested: 0, updated: 0, ids: [], failed: [...plan.failed], skipped: plan.skipped, dryRun: !!opts.dryRun };
  const known = opts.dryRun ? new Set((await library.refs()).map((r) => r.sha256)) : undefined;
  const seen = new Set<string>();
  let done = 0;
  for (let i = 0; i < plan.items.length; i += opts.batch) {
    const slice = plan.items.slice(i, i + opts.batch);
    const items: NewCreative[] = [];
    const names = new Map<string, string>();
    for (const it of slice) {
      try {
        const c = await readItem(it, opts.imageLimits);
        names.set(c.fileName ?? '', it.path);
        items.push(c);
      } catch (e) {
        report.failed.push({ path: it.path, reason: describeError(e) });
      }
    }
    if (known) {
      for (const c of items) {
        const label = names.get(c.fileName ?? '') ?? c.fileName ?? '';
        try {
          await makeThumbnail(c.image, opts.imageLimits, c.fileName);
          const sha = sha256Hex(c.image);
          if (known.has(sha) || seen.has(sha)) report.updated++;
          else report.ingested++;
          seen.add(sha);
        } catch (e) {
          report.failed.push({ path: label, reason: stripPrefix(describeError(e), c.fileName ?? '') });
        }
      }
    } else if (items.length) {
      const r = await library.add(items);
      report.ingested += r.ingested;
      report.updated += r.updated;
      report.ids.push(...r.ids);
      for (const f of r.failed) {
        report.failed.push({ path: names.get(f.path) ?? f.path, reason: stripPrefix(f.reason, f.path) });
      }
    }
    done += slice.length;
    opts.onProgress?.(done, plan.items.length);
  }
  // Planning finds some failures and ingesting others: list them by file, then line.
  report.failed.sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
  return report;
}

/** Image errors start with the file name; the summary already shows it. */
function stripPrefix(reason: string, path: string): string {
  return reason.startsWith(`${path}: `) ? reason.slice(path.length + 2) : reason;
}
