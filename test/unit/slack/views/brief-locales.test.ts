import { describe, expect, it } from 'vitest';
import type { BriefDefaults } from '../../../../src/rounds/brief.ts';
import { checkView } from '../../../../src/slack/blocks/kit.ts';
import { BRIEF_BLOCKS, briefModal } from '../../../../src/slack/blocks/views.ts';
import { briefFromForm } from '../../../../src/slack/views/brief-modal.ts';

const d: BriefDefaults = { variants: 3, maxVariants: 6, formats: ['square'], channel: 'meta', maxChars: 500, brands: ['acme'] };

type Values = Parameters<typeof briefFromForm>[0];
function values(locales?: string): Values {
  const v: Record<string, Record<string, unknown>> = {
    [BRIEF_BLOCKS.product]: { value: { type: 'plain_text_input', value: '清爽防晒霜' } },
    [BRIEF_BLOCKS.formats]: { value: { type: 'checkboxes', selected_options: [{ value: 'square' }] } },
  };
  if (locales !== undefined) v[BRIEF_BLOCKS.locales] = { value: { type: 'plain_text_input', value: locales } };
  return v as unknown as Values;
}

describe('the brief form: Locales', () => {
  it('has an optional Locales field within Block Kit limits', () => {
    const m = briefModal({
      channelId: 'C1',
      brands: ['acme'],
      defaults: { channel: 'meta', formats: ['square'], variants: 3 },
      maxVariants: 6,
      maxChars: 500,
    });
    expect(checkView(m)).toEqual([]);
    const field = m.blocks.find((b) => b.block_id === BRIEF_BLOCKS.locales) as unknown as { optional: boolean; label: { text: string } };
    expect(field).toMatchObject({ optional: true, label: { text: 'Locales' } });
  });

  it('reads the locales into the round options, or none when left empty', () => {
    expect(briefFromForm(values('en, DE'), d).options?.locales).toEqual(['en', 'de']);
    expect(briefFromForm(values(''), d).options).not.toHaveProperty('locales');
    expect(briefFromForm(values(), d).options).not.toHaveProperty('locales');
  });

  it('keeps the form open with the bad tag named under the field', () => {
    const f = briefFromForm(values('de, deutsch'), d);
    expect(f.options).toBeUndefined();
    expect(f.errors[BRIEF_BLOCKS.locales]).toMatch(/"deutsch" is not a locale tag; expected a language code/);
    expect(f.errors[BRIEF_BLOCKS.locales].length).toBeLessThanOrEqual(150);
  });
});
