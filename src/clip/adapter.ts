/**
 * The adapter learned by `train adapter`: a residual linear map on each side of frozen
 * CLIP (text: x ↦ x(I + Wt), image: x ↦ x(I + Wi), then L2-normalised). It is applied
 * where embeddings are made (`withAdapter` wraps an Encoder), and stored embeddings are
 * re-projected with `reproject` without running CLIP again: each side is an invertible
 * linear map followed by a normalisation, so an embedding made under one adapter can be
 * taken back to raw CLIP and forward under another.
 *
 * File: JSON (`format: "adcreative-adapter"`), weights as base64 little-endian float32,
 * with the model and width it was trained for and the library's row count at training.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../config.ts';
import { dataPath } from '../config.ts';
import { ModelError } from '../errors.ts';
import { base64ToFloats, floatsToBase64, gemm, invert, normalizeRows } from '../linalg.ts';
import type { Logger } from '../log.ts';
import type { Encoder, EncoderInfo } from './types.ts';

export const ADAPTER_FORMAT = 'adcreative-adapter';
export const ADAPTER_VERSION = 1;

/** Recall@k in both directions on a held-out split (fractions 0–1). */
export interface RecallReport {
  n: number;
  textToImage: { r1: number; r5: number; r10: number };
  imageToText: { r1: number; r5: number; r10: number };
}

export interface AdapterMeta {
  /** Embedding model the adapter was trained on (EncoderInfo.model). */
  model: string;
  /**
   * The text encoder of the captions it was trained on, where it is not `model`'s own text tower
   * (EncoderInfo.textModel, CLIP_TEXT_MODEL_DIR); absent: CLIP's own. Its text side maps that
   * encoder's space only, so another text encoder is refused (assertCompatible).
   */
  textModel?: string;
  dims: number;
  /** Library rows when it was trained: retraining is suggested once the library grows. */
  libraryRows: number;
  trainedAt: string;
  /** Learned softmax temperature (logit scale) at the best epoch. */
  logitScale: number;
  seed: number;
  pairs: { train: number; heldOut: number };
  epochs: number;
  bestEpoch: number;
  /** Held-out recall with raw CLIP embeddings and through the adapter. */
  before?: RecallReport;
  after?: RecallReport;
}

interface AdapterFile extends AdapterMeta {
  format: typeof ADAPTER_FORMAT;
  version: number;
  kind: 'residual-linear';
  /** Row-major d×d deltas from the identity (row vector convention: y = x (I + W)). */
  text: string;
  image: string;
}

type Side = 'text' | 'image';

export class Adapter {
  readonly meta: AdapterMeta;
  /** Deltas from identity, row-major d×d. */
  readonly textDelta: Float32Array;
  readonly imageDelta: Float32Array;
  /** Short content hash: which adapter a stored embedding was made under. */
  readonly id: string;
  private readonly full: Record<Side, Float32Array>;
  private readonly inverse: Partial<Record<Side, Float32Array>> = {};

  constructor(meta: AdapterMeta, textDelta: Float32Array, imageDelta: Float32Array) {
    const d = meta.dims;
    if (!Number.isInteger(d) || d < 1) throw new ModelError('ADAPTER_INVALID', `adapter dims must be a positive integer; got ${d}`);
    for (const [name, w] of [
      ['text', textDelta],
      ['image', imageDelta],
    ] as const) {
      if (w.length !== d * d) {
        throw new ModelError('ADAPTER_INVALID', `adapter ${name} weights have ${w.length} values, expected ${d}×${d} = ${d * d}`);
      }
      for (let i = 0; i < w.length; i++) {
        if (!Number.isFinite(w[i])) throw new ModelError('ADAPTER_INVALID', `adapter ${name} weights contain a non-finite value at ${i}`);
      }
    }
    this.meta = meta;
    this.textDelta = textDelta;
    this.imageDelta = imageDelta;
    this.full = { text: plusIdentity(textDelta, d), image: plusIdentity(imageDelta, d) };
    const h = createHash('sha256');
    h.update(meta.model);
    h.update(new Uint8Array(textDelta.buffer, textDelta.byteOffset, textDelta.byteLength));
    h.update(new Uint8Array(imageDelta.buffer, imageDelta.byteOffset, imageDelta.byteLength));
    this.id = h.digest('hex').slice(0, 12);
  }

  get model(): string {
    return this.meta.model;
  }

  get dims(): number {
    return this.meta.dims;
  }

  /**
   * Throws unless the adapter was trained for this model, width and text encoder. `text: false`
   * checks model and width only: undoing the space stored embeddings were made under.
   */
  assertCompatible(info: Pick<EncoderInfo, 'model' | 'dims' | 'textModel'>, where = 'this encoder', o: { text?: boolean } = {}): void {
    if (info.model !== this.meta.model || info.dims !== this.meta.dims) {
      throw new ModelError(
        'ADAPTER_MODEL_MISMATCH',
        `the adapter was trained for ${this.meta.model} (${this.meta.dims}-d) but ${where} is ${info.model} (${info.dims}-d)`,
        { hint: 'retrain it with `adcreative train adapter`, or set CLIP_ADAPTER=off' },
      );
    }
    const trained = this.meta.textModel ?? this.meta.model;
    const now = info.textModel ?? info.model;
    if (o.text !== false && trained !== now) {
      const name = (m: string) => (m === this.meta.model ? `${m}'s own text tower` : m);
      throw new ModelError(
        'ADAPTER_TEXT_MODEL_MISMATCH',
        `the adapter was trained on captions embedded by ${name(trained)} but ${where} embeds texts with ${name(now)}: its text side would map the wrong space`,
        {
          hint: 'retrain it with `adcreative train adapter`, set CLIP_ADAPTER=off, or set CLIP_TEXT_MODEL_DIR back as it was when it was trained',
        },
      );
    }
  }

  applyText(v: Float32Array): Float32Array {
    return this.applyOne('text', v);
  }

  applyImage(v: Float32Array): Float32Array {
    return this.applyOne('image', v);
  }

  /** Batched: one matrix product for many embeddings. */
  applyTexts(vs: Float32Array[]): Float32Array[] {
    return this.applyMany('text', vs);
  }

  applyImages(vs: Float32Array[]): Float32Array[] {
    return this.applyMany('image', vs);
  }

  /** Back to the raw CLIP direction (unit length) from an embedding made under this adapter. */
  unapplyText(v: Float32Array): Float32Array {
    return this.unapplyOne('text', v);
  }

  unapplyImage(v: Float32Array): Float32Array {
    return this.unapplyOne('image', v);
  }

  /** True when the library has grown by `share` (0.25 = 25 %) or more since training. */
  needsRetraining(libraryRows: number, share: number): boolean {
    return libraryRows >= Math.ceil(this.meta.libraryRows * (1 + share)) && libraryRows > this.meta.libraryRows;
  }

  toJSON(): AdapterFile {
    return {
      format: ADAPTER_FORMAT,
      version: ADAPTER_VERSION,
      kind: 'residual-linear',
      ...this.meta,
      text: floatsToBase64(this.textDelta),
      image: floatsToBase64(this.imageDelta),
    };
  }

  /** Writes atomically (temp file + rename) so the bot never reads half a file. */
  save(path: string): void {
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.toJSON()));
    renameSync(tmp, path);
  }

  static load(path: string): Adapter {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new ModelError('ADAPTER_MISSING', `cannot read the adapter file ${path}: ${(e as Error).message}`, {
        cause: e,
        hint: 'train one with `adcreative train adapter`, or set CLIP_ADAPTER=off',
      });
    }
    return Adapter.parse(text, path);
  }

  static parse(text: string, source = 'adapter'): Adapter {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new ModelError('ADAPTER_INVALID', `${source} is not JSON: ${(e as Error).message}`, { cause: e });
    }
    const f = raw as Partial<AdapterFile>;
    if (!f || typeof f !== 'object' || f.format !== ADAPTER_FORMAT) {
      throw new ModelError('ADAPTER_INVALID', `${source} is not an adcreative adapter file (expected "format": "${ADAPTER_FORMAT}")`);
    }
    if (f.version !== ADAPTER_VERSION) {
      throw new ModelError(
        'ADAPTER_INVALID',
        `${source} has adapter format version ${f.version}; this build reads version ${ADAPTER_VERSION}`,
      );
    }
    if (typeof f.model !== 'string' || typeof f.dims !== 'number' || typeof f.text !== 'string' || typeof f.image !== 'string') {
      throw new ModelError('ADAPTER_INVALID', `${source} lacks model, dims or weights`);
    }
    const { format: _f, version: _v, kind: _k, text: t, image: im, ...meta } = f as AdapterFile;
    return new Adapter(meta, base64ToFloats(t), base64ToFloats(im));
  }

  private applyOne(side: Side, v: Float32Array): Float32Array {
    const d = this.meta.dims;
    if (v.length !== d) throw new ModelError('ADAPTER_MODEL_MISMATCH', `embedding has ${v.length} dimensions; the adapter expects ${d}`);
    const m = this.full[side];
    const out = new Float32Array(d);
    for (let p = 0; p < d; p++) {
      const a = v[p];
      if (a === 0) continue;
      const o = p * d;
      for (let j = 0; j < d; j++) out[j] += a * m[o + j];
    }
    normalizeRows(out, 1, d);
    return out;
  }

  private applyMany(side: Side, vs: Float32Array[]): Float32Array[] {
    if (vs.length < 4) return vs.map((v) => this.applyOne(side, v));
    const d = this.meta.dims;
    const X = new Float32Array(vs.length * d);
    vs.forEach((v, i) => {
      if (v.length !== d) throw new ModelError('ADAPTER_MODEL_MISMATCH', `embedding has ${v.length} dimensions; the adapter expects ${d}`);
      X.set(v, i * d);
    });
    const Y = new Float32Array(vs.length * d);
    gemm(X, this.full[side], Y, vs.length, d, d);
    normalizeRows(Y, vs.length, d);
    return vs.map((_, i) => Y.slice(i * d, (i + 1) * d));
  }

  private unapplyOne(side: Side, v: Float32Array): Float32Array {
    const d = this.meta.dims;
    let inv = this.inverse[side];
    if (!inv) {
      inv = invert(this.full[side], d);
      if (!inv) throw new ModelError('ADAPTER_SINGULAR', `the adapter's ${side} map is not invertible; re-embed with CLIP instead`);
      this.inverse[side] = inv;
    }
    const out = new Float32Array(d);
    for (let p = 0; p < d; p++) {
      const a = v[p];
      const o = p * d;
      for (let j = 0; j < d; j++) out[j] += a * inv[o + j];
    }
    normalizeRows(out, 1, d);
    return out;
  }
}

function plusIdentity(w: Float32Array, d: number): Float32Array {
  const m = Float32Array.from(w);
  for (let i = 0; i < d; i++) m[i * d + i] += 1;
  return m;
}

/**
 * Moves a stored embedding from the space of one adapter (or raw CLIP: null) to another's,
 * without running CLIP. Used to re-project the library after (re)training or turning off.
 */
export function reproject(v: Float32Array, side: Side, from: Adapter | null, to: Adapter | null): Float32Array {
  if (from && to && from.id === to.id) return v;
  const raw = from ? (side === 'text' ? from.unapplyText(v) : from.unapplyImage(v)) : v;
  if (!to) return raw;
  return side === 'text' ? to.applyText(raw) : to.applyImage(raw);
}

/** An encoder whose embeddings pass through an adapter; `base` is the raw one. */
export interface AdaptedEncoder extends Encoder {
  readonly adapter: Adapter;
  readonly base: Encoder;
}

/** Wraps an encoder so its output goes through the adapter. Refuses an adapter made for another model. */
export function withAdapter(encoder: Encoder, adapter: Adapter): AdaptedEncoder {
  adapter.assertCompatible(encoder.info(), `the encoder`);
  return {
    adapter,
    base: encoder,
    dims: encoder.dims,
    info: () => encoder.info(),
    async embedTexts(texts) {
      return adapter.applyTexts(await encoder.embedTexts(texts));
    },
    async embedImages(images) {
      return adapter.applyImages(await encoder.embedImages(images));
    },
    close: () => encoder.close(),
  };
}

/** The adapter of an encoder made by `withAdapter`, if any. */
export function adapterOf(encoder: Encoder): Adapter | null {
  const a = (encoder as Partial<AdaptedEncoder>).adapter;
  return a instanceof Adapter ? a : null;
}

/** Where the configured adapter lives: null when CLIP_ADAPTER=off or unset with no default file. */
export function resolveAdapterPath(cfg: Pick<Config, 'clipAdapter' | 'dataDir'>): string | null {
  const v = cfg.clipAdapter?.trim();
  if (v && v.toLowerCase() === 'off') return null;
  if (v) return v;
  const fallback = dataPath(cfg, 'adapter.json');
  return existsSync(fallback) ? fallback : null;
}

/** Where `train adapter` writes by default. */
export function adapterOutputPath(cfg: Pick<Config, 'clipAdapter' | 'dataDir'>): string {
  const v = cfg.clipAdapter?.trim();
  return v && v.toLowerCase() !== 'off' ? v : dataPath(cfg, 'adapter.json');
}

/** Loads the configured adapter, or null. An explicitly named but missing file is an error. */
export function loadConfiguredAdapter(cfg: Pick<Config, 'clipAdapter' | 'dataDir'>): Adapter | null {
  const path = resolveAdapterPath(cfg);
  return path ? Adapter.load(path) : null;
}

/**
 * The one call `openEncoder` makes on its way out: wraps the encoder in the configured
 * adapter (CLIP_ADAPTER), or returns it unchanged when it is off.
 *
 * The wrapper follows the adapter file: when `train adapter` (or the in-bot schedule)
 * writes a new one and re-projects the library, the next embedding uses it, so queries and
 * stored embeddings stay in one space without a restart. A file that cannot be read at
 * start is an error; one that turns bad later is logged and the previous adapter kept.
 */
export function applyConfiguredAdapter(
  cfg: Pick<Config, 'clipAdapter' | 'dataDir'>,
  encoder: Encoder,
  opts: { logger?: Logger } = {},
): Encoder {
  if (cfg.clipAdapter?.trim().toLowerCase() === 'off') return encoder;
  let current: Adapter | null = null;
  let stamp: string | undefined;
  const refresh = (atStart: boolean): Adapter | null => {
    const path = resolveAdapterPath(cfg);
    let now = 'none';
    if (path) {
      try {
        const st = statSync(path);
        now = `${path}:${st.ino}:${st.mtimeMs}:${st.size}`;
      } catch {
        now = `${path}:missing`;
      }
    }
    if (now === stamp) return current;
    stamp = now;
    try {
      const next = path ? Adapter.load(path) : null;
      next?.assertCompatible(encoder.info(), 'the encoder');
      if (next && next.id !== current?.id) {
        opts.logger?.info('clip adapter applied', {
          adapter: next.id,
          path,
          model: next.model,
          trainedAt: next.meta.trainedAt,
          recallAfter: next.meta.after?.textToImage.r1,
        });
      }
      current = next;
    } catch (e) {
      if (atStart) throw e;
      opts.logger?.warn('clip adapter could not be reloaded; keeping the previous one', { error: e, adapter: current?.id ?? null });
    }
    return current;
  };
  refresh(true);
  return {
    get adapter() {
      return refresh(false);
    },
    base: encoder,
    dims: encoder.dims,
    info: () => encoder.info(),
    async embedTexts(texts) {
      const a = refresh(false);
      const out = await encoder.embedTexts(texts);
      return a ? a.applyTexts(out) : out;
    },
    async embedImages(images) {
      const a = refresh(false);
      const out = await encoder.embedImages(images);
      return a ? a.applyImages(out) : out;
    },
    close: () => encoder.close(),
  } as Encoder & { readonly adapter: Adapter | null; readonly base: Encoder };
}
