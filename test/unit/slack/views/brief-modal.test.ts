import { describe, expect, it } from 'vitest';
import type { BriefDefaults } from '../../../../src/rounds/brief.ts';
import { BRIEF_BLOCKS } from '../../../../src/slack/blocks/views.ts';
import { briefFromForm } from '../../../../src/slack/views/brief-modal.ts';

const d: BriefDefaults = { variants: 4, maxVariants: 10, formats: ['square'], channel: 'meta', maxChars: 500, brands: [] };

function form(p: { audiences?: string; variants?: number }) {
  const values: Record<string, Record<string, unknown>> = {
    [BRIEF_BLOCKS.product]: { value: { type: 'plain_text_input', value: 'Cold brew concentrate' } },
    [BRIEF_BLOCKS.formats]: { value: { type: 'checkboxes', selected_options: [{ value: 'square' }] } },
    [BRIEF_BLOCKS.variants]: { value: { type: 'static_select', selected_option: { value: String(p.variants ?? 2) } } },
  };
  if (p.audiences !== undefined) values[BRIEF_BLOCKS.audiences] = { value: { type: 'plain_text_input', value: p.audiences } };
  return briefFromForm(values as never, d);
}

describe('the brief form with audience segments', () => {
  it('passes the segments on, de-duplicated, with the number of variants per segment', () => {
    expect(form({ audiences: 'students; parents ; STUDENTS', variants: 3 })).toMatchObject({
      errors: {},
      options: { variants: 3, audiences: ['students', 'parents'] },
    });
    expect(form({}).options?.audiences).toBeUndefined();
  });

  it('says in the field what is wrong, in at most 150 characters', () => {
    const empty = form({ audiences: 'students;;parents' });
    expect(empty.options).toBeUndefined();
    expect(empty.errors[BRIEF_BLOCKS.audiences]).toMatch(/^Audience segments: audience 2 of "students;;parents" is empty/);
    const over = form({ audiences: 'a; b; c', variants: 4 });
    expect(over.errors[BRIEF_BLOCKS.audiences]).toBe('Variants are per segment: 4 × 3 = 12, over the 10 a round may have. Pick fewer.');
    for (const e of [empty, over]) expect(e.errors[BRIEF_BLOCKS.audiences].length).toBeLessThanOrEqual(150);
  });
});
