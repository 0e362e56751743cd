import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { CHANNELS, DEFAULT_LIMITS, limitsFor, parseLimitOverrides, trimToLimit } from '../../../src/generate/limits.ts';

describe('channel copy limits', () => {
  it('has the documented limits for exactly the Slack --channel values', () => {
    expect([...CHANNELS]).toEqual(['meta', 'google', 'linkedin', 'tiktok']);
    expect(DEFAULT_LIMITS.meta.headline.max).toBe(27);
    expect(DEFAULT_LIMITS.meta.body.max).toBe(125);
    expect(DEFAULT_LIMITS.google.headline.max).toBe(30);
    expect(DEFAULT_LIMITS.google.body.max).toBe(90);
    expect(DEFAULT_LIMITS.linkedin.headline.max).toBe(70);
    expect(DEFAULT_LIMITS.linkedin.body.max).toBe(150);
    expect(DEFAULT_LIMITS.tiktok.body.max).toBe(100);
  });

  it('COPY_LIMITS overrides single entries and rejects nonsense naming the variable', () => {
    const cfg = loadConfig({ COPY_LIMITS: 'meta.headline=40, google.body=80' });
    expect(limitsFor('meta', cfg.copyLimits).headline.max).toBe(40);
    expect(limitsFor('meta', cfg.copyLimits).body.max).toBe(125);
    expect(limitsFor('google', cfg.copyLimits).body.max).toBe(80);
    expect(() => loadConfig({ COPY_LIMITS: 'myspace.headline=10' })).toThrow(
      /COPY_LIMITS .*channels: meta, google, linkedin, tiktok.*"myspace.headline=10"/,
    );
    expect(() => parseLimitOverrides('meta.title=3')).toThrow(/fields: headline, body, cta/);
  });

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
