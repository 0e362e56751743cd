/**
 * TikTok image ads: a CSV for Ads Manager set-up (ad name, ad text of 12–100 characters without
 * emoji, "{", "}" or "#", the brand's display name, call to action, the 9:16 and 1.91:1 images as
 * JPEG, since TikTok suggests files under 500 KB).
 */
import { csvCell } from '../library/csv.ts';
import { choose, derivedTexts, withoutEmoji } from './copy.ts';
import type { ExportImages } from './images.ts';
import { checkImage, checkText, fits, TIKTOK, type Violation } from './limits.ts';
import type { ExportCreative, ExportSettings, PlatformAd, PlatformExport, SlotImage } from './types.ts';

export const TIKTOK_FILE = 'tiktok/image-ads.csv';
export const TIKTOK_HEADERS = ['Ad name', 'Ad text', 'Display name', 'Call to action', 'Image 9:16', 'Image 1.91:1', 'Status'];

export function tiktokCta(cta: string): string {
  const t = cta.toLocaleLowerCase();
  if (/shop|购买/u.test(t)) return 'Shop now';
  if (/buy|order|bestellen/u.test(t)) return 'Order now';
  if (/sign up|join|register|注册/u.test(t)) return 'Sign up';
  if (/download|install|下载/u.test(t)) return 'Download';
  if (/book/u.test(t)) return 'Book now';
  if (/contact/u.test(t)) return 'Contact us';
  if (/apply/u.test(t)) return 'Apply now';
  return 'Learn more';
}

export async function tiktokExport(creatives: ExportCreative[], s: ExportSettings, images: ExportImages): Promise<PlatformExport> {
  const rows: Record<string, string>[] = [];
  const ads: PlatformAd[] = [];
  const warnings: string[] = [];
  const display = s.brand ? [s.brand.displayName, s.brand.name].map(withoutEmoji).find((n) => fits(n, TIKTOK.brandName)) : undefined;
  for (const c of creatives) {
    // Emoji and the refused characters are taken out of the copy, never words.
    const clean = { headline: withoutEmoji(c.copy.headline), body: withoutEmoji(c.copy.body), cta: withoutEmoji(c.copy.cta) };
    const derived = derivedTexts(clean, display);
    const text = choose({ approved: clean.body, derived: derived.slice(1).concat(clean.headline), rule: TIKTOK.text, n: 1 });
    const vertical = await images.jpeg(c, 'story');
    const wide = await images.jpeg(c, 'landscape');
    const missing: string[] = [];
    if (!text.length) missing.push('ad text of 12 to 100 characters');
    if (!display) missing.push('a brand name of 2 to 20 characters (a brand kit)');
    if (!vertical && !wide) missing.push('a 9:16 (story) or 1.91:1 (landscape) image');
    for (const img of [vertical, wide])
      if (img && img.bytes.byteLength > TIKTOK.suggestedMaxBytes)
        warnings.push(`${img.path} is ${Math.round(img.bytes.byteLength / 1024)} KB; TikTok suggests at most 500 KB.`);
    if (text[0] && text[0].text !== c.copy.body && clean.body !== c.copy.body)
      warnings.push(`${c.adKey}: emoji or "#", "{", "}" taken out of the ad text.`);
    ads.push({
      adKey: c.adKey,
      label: c.label,
      included: !missing.length,
      why: missing.length ? `left out: needs ${missing.join(', ')}` : undefined,
      texts: { text },
      images: { ...(vertical ? { vertical: vertical.path } : {}), ...(wide ? { landscape: wide.path } : {}) },
    });
    if (missing.length) continue;
    rows.push({
      'Ad name': `${c.adKey} ${c.label}`,
      'Ad text': text[0].text,
      'Display name': display as string,
      'Call to action': tiktokCta(c.copy.cta),
      'Image 9:16': vertical?.path ?? '',
      'Image 1.91:1': wide?.path ?? '',
      Status: 'Disabled',
    });
  }
  const lines = [TIKTOK_HEADERS.map(csvCell).join(','), ...rows.map((r) => TIKTOK_HEADERS.map((h) => csvCell(r[h] ?? '')).join(','))];
  return { platform: 'tiktok', files: rows.length ? [{ path: TIKTOK_FILE, data: `${lines.join('\r\n')}\r\n` }] : [], ads, warnings };
}

export function checkTiktokRows(rows: Record<string, string>[], image: (path: string) => SlotImage | undefined): Violation[] {
  const out: Violation[] = [];
  for (const r of rows) {
    const where = r['Ad name'];
    out.push(...checkText(r['Ad text'] ?? '', TIKTOK.text, where, 'tiktok'));
    out.push(...checkText(r['Display name'] ?? '', TIKTOK.brandName, where, 'tiktok'));
    for (const [col, rule] of [
      ['Image 9:16', TIKTOK.vertical],
      ['Image 1.91:1', TIKTOK.landscape],
    ] as const) {
      if (!r[col]) continue;
      const img = image(r[col]);
      if (!img) out.push({ platform: 'tiktok', where, rule: `${r[col]} is not in the export`, doc: rule.doc });
      else out.push(...checkImage(img, rule, where, 'tiktok'));
    }
  }
  return out;
}
