import { describe, expect, it } from 'vitest';
import { countLength, joinWords, leadingWords, unjoinWords, wordUnits } from '../../src/words.ts';

describe('words', () => {
  it('keeps Chinese words whole where ICU splits them into characters', () => {
    expect(wordUnits('清爽不油腻的防晒霜，面向年轻女性')).toEqual(['清爽不油腻的', '防晒霜，', '面向', '年轻', '女性']);
    expect(wordUnits('限时满300减50，买一送一')).toEqual(['限时满300减50，', '买一送一']);
    expect(wordUnits('Summer sale, 30% off')).toEqual(['Summer ', 'sale, ', '30% ', 'off']);
    for (const t of ['清爽不油腻的防晒霜', 'Lumen 防晒霜：清爽不油腻', 'Pack light, hike far']) expect(wordUnits(t).join('')).toBe(t);
  });

  it('joins the characters of each CJK word so a line breaks only between words', () => {
    const joined = joinWords('清爽不油腻的防晒霜');
    expect(unjoinWords(joined)).toBe('清爽不油腻的防晒霜');
    // Break opportunities only where a word ends: after 的.
    expect(joined.split('\u2060').length).toBe(9 - 1);
    expect(joined).toContain('的防');
    expect(joinWords('Plain English')).toBe('Plain English');
  });

  it('counts as platforms do and cuts at whole words', () => {
    expect(countLength('防晒霜 SPF50', 'double-width')).toBe(12);
    expect(countLength('防晒霜 SPF50')).toBe(9);
    expect(leadingWords('Summer sale on running shoes', 27)).toBe('Summer sale on running');
    expect(leadingWords('清爽不油腻的防晒霜', 8)).toBe('清爽不油腻的');
    expect(leadingWords('清爽不油腻的防晒霜', 5)).toBe('');
  });
});
