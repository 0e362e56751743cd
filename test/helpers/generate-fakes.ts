/**
 * A deterministic stand-in for the CLIP encoder in generation tests: each distinct input gets
 * a seeded random unit vector (the same input always the same vector), so ranking has real
 * numbers to work on without loading a model.
 */
import { createHash } from 'node:crypto';
import type { Encoder, EncoderInfo } from '../../src/clip/types.ts';
import { l2normalize } from '../../src/clip/types.ts';

export function vectorFor(seed: string, dims = 64): Float32Array {
  const v = new Float32Array(dims);
  let block = createHash('sha256').update(seed).digest();
  for (let i = 0; i < dims; i++) {
    if (i % 16 === 0 && i > 0) block = createHash('sha256').update(block).digest();
    v[i] = (block.readUInt16LE((2 * i) % 32) / 65535) * 2 - 1;
  }
  return l2normalize(v);
}

export function fakeEncoder(dims = 64): Encoder & { calls: { texts: number; images: number } } {
  const calls = { texts: 0, images: 0 };
  const info: EncoderInfo = { model: 'fake', dims, synthetic: true, device: 'cpu', precision: 'fp32' };
  return {
    dims,
    calls,
    info: () => info,
    async embedTexts(texts) {
      calls.texts += texts.length;
      return texts.map((t) => vectorFor(`t:${t}`, dims));
    },
    async embedImages(images) {
      calls.images += images.length;
      return images.map((b) => vectorFor(`i:${createHash('sha256').update(b).digest('hex')}`, dims));
    },
    async close() {},
  };
}
