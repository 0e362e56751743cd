import { describe, expect, it } from 'vitest';
import { type BriefDefaults, parseCommand } from '../../../../src/rounds/brief.ts';
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
    // A number the person picked (not the one the form offered) that does not fit is refused.
    const over = form({ audiences: 'a; b; c', variants: 5 });
    expect(over.options).toBeUndefined();
    expect(over.errors[BRIEF_BLOCKS.audiences]).toBe(
      'Number of variants is per audience: 5 for each of 3 audiences makes 15, over the 10 a round may have. Use 3 or fewer, or name fewer audiences.',
    );
    for (const e of [empty, over]) expect(e.errors[BRIEF_BLOCKS.audiences].length).toBeLessThanOrEqual(150);
  });

  it('takes what the slash command takes: the number the form offered is lowered to fit the segments', () => {
    // The form offers d.variants (4); 3 segments × 4 is over 10, so each segment gets 3, as with
    // `/adcreative Cold brew concentrate --audiences "a; b; c"`.
    const offered = form({ audiences: 'a; b; c', variants: 4 });
    expect(offered.errors).toEqual({});
    expect(offered.options).toMatchObject({ variants: 3, audiences: ['a', 'b', 'c'] });
    expect(parseCommand('Cold brew concentrate --audiences "a; b; c"', d)).toMatchObject({
      options: { variants: 3, audiences: ['a', 'b', 'c'] },
    });
  });
});
