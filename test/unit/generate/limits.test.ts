import { describe, expect, it } from 'vitest';
import { trimToLimit } from '../../../src/generate/limits.ts';
import { DEFAULT_LIMITS, limitsFor } from '../../../src/vocabulary.ts';
import { countLength as length } from '../../../src/words.ts';

describe('fitting copy into a limit', () => {
  it('trims at a word boundary with an ellipsis, within the limit', () => {
    const t = trimToLimit('Carry less and go further every weekend', 27);
    expect(t).toBe('Carry less and go further…');
    expect(Array.from(t).length).toBeLessThanOrEqual(27);
    expect(trimToLimit('short', 27)).toBe('short');
    // No spaces (CJK): cut between words, never inside one.
    expect(trimToLimit('清爽不油腻的防晒霜，夏日必备', 10)).toBe('清爽不油腻的…');
    expect(trimToLimit('清爽不油腻的防晒霜，夏日必备', 12)).toBe('清爽不油腻的防晒霜…');
  });

  it('counts East Asian wide characters twice where the platform does (Google, TikTok), once elsewhere', () => {
    expect(DEFAULT_LIMITS.google.count).toBe('double-width');
    expect(DEFAULT_LIMITS.tiktok.count).toBe('double-width');
    expect(DEFAULT_LIMITS.meta.count).toBe('chars');
    expect(length('清爽不油腻', 'double-width')).toBe(10);
    expect(length('清爽不油腻')).toBe(5);
    expect(length('Lumen 防晒霜', 'double-width')).toBe(12);
    // 30 on Google is 15 Chinese characters.
    expect(trimToLimit('清爽不油腻的防晒霜，夏日出门必备之选', 30, 'double-width')).toBe('清爽不油腻的防晒霜，夏日出门…');
    expect(limitsFor('google').count).toBe('double-width');
  });
});
