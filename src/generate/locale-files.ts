/**
 * A variant's locales as `adcreative generate` writes them: each translated locale's formats as
 * <label>-<locale>-<format>.png beside variants.json, and its copy, status and flags in it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FormatName } from '../vocabulary.ts';
import type { GeneratedVariant } from './types.ts';

export interface LocaleEntry {
  locale: string;
  status: 'source' | 'translated' | 'not-translated';
  headline: string;
  body: string;
  cta: string;
  flags: string[];
  /** Format → file name in the output folder. */
  files: Record<string, string>;
}

/** Writes the locales' images and returns their entries for variants.json (none without --locales). */
export function writeLocaleFiles(v: GeneratedVariant, formats: FormatName[], out: string): { locales?: LocaleEntry[] } {
  if (!v.locales) return {};
  return {
    locales: v.locales.map((l) => {
      const files: Record<string, string> = {};
      for (const f of formats) {
        const bytes = l.images?.[f];
        if (!bytes) continue;
        const name = `${v.label}-${l.locale}-${f}.png`;
        writeFileSync(join(out, name), bytes);
        files[f] = name;
      }
      return { locale: l.locale, status: l.status, headline: l.headline, body: l.body, cta: l.cta, flags: l.flags, files };
    }),
  };
}

/** One line per variant for the terminal: "de: Leichter Sonnenschutz…  ·  fr: not translated". */
export function localeSummary(v: GeneratedVariant): string | undefined {
  if (!v.locales?.length) return undefined;
  return `     ${v.locales.map((l) => `${l.locale}: ${l.status === 'not-translated' ? 'not translated' : l.headline}`).join('  ·  ')}`;
}
