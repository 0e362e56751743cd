/**
 * A Chinese brief finds the right past creative through the translated path: the real openai
 * SDK against the OpenAI stand-in translates it (once: the second round of the same brief hits
 * the cache), the English text is embedded and searched in a real LanceDB library, and the
 * inspiration note says which path was taken. Without a translator the brief is embedded as
 * written and the note says so; English briefs cost no call.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inspire } from '../../../src/generate/inspire.ts';
import { createOpenAIClient } from '../../../src/generate/openai.ts';
import { createTranslator, detectLanguage } from '../../../src/generate/translate.ts';
import { LanceLibrary } from '../../../src/library/lance-library.ts';
import { inspirationMessage } from '../../../src/slack/blocks/round.ts';
import { axis, type FakeEncoder, fakeEncoder } from '../../helpers/fake-encoder.ts';
import { chatReply, errorReply, type FakeOpenAI, startFakeOpenAI } from '../../helpers/fake-openai.ts';
import { testImage } from '../../helpers/images.ts';

const KEY = 'sk-test-abcdefghijklmnop1234';
const DIMS = 8;
const ZH = '夏季跑鞋大促销';
const EN = 'Big summer sale on running shoes';

let fake: FakeOpenAI;
let dir: string;
let enc: FakeEncoder;
let lib: LanceLibrary;

beforeAll(async () => {
  fake = await startFakeOpenAI({ apiKey: KEY });
});
afterAll(async () => {
  await fake.close();
});

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'adc-translate-'));
  enc = fakeEncoder({ dims: DIMS });
  const imgs = await Promise.all([21, 22, 23].map((s) => testImage(s)));
  const creatives: { headline: string; v: Record<number, number> }[] = [
    { headline: 'Coffee, roasted daily', v: { 1: 1 } },
    { headline: 'Run into summer', v: { 0: 1 } },
    { headline: 'Winter jackets', v: { 2: 1 } },
  ];
  creatives.forEach((c, i) => {
    enc.pinImage(imgs[i], axis(DIMS, c.v));
    enc.pinText(c.headline, axis(DIMS, c.v));
  });
  // The English brief lies by the running-shoes creative; the Chinese one, embedded by the
  // English-only text tower, by the coffee one (what CLIP does with text it cannot read: anywhere).
  enc.pinText(EN, axis(DIMS, { 0: 1, 3: 0.2 }));
  enc.pinText(ZH, axis(DIMS, { 1: 1, 4: 0.3 }));
  lib = await LanceLibrary.open({ uri: dir, encoder: enc, settings: { weights: { image: 0.6, caption: 0.4, ctr: 0 }, optimizeEvery: 0 } });
  await lib.add(creatives.map((c, i) => ({ image: imgs[i], headline: c.headline, caption: c.headline })));
  fake.on('chat', (req) => {
    const user = (req.body.messages as { role: string; content: string }[]).find((m) => m.role === 'user')?.content ?? '';
    return chatReply(user.includes('夏季跑鞋') ? EN : `(unexpected) ${user}`);
  });
});
afterEach(async () => {
  await lib.close();
  rmSync(dir, { recursive: true, force: true });
  expect(fake.refused).toEqual([]);
  expect(fake.answerProblems).toEqual([]);
  fake.reset();
});

const translator = () =>
  createTranslator({
    client: createOpenAIClient({ openaiApiKey: KEY, openaiBaseUrl: fake.url, openaiTimeoutMs: 5000, openaiMaxRetries: 0 }),
    model: 'gpt-4o-mini',
    retries: 0,
  });

describe('retrieval for a Chinese brief', () => {
  it('translates it, finds the running-shoes creative, and says so in the inspiration note; a repeated brief is not translated again', async () => {
    const t = translator();
    const found = await inspire({ brief: ZH, k: 3, encoder: enc, translator: t, library: lib });
    expect(found.hits[0].headline).toBe('Run into summer');
    expect(found.query).toMatchObject({ kind: 'translated', from: 'zh', text: EN, note: `translated from zh: ${EN}` });
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0].body.model).toBe('gpt-4o-mini');
    // What the API billed for it goes on to the round's cost; the cached repeat bills nothing.
    expect(found.query.billed).toMatchObject({ model: 'gpt-4o-mini', endpoint: 'chat' });
    expect(found.query.billed?.text.input).toBeGreaterThan(0);
    // The embedding passed on to the ranking is the translation's.
    expect(Array.from(found.embedding)).toEqual(Array.from(axis(DIMS, { 0: 1, 3: 0.2 })));

    const again = await inspire({ brief: ZH, k: 3, encoder: enc, translator: t, library: lib });
    expect(again.hits[0].headline).toBe('Run into summer');
    expect(again.query.billed).toBeUndefined();
    expect(fake.requests).toHaveLength(1);

    const msg = inspirationMessage({
      round: 1,
      state: found.state,
      note: found.query.note,
      hits: found.hits.map((h) => ({ ...h, ctr: 0, similarity: h.scores.fused })),
    });
    expect(JSON.stringify(msg.blocks)).toContain(`Searched with: translated from zh: ${EN}`);
  });

  it('without a translator embeds the brief as written and says so (and misses the creative)', async () => {
    const found = await inspire({ brief: ZH, k: 3, encoder: enc, library: lib });
    expect(found.query.note).toBe('English CLIP text tower, untranslated');
    expect(found.hits[0].headline).toBe('Coffee, roasted daily');
    expect(fake.requests).toHaveLength(0);
  });

  it('falls back to the brief as written when the translation fails, with the reason in the note', async () => {
    fake.on('chat', () => errorReply(500, 'upstream is down'));
    const found = await inspire({ brief: ZH, k: 3, encoder: enc, translator: translator(), library: lib });
    expect(found.state).toBe('ok');
    expect(found.query.kind).toBe('untranslated');
    expect(found.query.note).toMatch(/English CLIP text tower, untranslated \(translating the brief .*the API failed \(500\)/);
  });

  it('sends no translation for an English brief', async () => {
    const found = await inspire({ brief: EN, k: 3, encoder: enc, translator: translator(), library: lib });
    expect(found.hits[0].headline).toBe('Run into summer');
    expect(found.query).toMatchObject({ kind: 'english' });
    expect(found.query.note).toBeUndefined();
    expect(fake.requests).toHaveLength(0);
  });
});

describe('detectLanguage', () => {
  it('tells the languages of briefs apart by script and letters', () => {
    expect(detectLanguage('Summer sale on running shoes')).toBe('en');
    expect(detectLanguage(ZH)).toBe('zh');
    expect(detectLanguage('夏のランニングシューズ')).toBe('ja');
    expect(detectLanguage('Laufschuhe für den Sommer')).toBe('de');
    expect(detectLanguage('Rebajas de verano en zapatillas, ¡ya!')).toBe('es');
    expect(detectLanguage('Летняя распродажа')).toBe('ru');
    expect(detectLanguage('Crème brûlée à la française')).toBe('fr');
    // A loanword's accent or a dash does not make an English brief foreign (no translation call).
    expect(detectLanguage('Café latte — summer deals')).toBe('en');
  });
});
