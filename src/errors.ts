/**
 * Typed errors. Every failure a caller may handle has a stable `code`, so listeners,
 * the CLI and tests branch on codes rather than on message text.
 */
import { redact } from './redact.ts';

export class AdError extends Error {
  readonly code: string;
  /** A hint that tells a person what to do next (a command to run, a setting to fix). */
  readonly hint?: string;

  constructor(code: string, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options?.hint;
  }
}

/** An environment setting has a value that cannot be used. */
export class ConfigError extends AdError {
  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super('CONFIG_INVALID', message, options);
  }
}

/** A command line that cannot be understood. */
export class UsageError extends AdError {
  constructor(message: string, options?: { hint?: string }) {
    super('USAGE', message, options);
  }
}

/** Input data (an image, a manifest, a brief) that cannot be used. */
export class InputError extends AdError {}

/** Image bytes that are not a usable image. */
export class ImageError extends InputError {}

/** A model directory that is missing, incomplete or for another model. */
export class ModelError extends AdError {}

/** The inference engine failed to load or run. */
export class InferenceError extends AdError {}

/** The creative library (LanceDB) failed or is inconsistent. */
export class LibraryError extends AdError {}

/** Copy or image generation failed. */
export class GenerationError extends AdError {}

/** A round operation that the domain refuses (closed round, not allowed, ...). */
export class RoundError extends AdError {}

/** The state store failed. */
export class StoreError extends AdError {}

/** A network peer (model download, remote encoder, Slack) failed. */
export class NetworkError extends AdError {}

export function isAdError(e: unknown): e is AdError {
  return e instanceof AdError;
}

/**
 * A one-line description for logs, Slack messages, stored round errors and CLI output. Never
 * includes causes' stacks; secrets are redacted (an upstream error may echo a request's
 * `Authorization` header).
 */
export function describeError(e: unknown): string {
  if (e instanceof AdError) return redact(e.hint ? `${e.message} (${e.hint})` : e.message);
  if (e instanceof Error) return redact(e.message);
  return redact(String(e));
}
