/**
 * What the OpenAI stand-in billed, priced at OpenAI's published rates — written out here on their
 * own, so a test's expected cost does not come from the code under test (src/generate/pricing.ts).
 */
import type { BilledEntry } from './fake-openai.ts';

/** USD per 1M tokens as [input, cached input, output]; dall-e per image by `size/quality`. */
export const PRICES: Record<string, { text?: number[]; image?: number[]; perImage?: Record<string, number> }> = {
  'gpt-4o-mini': { text: [0.15, 0.075, 0.6] },
  // gpt-image-2.6-sunburst's model page, read 2026-12-05.
  'gpt-image-2.6-sunburst': { text: [5, 1.25, 0], image: [8, 2, 30] },
  'gpt-image-1': { text: [5, 1.25, 0], image: [10, 2.5, 40] },
  'dall-e-3': { perImage: { '1024x1024/standard': 0.04, '1024x1024/hd': 0.08 } },
  'dall-e-2': { perImage: { '1024x1024/standard': 0.02, '512x512/standard': 0.018 } },
};

/** USD of what the stand-in billed, from the usage it reported. */
export function priced(billed: BilledEntry[]): number {
  let usd = 0;
  for (const b of billed) {
    const p = PRICES[b.model];
    const u = (b.usage ?? {}) as Record<string, number> & {
      prompt_tokens_details?: { cached_tokens: number };
      input_tokens_details?: { text_tokens: number; image_tokens: number };
    };
    if (b.endpoint === 'chat') {
      const cached = u.prompt_tokens_details?.cached_tokens ?? 0;
      usd += ((u.prompt_tokens - cached) * p.text![0] + cached * p.text![1] + u.completion_tokens * p.text![2]) / 1e6;
    } else if (p.perImage) {
      usd += p.perImage[`${b.size}/${b.quality}`];
    } else {
      const d = u.input_tokens_details!;
      usd += (d.text_tokens * p.text![0] + d.image_tokens * p.image![0] + u.output_tokens * p.image![2]) / 1e6;
    }
  }
  return usd;
}
