/**
 * Brand kits: `brands/<name>.json` (colours, fonts, logo, tone, tone words, must-say, never-say,
 * default channel, minimum brand score). A kit is validated when loaded; every problem names the file and the field.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { InputError, UsageError } from '../errors.ts';
import type { ComposeStyle } from '../image/compose.ts';
import { parseHex } from '../image/contrast.ts';
import { installedFontFamilies } from '../image/text.ts';
import { CHANNELS, type ChannelName } from '../vocabulary.ts';

export interface BrandKit {
  name: string;
  displayName: string;
  description: string;
  colors: { primary: string; accent: string; text: string };
  fonts: { headline: string; body: string };
  /** Absolute path of the logo file. */
  logoPath: string;
  logo: Uint8Array;
  /** Send the logo to the image model with the prompt, so the visual may show it (GPT image models). */
  logoInVisual: boolean;
  tone: string;
  /** Words the copy's tone must respect ("warm", "unhurried"); the OpenAI copywriter checks its own copy against them (brand score). */
  toneWords: string[];
  mustSay: string[];
  neverSay: string[];
  defaultChannel: ChannelName;
  defaultCta: string;
  /** Brand score (0..1) under which a variant is made again once, then shown with a warning (generate/brand-score.ts). */
  minBrandScore?: number;
  /** The kit file it came from. */
  file: string;
}

/** The neutral kit used when no brand is named. */
export const DEFAULT_BRAND: BrandKit = {
  name: 'default',
  displayName: '',
  description: '',
  colors: { primary: '#222222', accent: '#3A86FF', text: '#FFFFFF' },
  fonts: { headline: 'DejaVu Sans', body: 'DejaVu Sans' },
  logoPath: '',
  logo: new Uint8Array(),
  logoInVisual: false,
  tone: 'Clear, friendly and specific.',
  toneWords: [],
  mustSay: [],
  neverSay: [],
  defaultChannel: 'meta',
  defaultCta: 'Learn more',
  file: '(built in)',
};

const NAME_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function brandsDir(dir: string): string {
  return isAbsolute(dir) ? dir : resolve(dir);
}

/** Names of the kits in the directory (file names without `.json`), sorted. */
export function listBrands(dir: string): string[] {
  const d = brandsDir(dir);
  if (!existsSync(d)) return [];
  return readdirSync(d)
    .filter((f) => f.endsWith('.json'))
    .map((f) => basename(f, '.json'))
    .filter((n) => NAME_RE.test(n))
    .sort();
}

export interface LoadBrandOptions {
  /** Font families that may be named (lower-case); defaults to what fontconfig lists. */
  fonts?: Set<string>;
}

let fontCache: Set<string> | undefined;

/** Loads and validates `dir/<name>.json`; an unknown name is a usage error listing the kits. */
export function loadBrand(dir: string, name: string, opts: LoadBrandOptions = {}): BrandKit {
  const d = brandsDir(dir);
  const known = listBrands(d);
  if (!NAME_RE.test(name) || !known.includes(name)) {
    throw new UsageError(`unknown brand ${JSON.stringify(name)}; expected one of: ${known.join(', ') || `(no kits in ${d})`}`);
  }
  return parseBrandFile(join(d, `${name}.json`), opts);
}

export function parseBrandFile(file: string, opts: LoadBrandOptions = {}): BrandKit {
  const where = (field: string) => `${file}: ${field}`;
  const fail = (field: string, msg: string): never => {
    throw new InputError('BRAND_INVALID', `${where(field)} ${msg}`);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError('BRAND_INVALID', `${file}: not valid JSON (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('(top level)', 'must be a JSON object');
  const o = raw as Record<string, unknown>;
  const text = (field: string, required: boolean, fallback = ''): string => {
    const v = o[field];
    if (v === undefined && !required) return fallback;
    if (typeof v !== 'string' || v.trim() === '') return fail(field, 'must be a non-empty string');
    return v.trim();
  };
  const words = (field: string): string[] => {
    const v = o[field];
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((w) => typeof w !== 'string' || w.trim() === ''))
      return fail(field, 'must be a list of non-empty strings');
    return (v as string[]).map((w) => w.trim());
  };
  const obj = (field: string): Record<string, unknown> => {
    const v = o[field];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail(field, 'must be an object');
    return v as Record<string, unknown>;
  };

  const name = text('name', true);
  const expected = basename(file, '.json');
  if (name !== expected) fail('name', `is ${JSON.stringify(name)} but the file is ${expected}.json; they must match`);

  const c = obj('colors');
  const colors = { primary: '', accent: '', text: '' };
  for (const k of ['primary', 'accent', 'text'] as const) {
    const v = c[k];
    if (typeof v !== 'string' || !parseHex(v) || !/^#[0-9a-f]{6}$/i.test(v.trim())) {
      fail(`colors.${k}`, `must be a #rrggbb colour; got ${JSON.stringify(v)}`);
    }
    colors[k] = (v as string).trim().toUpperCase();
  }

  const f = obj('fonts');
  if (!fontCache && !opts.fonts) fontCache = installedFontFamilies();
  let installed = opts.fonts ?? fontCache ?? new Set<string>();
  const fonts = { headline: '', body: '' };
  for (const k of ['headline', 'body'] as const) {
    const v = f[k];
    if (typeof v !== 'string' || v.trim() === '') fail(`fonts.${k}`, 'must be a font family name');
    const fam = (v as string).trim();
    if (!opts.fonts && installed.size > 0 && !installed.has(fam.toLowerCase())) {
      // Installed since the list was read? Ask fontconfig again before refusing the kit.
      fontCache = installedFontFamilies();
      installed = fontCache;
    }
    if (installed.size > 0 && !installed.has(fam.toLowerCase())) {
      fail(
        `fonts.${k}`,
        `names font ${JSON.stringify(fam)}, which is not installed (fc-list does not list it); installed families include: ${[...installed].slice(0, 8).join(', ')}`,
      );
    }
    fonts[k] = fam;
  }

  const logoRel = text('logo', true);
  const logoPath = isAbsolute(logoRel) ? logoRel : join(dirname(file), logoRel);
  if (!existsSync(logoPath)) fail('logo', `names ${JSON.stringify(logoRel)}, but ${logoPath} does not exist`);
  if (!/\.(svg|png|jpe?g|webp)$/i.test(logoPath)) fail('logo', `must be an .svg, .png, .jpg or .webp file; got ${JSON.stringify(logoRel)}`);
  const logo = new Uint8Array(readFileSync(logoPath));

  const logoInVisual = o.logoInVisual ?? false;
  if (typeof logoInVisual !== 'boolean') fail('logoInVisual', `must be true or false; got ${JSON.stringify(logoInVisual)}`);

  const channel = text('defaultChannel', false, 'meta');
  if (!(CHANNELS as readonly string[]).includes(channel))
    fail('defaultChannel', `must be one of ${CHANNELS.join(', ')}; got ${JSON.stringify(channel)}`);

  const minBrandScore = o.minBrandScore;
  if (
    minBrandScore !== undefined &&
    (typeof minBrandScore !== 'number' || !Number.isFinite(minBrandScore) || minBrandScore < 0 || minBrandScore > 1)
  )
    fail(
      'minBrandScore',
      `must be a number from 0 to 1 (the share of brand rules a variant must pass); got ${JSON.stringify(minBrandScore)}`,
    );

  return {
    name,
    displayName: text('displayName', false, name),
    description: text('description', false),
    colors,
    fonts,
    logoPath,
    logo,
    logoInVisual: logoInVisual as boolean,
    tone: text('tone', false, DEFAULT_BRAND.tone),
    toneWords: words('toneWords'),
    mustSay: words('mustSay'),
    neverSay: words('neverSay'),
    defaultChannel: channel as ChannelName,
    defaultCta: text('defaultCta', false, DEFAULT_BRAND.defaultCta),
    ...(minBrandScore !== undefined ? { minBrandScore: minBrandScore as number } : {}),
    file,
  };
}

export function composeStyle(kit: BrandKit): ComposeStyle {
  return { colors: kit.colors, fonts: kit.fonts, logo: kit.logo.length ? kit.logo : undefined };
}
