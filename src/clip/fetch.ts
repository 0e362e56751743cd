/**
 * Downloading the real CLIP model (`models fetch`): the manifest in `models/manifest.json`
 * names the files and where they come from; each file goes to `FILE.part` (resumed with an
 * HTTP Range request when a previous transfer broke off, restarted from zero when the server
 * ignores Range), is checked, and is renamed into place atomically.
 *
 * What is verified (models/README.md says it for people): the manifest pins the revision to a
 * commit, so the hub serves the same files every time; sums that the manifest pins (copied from
 * the hub's published LFS details) are enforced; a published size is enforced too, before the
 * transfer when the server announces a length. Where no sum could be pinned, the hub's advertised
 * LFS sum (X-Linked-ETag) checks the first download, which records the sum in
 * `checksums.lock.json` inside the model directory (trust on first download, also for files copied
 * in by hand), and every later run verifies against it.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDuration } from '../cli/progress.ts';
import { ModelError, NetworkError } from '../errors.ts';
import type { Logger } from '../log.ts';

export type FetchPrecision = 'fp32' | 'int8' | 'all';

export interface ManifestFile {
  path: string;
  precision: 'fp32' | 'int8' | 'any';
  sha256: string | null;
  optional?: boolean;
  approxBytes?: number;
  /** The size the hub shows for the file at the pinned revision, as it shows it: "352 MB", "89.1 MB" (SI units). */
  publishedSize?: string;
}

export interface ManifestModel {
  /** `text`: a text encoder for CLIP_TEXT_MODEL_DIR (the multilingual one); default: a CLIP model for CLIP_MODEL_DIR. */
  role?: 'clip' | 'text';
  source: string;
  repo: string;
  revision: string;
  dir: string;
  license?: string;
  description?: string;
  files: ManifestFile[];
}

export interface Manifest {
  version: number;
  default: string;
  models: Record<string, ManifestModel>;
}

export const LOCK_FILE = 'checksums.lock.json';

export interface LockEntry {
  sha256: string;
  size: number;
  url?: string;
  recordedAt: string;
  /** "download" or "local" (a file found in place, copied by hand). */
  from: 'download' | 'local';
}

export interface LockFile {
  version: 1;
  model?: string;
  repo?: string;
  /** The commit the hub resolved the revision to on first download (X-Repo-Commit). */
  commit?: string;
  files: Record<string, LockEntry>;
}

/** The repository root (models/ lives there), independent of the working directory. */
export const PROJECT_ROOT = resolve(fileURLToPath(new URL('../../', import.meta.url)));

export function defaultManifestPath(): string {
  return join(PROJECT_ROOT, 'models', 'manifest.json');
}

export function loadManifest(path = defaultManifestPath()): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch (e) {
    throw new ModelError('MANIFEST_INVALID', `${path}: cannot read the model manifest (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!m || typeof m !== 'object' || !m.models || typeof m.models !== 'object') {
    throw new ModelError('MANIFEST_INVALID', `${path}: expected {"models": {...}}`);
  }
  return m;
}

export function filesFor(model: ManifestModel, precision: FetchPrecision): ManifestFile[] {
  return model.files.filter((f) => f.precision === 'any' || precision === 'all' || f.precision === precision);
}

/** A revision that names one commit (40 hex digits), not a branch or tag that can move. */
export function isCommit(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}

const SI: Record<string, number> = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9 };

/**
 * Whether `bytes` is the size the hub shows as `published` ("352 MB", "89.1 MB", "4.58 kB"): the
 * hub rounds to three significant digits, so the size must round to the same figure.
 */
export function matchesPublishedSize(bytes: number, published: string): boolean {
  const m = /^(\d+(?:\.(\d+))?)\s*(B|kB|KB|MB|GB)$/.exec(published.trim());
  if (!m) throw new ModelError('MANIFEST_INVALID', `publishedSize ${JSON.stringify(published)} is not like "352 MB" or "89.1 MB"`);
  const decimals = m[2]?.length ?? 0;
  const shown = bytes / SI[m[3]];
  return Math.abs(shown - Number(m[1])) <= 0.5 * 10 ** -decimals + 1e-9;
}

function sizeMismatch(url: string, bytes: number, published: string, when: string): ModelError {
  return new ModelError(
    'SIZE_MISMATCH',
    `${url}: ${when} ${bytes} bytes, but the hub publishes ${published} for this file at the pinned revision`,
    { hint: 'check HF_ENDPOINT (a mirror serving other files?) and the revision in models/manifest.json' },
  );
}

export function fileUrl(endpoint: string, repo: string, revision: string, path: string): string {
  return `${endpoint.replace(/\/+$/, '')}/${repo}/resolve/${encodeURIComponent(revision)}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

export function readLock(dir: string): LockFile {
  const p = join(dir, LOCK_FILE);
  if (!existsSync(p)) return { version: 1, files: {} };
  try {
    const l = JSON.parse(readFileSync(p, 'utf8')) as LockFile;
    return { ...l, files: l.files ?? {} };
  } catch (e) {
    throw new ModelError('LOCK_INVALID', `${p}: unreadable checksum lock (${e instanceof Error ? e.message : String(e)})`, {
      hint: 'delete it to record the checksums again from the files present',
    });
  }
}

async function writeLock(dir: string, lock: LockFile): Promise<void> {
  const p = join(dir, LOCK_FILE);
  await writeFile(`${p}.tmp`, `${JSON.stringify(lock, null, 2)}\n`);
  await rename(`${p}.tmp`, p);
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

/** A byte progress bar: done/total, rate and ETA; redrawn in place on a TTY, a line every few seconds elsewhere. */
export function byteProgress(label: string, stream: NodeJS.WritableStream & { isTTY?: boolean }, enabled = true) {
  const tty = Boolean(stream.isTTY);
  const interval = tty ? 200 : 5000;
  const start = performance.now();
  let last = 0;
  let total = 0;
  let done = 0;
  let base = 0;
  const render = (final: boolean) => {
    if (!enabled) return;
    const secs = (performance.now() - start) / 1000;
    const rate = secs > 0 ? (done - base) / secs : 0;
    const eta = rate > 0 && total > 0 ? (total - done) / rate : Number.NaN;
    const width = 24;
    const filled = total > 0 ? Math.round((width * Math.min(done, total)) / total) : 0;
    const line = `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${formatBytes(done)}/${total ? formatBytes(total) : '?'} ${formatBytes(Math.round(rate))}/s ${final ? `in ${formatDuration(secs)}` : `ETA ${formatDuration(eta)}`}`;
    stream.write(tty ? `\r\x1b[2K${line}${final ? '\n' : ''}` : `${line}\n`);
  };
  return {
    start(already: number, size: number) {
      base = already;
      done = already;
      total = size;
    },
    add(n: number) {
      done += n;
      const now = performance.now();
      if (now - last >= interval) {
        last = now;
        render(false);
      }
    },
    finish() {
      render(true);
    },
  };
}

export const OFFLINE_HINT = (dir: string, files: string[]) =>
  `without network access, copy these files by hand from a machine that has it into ${dir} (${files.join(', ')}) and run \`npm run -s adcreative -- models fetch\` again to record and verify their checksums; or use a synthetic model for development: \`npm run -s adcreative -- models synth --arch tiny --out data/models/clip-tiny\` and CLIP_MODEL_DIR=data/models/clip-tiny`;

function causeCode(e: unknown): string | undefined {
  let c: unknown = e;
  for (let i = 0; i < 4 && c; i++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    c = (c as { cause?: unknown }).cause;
  }
  return undefined;
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

export interface DownloadOptions {
  url: string;
  dest: string;
  /** Enforced when given. */
  expectedSha256?: string;
  /** Enforced when given, before the transfer when the server announces the length. */
  publishedSize?: string;
  fetchImpl?: typeof fetch;
  /** Abort a transfer that receives nothing for this long. */
  stallTimeoutMs?: number;
  /** Resume attempts after a transfer breaks off. */
  retries?: number;
  progress?: ReturnType<typeof byteProgress>;
  logger?: Logger;
}

export interface DownloadResult {
  sha256: string;
  size: number;
  /** Requests that resumed a partial file with Range. */
  resumed: number;
  /** Times a partial file was thrown away because the server ignored Range. */
  restarted: number;
  /** Sum the server advertised (hub LFS ETag), when it did. */
  serverSha256?: string;
  commit?: string;
}

/** Downloads one file to `dest` via `dest.part` with resume; verifies; renames into place. */
export async function downloadFile(opts: DownloadOptions): Promise<DownloadResult> {
  const doFetch = opts.fetchImpl ?? fetch;
  const part = `${opts.dest}.part`;
  const stallMs = opts.stallTimeoutMs ?? 30_000;
  const retries = opts.retries ?? 3;
  await mkdir(dirname(opts.dest), { recursive: true });
  let resumed = 0;
  let restarted = 0;
  let serverSha: string | undefined;
  let commit: string | undefined;

  for (let attempt = 0; ; attempt++) {
    const have = existsSync(part) ? statSync(part).size : 0;
    const ac = new AbortController();
    let stall = setTimeout(() => ac.abort(new Error(`no data for ${stallMs / 1000}s`)), stallMs);
    let res: Response;
    try {
      res = await doFetch(opts.url, { headers: have > 0 ? { Range: `bytes=${have}-` } : {}, signal: ac.signal, redirect: 'follow' });
    } catch (e) {
      clearTimeout(stall);
      const code = causeCode(e);
      const host = new URL(opts.url).host;
      if (code && CONNECT_CODES.has(code)) {
        throw new NetworkError('NETWORK_UNREACHABLE', `cannot reach ${host} to download ${opts.url} (${code})`, { cause: e });
      }
      if (attempt < retries) continue;
      throw new NetworkError('DOWNLOAD_FAILED', `${opts.url}: ${e instanceof Error ? e.message : String(e)}${code ? ` (${code})` : ''}`, {
        cause: e,
      });
    }

    if (res.status === 416) {
      // The partial file does not fit the server's copy (complete already, or the file changed).
      clearTimeout(stall);
      await res.body?.cancel();
      await rm(part, { force: true });
      restarted++;
      if (attempt < retries) continue;
    }
    if (!res.ok) {
      clearTimeout(stall);
      await res.body?.cancel();
      throw new NetworkError('DOWNLOAD_HTTP', `${opts.url}: HTTP ${res.status} ${res.statusText}`.trim(), {
        hint:
          res.status === 401 || res.status === 403 || res.status === 404
            ? 'check the repository and revision in models/manifest.json'
            : undefined,
      });
    }

    let append = false;
    if (have > 0 && res.status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
      append = m !== null && Number(m[1]) === have;
    }
    if (have > 0 && !append) {
      restarted++;
      opts.logger?.info('server did not resume the partial download; starting the file again', { url: opts.url, had: have });
    }
    if (append) resumed++;
    const etag = (res.headers.get('x-linked-etag') ?? res.headers.get('etag') ?? '').replace(/^W\//, '').replaceAll('"', '');
    if (/^[0-9a-f]{64}$/.test(etag)) serverSha = etag;
    commit = res.headers.get('x-repo-commit') ?? commit;

    const length = Number(res.headers.get('content-length') ?? Number.NaN);
    const already = append ? have : 0;
    if (opts.publishedSize && Number.isFinite(length) && !matchesPublishedSize(already + length, opts.publishedSize)) {
      clearTimeout(stall);
      await res.body?.cancel();
      await rm(part, { force: true });
      throw sizeMismatch(opts.url, already + length, opts.publishedSize, 'the server offers');
    }
    opts.progress?.start(already, Number.isFinite(length) ? already + length : 0);
    const fh = await open(part, append ? 'a' : 'w');
    let broken: unknown;
    try {
      const reader = res.body?.getReader();
      for (;;) {
        if (!reader) break;
        const { done, value } = await reader.read();
        if (done) break;
        clearTimeout(stall);
        stall = setTimeout(() => ac.abort(new Error(`no data for ${stallMs / 1000}s`)), stallMs);
        await fh.write(value);
        opts.progress?.add(value.byteLength);
      }
    } catch (e) {
      broken = e;
    } finally {
      clearTimeout(stall);
      await fh.close();
    }
    const got = statSync(part).size;
    if (!broken && Number.isFinite(length) && got !== already + length) broken = new Error(`got ${got - already} of ${length} bytes`);
    if (broken) {
      if (attempt < retries) {
        opts.logger?.warn('download interrupted; resuming', { url: opts.url, have: got, error: String(broken) });
        continue;
      }
      throw new NetworkError(
        'DOWNLOAD_INTERRUPTED',
        `${opts.url}: transfer broke off after ${formatBytes(got)} (${broken instanceof Error ? broken.message : String(broken)})`,
        {
          cause: broken,
          hint: `the partial file ${part} is kept; run the command again to resume`,
        },
      );
    }
    opts.progress?.finish();
    break;
  }

  if (opts.publishedSize && !matchesPublishedSize(statSync(part).size, opts.publishedSize)) {
    const got = statSync(part).size;
    await rm(part, { force: true });
    throw sizeMismatch(opts.url, got, opts.publishedSize, 'downloaded');
  }
  const sha256 = await sha256File(part);
  const expected = opts.expectedSha256 ?? serverSha;
  if (expected && sha256 !== expected.toLowerCase()) {
    await rm(part, { force: true });
    throw new ModelError(
      'CHECKSUM_MISMATCH',
      `${opts.dest}: downloaded file has sha256 ${sha256}, expected ${expected}; the bad file was removed`,
      {
        hint: opts.expectedSha256
          ? 'run the command again; if it keeps failing the upstream file changed: check the manifest revision, or delete checksums.lock.json in the model directory to accept the new file'
          : 'run the command again',
      },
    );
  }
  await rename(part, opts.dest);
  return { sha256, size: statSync(opts.dest).size, resumed, restarted, serverSha256: serverSha, commit };
}

export interface FetchModelOptions {
  model: ManifestModel;
  name: string;
  dir: string;
  precision: FetchPrecision;
  endpoint: string;
  fetchImpl?: typeof fetch;
  stallTimeoutMs?: number;
  retries?: number;
  progressStream?: NodeJS.WritableStream & { isTTY?: boolean };
  logger?: Logger;
}

export interface FetchedFile {
  path: string;
  status: 'downloaded' | 'verified' | 'recorded' | 'skipped';
  sha256?: string;
  size?: number;
}

/** Fetches (or verifies) every file of a model at a precision into `dir`. */
export async function fetchModel(opts: FetchModelOptions): Promise<FetchedFile[]> {
  const dir = resolve(opts.dir);
  await mkdir(dir, { recursive: true });
  const cfgPath = join(dir, 'config.json');
  if (existsSync(cfgPath) && readFileSync(cfgPath, 'utf8').includes('"adcreative_synthetic": true')) {
    throw new ModelError('MODEL_DIR_SYNTHETIC', `${dir} holds a synthetic model; the real model is never written over it`, {
      hint: 'choose another directory with --dir',
    });
  }
  const lock = readLock(dir);
  lock.model ??= opts.model.source;
  lock.repo ??= opts.model.repo;
  // A pinned commit is the source of truth; a branch ("main") is followed to the commit the first
  // download resolved it to, so later runs at least do not drift.
  const pinned = isCommit(opts.model.revision);
  if (pinned && lock.commit && lock.commit !== opts.model.revision)
    opts.logger?.warn(
      'checksums.lock.json was recorded at another commit than the manifest pins; files without a pinned sum are checked against it',
      {
        lock: lock.commit,
        manifest: opts.model.revision,
      },
    );
  if (!pinned)
    opts.logger?.warn('the manifest names a branch, not a commit: the files behind it can change', { revision: opts.model.revision });
  const revision = pinned ? opts.model.revision : (lock.commit ?? opts.model.revision);
  const files = filesFor(opts.model, opts.precision);
  const out: FetchedFile[] = [];
  const stream = opts.progressStream ?? process.stderr;

  for (const f of files) {
    const dest = join(dir, f.path);
    const pinnedSum = f.sha256 ?? lock.files[f.path]?.sha256 ?? undefined;
    if (existsSync(dest)) {
      const size = statSync(dest).size;
      const sha = f.publishedSize && !matchesPublishedSize(size, f.publishedSize) ? undefined : await sha256File(dest);
      if (sha === undefined) {
        opts.logger?.warn('file does not have its published size; downloading it again', { path: dest, size, published: f.publishedSize });
        await rm(dest, { force: true });
      } else if (!pinnedSum) {
        lock.files[f.path] = { sha256: sha, size, recordedAt: new Date().toISOString(), from: 'local' };
        await writeLock(dir, lock);
        out.push({ path: f.path, status: 'recorded', sha256: sha, size });
        continue;
      } else if (sha === pinnedSum) {
        out.push({ path: f.path, status: 'verified', sha256: sha, size });
        continue;
      } else {
        opts.logger?.warn('file does not match its recorded checksum; downloading it again', {
          path: dest,
          sha256: sha,
          expected: pinnedSum,
        });
        await rm(dest, { force: true });
      }
    }
    const url = fileUrl(opts.endpoint, opts.model.repo, revision, f.path);
    let r: DownloadResult;
    try {
      r = await downloadFile({
        url,
        dest,
        expectedSha256: pinnedSum,
        publishedSize: f.publishedSize,
        fetchImpl: opts.fetchImpl,
        stallTimeoutMs: opts.stallTimeoutMs,
        retries: opts.retries,
        progress: byteProgress(`${opts.name}/${f.path}`, stream),
        logger: opts.logger,
      });
    } catch (e) {
      if (f.optional && e instanceof NetworkError && e.code === 'DOWNLOAD_HTTP') {
        out.push({ path: f.path, status: 'skipped' });
        continue;
      }
      if (e instanceof NetworkError && e.code === 'NETWORK_UNREACHABLE') {
        throw new NetworkError(e.code, e.message, {
          cause: e,
          hint: OFFLINE_HINT(
            dir,
            files.map((x) => x.path),
          ),
        });
      }
      throw e;
    }
    if (r.commit && !lock.commit) lock.commit = r.commit;
    lock.files[f.path] = { sha256: r.sha256, size: r.size, url, recordedAt: new Date().toISOString(), from: 'download' };
    await writeLock(dir, lock);
    out.push({ path: f.path, status: 'downloaded', sha256: r.sha256, size: r.size });
  }
  return out;
}

export interface ListedFile {
  path: string;
  size: number;
  /** ok: matches the lock; mismatch: differs; unrecorded: no sum recorded; unchecked: not hashed. */
  checksum: 'ok' | 'mismatch' | 'unrecorded' | 'unchecked';
}

export interface ListedModel {
  dir: string;
  name: string;
  synthetic: boolean;
  arch?: string;
  files: ListedFile[];
  totalBytes: number;
}

function walk(dir: string, base = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, base), { withFileTypes: true })) {
    const rel = base ? `${base}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walk(dir, rel));
    else if (e.isFile()) out.push(rel);
  }
  return out.sort();
}

/**
 * Model directories under each root (directories holding a config.json or onnx/), plus each of
 * `opts.dirs` (e.g. CLIP_MODEL_DIR, which may live anywhere), with their files and checksum status.
 */
export async function listModels(roots: string[], opts: { verify?: boolean; dirs?: string[] } = {}): Promise<ListedModel[]> {
  const candidates: string[] = [];
  for (const root of roots) {
    if (!existsSync(root)) continue;
    for (const e of readdirSync(root, { withFileTypes: true })) if (e.isDirectory()) candidates.push(join(root, e.name));
  }
  for (const d of opts.dirs ?? []) if (existsSync(d) && statSync(d).isDirectory()) candidates.push(d);
  const out: ListedModel[] = [];
  const seen = new Set<string>();
  for (const dir of candidates.map((d) => resolve(d))) {
    if (seen.has(dir)) continue;
    seen.add(dir);
    const cfgPath = join(dir, 'config.json');
    let cfg: Record<string, unknown> = {};
    if (existsSync(cfgPath)) {
      try {
        cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
      } catch {
        cfg = {};
      }
    } else if (!existsSync(join(dir, 'onnx'))) continue;
    let lock: LockFile;
    try {
      lock = readLock(dir);
    } catch {
      lock = { version: 1, files: {} };
    }
    const files: ListedFile[] = [];
    for (const rel of walk(dir)) {
      if (rel === LOCK_FILE || rel.endsWith('.tmp')) continue;
      const size = (await stat(join(dir, rel))).size;
      const rec = lock.files[rel];
      let checksum: ListedFile['checksum'] = rec ? 'unchecked' : 'unrecorded';
      if (rec && opts.verify !== false)
        checksum = rec.size === size && (await sha256File(join(dir, rel))) === rec.sha256 ? 'ok' : 'mismatch';
      files.push({ path: rel, size, checksum });
    }
    const synthetic = cfg.adcreative_synthetic === true;
    out.push({
      dir,
      name: typeof cfg._name_or_path === 'string' ? cfg._name_or_path : basename(dir),
      synthetic,
      arch: typeof cfg.adcreative_arch === 'string' ? cfg.adcreative_arch : undefined,
      files,
      totalBytes: files.reduce((a, f) => a + f.size, 0),
    });
  }
  return out;
}
