/**
 * The one place the bot gets its encoder from the configuration: the in-process ONNX
 * encoder, or the remote one when CLIP_ENDPOINT is set.
 * (Contract placeholder: the encoder work replaces this body.)
 */
import type { Config } from '../config.ts';
import { ModelError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Encoder } from './types.ts';

export async function openEncoder(_cfg: Config, _opts: { logger?: Logger } = {}): Promise<Encoder> {
  throw new ModelError('ENCODER_UNAVAILABLE', 'the CLIP encoder is not wired in this build yet');
}
