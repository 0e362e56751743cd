/**
 * Builds the generator from the configuration (OpenAI when a key is set, else the studio).
 * (Contract placeholder: the generation work replaces this body.)
 */
import type { Encoder } from '../clip/types.ts';
import type { Config } from '../config.ts';
import { GenerationError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Generator } from './types.ts';

export interface GeneratorDeps {
  cfg: Config;
  encoder: Encoder;
  /** Highest similarity of each image embedding to the library (novelty = 1 − it). */
  maxSimilarity: (imageEmbeddings: Float32Array[]) => Promise<number[]>;
  logger?: Logger;
}

export function createGenerator(_deps: GeneratorDeps): Generator {
  throw new GenerationError('GENERATOR_UNAVAILABLE', 'generation is not wired in this build yet');
}
