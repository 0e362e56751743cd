/**
 * An ad export: the chosen platforms' files, every image once under images/, a manifest.json
 * (ad keys, content hashes, each file's sha256, every text with where it came from) and a
 * README.md in words. Before anything is handed out, the files are read back as a platform would
 * read them — CSV cells parsed, JSON parsed, images measured from their bytes — and checked
 * against every published limit (limits.ts); one violation and the export is refused.
 */
import { createHash } from 'node:crypto';
import { InputError } from '../errors.ts';
import { readCsvRows } from '../library/csv.ts';
import type { Platform } from '../vocabulary.ts';
import { checkGoogleRows, GOOGLE_FILES, googleAdsExport } from './google-ads.ts';
import { ExportImages } from './images.ts';
import type { Violation } from './limits.ts';
import { checkLinkedinRows, LINKEDIN_FILE, linkedinExport } from './linkedin.ts';
import { checkMetaEntries, META_FILES, type MetaAdEntry, metaExport } from './meta.ts';
import { checkTiktokRows, TIKTOK_FILE, tiktokExport } from './tiktok.ts';
import type { ExportCreative, ExportFile, ExportImageTools, ExportSettings, PlatformExport, SlotImage } from './types.ts';

/** The stable id of exported content: the same copy and pixels always get the same key. */
export function adKey(contentHash: string): string {
  return `adc-${contentHash.slice(0, 12)}`;
}

/** Ad keys as they appear in ad names, ad group names, file names and URLs. */
export const AD_KEY_PATTERN = /adc-[0-9a-f]{12}/;

export class ExportError extends InputError {}

/** What the read-back checked: ads (rows or entries) per platform file, and images. */
export interface Checked {
  ads: Record<string, number>;
  images: number;
}

export interface ExportResult {
  files: ExportFile[];
  platforms: PlatformExport[];
  /** What was read back and checked (with no violation). */
  checked: Checked;
}

const WRITERS: Record<Platform, typeof googleAdsExport> = {
  'google-ads': googleAdsExport,
  meta: metaExport,
  linkedin: linkedinExport,
  tiktok: tiktokExport,
};

const sha256 = (d: Uint8Array | string) => createHash('sha256').update(d).digest('hex');

export async function buildExport(
  creatives: ExportCreative[],
  platforms: Platform[],
  s: ExportSettings,
  tools: ExportImageTools,
): Promise<ExportResult> {
  if (!creatives.length) throw new ExportError('EXPORT_EMPTY', 'nothing to export: no creatives were given');
  const images = new ExportImages(tools);
  const done: PlatformExport[] = [];
  for (const p of platforms) done.push(await WRITERS[p](creatives, s, images));
  const written = await images.all();
  const files: ExportFile[] = [...done.flatMap((d) => d.files), ...written.map((i) => ({ path: i.path, data: i.bytes }))];
  const { violations, checked } = await verifyExport(files, tools);
  if (violations.length) {
    throw new ExportError(
      'EXPORT_LIMITS',
      `the export breaks ${violations.length} platform limit${violations.length === 1 ? '' : 's'} and was not written: ${violations
        .slice(0, 5)
        .map((v) => `${v.platform} ${v.where}: ${v.rule} (${v.doc})`)
        .join('; ')}`,
    );
  }
  const manifest = {
    generator: 'adcreative export',
    exportedAt: s.at.toISOString(),
    by: s.by,
    campaign: s.campaign,
    brand: s.brand?.name ?? null,
    finalUrl: s.finalUrl ?? null,
    checked: { ...checked, violations: 0 },
    ads: creatives.map((c) => ({
      adKey: c.adKey,
      label: c.label,
      role: c.role,
      contentHash: c.hash,
      roundId: c.roundId ?? null,
      variantId: c.variantId ?? null,
      ...(c.locale ? { locale: c.locale } : {}),
      approvedCopy: c.copy,
    })),
    platforms: done.map((d) => ({ platform: d.platform, ads: d.ads, warnings: d.warnings, files: d.files.map((f) => f.path) })),
    files: files.map((f) => ({
      path: f.path,
      sha256: sha256(f.data),
      bytes: typeof f.data === 'string' ? Buffer.byteLength(f.data) : f.data.byteLength,
    })),
    notes: s.notes ?? [],
  };
  files.push(
    { path: 'manifest.json', data: `${JSON.stringify(manifest, null, 2)}\n` },
    { path: 'README.md', data: readme(creatives, done, s, checked) },
  );
  return { files, platforms: done, checked };
}

/** Reads an export's files back as the platforms would and checks every limit. */
export async function verifyExport(
  files: ExportFile[],
  tools: Pick<ExportImageTools, 'info'>,
): Promise<{ violations: Violation[]; checked: Checked }> {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const measured = new Map<string, SlotImage>();
  for (const f of files) {
    if (!f.path.startsWith('images/') || typeof f.data === 'string') continue;
    const info = await tools.info(f.data);
    measured.set(f.path, { path: f.path, bytes: f.data, ...info, safe: safeZones(f.path) });
  }
  const image = (p: string) => measured.get(p);
  const text = (p: string) => {
    const f = byPath.get(p);
    return f ? (typeof f.data === 'string' ? f.data : Buffer.from(f.data).toString('utf8')) : undefined;
  };
  const table = (p: string): Record<string, string>[] => {
    const raw = text(p);
    if (raw === undefined) return [];
    const [head, ...rows] = readCsvRows(p, raw);
    return rows.map((r) => Object.fromEntries(head.cells.map((h, i) => [h, r.cells[i] ?? ''])));
  };
  const rda = table(GOOGLE_FILES.rda);
  const pmax = table(GOOGLE_FILES.pmax);
  const metaRaw = text(META_FILES.creatives);
  const meta = metaRaw ? (JSON.parse(metaRaw) as MetaAdEntry[]) : [];
  const li = table(LINKEDIN_FILE);
  const tt = table(TIKTOK_FILE);
  const violations = [
    ...checkGoogleRows('rda', rda, image),
    ...checkGoogleRows('pmax', pmax, image),
    ...checkMetaEntries(meta, image),
    ...checkLinkedinRows(li, image),
    ...checkTiktokRows(tt, image),
  ];
  const ads: Record<string, number> = {};
  for (const [file, n] of [
    [GOOGLE_FILES.rda, rda.length],
    [GOOGLE_FILES.pmax, pmax.length],
    [META_FILES.creatives, meta.length],
    [LINKEDIN_FILE, li.length],
    [TIKTOK_FILE, tt.length],
  ] as const)
    if (byPath.has(file)) ads[file] = n;
  return { violations, checked: { ads, images: measured.size } };
}

/** The story format keeps its text out of the top and bottom rows (vocabulary FORMAT_SPECS); read from the file name. */
function safeZones(path: string): { top: number; bottom: number } | undefined {
  return /-story-/.test(path) ? { top: 250, bottom: 340 } : undefined;
}

function readme(creatives: ExportCreative[], done: PlatformExport[], s: ExportSettings, checked: Checked): string {
  const rows = Object.values(checked.ads).reduce((a, b) => a + b, 0);
  const lines = [
    `# Ad export — ${s.campaign}`,
    '',
    `Exported ${s.at.toISOString()} by ${s.by}. Every text and image was read back and checked against the platforms' published limits: ${rows} ads and ${checked.images} images, 0 violations.`,
    'Ads are created paused. Each ad is named by its ad key (adc-…), the first 12 characters of the hash of its copy and images, so `adcreative results import` can match the platforms’ reports back to it.',
    '',
    '## Ads',
    '',
    ...creatives.map(
      (c) =>
        `- **${c.adKey}** — variant ${c.label}${c.role === 'winner' ? ' (winner)' : c.role === 'sibling' ? ' (sibling of the winner)' : ''}${c.locale ? ` in ${c.locale}` : ''}: “${c.copy.headline}” · content ${c.hash}`,
    ),
    '',
  ];
  for (const d of done) {
    lines.push(`## ${d.platform}`, '');
    for (const f of d.files) lines.push(`- ${f.path}`);
    for (const a of d.ads) if (!a.included) lines.push(`- ${a.adKey} ${a.label}: ${a.why}`);
    const derived = d.ads.flatMap((a) =>
      Object.entries(a.texts).flatMap(([field, cs]) =>
        cs.filter((c) => c.source !== 'approved').map((c) => `${a.adKey} ${field}: “${c.text}” (${c.source})`),
      ),
    );
    if (derived.length)
      lines.push('', 'Texts beyond the approved copy (the platform asks for more, or shorter, text):', ...derived.map((x) => `- ${x}`));
    for (const w of d.warnings) lines.push(`- Note: ${w}`);
    lines.push('');
  }
  if (done.some((d) => d.platform === 'google-ads'))
    lines.push(
      'Google Ads Editor: Account → Import → From file, pick the CSV files. Add the images in images/ to the image library first; the image columns name them.',
      '',
    );
  for (const n of s.notes ?? []) lines.push(`Note: ${n}`);
  return `${lines.join('\n')}\n`;
}
