/**
 * The OpenAI client (the only place the SDK is constructed) and the translation of its
 * errors into sentences a marketer can act on.
 */
import OpenAI, { APIConnectionTimeoutError, APIError, APIUserAbortError, toFile } from 'openai';
import type { Config } from '../config.ts';

export type OpenAIClient = OpenAI;
export type ImageGenerateBody = OpenAI.ImageGenerateParamsNonStreaming;
export type ImageEditBody = OpenAI.ImageEditParamsNonStreaming;
export type ImagesResponse = OpenAI.ImagesResponse;
export { toFile };

export function createOpenAIClient(
  cfg: Pick<Config, 'openaiApiKey' | 'openaiBaseUrl' | 'openaiTimeoutMs' | 'openaiMaxRetries'>,
  opts: { fetch?: typeof fetch } = {},
): OpenAI {
  return new OpenAI({
    apiKey: cfg.openaiApiKey,
    baseURL: cfg.openaiBaseUrl,
    timeout: cfg.openaiTimeoutMs,
    maxRetries: cfg.openaiMaxRetries,
    fetch: opts.fetch,
  });
}

/** True for a refusal by the provider's safety system (not worth retrying). */
export function isContentPolicyError(e: unknown): boolean {
  if (!(e instanceof APIError)) return false;
  const code = String(e.code ?? '');
  return (
    code === 'content_policy_violation' ||
    code === 'moderation_blocked' ||
    /content[_ ]policy|safety system|moderation/i.test(e.message) ||
    (e.status === 400 && /policy/i.test(String((e.error as { type?: string } | undefined)?.type ?? '')))
  );
}

/** One line saying what went wrong with a request, without echoing keys. */
export function describeOpenAIError(e: unknown, retries: number): string {
  if (e instanceof APIUserAbortError) return 'cancelled';
  if (e instanceof APIConnectionTimeoutError) return `timed out (after ${retries} ${retries === 1 ? 'retry' : 'retries'})`;
  if (isContentPolicyError(e)) {
    const msg = e instanceof Error ? e.message.replace(/^\d{3}\s*/, '') : '';
    return `refused by the content policy${msg ? `: ${msg}` : ''}`;
  }
  if (e instanceof APIError) {
    const after = `after ${retries} ${retries === 1 ? 'retry' : 'retries'}`;
    if (e.status === 429) return `rate-limited by the API (429) ${after}`;
    if (e.status === 401) return 'the API key was refused (401); check OPENAI_API_KEY';
    if (e.status === 404) return `not found (404): ${e.message.replace(/^404\s*/, '')}`;
    if (e.status && e.status >= 500) return `the API failed (${e.status}) ${after}`;
    if (e.status === undefined) return `could not reach the API ${after} (${e.message})`;
    return `the API answered ${e.status}: ${e.message.replace(/^\d{3}\s*/, '')}`;
  }
  return e instanceof Error ? e.message : String(e);
}
