import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listBrands, loadBrand } from '../../../src/generate/brands.ts';

const DEMO = {
  acme: ['#1F6F50', '#F2C14E', '#FFFFFF'],
  northwind: ['#4B2E2B', '#C08552', '#FFF8F0'],
  lumen: ['#F7E1D7', '#B56576', '#2D2D2D'],
  voltride: ['#0B132B', '#3A86FF', '#FFBE0B'],
  fernleaf: ['#2D6A4F', '#95D5B2', '#FFFFFF'],
};

const fonts = new Set(['dejavu sans', 'dejavu serif', 'dejavu sans condensed']);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function copyKits(): string {
  const d = mkdtempSync(join(tmpdir(), 'brands-'));
  dirs.push(d);
  cpSync('brands', d, { recursive: true });
  return d;
}

function edit(dir: string, name: string, f: (o: Record<string, unknown>) => void): void {
  const file = join(dir, `${name}.json`);
  const o = JSON.parse(readFileSync(file, 'utf8'));
  f(o);
  writeFileSync(file, JSON.stringify(o));
}

describe('brand kits', () => {
  it('ships the demo brands with their palettes, a logo, tone and rules', () => {
    expect(listBrands('brands')).toEqual(Object.keys(DEMO).sort());
    for (const [name, [primary, accent, text]] of Object.entries(DEMO)) {
      const k = loadBrand('brands', name, { fonts });
      expect(k.colors).toEqual({ primary, accent, text });
      expect(k.logo.length).toBeGreaterThan(100);
      expect(k.tone.length).toBeGreaterThan(10);
      expect(k.mustSay.length).toBeGreaterThan(0);
      expect(k.neverSay.length).toBeGreaterThan(0);
      expect(['meta', 'google', 'linkedin', 'tiktok']).toContain(k.defaultChannel);
    }
  });

  it('an unknown brand is a usage error listing the kits', () => {
    expect(() => loadBrand('brands', 'globex', { fonts })).toThrow(
      /unknown brand "globex"; expected one of: acme, fernleaf, lumen, northwind, voltride/,
    );
  });

  it('takes tone words and a minimum brand score, and refuses a minimum outside 0..1 naming the file and field', () => {
    const d = copyKits();
    edit(d, 'acme', (o) => {
      o.toneWords = [' warm ', 'unhurried'];
      o.minBrandScore = 0.75;
    });
    expect(loadBrand(d, 'acme', { fonts })).toMatchObject({ toneWords: ['warm', 'unhurried'], minBrandScore: 0.75 });
    expect(loadBrand('brands', 'acme', { fonts })).toMatchObject({ toneWords: [] });
    expect(loadBrand('brands', 'acme', { fonts }).minBrandScore).toBeUndefined();
    for (const bad of [1.5, -0.1, '80%']) {
      edit(d, 'acme', (o) => {
        o.minBrandScore = bad;
      });
      expect(() => loadBrand(d, 'acme', { fonts })).toThrow(
        `${join(d, 'acme.json')}: minBrandScore must be a number from 0 to 1 (the share of brand rules a variant must pass); got ${JSON.stringify(bad)}`,
      );
    }
    edit(d, 'acme', (o) => {
      o.minBrandScore = undefined;
      o.toneWords = ['warm', 3];
    });
    expect(() => loadBrand(d, 'acme', { fonts })).toThrow(`${join(d, 'acme.json')}: toneWords must be a list of non-empty strings`);
  });

  it('a bad colour names the file and field', () => {
    const d = copyKits();
    edit(d, 'acme', (o) => {
      (o.colors as Record<string, string>).accent = 'yellow';
    });
    expect(() => loadBrand(d, 'acme', { fonts })).toThrow(
      new RegExp(`${join(d, 'acme.json')}: colors.accent must be a #rrggbb colour; got "yellow"`),
    );
  });

  it('logoInVisual is off unless the kit asks, and must be true or false', () => {
    expect(loadBrand('brands', 'acme', { fonts }).logoInVisual).toBe(false);
    const d = copyKits();
    edit(d, 'acme', (o) => {
      o.logoInVisual = true;
    });
    expect(loadBrand(d, 'acme', { fonts }).logoInVisual).toBe(true);
    edit(d, 'acme', (o) => {
      o.logoInVisual = 'yes';
    });
    expect(() => loadBrand(d, 'acme', { fonts })).toThrow(
      new RegExp(`${join(d, 'acme.json')}: logoInVisual must be true or false; got "yes"`),
    );
  });

  it('a missing logo file names the file, field and path', () => {
    const d = copyKits();
    rmSync(join(d, 'logos', 'lumen.svg'));
    expect(() => loadBrand(d, 'lumen', { fonts })).toThrow(/lumen\.json: logo names "logos\/lumen.svg", but .*lumen.svg does not exist/);
  });

  it('an unknown font names the file and field', () => {
    const d = copyKits();
    edit(d, 'voltride', (o) => {
      (o.fonts as Record<string, string>).headline = 'Comic Sans MS';
    });
    expect(() => loadBrand(d, 'voltride', { fonts })).toThrow(
      /voltride\.json: fonts\.headline names font "Comic Sans MS", which is not installed/,
    );
  });

  it('kits use fonts this machine has (fontconfig)', () => {
    for (const name of Object.keys(DEMO)) expect(() => loadBrand('brands', name)).not.toThrow();
  });

  it('a malformed file and an unknown default channel are reported with the file', () => {
    const d = copyKits();
    writeFileSync(join(d, 'northwind.json'), '{ "name": "northwind", ');
    expect(() => loadBrand(d, 'northwind', { fonts })).toThrow(/northwind\.json: not valid JSON/);
    edit(d, 'fernleaf', (o) => {
      o.defaultChannel = 'myspace';
    });
    expect(() => loadBrand(d, 'fernleaf', { fonts })).toThrow(
      /fernleaf\.json: defaultChannel must be one of meta, google, linkedin, tiktok/,
    );
  });
});
