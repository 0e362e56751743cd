/**
 * The synthetic architectures. `vit-b-32` is CLIP ViT-B/32's real shape (for benchmarks);
 * `tiny` keeps every interface of it (224 px input, 77 tokens, 512-d output) at a size that
 * generates and runs in milliseconds (for tests).
 */
import { SYNTH_VOCAB_SIZE } from './tokenizer-json.ts';

export type ArchName = 'tiny' | 'vit-b-32';
export const ARCH_NAMES: readonly ArchName[] = ['tiny', 'vit-b-32'];

export interface TowerSpec {
  width: number;
  layers: number;
  heads: number;
  mlp: number;
}

export interface ArchSpec {
  name: ArchName;
  projection: number;
  text: TowerSpec & { vocab: number; context: number };
  vision: TowerSpec & { patch: number; image: number; channels: number };
  layerNormEps: number;
}

export const ARCHS: Record<ArchName, ArchSpec> = {
  tiny: {
    name: 'tiny',
    projection: 512,
    text: { width: 64, layers: 2, heads: 4, mlp: 256, vocab: SYNTH_VOCAB_SIZE, context: 77 },
    vision: { width: 64, layers: 2, heads: 4, mlp: 256, patch: 32, image: 224, channels: 3 },
    layerNormEps: 1e-5,
  },
  'vit-b-32': {
    name: 'vit-b-32',
    projection: 512,
    // The real vocabulary size, so the embedding table has the real size; the synthetic
    // tokenizer uses only its first SYNTH_VOCAB_SIZE rows.
    text: { width: 512, layers: 12, heads: 8, mlp: 2048, vocab: 49408, context: 77 },
    vision: { width: 768, layers: 12, heads: 12, mlp: 3072, patch: 32, image: 224, channels: 3 },
    layerNormEps: 1e-5,
  },
};

export function isArchName(s: string): s is ArchName {
  return (ARCH_NAMES as readonly string[]).includes(s);
}
