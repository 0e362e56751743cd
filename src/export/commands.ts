/**
 * `adcreative export --variants variants.json --platform google-ads|meta|linkedin|tiktok --out DIR`
 * writes ad platform files for the variants `adcreative generate` wrote (optionally publishing the
 * Meta ones as paused ads), and `adcreative results import FILE` reads a platform's report back.
 * Exports are recorded in the round store, so results can be matched back to them.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { type Command, type CommandIO, stringArg } from '../cli/command.ts';
import { type Config, config, libraryUri } from '../config.ts';
import { describeError, InputError, UsageError } from '../errors.ts';
import { extraCopyWriter } from '../generate/extra-copy.ts';
import { briefLanguage } from '../generate/locales.ts';
import { contentHash } from '../rounds/approvals.ts';
import { openState } from '../rounds/state.ts';
import type { ExportRecord } from '../rounds/types.ts';
import {
  FORMATS,
  type FormatName,
  isFormat,
  isPlatform,
  isReportPlatform,
  PLATFORMS,
  type Platform,
  REPORT_PLATFORMS,
} from '../vocabulary.ts';
import { exportBrand } from './brand.ts';
import { adKey, buildExport, type ExportResult } from './build.ts';
import { type ExtraCopyWriter, extraCopyFor } from './copy.ts';
import { importResults } from './import-results.ts';
import { localeAdKey, localeLabel } from './locale-ads.ts';
import type { MetaAdEntry } from './meta.ts';
import { MetaApi, type Published } from './meta-api.ts';
import { exportImageTools } from './tools.ts';
import type { ExportCreative, ExportImageTools } from './types.ts';

export interface ExportCommandDeps {
  config: () => Config;
  extraCopy?: (cfg: Config) => ExtraCopyWriter | undefined;
  tools?: ExportImageTools;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** Who exports, for the record (default: the OS user). */
  by?: () => string;
}

/** A comma-separated list of platforms, or "all"; each name checked. */
export function parsePlatforms(raw: string): Platform[] {
  const words = raw
    .split(/[,\s]+/)
    .map((w) => w.trim().toLowerCase())
    .filter(Boolean);
  if (words.includes('all')) return [...PLATFORMS];
  const bad = words.filter((w) => !isPlatform(w));
  if (!words.length || bad.length)
    throw new UsageError(`--platform takes ${PLATFORMS.join(', ')} or all (comma-separated); got ${JSON.stringify(bad[0] ?? raw)}`);
  return [...new Set(words)] as Platform[];
}

interface VariantsFile {
  brief?: unknown;
  brand?: unknown;
  variants?: unknown;
}

/** A variants.json `files` map (format → file beside it) read into images. */
async function readImages(files: unknown, where: string, dir: string): Promise<Partial<Record<FormatName, Uint8Array>>> {
  if (!files || typeof files !== 'object')
    throw new InputError('VARIANTS_INVALID', `${where} must map formats (${FORMATS.join(', ')}) to image files`);
  const images: Partial<Record<FormatName, Uint8Array>> = {};
  for (const [f, name] of Object.entries(files as Record<string, unknown>)) {
    if (!isFormat(f)) throw new InputError('VARIANTS_INVALID', `${where}: "${f}" is not a format (${FORMATS.join(', ')})`);
    if (typeof name !== 'string') throw new InputError('VARIANTS_INVALID', `${where}.${f} must be a file name`);
    try {
      images[f] = new Uint8Array(await readFile(resolve(dir, name)));
    } catch (e) {
      throw new InputError('FILE_UNREADABLE', `${where}.${f}: ${name} is unreadable (${describeError(e)})`);
    }
  }
  return images;
}

/** The creatives of a variants.json (as `adcreative generate` writes it), images read from beside it. */
export async function readVariantsFile(
  path: string,
  labels?: string[],
): Promise<{ brief: string; brand?: string; creatives: ExportCreative[]; skipped: string[] }> {
  let data: VariantsFile;
  try {
    data = JSON.parse(await readFile(path, 'utf8')) as VariantsFile;
  } catch (e) {
    throw new InputError('VARIANTS_INVALID', `${path}: not a readable variants.json (${describeError(e)})`);
  }
  if (!Array.isArray(data.variants) || !data.variants.length)
    throw new InputError(
      'VARIANTS_INVALID',
      `${path}: expected {"variants": [{label, headline, body, cta, files: {square: "A-square.png", …}}, …]}`,
    );
  const dir = dirname(path);
  const out: ExportCreative[] = [];
  const skipped: string[] = [];
  for (const [i, raw] of (data.variants as Record<string, unknown>[]).entries()) {
    const where = `${path}: variants[${i}]`;
    const str = (k: string) => {
      const v = raw[k];
      if (typeof v !== 'string' || !v.trim()) throw new InputError('VARIANTS_INVALID', `${where}.${k} must be a non-empty string`);
      return v;
    };
    const label = str('label');
    if (labels && !labels.includes(label)) continue;
    const copy = { headline: str('headline'), body: str('body'), cta: str('cta') };
    const images = await readImages(raw.files, `${where}.files`, dir);
    const hash = contentHash(copy, images);
    const brief = typeof data.brief === 'string' ? data.brief : '';
    const locales = raw.locales === undefined ? [] : raw.locales;
    if (!Array.isArray(locales))
      throw new InputError('VARIANTS_INVALID', `${where}.locales must be a list of {locale, status, headline, body, cta, files}`);
    const source = (locales as Record<string, unknown>[]).find((l) => l.status === 'source')?.locale;
    out.push({
      adKey: adKey(hash),
      label,
      role: 'variant',
      hash,
      copy,
      brief,
      images,
      ...(locales.length ? { locale: typeof source === 'string' ? source : briefLanguage(brief) } : {}),
    });
    // Each translated locale is an ad of its own (its images as generate drew them); the others are said, not exported.
    for (const [j, l] of (locales as Record<string, unknown>[]).entries()) {
      const lw = `${where}.locales[${j}]`;
      const tag = typeof l.locale === 'string' ? l.locale : '';
      if (!tag) throw new InputError('VARIANTS_INVALID', `${lw}.locale must be a locale tag such as "de"`);
      if (l.status === 'source') continue;
      if (l.status !== 'translated') {
        skipped.push(`${label} in ${tag} was not exported: it was not translated`);
        continue;
      }
      const lcopy = { headline: String(l.headline ?? ''), body: String(l.body ?? ''), cta: String(l.cta ?? '') };
      const limages = await readImages(l.files ?? {}, `${lw}.files`, dir);
      if (!lcopy.headline.trim() || !lcopy.body.trim() || !Object.keys(limages).length) {
        skipped.push(`${label} in ${tag} was not exported: its translated copy or images are missing`);
        continue;
      }
      out.push({
        adKey: localeAdKey(tag, hash, lcopy),
        label: localeLabel(label, tag),
        role: 'variant',
        hash: contentHash(lcopy, limages),
        copy: lcopy,
        brief,
        images: limages,
        locale: tag,
      });
    }
  }
  if (!out.length) throw new InputError('VARIANTS_INVALID', `${path}: no variant${labels ? ` labelled ${labels.join(', ')}` : ''}`);
  return {
    brief: typeof data.brief === 'string' ? data.brief : '',
    brand: typeof data.brand === 'string' ? data.brand : undefined,
    creatives: out,
    skipped,
  };
}

/** Publishes an export's Meta creatives as paused ads with the configured account. */
export async function publishMeta(
  cfg: Config,
  result: ExportResult,
  deps: Pick<ExportCommandDeps, 'fetch' | 'sleep'> = {},
): Promise<{ published: Published[]; error?: string }> {
  const missing = (
    [
      ['META_ACCESS_TOKEN', cfg.metaAccessToken],
      ['META_AD_ACCOUNT_ID', cfg.metaAdAccountId],
      ['META_PAGE_ID', cfg.metaPageId],
      ['META_ADSET_ID', cfg.metaAdsetId],
    ] as const
  ).filter(([, v]) => !v);
  if (missing.length) throw new UsageError(`--publish needs ${missing.map(([n]) => n).join(', ')} set`);
  const file = result.files.find((f) => f.path === 'meta/ad-creatives.json');
  if (!file) return { published: [], error: 'no Meta ads in this export to publish' };
  const entries = JSON.parse(String(file.data)) as MetaAdEntry[];
  const images = new Map(result.files.filter((f) => typeof f.data !== 'string').map((f) => [f.path, f.data as Uint8Array]));
  const api = new MetaApi({
    accessToken: cfg.metaAccessToken as string,
    adAccountId: cfg.metaAdAccountId as string,
    pageId: cfg.metaPageId as string,
    adsetId: cfg.metaAdsetId as string,
    graphUrl: cfg.metaGraphUrl,
    fetch: deps.fetch,
    sleep: deps.sleep,
  });
  try {
    return { published: await api.publish(entries, (p) => images.get(p)) };
  } catch (e) {
    return { published: ((e as { published?: Published[] }).published ?? []) as Published[], error: describeError(e) };
  }
}

/** Export records for the store (so results can be matched back), with what was published. */
export function exportRecords(
  creatives: ExportCreative[],
  result: ExportResult,
  p: { by: string; at: Date; published?: Published[]; creativeIds?: Map<string, string> },
): ExportRecord[] {
  return creatives
    .map((c) => {
      const platforms = result.platforms.filter((x) => x.ads.some((a) => a.adKey === c.adKey && a.included)).map((x) => x.platform);
      const pub = p.published?.find((x) => x.adKey === c.adKey);
      return {
        id: randomUUID(),
        adKey: c.adKey,
        roundId: c.roundId ?? null,
        variantId: c.variantId ?? null,
        label: c.label,
        hash: c.hash,
        role: c.role,
        platforms,
        creativeId: p.creativeIds?.get(c.adKey) ?? null,
        by: p.by,
        at: p.at,
        published: pub ? { meta: [pub.adId, pub.creativeId].filter(Boolean) } : null,
      };
    })
    .filter((r) => r.platforms.length > 0);
}

function summary(result: ExportResult, out: string): string[] {
  const lines = [`wrote ${result.files.length} files to ${out}`];
  const rows = Object.values(result.checked.ads).reduce((a, b) => a + b, 0);
  lines.push(
    `read back and checked: ${rows} ads and ${result.checked.images} images against the platforms' published limits, 0 violations`,
  );
  for (const p of result.platforms) {
    const ok = p.ads.filter((a) => a.included).length;
    lines.push(`${p.platform}: ${ok} of ${p.ads.length} ads${p.files.length ? ` → ${p.files.map((f) => f.path).join(', ')}` : ''}`);
    for (const a of p.ads) if (!a.included) lines.push(`  ${a.adKey} ${a.label}: ${a.why}`);
    for (const w of p.warnings) lines.push(`  note: ${w}`);
  }
  return lines;
}

export function makeExportCommands(deps: ExportCommandDeps): Command[] {
  const by = deps.by ?? (() => `cli:${userInfo().username}`);
  const exportCmd: Command = {
    name: 'export',
    summary:
      'Write ad platform files (Google Ads Editor CSV, Meta ad creatives, LinkedIn, TikTok) for generated variants, checked against every published limit',
    usage: `--variants variants.json --platform ${PLATFORMS.join('|')}|all --out DIR [--brand NAME] [--final-url URL] [--campaign NAME] [--labels A,C] [--publish] [--json]`,
    options: {
      variants: { type: 'string' },
      platform: { type: 'string' },
      out: { type: 'string' },
      brand: { type: 'string' },
      'final-url': { type: 'string' },
      campaign: { type: 'string' },
      labels: { type: 'string' },
      publish: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    async run(args, io: CommandIO) {
      const cfg = deps.config();
      const file = stringArg(args, 'variants', exportCmd);
      const platforms = parsePlatforms(stringArg(args, 'platform', exportCmd));
      const out = resolve(stringArg(args, 'out', exportCmd));
      const finalUrl = (args.values['final-url'] as string | undefined) ?? cfg.exportFinalUrl;
      if (finalUrl && !/^https?:\/\/\S+$/.test(finalUrl))
        throw new UsageError(`--final-url must be an http(s) URL; got ${JSON.stringify(finalUrl)}`);
      const publish = args.values.publish === true;
      if (publish && !platforms.includes('meta')) throw new UsageError('--publish publishes Meta ads: add meta to --platform');
      if (publish && !finalUrl) throw new UsageError('--publish needs a landing page: set --final-url or EXPORT_FINAL_URL');
      const labels = typeof args.values.labels === 'string' ? args.values.labels.split(',').map((l) => l.trim()) : undefined;
      const read = await readVariantsFile(file, labels);
      const brandName = (args.values.brand as string | undefined) ?? read.brand;
      const brand = brandName ? exportBrand(cfg.brandsDir, brandName) : undefined;
      const writer = platforms.includes('google-ads') ? (deps.extraCopy ?? extraCopyWriter)(cfg) : undefined;
      const { extra, notes } = platforms.includes('google-ads')
        ? await extraCopyFor(
            writer,
            // The brief's language only: a translated ad's extra texts are derived from its own copy.
            read.creatives.filter((c) => c.adKey === adKey(c.hash)),
            brand?.displayName,
          )
        : { extra: new Map(), notes: [] };
      const at = new Date();
      const result = await buildExport(
        read.creatives,
        platforms,
        {
          campaign: (args.values.campaign as string | undefined) ?? (read.brief.slice(0, 60) || 'adcreative export'),
          brand,
          finalUrl,
          extra,
          notes: [...notes, ...read.skipped],
          at,
          by: by(),
        },
        deps.tools ?? exportImageTools(),
      );
      let published: Published[] | undefined;
      let publishError: string | undefined;
      if (publish) ({ published, error: publishError } = await publishMeta(cfg, result, deps));
      for (const f of result.files) {
        const path = join(out, f.path);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, f.data);
      }
      const records = exportRecords(read.creatives, result, { by: by(), at, published });
      const state = await openState(cfg);
      try {
        if (records.length) await state.store.recordExports(records);
      } finally {
        await state.close();
      }
      if (args.values.json === true) {
        io.stdout.write(
          `${JSON.stringify({ out, files: result.files.map((f) => f.path), platforms: result.platforms, checked: result.checked, published, publishError })}\n`,
        );
      } else {
        io.stdout.write(`${summary(result, out).join('\n')}\n`);
        for (const x of read.skipped) io.stdout.write(`${x}\n`);
        for (const p of published ?? [])
          io.stdout.write(`meta: published ${p.adKey} as creative ${p.creativeId}${p.adId ? `, ad ${p.adId} (PAUSED)` : ''}\n`);
        if (publishError) io.stderr.write(`publish stopped: ${publishError}\n`);
      }
      return records.length && !publishError ? 0 : 1;
    },
  };

  const resultsCmd: Command = {
    name: 'results import',
    summary: 'Read a Meta Ads Manager or Google Ads report (CSV) and update the exported creatives’ impressions, clicks and conversions',
    usage: `FILE.csv [--platform ${REPORT_PLATFORMS.join('|')}] [--dry-run] [--json]`,
    positionals: true,
    options: { platform: { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } },
    async run(args, io) {
      if (args.positionals.length !== 1) throw new UsageError(`give one report file\nusage: adcreative results import ${resultsCmd.usage}`);
      const forced = args.values.platform as string | undefined;
      if (forced !== undefined && !isReportPlatform(forced))
        throw new UsageError(`--platform takes ${REPORT_PLATFORMS.join(' or ')}; got ${JSON.stringify(forced)}`);
      const cfg = deps.config();
      const state = await openState(cfg);
      let library: Awaited<ReturnType<typeof import('../library/open.ts')['openLibrary']>> | undefined;
      try {
        const { openLibrary, librarySettings } = await import('../library/open.ts');
        let libraryError: string | undefined;
        library = await openLibrary({ uri: libraryUri(cfg), settings: librarySettings(cfg) }).catch((e: unknown) => {
          libraryError = describeError(e);
          return undefined;
        });
        const r = await importResults({ store: state.store, library }, args.positionals[0], {
          platform: forced,
          dryRun: args.values['dry-run'] === true,
        });
        if (args.values.json === true) io.stdout.write(`${JSON.stringify(r)}\n`);
        else {
          const lines = [
            `${r.file} (${r.platform}): ${r.rows} row(s), ${r.matched} matched, ${r.unmatched.length} unmatched, ${r.totals} total/summary row(s) left out${r.dryRun ? ' — dry run, nothing written' : ''}`,
          ];
          for (const a of r.ads)
            lines.push(
              `  ${a.adKey} ${a.label}: ${a.impressions} impressions, ${a.clicks} clicks, ${a.conversions} conversions (${a.platforms.map((p) => p.platform).join(' + ')}) — ${!a.creativeId ? 'not in the creative library (figures kept here)' : r.dryRun ? 'creative library would be updated' : 'creative library updated'}`,
            );
          if (r.unmatched.length)
            lines.push(
              'unmatched (kept with the import):',
              ...r.unmatched.map((u) => `  line ${u.line}${u.name ? ` "${u.name}"` : ''}: ${u.reason}`),
            );
          if (!library && r.ads.some((a) => a.creativeId))
            lines.push(`the creative library could not be opened (${libraryError}): figures kept, library not updated`);
          io.stdout.write(`${lines.join('\n')}\n`);
        }
        return r.unmatched.length ? 1 : 0;
      } finally {
        await library?.close().catch(() => {});
        await state.close();
      }
    },
  };
  return [exportCmd, resultsCmd];
}

export const commands: Command[] = makeExportCommands({ config });
