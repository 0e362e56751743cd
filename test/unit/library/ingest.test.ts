import { describe, expect, it } from 'vitest';
import { parseMeta } from '../../../src/library/ingest.ts';

describe('manifest and sidecar fields', () => {
  it('parses every column', () => {
    expect(
      parseMeta({
        headline: ' Hi ',
        body: 'B',
        cta: 'Go',
        brand: 'ACME',
        channel: 'Meta',
        format: 'story',
        tags: 'a|b; c',
        impressions: '1_000',
        clicks: '10',
        conversions: '',
        date: '2025-05-31',
      }),
    ).toEqual({
      headline: 'Hi',
      body: 'B',
      cta: 'Go',
      brand: 'acme',
      channel: 'meta',
      format: 'story',
      tags: ['a', 'b', 'c'],
      impressions: 1000,
      clicks: 10,
      createdAt: new Date('2025-05-31T00:00:00Z'),
    });
  });

  it('names the field, what was expected and what was given', () => {
    expect(() => parseMeta({ format: 'banner' })).toThrow('format must be one of square, portrait, story, landscape; got "banner"');
    expect(() => parseMeta({ impressions: '-5' })).toThrow('impressions must be a whole number ≥ 0; got "-5"');
    expect(() => parseMeta({ date: '31/05/2025' })).toThrow(/date must be an ISO date/);
    expect(() => parseMeta({ impressions: 5, clicks: 6 })).toThrow('clicks (6) cannot exceed impressions (5)');
  });

  it('takes tags as a JSON array in sidecars', () => {
    expect(parseMeta({ tags: ['x', ' y '] })).toEqual({ tags: ['x', 'y'] });
  });
});
