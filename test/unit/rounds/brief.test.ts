import { describe, expect, it } from 'vitest';
import { type BriefDefaults, parseCommand } from '../../../src/rounds/brief.ts';

const d: BriefDefaults = {
  variants: 4,
  maxVariants: 6,
  formats: ['square'],
  channel: 'meta',
  maxChars: 200,
  brands: ['acme', 'northwind', 'lumen'],
};

describe('parseCommand', () => {
  it('treats help, stats and nothing as commands, anything else as a brief', () => {
    expect(parseCommand('', d)).toEqual({ kind: 'modal' });
    expect(parseCommand('  HELP ', d)).toEqual({ kind: 'help' });
    expect(parseCommand('stats', d)).toEqual({ kind: 'stats' });
    expect(parseCommand('stats for the new launch', d)).toMatchObject({ kind: 'brief', brief: 'stats for the new launch' });
  });

  it('reads inline options anywhere, with defaults for the rest', () => {
    const p = parseCommand(
      'Cold brew for nurses --variants 3 --formats square,story --brand ACME --channel tiktok --anonymous --hide-tally',
      d,
    );
    expect(p).toEqual({
      kind: 'brief',
      brief: 'Cold brew for nurses',
      options: { variants: 3, formats: ['square', 'story'], brand: 'acme', channel: 'tiktok', anonymous: true, hideTally: true },
    });
    const q = parseCommand('--variants=2 oat   milk\nlatte', d);
    expect(q).toEqual({
      kind: 'brief',
      brief: 'oat milk latte',
      options: { variants: 2, formats: ['square'], brand: undefined, channel: 'meta', anonymous: false, hideTally: false },
    });
    expect(parseCommand('latte —variants 2', d)).toMatchObject({ options: { variants: 2 } });
  });

  it('reads --locales as tags, and names a bad one with what is expected', () => {
    expect(parseCommand('Cold brew --locales de,FR,zh_cn', d)).toMatchObject({ options: { locales: ['de', 'fr', 'zh-CN'] } });
    expect(parseCommand('Cold brew', d)).not.toHaveProperty('options.locales');
    expect(() => parseCommand('Cold brew --locales de,german', d)).toThrow(
      /"german" is not a locale tag; expected a language code with an optional region, such as de, fr, en-GB or zh-CN/,
    );
    expect(() => parseCommand('Cold brew --locales de,fr,es,it,pt,nl,sv', d)).toThrow(/at most 6 locales; got 7/);
    // A space after a comma ends the value: "fr" would have gone into the brief, unseen.
    expect(() => parseCommand('Cold brew --locales de, fr', d)).toThrow(
      /--locales ends with a comma .*such as de,fr,zh-CN, or put it in quotes/,
    );
    expect(() => parseCommand('Cold brew --locales', d)).toThrow(/--locales needs a value/);
  });

  it('explains every mistake a person can make', () => {
    const err = (t: string) => {
      try {
        parseCommand(t, d);
      } catch (e) {
        return e as { code: string; message: string };
      }
      throw new Error('no error');
    };
    expect(err('--variants 2')).toMatchObject({ code: 'BRIEF_EMPTY' });
    expect(err('x'.repeat(201))).toMatchObject({ code: 'BRIEF_TOO_LONG', message: expect.stringContaining('limit is 200') });
    expect(err('ad --brand zzz')).toMatchObject({ code: 'UNKNOWN_BRAND', message: expect.stringContaining('acme, northwind, lumen') });
    expect(err('ad --variants 9')).toMatchObject({ code: 'BAD_VARIANTS', message: expect.stringContaining('1 to 6') });
    expect(err('ad --formats square,banner')).toMatchObject({ code: 'BAD_FORMATS', message: expect.stringContaining('"banner"') });
    expect(err('ad --channel myspace')).toMatchObject({
      code: 'BAD_CHANNEL',
      message: expect.stringContaining('meta, google, linkedin, tiktok'),
    });
    expect(err('ad --colour red')).toMatchObject({ code: 'UNKNOWN_OPTION', message: expect.stringContaining('--variants') });
    expect(err('ad --brand')).toMatchObject({ code: 'MISSING_VALUE' });
  });
});
