/**
 * `library export DIR`: every creative's image file plus `creatives.csv` with its metadata and
 * metrics, so the library can leave LanceDB (or be re-ingested elsewhere: the CSV is a manifest).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { imageFormat } from '../image/thumbnail.ts';
import { csvCell } from './csv.ts';
import type { Creative, Library, SearchFilters } from './types.ts';

const COLUMNS = [
  'file',
  'id',
  'sha256',
  'source',
  'brand',
  'channel',
  'format',
  'headline',
  'body',
  'cta',
  'caption',
  'tags',
  'impressions',
  'clicks',
  'conversions',
  'date',
  'demo',
] as const;

async function extensionOf(c: Creative): Promise<string> {
  const f = await imageFormat(c.image);
  return f === 'jpeg' ? 'jpg' : f === 'heif' ? 'avif' : (f ?? 'bin');
}

export async function exportLibrary(
  library: Library,
  dir: string,
  opts: { filters?: SearchFilters; onProgress?: (n: number) => void } = {},
): Promise<{ rows: number; csv: string }> {
  await mkdir(join(dir, 'images'), { recursive: true });
  const lines = [COLUMNS.join(',')];
  let n = 0;
  for await (const c of library.scan({ filters: opts.filters, images: true })) {
    const file = `images/${c.id}.${await extensionOf(c)}`;
    await writeFile(join(dir, file), c.image);
    const row: Record<(typeof COLUMNS)[number], string | number | boolean> = {
      file,
      id: c.id,
      sha256: c.sha256,
      source: c.source,
      brand: c.brand,
      channel: c.channel,
      format: c.format,
      headline: c.headline,
      body: c.body,
      cta: c.cta,
      caption: c.caption,
      tags: c.tags.join('|'),
      impressions: c.impressions,
      clicks: c.clicks,
      conversions: c.conversions,
      date: c.createdAt.toISOString(),
      demo: c.demo,
    };
    lines.push(COLUMNS.map((k) => csvCell(row[k])).join(','));
    n++;
    opts.onProgress?.(n);
  }
  const csv = join(dir, 'creatives.csv');
  await writeFile(csv, `${lines.join('\n')}\n`);
  return { rows: n, csv };
}
