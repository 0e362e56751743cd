/**
 * Visuals for the candidates: OpenAI Images (generate, or edit the leader's image in a
 * feedback round) under a concurrency limit, with the SDK's timeout and retries. A failure
 * or a content-policy refusal is reported for its candidate and leaves the others going.
 */
import type { Logger } from '../log.ts';
import type { BrandKit } from './brands.ts';
import { describeOpenAIError, type OpenAIClient, toFile } from './openai.ts';
import type { Copy } from './types.ts';

export interface ImageJob {
  concept: string;
  copy: Copy;
  brand: BrandKit;
  feedback: string[];
  /** Edit this image (the leader's) instead of drawing from scratch. */
  edit?: Uint8Array;
  /** Imagery the studio may weave in (inspiration thumbnails). */
  imagery: Uint8Array[];
  seed: number;
}

export type ImageOutcome = { ok: true; image: Uint8Array } | { ok: false; error: string };

export interface ImageProvider {
  readonly offline: boolean;
  readonly name: string;
  /** Draws one visual; rejects with an Error whose message says what went wrong. */
  draw(job: ImageJob, signal?: AbortSignal): Promise<Uint8Array>;
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return out;
}

/** Draws every job, never rejecting: each outcome is an image or the reason it failed. */
export async function drawAll(
  provider: ImageProvider,
  jobs: ImageJob[],
  opts: { concurrency: number; signal?: AbortSignal; onDone?: () => void },
): Promise<ImageOutcome[]> {
  return mapLimit(jobs, opts.concurrency, async (job) => {
    try {
      const image = await provider.draw(job, opts.signal);
      return { ok: true as const, image };
    } catch (e) {
      return { ok: false as const, error: e instanceof Error ? e.message : String(e) };
    } finally {
      opts.onDone?.();
    }
  });
}

export function imagePrompt(job: ImageJob): string {
  const b = job.brand;
  return [
    job.concept,
    b.description ? `For ${b.displayName || b.name}: ${b.description}` : '',
    `Colour palette: ${b.colors.primary}, ${b.colors.accent}, ${b.colors.text}.`,
    job.feedback.length ? `Apply this feedback: ${job.feedback.join('; ')}.` : '',
    'Advertising visual, clean composition with calm space in the lower third for a headline.',
    'No text, letters, logos or watermarks in the image.',
  ]
    .filter(Boolean)
    .join(' ');
}

function sniffType(bytes: Uint8Array): { type: string; ext: string } {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return { type: 'image/jpeg', ext: 'jpg' };
  if (bytes[0] === 0x52 && bytes[1] === 0x49 && bytes[8] === 0x57) return { type: 'image/webp', ext: 'webp' };
  return { type: 'image/png', ext: 'png' };
}

export function createOpenAIImages(opts: {
  client: OpenAIClient;
  model: string;
  size: string;
  quality: string;
  retries: number;
  logger: Logger;
}): ImageProvider {
  const { client, model, logger } = opts;
  // dall-e models answer with URLs unless asked for base64; the GPT image models always send base64.
  const dalle = /^dall-e/i.test(model);
  type Size = NonNullable<Parameters<OpenAIClient['images']['generate']>[0]['size']>;
  type Quality = NonNullable<Parameters<OpenAIClient['images']['generate']>[0]['quality']>;
  const size = opts.size as Size;
  const quality = opts.quality as Quality;
  return {
    offline: false,
    name: `openai:${model}`,
    async draw(job, signal) {
      const prompt = imagePrompt(job);
      try {
        let res: Awaited<ReturnType<OpenAIClient['images']['generate']>>;
        if (job.edit) {
          const t = sniffType(job.edit);
          res = await client.images.edit(
            {
              model,
              prompt,
              image: await toFile(job.edit, `leader.${t.ext}`, { type: t.type }),
              size: size as never,
              ...(dalle ? { response_format: 'b64_json' } : {}),
            },
            { signal },
          );
        } else {
          res = await client.images.generate(
            { model, prompt, n: 1, size, quality, ...(dalle ? { response_format: 'b64_json' } : {}) },
            { signal },
          );
        }
        const b64 = res.data?.[0]?.b64_json;
        if (!b64) throw new Error('the image API answered without image data');
        const bytes = Buffer.from(b64, 'base64');
        if (bytes.length < 16) throw new Error('the image API answered with an empty image');
        return new Uint8Array(bytes);
      } catch (e) {
        const why = describeOpenAIError(e, opts.retries);
        logger.warn('image: request failed', { reason: why, edit: Boolean(job.edit) });
        throw new Error(`${job.edit ? 'editing the leader image' : 'drawing the visual'} failed: ${why}`);
      }
    },
  };
}
