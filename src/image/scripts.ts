/**
 * Which writing system each language is drawn in, and the font check made before a round in
 * several locales spends anything: a locale whose script no installed font covers is named,
 * with the Debian package to install, instead of being drawn as boxes after the copy is paid.
 */
import { AdError, ImageError } from '../errors.ts';
import { checkGlyphs } from './text.ts';

interface ScriptSample {
  script: string;
  /** A few everyday letters of the script: what every ad in it will need. */
  sample: string;
  /** The Debian package whose fonts cover it. */
  pkg: string;
}

const HAN: ScriptSample = { script: 'Chinese (Han)', sample: '中文广告', pkg: 'fonts-noto-cjk' };

/** Languages written outside the Latin, Greek and Cyrillic letters the kits' DejaVu already covers. */
const SCRIPTS: Record<string, ScriptSample> = {
  zh: HAN,
  ja: { script: 'Japanese (kana and kanji)', sample: 'ひらがなカタカナ漢字', pkg: 'fonts-noto-cjk' },
  ko: { script: 'Korean (Hangul)', sample: '한국어', pkg: 'fonts-noto-cjk' },
  ar: { script: 'Arabic', sample: 'العربية', pkg: 'fonts-noto-core' },
  fa: { script: 'Arabic (Persian)', sample: 'فارسی', pkg: 'fonts-noto-core' },
  ur: { script: 'Arabic (Urdu)', sample: 'اردو', pkg: 'fonts-noto-core' },
  he: { script: 'Hebrew', sample: 'עברית', pkg: 'fonts-noto-core' },
  yi: { script: 'Hebrew (Yiddish)', sample: 'ייִדיש', pkg: 'fonts-noto-core' },
  th: { script: 'Thai', sample: 'ภาษาไทย', pkg: 'fonts-noto-core' },
  hi: { script: 'Devanagari', sample: 'हिन्दी', pkg: 'fonts-noto-core' },
  el: { script: 'Greek', sample: 'Ελληνικά', pkg: 'fonts-dejavu-core' },
  ru: { script: 'Cyrillic', sample: 'Русский', pkg: 'fonts-dejavu-core' },
  uk: { script: 'Cyrillic', sample: 'Українська', pkg: 'fonts-dejavu-core' },
};

/** True when the text's first letter is in a right-to-left script (Arabic, Hebrew, Syriac, Thaana, N'Ko). */
export function startsRtl(text: string): boolean {
  const first = /\p{L}/u.exec(text)?.[0];
  return !!first && /[\p{Script=Arabic}\p{Script=Hebrew}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}]/u.test(first);
}

/**
 * Checks that every language's script has an installed font; throws `FONT_MISSING` naming the
 * locale, its script and the Debian package. `check` is the glyph checker (fontconfig by default).
 */
export function checkLocaleFonts(locales: { tag: string; lang: string }[], check: (text: string) => unknown = checkGlyphs): void {
  for (const l of locales) {
    const s = SCRIPTS[l.lang];
    if (!s) continue;
    try {
      check(s.sample);
    } catch (e) {
      if (!(e instanceof AdError) || e.code !== 'FONT_MISSING') throw e;
      throw new ImageError('FONT_MISSING', `no installed font can draw ${l.tag} (${s.script} script); install Debian's ${s.pkg}`, {
        hint: `apt-get install -y ${s.pkg}`,
        cause: e,
      });
    }
  }
}
