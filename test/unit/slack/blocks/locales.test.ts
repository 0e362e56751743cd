import { describe, expect, it } from 'vitest';
import type { VariantLocale } from '../../../../src/rounds/types.ts';
import { checkMessage } from '../../../../src/slack/blocks/kit.ts';
import { parentMessage, variantMessage } from '../../../../src/slack/blocks/round.ts';

const locales: VariantLocale[] = [
  { locale: 'zh-CN', status: 'source', headline: '清爽不油腻', body: '跑步出汗也不油腻。', cta: '立即购买', flags: [] },
  {
    locale: 'de',
    status: 'translated',
    headline: 'Leichter Sonnenschutz für…',
    body: 'Frisch, nie fettig.',
    cta: 'Jetzt kaufen',
    flags: ['German headline was 54 characters; shortened at a word to fit the meta limit of 27'],
  },
  { locale: 'ar', status: 'translated', headline: 'واقي شمس خفيف <b>', body: 'منعش', cta: 'اشترِ الآن', flags: [] },
  { locale: 'fr', status: 'not-translated', headline: '', body: '', cta: '', flags: ['French: not translated (no text model: offline)'] },
];

const variant = (ls?: VariantLocale[]) => ({
  id: 'v-A',
  label: 'A',
  headline: '清爽不油腻',
  body: '跑步出汗也不油腻。',
  cta: '立即购买',
  concept: 'runner',
  reason: '',
  scores: { relevance: 0.3, novelty: 0.2, diversity: 0.1, preference: null, total: 0.4 },
  offline: false,
  flags: [],
  ...(ls ? { locales: ls } : {}),
});

describe("a variant's locales in the thread", () => {
  it('shows every locale side by side under one Vote button, within Block Kit limits', () => {
    const m = variantMessage({ round: 1, variant: variant(locales), fileId: 'F1', voteReaction: '+1' });
    expect(checkMessage(m)).toEqual([]);
    const sec = m.blocks.find((b) => b.block_id === 'locales-A') as unknown as { fields: { text: string }[] };
    expect(sec.fields.map((f) => f.text.split('\n')[0])).toEqual([
      '*Chinese (China)* (zh-CN) · as written',
      '*German* (de)',
      '*Arabic* (ar)',
      '*French* (fr)',
    ]);
    expect(sec.fields[1].text).toContain('*Leichter Sonnenschutz für…*');
    expect(sec.fields[2].text).toContain('&lt;b&gt;');
    expect(sec.fields[3].text).toContain('_not translated_');
    const all = JSON.stringify(m.blocks);
    expect(all).toContain('1 of 4 locales not translated');
    expect(all).toContain('shortened at a word to fit the meta limit of 27');
    // Why French is missing, as the pipeline said it, not a generic guess.
    expect(all).toContain('French: not translated (no text model: offline)');
    // Votes are per variant: one Vote button, whatever the number of locales.
    expect(all.match(/"Vote A"/g)).toHaveLength(1);
  });

  it('shows the translations the round marked outdated (made before an edit) as such, whatever the flags say', () => {
    // As rounds/locales.ts leaves it after an edit: the source carries the edit, the translations are outdated.
    const after = locales.map((l) =>
      l.status === 'source' ? { ...l, headline: '更清爽' } : l.status === 'translated' ? { ...l, outdated: true as const } : l,
    );
    const m = variantMessage({ round: 1, variant: { ...variant(after), headline: '更清爽' }, fileId: 'F1', voteReaction: '+1' });
    const sec = m.blocks.find((b) => b.block_id === 'locales-A') as unknown as { fields: { text: string }[] };
    expect(sec.fields[0].text).toContain('*更清爽*');
    expect(sec.fields[1].text.split('\n')[0]).toBe('*German* (de) · _outdated_');
    expect(sec.fields[3].text).not.toContain('outdated');
    expect(JSON.stringify(m.blocks)).toContain('the translations are of the copy before it was edited');
    // A flag's wording decides nothing here: only the round's field does.
    const flagged = { ...variant(locales), flags: ['copy edited by <@U0BOB>'] };
    expect(JSON.stringify(variantMessage({ round: 1, variant: flagged, fileId: 'F1', voteReaction: '+1' }).blocks)).not.toContain(
      'before it was edited',
    );
  });

  it('adds nothing to a round without locales', () => {
    const m = variantMessage({ round: 1, variant: variant(), fileId: 'F1', voteReaction: '+1' });
    expect(JSON.stringify(m.blocks)).not.toContain('locales-A');
  });

  it('keeps a long translation within the field limit', () => {
    const long = { ...locales[1], body: 'Wort '.repeat(900) };
    const m = variantMessage({ round: 1, variant: variant([long]), fileId: null, voteReaction: '+1' });
    expect(checkMessage(m)).toEqual([]);
  });

  it("names the locales in the parent's options line", () => {
    const p = parentMessage({
      brief: 'x',
      author: 'U1',
      round: 1,
      status: 'writing',
      options: { variants: 2, formats: ['square'], channel: 'meta', anonymous: false, hideTally: false, locales: ['en', 'de'] },
    });
    expect(JSON.stringify(p.blocks)).toContain('locales en, de');
  });
});
