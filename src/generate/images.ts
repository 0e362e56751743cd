/**
 * Visuals for the candidates: OpenAI Images under a concurrency limit, with the SDK's timeout and
 * retries. A candidate with an image to work from (the leader's in a feedback round, or the
 * brief's reference) goes to the images edit endpoint with it (and the brand logo where the kit
 * asks); the others are drawn from the prompt. Every answered request is reported with the usage
 * the API billed. A failure or a content-policy refusal is reported for its candidate and leaves
 * the others going.
 */
import { toModelInput } from '../image/model-input.ts';
import type { Logger } from '../log.ts';
import type { BrandKit } from './brands.ts';
import type { ImageSettings } from './image-models.ts';
import {
  describeOpenAIError,
  type ImageEditBody,
  type ImageGenerateBody,
  type ImagesResponse,
  type OpenAIClient,
  toFile,
} from './openai.ts';
import { type BilledRequest, imageUsage } from './pricing.ts';
import type { Copy } from './types.ts';

export interface ImageJob {
  concept: string;
  copy: Copy;
  brand: BrandKit;
  feedback: string[];
  /** The image to work from (the images edit endpoint) instead of drawing from scratch. */
  edit?: Uint8Array;
  /** Whose image `edit` is: the leader's (feedback round) or the reference (a brief's upload, a leader outside feedback rounds). */
  editOf?: 'leader' | 'reference';
  /** The brand logo, sent along with `edit` (or alone) where the kit asks for it in the visual. */
  logo?: Uint8Array;
  /** A photo the studio shows as it is (the reference image, a text-free library image); none: a drawn scene. */
  photo?: Uint8Array;
  /** The studio's palette for this brief (mood, brand accent, colour feedback): generate/mood.ts. */
  palette?: string[];
  seed: number;
}

export type ImageOutcome = { ok: true; image: Uint8Array } | { ok: false; error: string };

export interface ImageProvider {
  readonly offline: boolean;
  readonly name: string;
  /**
   * How many input images the provider can work from; 0: it cannot (dall-e-3 has no edit
   * endpoint). Unset: as many as it is given (the studio weaves them in).
   */
  readonly maxInputs?: number;
  /**
   * Draws one visual; rejects with an Error whose message says what went wrong. `billed` hears
   * of every request the API answered (so billed), with the usage it reported.
   */
  draw(job: ImageJob, signal?: AbortSignal, billed?: (r: BilledRequest) => void): Promise<Uint8Array>;
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
  opts: { concurrency: number; signal?: AbortSignal; onDone?: () => void; billed?: (r: BilledRequest) => void },
): Promise<ImageOutcome[]> {
  return mapLimit(jobs, opts.concurrency, async (job) => {
    try {
      const image = await provider.draw(job, opts.signal, opts.billed);
      return { ok: true as const, image };
    } catch (e) {
      return { ok: false as const, error: e instanceof Error ? e.message : String(e) };
    } finally {
      opts.onDone?.();
    }
  });
}

export function imagePrompt(job: ImageJob, maxChars = 32_000): string {
  const b = job.brand;
  const parts = [
    job.editOf === 'leader'
      ? 'Rework the given image (the current leader) for this concept:'
      : job.edit
        ? 'Make a new advertising visual in the spirit of the given reference image (its subject, mood and composition):'
        : '',
    job.concept,
    b.description ? `For ${b.displayName || b.name}: ${b.description}` : '',
    `Colour palette: ${b.colors.primary}, ${b.colors.accent}, ${b.colors.text}.`,
    job.feedback.length ? `Apply this feedback: ${job.feedback.join('; ')}.` : '',
    'Advertising visual, clean composition with calm space in the lower third for a headline.',
    job.logo
      ? `Show the ${b.displayName || b.name} logo (the ${job.edit ? 'last' : 'given'} image) once, small, on the product or packaging; no other text, letters or watermarks.`
      : 'No text, letters, logos or watermarks in the image.',
  ].filter(Boolean);
  let prompt = parts.join(' ');
  // `prompt`: "The maximum length is 1000 characters for dall-e-2 …": feedback is what grows, so it is cut first.
  if (prompt.length > maxChars) {
    const fixed = parts.filter((p) => !p.startsWith('Apply this feedback')).join(' ');
    const room = maxChars - fixed.length - 40;
    const fb = job.feedback.join('; ');
    const kept = room > 0 ? ` Apply this feedback: ${fb.slice(Math.max(0, fb.length - room))}.` : '';
    prompt = `${fixed}${kept}`.slice(0, maxChars);
  }
  return prompt;
}

export function createOpenAIImages(opts: { client: OpenAIClient; image: ImageSettings; retries: number; logger: Logger }): ImageProvider {
  const { client, logger } = opts;
  const { model, spec } = opts.image;
  type Generate = ImageGenerateBody;
  type Edit = ImageEditBody;
  const size = opts.image.size as NonNullable<Generate['size']>;
  const quality = opts.image.quality as NonNullable<Generate['quality']>;
  const asked = { size: opts.image.size, quality: opts.image.quality };
  // Only what the model documents: dall-e answers with URLs unless asked for base64 (the GPT image
  // models always send base64 and refuse the parameter); background and format are GPT-only.
  const common = {
    model,
    n: 1,
    size,
    ...(spec.responseFormat ? { response_format: 'b64_json' as const } : {}),
    ...(opts.image.background ? { background: opts.image.background as NonNullable<Generate['background']> } : {}),
    ...(opts.image.outputFormat ? { output_format: opts.image.outputFormat as NonNullable<Generate['output_format']> } : {}),
  };
  const edits = spec.edits;
  // One conversion per input image, shared by every candidate that sends it.
  const prepared = new WeakMap<Uint8Array, Promise<Awaited<ReturnType<typeof toModelInput>>>>();
  const prepare = (bytes: Uint8Array, name: string) => {
    let p = prepared.get(bytes);
    if (!p) {
      p = toModelInput(bytes, { squarePng: edits?.squarePng ?? false, maxBytes: edits?.maxBytes ?? 50 * 1024 * 1024 }, name);
      prepared.set(bytes, p);
    }
    return p;
  };
  return {
    offline: false,
    name: `openai:${model}`,
    maxInputs: edits?.maxImages ?? 0,
    async draw(job, signal, billed) {
      const inputs = [
        ...(job.edit ? [{ bytes: job.edit, name: job.editOf ?? 'reference' }] : []),
        ...(job.logo ? [{ bytes: job.logo, name: 'logo' }] : []),
      ].slice(0, edits?.maxImages ?? 0);
      const what = job.edit
        ? `editing the ${job.editOf ?? 'reference'} image`
        : inputs.length
          ? 'drawing with the logo'
          : 'drawing the visual';
      const prompt = imagePrompt({ ...job, logo: inputs.some((i) => i.name === 'logo') ? job.logo : undefined }, spec.maxPromptChars);
      try {
        let res: ImagesResponse;
        let endpoint: 'generations' | 'edits';
        if (inputs.length) {
          endpoint = 'edits';
          const files = await Promise.all(
            inputs.map(async (i) => {
              const m = await prepare(i.bytes, `the ${i.name} image`);
              return toFile(m.bytes, `${i.name}.${m.ext}`, { type: m.type });
            }),
          );
          const body: Edit = {
            ...common,
            prompt,
            image: files.length === 1 ? files[0] : files,
            // `quality` on edits is documented for the GPT image models; dall-e-2 has only standard.
            ...(spec.family === 'gpt-image' ? { quality: quality as NonNullable<Edit['quality']> } : {}),
          };
          res = await client.images.edit(body, { signal });
        } else {
          endpoint = 'generations';
          res = await client.images.generate({ ...common, prompt, quality }, { signal });
        }
        // Answered, so billed, whatever comes next.
        billed?.(imageUsage(model, endpoint, res.usage, asked));
        const b64 = res.data?.[0]?.b64_json;
        if (!b64) throw new Error('the image API answered without image data');
        const bytes = Buffer.from(b64, 'base64');
        if (bytes.length < 16) throw new Error('the image API answered with an empty image');
        return new Uint8Array(bytes);
      } catch (e) {
        const why = describeOpenAIError(e, opts.retries);
        logger.warn('image: request failed', { reason: why, edit: Boolean(job.edit), editOf: job.editOf });
        throw new Error(`${what} failed: ${why}`);
      }
    },
  };
}
