import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.ts';
import { filtersToSql } from '../../../src/library/filters.ts';

describe('search filters as SQL', () => {
  it('is undefined without filters', () => {
    expect(filtersToSql(undefined)).toBeUndefined();
    expect(filtersToSql({})).toBeUndefined();
  });

  it('joins every filter and lower-cases names', () => {
    expect(
      filtersToSql({ brand: 'Acme', channel: 'META', format: 'story', since: new Date('2025-01-02T03:04:05.678Z'), minImpressions: 100.7 }),
    ).toBe(
      "brand = 'acme' AND channel = 'meta' AND format = 'story' AND created_at >= timestamp '2025-01-02 03:04:05.678' AND impressions >= 100",
    );
  });

  it('escapes quotes so user text never becomes SQL', () => {
    expect(filtersToSql({ brand: "o'brien' OR 1=1 --" })).toBe("brand = 'o''brien'' or 1=1 --'");
  });

  it('refuses invalid dates and negative impressions', () => {
    expect(() => filtersToSql({ since: new Date('nope') })).toThrow(InputError);
    expect(() => filtersToSql({ minImpressions: -1 })).toThrow(/≥ 0/);
  });
});
