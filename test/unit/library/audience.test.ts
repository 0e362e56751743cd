import { describe, expect, it } from 'vitest';
import { audienceOf, audienceTag } from '../../../src/library/audience.ts';
import { filtersToSql } from '../../../src/library/filters.ts';

describe('audience tags and the audience filter', () => {
  it('one spelling per segment, read back from the tags', () => {
    expect(audienceTag('  Parents   of Toddlers ')).toBe('audience:parents of toddlers');
    expect(audienceOf(['winner', 'audience:students'])).toBe('students');
    expect(audienceOf(['winner'])).toBeUndefined();
  });

  it('filters on the tag, escaped, beside the other filters', () => {
    expect(filtersToSql({ brand: 'Acme', audience: "Kids' parents" })).toBe(
      "brand = 'acme' AND array_has(tags, 'audience:kids'' parents')",
    );
  });

  it('refuses an empty audience with what is expected', () => {
    expect(() => filtersToSql({ audience: '  ' })).toThrow(/audience must name a segment, e\.g\. "students"/);
  });
});
