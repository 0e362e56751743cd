/**
 * The copywriter's side of an ad export (export/copy.ts `ExtraCopyWriter`): when a platform wants
 * more texts than a variant has (Performance Max: several headlines, long headlines and
 * descriptions), one Chat Completions call with a JSON schema asks for them in the variant's
 * voice and language, each inside its limit. Without OPENAI_API_KEY there is none, and the
 * export derives the texts from the copy by rules. The export checks every text it gets back.
 */
import type { Config } from '../config.ts';
import { GenerationError } from '../errors.ts';
import type { ExtraCopy, ExtraCopyRequest, ExtraCopyWriter } from '../export/copy.ts';
import { createOpenAIClient, describeOpenAIError, type OpenAIClient } from './openai.ts';

const list = { type: 'array', items: { type: 'string' } } as const;
const SCHEMA = {
  type: 'object',
  properties: { headlines: list, long_headlines: list, descriptions: list },
  required: ['headlines', 'long_headlines', 'descriptions'],
  additionalProperties: false,
} as const;

export function createOpenAIExtraCopy(opts: { client: OpenAIClient; model: string; retries: number }): ExtraCopyWriter {
  return {
    async write(req: ExtraCopyRequest): Promise<ExtraCopy> {
      const system = [
        'You are a senior performance-marketing copywriter adapting an approved ad to more ad placements.',
        'Write in the same language, voice and claims as the approved ad; add no new claims, prices or offers.',
        'Every text must stand alone as a complete phrase (no trailing "…", no cut words) and contain no emoji.',
        `Hard limits in characters: each headline ≤ ${req.headlines.max}, each long headline ≤ ${req.longHeadlines.max}, each description ≤ ${req.descriptions.max}.`,
        req.brand ? `Brand: ${req.brand}.` : '',
      ]
        .filter(Boolean)
        .join('\n');
      const user = [
        `Brief: ${req.brief}`,
        `Approved ad: headline "${req.copy.headline}" / primary text "${req.copy.body}" / CTA "${req.copy.cta}"`,
        `Write ${req.headlines.count} headlines, ${req.longHeadlines.count} long headlines and ${req.descriptions.count} descriptions, all different from each other and from the approved ad.`,
      ].join('\n');
      let res: Awaited<ReturnType<OpenAIClient['chat']['completions']['create']>>;
      try {
        res = await opts.client.chat.completions.create(
          {
            model: opts.model,
            messages: [
              { role: 'system', content: system },
              { role: 'user', content: user },
            ],
            response_format: { type: 'json_schema', json_schema: { name: 'extra_ad_copy', strict: true, schema: SCHEMA } },
          },
          { signal: req.signal },
        );
      } catch (e) {
        throw new GenerationError('EXTRA_COPY_FAILED', `extra copy: ${describeOpenAIError(e, opts.retries)}`, { cause: e });
      }
      const msg = res.choices[0]?.message;
      if (msg?.refusal) throw new GenerationError('COPY_REFUSED', `the text model declined to write extra copy: ${msg.refusal}`);
      let data: { headlines?: unknown; long_headlines?: unknown; descriptions?: unknown };
      try {
        data = JSON.parse(msg?.content ?? '');
      } catch {
        throw new GenerationError('EXTRA_COPY_FAILED', 'extra copy: the model returned malformed JSON');
      }
      const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
      return { headlines: strings(data.headlines), longHeadlines: strings(data.long_headlines), descriptions: strings(data.descriptions) };
    },
  };
}

/** The writer the configuration gives: OpenAI's when OPENAI_API_KEY is set, else none (rules). */
export function extraCopyWriter(
  cfg: Pick<Config, 'openaiApiKey' | 'openaiBaseUrl' | 'openaiTimeoutMs' | 'openaiMaxRetries' | 'openaiTextModel'>,
): ExtraCopyWriter | undefined {
  if (!cfg.openaiApiKey) return undefined;
  return createOpenAIExtraCopy({ client: createOpenAIClient(cfg), model: cfg.openaiTextModel, retries: cfg.openaiMaxRetries });
}
