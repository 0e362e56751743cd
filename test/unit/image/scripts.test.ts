import { describe, expect, it } from 'vitest';
import { checkLocaleFonts, scriptOfLanguage } from '../../../src/image/scripts.ts';
import { createGlyphChecker } from '../../../src/image/text.ts';

describe('the font check per locale', () => {
  it('names the locale, its script and the Debian package when no font draws it', () => {
    const latinOnly = createGlyphChecker((cp) => cp < 0x0590);
    expect(() => checkLocaleFonts([{ tag: 'de', lang: 'de' }], latinOnly)).not.toThrow();
    expect(() => checkLocaleFonts([{ tag: 'zh-CN', lang: 'zh' }], latinOnly)).toThrow(
      /no installed font can draw zh-CN \(Chinese \(Han\) script\); install Debian's fonts-noto-cjk/,
    );
    expect(() => checkLocaleFonts([{ tag: 'ar', lang: 'ar' }], latinOnly)).toThrow(
      /ar \(Arabic script\); install Debian's fonts-noto-core/,
    );
    expect(() => checkLocaleFonts([{ tag: 'he', lang: 'he' }], latinOnly)).toThrow(/he \(Hebrew script\)/);
  });
  it('passes when fontconfig finds a font for every script', () => {
    expect(() =>
      checkLocaleFonts(
        [
          { tag: 'ja', lang: 'ja' },
          { tag: 'ko', lang: 'ko' },
        ],
        createGlyphChecker(() => '/f.ttf'),
      ),
    ).not.toThrow();
    expect(scriptOfLanguage('fr')).toEqual({ script: 'Latin', pkg: 'fonts-dejavu-core' });
  });
});
