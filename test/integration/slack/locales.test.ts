/**
 * `/adcreative … --locales` through the real Bolt receiver and the strict Slack stand-in: each
 * variant's message carries its locales side by side (offline: the brief's language as written,
 * the others "not translated"), one vote counts for the variant, and a bad tag is answered at once.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { DEFAULT_BRAND } from '../../../src/generate/brands.ts';
import { createOfflineLocalizer } from '../../../src/generate/locale-copy.ts';
import { briefLanguage, parseLocales } from '../../../src/generate/locales.ts';
import { limitsFor } from '../../../src/vocabulary.ts';
import { type Harness, harness, tallyMessage, variantMessages } from './harness.ts';

const C = 'C0GENERAL';
let h: Harness;
beforeEach(async () => {
  h = await harness();
  // The harness's generator is a fake; its variants get their locales from the real offline localizer.
  const made = h.gen.generate.bind(h.gen);
  h.gen.generate = async (req) => {
    const r = await made(req);
    if (!req.locales) return r;
    const { copies } = await createOfflineLocalizer().localize({
      brief: req.brief,
      source: briefLanguage(req.brief),
      locales: parseLocales(req.locales.join(',')),
      variants: r.variants,
      brand: DEFAULT_BRAND,
      channel: req.channel,
      limits: limitsFor(req.channel),
    });
    return { ...r, variants: r.variants.map((v, i) => ({ ...v, locales: copies[i] })) };
  };
});
afterEach(async () => {
  await h.close();
});

it('a brief with --locales: every variant shows its locales, and the vote is per variant', async () => {
  const res = await h.d.slashCommand({
    user: 'U0ALICE',
    channel: C,
    text: 'Trail-running sunscreen for weekend runners --variants 2 --locales en,de',
  });
  expect(res.status).toBe(200);
  const parent = await h.slack.waitFor(() => h.slack.channelMessages(C).at(-1), 5000, 'parent message');
  await h.slack.waitFor(() => tallyMessage(h.slack, C, parent.ts), 10_000, 'tally message');
  expect(JSON.stringify(h.slack.message(C, parent.ts)?.blocks)).toContain('locales en, de');
  const variants = variantMessages(h.slack, C, parent.ts);
  expect(variants.map((v) => v.label)).toEqual(['A', 'B']);
  for (const v of variants) {
    const sec = (v.message.blocks as { block_id?: string; fields?: { text: string }[] }[]).find((b) => b.block_id === `locales-${v.label}`);
    expect(sec?.fields?.map((f) => f.text.split('\n')[0])).toEqual(['*English* (en) · as written', '*German* (de)']);
    expect(sec?.fields?.[1].text).toContain('_not translated_');
  }
  const A = variants[0].message;
  const vote = (A.blocks as { type: string; elements?: { action_id: string; value?: string }[] }[])
    .find((b) => b.type === 'actions')
    ?.elements?.find((e) => e.action_id === 'vote')?.value as string;
  await h.d.blockAction({ user: 'U0BOB', channel: C, message: A, action: { action_id: 'vote', value: vote } });
  await h.slack.waitFor(
    () =>
      tallyMessage(h.slack, C, parent.ts)?.text.includes('1 vote') ||
      JSON.stringify(tallyMessage(h.slack, C, parent.ts)?.blocks).includes('1 vote'),
    5000,
    'one vote in the tally',
  );
});

it('a bad locale tag is answered at once, naming it', async () => {
  const res = await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'shoes --locales de,deutsch' });
  expect(JSON.parse(res.body).text).toMatch(/"deutsch" is not a locale tag; expected a language code with an optional region/);
});
