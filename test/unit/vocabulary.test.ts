import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { parseCommand } from '../../src/rounds/brief.ts';
import {
  BRIEF_MAX_CHARS_RANGE,
  CHANNELS,
  charCount,
  DEFAULT_LIMITS,
  FORMAT_SPECS,
  FORMATS,
  IMAGE_EXTENSIONS,
  IMAGE_TYPES,
  IMAGE_TYPES_TEXT,
  limitsFor,
  parseLimitOverrides,
  splitFormats,
  VARIANTS_RANGE,
} from '../../src/vocabulary.ts';

describe('channels and copy limits', () => {
  it('has the documented limits for exactly the Slack --channel values', () => {
    expect([...CHANNELS]).toEqual(['meta', 'google', 'linkedin', 'tiktok']);
    expect(Object.keys(DEFAULT_LIMITS)).toEqual([...CHANNELS]);
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
    expect(() => parseLimitOverrides('meta.title=3')).toThrow(/fields: headline, body, cta\); got "meta.title=3"/);
    expect(() => parseLimitOverrides('meta.headline=0')).toThrow(/COPY_LIMITS/);
  });
});

describe('formats', () => {
  it('are the design’s four, with their sizes and the story’s text-free zones', () => {
    expect([...FORMATS]).toEqual(['square', 'portrait', 'story', 'landscape']);
    expect(FORMAT_SPECS.square).toMatchObject({ width: 1080, height: 1080 });
    expect(FORMAT_SPECS.portrait).toMatchObject({ width: 1080, height: 1350 });
    expect(FORMAT_SPECS.story).toEqual({ width: 1080, height: 1920, safeTop: 250, safeBottom: 340 });
    expect(FORMAT_SPECS.landscape).toMatchObject({ width: 1200, height: 628 });
  });

  it('read from a list as people type it, naming what is not a format', () => {
    expect(splitFormats('Square, story square')).toEqual({ formats: ['square', 'story'], unknown: [] });
    expect(splitFormats('square,banner')).toEqual({ formats: ['square'], unknown: ['banner'] });
    // "constructor" is a property of every object: it must not pass for a format.
    expect(splitFormats('constructor')).toEqual({ formats: [], unknown: ['constructor'] });
    expect(splitFormats(' , ')).toEqual({ formats: [], unknown: [] });
  });

  it('DEFAULT_FORMATS is checked with the same list', () => {
    expect(loadConfig({ DEFAULT_FORMATS: 'story, Landscape' }).defaultFormats).toEqual(['story', 'landscape']);
    expect(() => loadConfig({ DEFAULT_FORMATS: 'square,banner' })).toThrow(
      /DEFAULT_FORMATS must be a comma-separated list of square, portrait, story, landscape; got "square,banner"/,
    );
  });
});

describe('images from Slack', () => {
  it('accepts the four types Slack previews and names them for messages', () => {
    expect([...IMAGE_TYPES]).toEqual(['image/png', 'image/jpeg', 'image/webp', 'image/gif']);
    expect(IMAGE_TYPES.has('image/svg+xml')).toBe(false);
    expect(IMAGE_TYPES_TEXT).toBe('PNG, JPEG, WebP or GIF');
    // Slack's file picker filters by extension: a JPEG may be named .jpg or .jpeg.
    expect(IMAGE_EXTENSIONS).toEqual(['png', 'jpg', 'jpeg', 'webp', 'gif']);
  });
});

describe('brief and variant bounds', () => {
  it('counts characters as a person does: an emoji is one', () => {
    expect(charCount('café ☕')).toBe(6);
    expect(charCount('👩‍⚕️')).toBe(4); // a ZWJ sequence is several code points, as channel limits count them
    expect(charCount('')).toBe(0);
  });

  it('BRIEF_MAX_CHARS is refused at start-up above the longest brief generation takes', () => {
    expect(loadConfig({ BRIEF_MAX_CHARS: String(BRIEF_MAX_CHARS_RANGE.max) }).briefMaxChars).toBe(BRIEF_MAX_CHARS_RANGE.max);
    expect(() => loadConfig({ BRIEF_MAX_CHARS: '3000' })).toThrow(/BRIEF_MAX_CHARS must be an integer between 20 and 2000; got "3000"/);
  });

  it('a brief is measured the same way at the edge as in generation', () => {
    const d = { variants: 1, maxVariants: 1, formats: ['square' as const], channel: 'meta' as const, maxChars: 10, brands: [] };
    // Ten emoji are ten characters (twenty UTF-16 units): within a limit of ten.
    expect(parseCommand('☕'.repeat(10), d)).toMatchObject({ kind: 'brief' });
    expect(() => parseCommand('☕'.repeat(11), d)).toThrow(/11 characters; the limit is 10/);
  });

  it('MAX_VARIANTS and DEFAULT_VARIANTS stay within what a round can make', () => {
    expect(loadConfig({ MAX_VARIANTS: String(VARIANTS_RANGE.max) }).maxVariants).toBe(VARIANTS_RANGE.max);
    expect(() => loadConfig({ MAX_VARIANTS: String(VARIANTS_RANGE.max + 1) })).toThrow(/MAX_VARIANTS must be an integer between 1 and 10/);
    expect(() => loadConfig({ DEFAULT_VARIANTS: '0' })).toThrow(/DEFAULT_VARIANTS must be an integer between 1 and 10/);
  });
});
