/** Relevance of a visual to the brief: cosine of the brief's text embedding and the image's. */
import { cosine } from '../clip/types.ts';

export function relevance(brief: Float32Array, images: Float32Array[]): number[] {
  return images.map((img) => cosine(brief, img));
}
