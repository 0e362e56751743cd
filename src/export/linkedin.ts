/**
 * LinkedIn single image ads: a CSV for Campaign Manager set-up (introductory text, headline,
 * destination, call to action, the 1.91:1 and 1:1 image files), one row per creative, named by
 * its ad key so the results report finds it again.
 */
import { csvCell } from '../library/csv.ts';
import { choose, derivedTexts } from './copy.ts';
import type { ExportImages } from './images.ts';
import { checkImage, checkText, LINKEDIN, type Violation } from './limits.ts';
import type { ExportCreative, ExportSettings, PlatformAd, PlatformExport, SlotImage } from './types.ts';

export const LINKEDIN_FILE = 'linkedin/single-image-ads.csv';
export const LINKEDIN_HEADERS = [
  'Ad name',
  'Introductory text',
  'Headline',
  'Destination URL',
  'Call to action',
  'Image 1.91:1',
  'Image 1:1',
  'Status',
];

/** LinkedIn's call-to-action buttons (Campaign Manager's list) for a CTA's words. */
export function linkedinCta(cta: string): string {
  const t = cta.toLocaleLowerCase();
  if (/sign up|signup|anmelden|注册/u.test(t)) return 'Sign Up';
  if (/register|registrieren/u.test(t)) return 'Register';
  if (/subscribe|abonnieren|订阅/u.test(t)) return 'Subscribe';
  if (/download|herunterladen|下载/u.test(t)) return 'Download';
  if (/apply|bewerben|申请/u.test(t)) return 'Apply';
  if (/demo/u.test(t)) return 'Request Demo';
  if (/join/u.test(t)) return 'Join';
  if (/quote/u.test(t)) return 'View Quote';
  return 'Learn More';
}

export async function linkedinExport(creatives: ExportCreative[], s: ExportSettings, images: ExportImages): Promise<PlatformExport> {
  const rows: Record<string, string>[] = [];
  const ads: PlatformAd[] = [];
  const warnings = s.finalUrl ? [] : ['No final URL is set: fill in the destination URL in Campaign Manager.'];
  for (const c of creatives) {
    const derived = derivedTexts(c.copy, s.brand?.displayName);
    const intro = choose({ approved: c.copy.body, derived: derived.slice(1), rule: LINKEDIN.intro, n: 1 });
    const headline = choose({ approved: c.copy.headline, derived, rule: LINKEDIN.headline, n: 1, taken: intro.map((x) => x.text) });
    const wide = await images.format(c, 'landscape');
    const square = await images.format(c, 'square');
    const missing: string[] = [];
    if (!intro.length) missing.push('introductory text of at most 150 characters');
    if (!headline.length) missing.push('a headline of at most 70 characters');
    if (!wide && !square) missing.push('a 1.91:1 (landscape) or 1:1 (square) image');
    ads.push({
      adKey: c.adKey,
      label: c.label,
      included: !missing.length,
      why: missing.length ? `left out: needs ${missing.join(', ')}` : undefined,
      texts: { intro, headline },
      images: { ...(wide ? { landscape: wide.path } : {}), ...(square ? { square: square.path } : {}) },
    });
    if (missing.length) continue;
    rows.push({
      'Ad name': `${c.adKey} ${c.label}`,
      'Introductory text': intro[0].text,
      Headline: headline[0].text,
      'Destination URL': s.finalUrl ?? '',
      'Call to action': linkedinCta(c.copy.cta),
      'Image 1.91:1': wide?.path ?? '',
      'Image 1:1': square?.path ?? '',
      Status: 'Draft',
    });
  }
  const lines = [LINKEDIN_HEADERS.map(csvCell).join(','), ...rows.map((r) => LINKEDIN_HEADERS.map((h) => csvCell(r[h] ?? '')).join(','))];
  return { platform: 'linkedin', files: rows.length ? [{ path: LINKEDIN_FILE, data: `${lines.join('\r\n')}\r\n` }] : [], ads, warnings };
}

export function checkLinkedinRows(rows: Record<string, string>[], image: (path: string) => SlotImage | undefined): Violation[] {
  const out: Violation[] = [];
  for (const r of rows) {
    const where = r['Ad name'];
    out.push(...checkText(r['Introductory text'] ?? '', LINKEDIN.intro, where, 'linkedin'));
    out.push(...checkText(r.Headline ?? '', LINKEDIN.headline, where, 'linkedin'));
    for (const [col, rule] of [
      ['Image 1.91:1', LINKEDIN.landscape],
      ['Image 1:1', LINKEDIN.square],
    ] as const) {
      if (!r[col]) continue;
      const img = image(r[col]);
      if (!img) out.push({ platform: 'linkedin', where, rule: `${r[col]} is not in the export`, doc: rule.doc });
      else out.push(...checkImage(img, rule, where, 'linkedin'));
    }
    if (!r['Image 1.91:1'] && !r['Image 1:1']) out.push({ platform: 'linkedin', where, rule: 'no image', doc: LINKEDIN.square.doc });
  }
  return out;
}
