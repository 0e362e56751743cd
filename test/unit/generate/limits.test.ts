import { describe, expect, it } from 'vitest';
import { trimToLimit } from '../../../src/generate/limits.ts';

describe('fitting copy into a limit', () => {
  it('trims at a word boundary with an ellipsis, within the limit', () => {
    const t = trimToLimit('Carry less and go further every weekend', 27);
    expect(t).toBe('Carry less and go further…');
    expect(Array.from(t).length).toBeLessThanOrEqual(27);
    expect(trimToLimit('short', 27)).toBe('short');
    // No spaces (CJK): cut at a character.
    const cjk = trimToLimit('週末のハイキングに最適な軽量バックパックを今すぐチェックしてください', 10);
    expect(Array.from(cjk)).toHaveLength(10);
    expect(cjk.endsWith('…')).toBe(true);
  });
});
