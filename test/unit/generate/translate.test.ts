/**
 * The brief translator's cache and answers, on a scripted client (the real SDK against the
 * OpenAI stand-in is in test/integration/generate/translate-retrieval.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { OpenAIClient } from '../../../src/generate/openai.ts';
import { priceTable } from '../../../src/generate/pricing.ts';
import { createTranslator } from '../../../src/generate/translate.ts';

function scripted(answer: (text: string) => { content?: string | null; refusal?: string | null }) {
  const calls: { model: string; text: string }[] = [];
  const client = {
    chat: {
      completions: {
        async create(body: { model: string; messages: { role: string; content: string }[] }) {
          const text = body.messages.find((m) => m.role === 'user')?.content ?? '';
          calls.push({ model: body.model, text });
          await new Promise((r) => setTimeout(r, 5));
          const a = answer(text);
          return { choices: [{ message: { content: a.content ?? null, refusal: a.refusal ?? null } }] };
        },
      },
    },
  } as unknown as OpenAIClient;
  return { client, calls };
}

describe('createTranslator', () => {
  it('translates once per text and model: repeats and concurrent rounds of one brief share the call', async () => {
    const s = scripted(() => ({ content: '"Summer sale on running shoes"' }));
    const t = createTranslator({ client: s.client, model: 'gpt-4o-mini', retries: 0 });
    const [a, b] = await Promise.all([t.translate('夏季跑鞋大促销'), t.translate('夏季跑鞋大促销')]);
    expect(a).toMatchObject({
      text: 'Summer sale on running shoes',
      from: 'zh',
      cached: false,
      billed: { model: 'gpt-4o-mini', endpoint: 'chat' },
    });
    // The round that shared the call does not pay for it again.
    expect(b).toEqual({ text: 'Summer sale on running shoes', from: 'zh', cached: true });
    expect(await t.translate('夏季跑鞋大促销')).toEqual({ text: 'Summer sale on running shoes', from: 'zh', cached: true });
    expect(s.calls).toEqual([{ model: 'gpt-4o-mini', text: '夏季跑鞋大促销' }]);
    await t.translate('Laufschuhe für den Sommer');
    expect(s.calls).toHaveLength(2);
  });

  it('prices the request it sent with the price table, so a round failing right after still records it', async () => {
    const s = scripted(() => ({ content: 'Summer sale' }));
    (s.client.chat.completions as unknown as { create: unknown }).create = async () => ({
      choices: [{ message: { content: 'Summer sale', refusal: null } }],
      usage: { prompt_tokens: 1000, completion_tokens: 100 },
    });
    const prices = priceTable({ 'gpt-4o-mini': { text: { input: 1, output: 2 } } });
    const t = createTranslator({ client: s.client, model: 'gpt-4o-mini', retries: 0, prices });
    const first = await t.translate('夏季跑鞋');
    expect(first.cost).toMatchObject({ textCalls: 1, imageCalls: 0 });
    expect(first.cost?.usd).toBeCloseTo((1000 * 1 + 100 * 2) / 1e6, 12);
    // Answered from the cache: nothing was spent.
    expect((await t.translate('夏季跑鞋')).cost).toBeUndefined();
  });

  it('sends nothing for an English brief', async () => {
    const s = scripted(() => ({ content: 'x' }));
    const t = createTranslator({ client: s.client, model: 'gpt-4o-mini', retries: 0 });
    expect(await t.translate('Summer sale on running shoes')).toEqual({ text: 'Summer sale on running shoes', from: 'en', cached: false });
    expect(s.calls).toHaveLength(0);
  });

  it('refuses an empty answer or a refusal with TRANSLATION_FAILED, and does not cache it', async () => {
    let answer: { content?: string | null; refusal?: string | null } = { content: '  ' };
    const s = scripted(() => answer);
    const t = createTranslator({ client: s.client, model: 'gpt-4o-mini', retries: 0 });
    await expect(t.translate('夏季')).rejects.toMatchObject({ code: 'TRANSLATION_FAILED', message: /empty translation/ });
    answer = { refusal: 'no' };
    await expect(t.translate('夏季')).rejects.toMatchObject({ code: 'TRANSLATION_FAILED', message: /declined to translate the brief: no/ });
    answer = { content: 'Summer' };
    expect((await t.translate('夏季')).text).toBe('Summer');
    expect(s.calls).toHaveLength(3);
  });
});
