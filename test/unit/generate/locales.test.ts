import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.ts';
import { fitLocaleCopy, limitLine } from '../../../src/generate/locale-copy.ts';
import { briefLanguage, MAX_LOCALES, parseLocales, sourceLimits } from '../../../src/generate/locales.ts';
import { limitsFor } from '../../../src/vocabulary.ts';
import { countLength } from '../../../src/words.ts';

describe('locale tags', () => {
  it('reads language[-Region] tags in any case, with _ or -, each once', () => {
    expect(parseLocales('de, FR,zh_cn pt-br de').map((l) => l.tag)).toEqual(['de', 'fr', 'zh-CN', 'pt-BR']);
    expect(parseLocales('zh-Hant-TW')[0]).toEqual({ tag: 'zh-Hant-TW', lang: 'zh' });
  });

  it('names the bad tag and what is expected', () => {
    expect(() => parseLocales('de,german')).toThrow(/"german" is not a locale tag; expected a language code with an optional region/);
    expect(() => parseLocales('xx')).toThrow(/"xx" is not a language this bot knows/);
    expect(() => parseLocales(' , ')).toThrow(/--locales needs at least one locale tag/);
    const err = (() => {
      try {
        parseLocales('en-');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).code).toBe('BAD_LOCALE');
  });

  it(`caps the number of locales at ${MAX_LOCALES}`, () => {
    expect(() => parseLocales('de,fr,es,it,pt,nl,sv')).toThrow(/at most 6 locales; got 7/);
    expect(parseLocales('de,fr,es,it,pt,nl')).toHaveLength(6);
  });
});

describe("the brief's language", () => {
  it('reads the script, then common words', () => {
    expect(briefLanguage('清爽防晒霜，适合夏天户外跑步')).toBe('zh');
    expect(briefLanguage('كريم واقي من الشمس للعدائين')).toBe('ar');
    expect(briefLanguage('קרם הגנה לרצים בקיץ')).toBe('he');
    expect(briefLanguage('Summer sale on running shoes for the weekend')).toBe('en');
    expect(briefLanguage('Leichte Laufschuhe für den Sommer und die Stadt')).toBe('de');
  });
});

describe('limits that account for expansion', () => {
  const meta = limitsFor('meta');
  it('writes English short enough that German (~35% longer) still fits', () => {
    const l = sourceLimits(meta, 'en', parseLocales('de,fr'));
    expect(l.headline.max).toBe(Math.floor(27 / 1.35));
    expect(l.body.max).toBe(Math.floor(125 / 1.35));
    expect(l.count).toBe('chars');
  });
  it('leaves the limits alone when every target is shorter, and never asks for less than 40%', () => {
    expect(sourceLimits(meta, 'de', parseLocales('en,zh-CN'))).toEqual(meta);
    // Chinese → German runs 2.7× longer: 27/2.7 = 10, but at least 40 % (11).
    expect(sourceLimits(meta, 'zh', parseLocales('de')).headline.max).toBe(11);
  });
  it('tells the copywriter the hard limit and how long a straight translation would run', () => {
    const line = limitLine(parseLocales('de')[0], 'en', { headline: 'Light packs for long days', body: 'Short.', cta: 'Shop now' }, meta);
    expect(line).toMatch(/de \(German\): headline ≤ 27 \(a straight translation would run ~34: rewrite shorter, do not cut\)/);
    expect(line).toMatch(/primary_text ≤ 125, cta ≤ 20$/);
  });
});

describe('fitting a translation to the limits', () => {
  it('shortens an overlong field at a word and records it', () => {
    const c = fitLocaleCopy(
      {
        locale: 'de',
        status: 'translated',
        headline: 'Wasserdichte Wanderrucksäcke für lange Tage',
        body: 'Kurz.',
        cta: 'Kaufen',
        flags: [],
      },
      limitsFor('meta'),
      'meta',
    );
    expect(c.headline).toBe('Wasserdichte…');
    expect(c.flags).toEqual(['German headline was 43 characters; shortened at a word to fit the meta limit of 27']);
  });
  it("never ends a cut on a word that leads into what was cut, in the locale's language", () => {
    const shortened = (locale: string, headline: string) =>
      fitLocaleCopy({ locale, status: 'translated', headline, body: '', cta: 'x', flags: [] }, limitsFor('meta'), 'meta').headline;
    expect(shortened('de', 'Leichter Sonnenschutz für entspannte Sommerläufe')).toBe('Leichter Sonnenschutz…');
    expect(shortened('fr-FR', 'Crème solaire pour les coureurs du dimanche')).toBe('Crème solaire…');
    expect(shortened('es', 'Protector solar para los corredores')).toBe('Protector solar…');
    // English keeps its own list, as before.
    expect(shortened('en', 'Sunscreen that runs for the long haul')).toBe('Sunscreen that runs…');
  });

  it('cuts Chinese between words as Google counts it (wide characters count 2), never inside a grapheme', () => {
    const g = limitsFor('google');
    const c = fitLocaleCopy(
      { locale: 'zh-CN', status: 'translated', headline: '清爽不油腻的防晒霜，夏天跑步也不怕晒黑', body: '', cta: '购买', flags: [] },
      g,
      'google',
    );
    expect(countLength(c.headline, 'double-width')).toBeLessThanOrEqual(30);
    expect(c.headline.endsWith('…')).toBe(true);
    expect(c.headline).not.toContain('清爽不…');
    expect(c.flags[0]).toMatch(/Chinese \(China\) headline was 38 characters/);
  });
});
