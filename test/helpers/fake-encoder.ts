/**
 * The one fake encoder of the test suite, for tests at the encoder seam: every input maps to
 * a unit vector seeded by its hash (same input, same vector: `textVector`, `imageVector`),
 * unless the test pinned a vector for it. It counts calls and records `close()`, and reports
 * itself as a synthetic model, as the real tiny model does.
 */
import { createHash } from 'node:crypto';
import { type Encoder, type EncoderInfo, l2normalize } from '../../src/clip/types.ts';

export interface FakeEncoder extends Encoder {
  calls: { texts: number; images: number };
  /** True once `close()` was called. */
  closed: boolean;
  /** Pins the vector a text maps to. */
  pinText(text: string, v: number[] | Float32Array): void;
  /** Pins the vector an image (by its bytes) maps to. */
  pinImage(image: Uint8Array, v: number[] | Float32Array): void;
}

export function hashVector(key: string | Uint8Array, dims: number): Float32Array {
  const seed = createHash('sha256').update(key).digest();
  let a = seed.readUInt32LE(0);
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const v = new Float32Array(dims);
  for (let i = 0; i < dims; i++) v[i] = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return l2normalize(v);
}

/** A unit vector along the given axes (weights), for constructed-embedding tests. */
export function axis(dims: number, parts: Record<number, number>): Float32Array {
  const v = new Float32Array(dims);
  for (const [i, w] of Object.entries(parts)) v[Number(i)] = w;
  return l2normalize(v);
}

/** The vector a fake encoder gives a text (unless pinned). */
export function textVector(text: string, dims: number): Float32Array {
  return hashVector(`text:${text}`, dims);
}

/** The vector a fake encoder gives an image's bytes (unless pinned). */
export function imageVector(bytes: Uint8Array, dims: number): Float32Array {
  return hashVector(bytes, dims);
}

export interface FakeEncoderOptions {
  /** Embedding width (default 32). */
  dims?: number;
  /** Model name in `info()` (default "test/fake-clip"). */
  model?: string;
  /** Anything else `info()` should say. */
  info?: Partial<EncoderInfo>;
}

export function fakeEncoder(opts: FakeEncoderOptions = {}): FakeEncoder {
  const dims = opts.dims ?? 32;
  const model = opts.model ?? 'test/fake-clip';
  const texts = new Map<string, Float32Array>();
  const images = new Map<string, Float32Array>();
  const key = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  const calls = { texts: 0, images: 0 };
  const info: EncoderInfo = { model, dims, synthetic: true, device: 'cpu', precision: 'fp32', ...opts.info };
  const enc: FakeEncoder = {
    dims,
    calls,
    closed: false,
    info: () => ({ ...info }),
    async embedTexts(xs) {
      calls.texts += xs.length;
      return xs.map((t) => Float32Array.from(texts.get(t) ?? textVector(t, dims)));
    },
    async embedImages(xs) {
      calls.images += xs.length;
      return xs.map((b) => Float32Array.from(images.get(key(b)) ?? imageVector(b, dims)));
    },
    async close() {
      enc.closed = true;
    },
    pinText(t, v) {
      texts.set(t, l2normalize(Float32Array.from(v)));
    },
    pinImage(b, v) {
      images.set(key(b), l2normalize(Float32Array.from(v)));
    },
  };
  return enc;
}
