/**
 * Export and Results for a closed round, as the thread offers them. Export takes the winner and
 * its siblings (the round's other variants, to test beside it: every ad is created paused), renders
 * any format a platform needs that the round did not make (from the same visual and copy), builds
 * every platform's files, checks them, zips them into the thread, adds the siblings to the creative
 * library (the winner is there already) so their results teach the ranking too, and records each
 * export with its ad key and content hash. Results posts the imported figures of those ads.
 */
import { randomUUID } from 'node:crypto';
import { describeError } from '../errors.ts';
import type { GeneratedVariant, Generator } from '../generate/types.ts';
import { audienceTag } from '../library/audience.ts';
import type { Library, NewCreative } from '../library/types.ts';
import type { Logger } from '../log.ts';
import { contentHash } from '../rounds/approvals.ts';
import type { AssetStore, VariantAssets } from '../rounds/assets.ts';
import { hasAudiences, segmentStandings } from '../rounds/audiences.ts';
import { formatsOf } from '../rounds/promote.ts';
import { type RoundService, toTallyVariant } from '../rounds/service.ts';
import type { ContentVersion, ExportRecord, Round, VariantRecord } from '../rounds/types.ts';
import type { Recipient, RoundNote, RoundView } from '../rounds/view.ts';
import { FORMATS, type FormatName, PLATFORMS } from '../vocabulary.ts';
import { adKey, buildExport } from './build.ts';
import { type AdCopy, type ExtraCopyWriter, extraCopyFor } from './copy.ts';
import {
  type LocaleOutcome,
  localeAdKey,
  localeLabel,
  localeOutcome,
  sourceLocale,
  staleTranslation,
  variantLocales,
} from './locale-ads.ts';
import { currentResults } from './results.ts';
import type { ExportBrand, ExportCreative, ExportImageTools, PlatformExport } from './types.ts';
import { writeZip } from './zip.ts';

export interface RoundExporterDeps {
  rounds: RoundService;
  assets: AssetStore;
  generator: Pick<Generator, 'rerender'>;
  library: () => Promise<Pick<Library, 'add'>>;
  view: Pick<RoundView, 'archive' | 'notes' | 'tell'>;
  /** Rewrites the round's tally (Export becomes Results once exported). */
  refreshTally: (roundId: string) => Promise<void>;
  brand: (name?: string) => ExportBrand | undefined;
  extraCopy?: ExtraCopyWriter;
  tools: ExportImageTools;
  finalUrl?: string;
  logger: Logger;
  now?: () => Date;
}

/** Every format some platform takes: a round's variant is exported in all of them. */
const NEEDED: FormatName[] = [...FORMATS];

export class RoundExporter {
  private readonly busy = new Set<string>();
  constructor(private readonly d: RoundExporterDeps) {}

  private now(): Date {
    return (this.d.now ?? (() => new Date()))();
  }

  /** The variant's images in every format, rendering the missing ones from its visual and copy. */
  private async allFormats(round: Round, v: VariantRecord, assets: VariantAssets): Promise<Partial<Record<FormatName, Uint8Array>>> {
    const have = formatsOf(assets);
    const missing = NEEDED.filter((f) => !have.includes(f));
    if (!missing.length) return assets.images;
    const made = await this.render(round, v, assets, { headline: v.headline, body: v.body, cta: v.cta }, missing);
    return { ...assets.images, ...made };
  }

  /**
   * `formats` of the variant's visual with `copy` on it, by the generator's own renderer (the one
   * generate drew the locales with, so CJK and right-to-left scripts are drawn alike).
   */
  private async render(
    round: Round,
    v: VariantRecord,
    assets: VariantAssets,
    copy: AdCopy,
    formats: FormatName[],
  ): Promise<Partial<Record<FormatName, Uint8Array>>> {
    const made: GeneratedVariant = await this.d.generator.rerender(
      { ...v, images: assets.images, preview: assets.preview, visual: assets.visual, imageEmbedding: assets.imageEmbedding },
      copy,
      { brand: round.options.brand, formats },
    );
    return Object.fromEntries(formats.filter((f) => made.images[f]).map((f) => [f, made.images[f]]));
  }

  /**
   * The variant's translated locales as ads of their own (rounds with --locales): each one's copy
   * on the variant's visual in every format. Locales left out are returned with the reason.
   */
  private async localeCreatives(
    round: Round,
    v: VariantRecord,
    assets: VariantAssets,
    source: ExportCreative,
    current: ContentVersion | undefined,
  ): Promise<{ creatives: ExportCreative[]; skipped: { locale: string; why: string }[] }> {
    const { translated, skipped } = variantLocales(v);
    const stale = staleTranslation(v, current);
    if (stale) return { creatives: [], skipped: [...skipped, ...translated.map((l) => ({ locale: l.locale, why: stale }))] };
    const creatives: ExportCreative[] = [];
    for (const l of translated) {
      const copy = { headline: l.headline, body: l.body, cta: l.cta };
      try {
        const images = await this.render(round, v, assets, copy, NEEDED);
        creatives.push({
          ...source,
          adKey: localeAdKey(l.locale, source.hash, copy),
          label: localeLabel(v.label, l.locale),
          hash: contentHash(copy, images),
          copy,
          images,
          locale: l.locale,
        });
      } catch (e) {
        this.d.logger.warn('export: a locale could not be rendered', {
          round: round.id,
          variant: v.id,
          locale: l.locale,
          error: describeError(e),
        });
        skipped.push({ locale: l.locale, why: `its images could not be rendered: ${describeError(e)}` });
      }
    }
    return { creatives, skipped };
  }

  /** The variants that won their audience segment (rounds with --audiences), the round's winner among them. */
  private async segmentWinnerIds(round: Round): Promise<Set<string>> {
    if (!hasAudiences(round.options)) return new Set();
    const t = await this.d.rounds.tally(round.id);
    return new Set(
      segmentStandings(t.variants, t.tally, toTallyVariant, round.winnerVariantId).flatMap((s) => (s.leader ? [s.leader.variantId] : [])),
    );
  }

  /** "Export" on a closed round: the zip in the thread, and the exports on record. */
  async exportWinner(p: { roundId: string; user: string; channel?: string }): Promise<void> {
    const round = await this.d.rounds.round(p.roundId);
    if (!round) return;
    const who: Recipient = { user: p.user, channel: p.channel ?? round.channel, threadTs: round.threadTs };
    if (round.status !== 'closed') return this.d.view.tell(who, { kind: 'export_refused', round: round.number, reason: 'not_closed' });
    if (!round.winnerVariantId) return this.d.view.tell(who, { kind: 'export_refused', round: round.number, reason: 'no_winner' });
    // Two clicks at once make one export.
    if (this.busy.has(round.id)) return this.d.view.tell(who, { kind: 'export_refused', round: round.number, reason: 'busy' });
    this.busy.add(round.id);
    try {
      await this.run(round, p.user, who);
    } catch (e) {
      this.d.logger.warn('export failed', { round: round.id, error: describeError(e) });
      await this.d.view.notes(round, [{ kind: 'export_failed', detail: describeError(e) }]).catch(() => {});
    } finally {
      this.busy.delete(round.id);
    }
  }

  private async run(round: Round, user: string, who: Recipient): Promise<void> {
    const variants = await this.d.rounds.variants(round.id);
    const winner = variants.find((v) => v.id === round.winnerVariantId) as VariantRecord;
    const ordered = [winner, ...variants.filter((v) => v.id !== winner.id)];
    const versions = await this.d.rounds.currentContent(round.id);
    const creatives: ExportCreative[] = [];
    const byKey = new Map<string, { v: VariantRecord; images: Partial<Record<FormatName, Uint8Array>> }>();
    const localeAds: { key: string; locale: string; label: string }[] = [];
    const localeSkips: { locale: string; label: string; exported: boolean; why: string }[] = [];
    for (const v of ordered) {
      const assets = await this.d.assets.load(round.id, v.id).catch(() => undefined);
      if (!assets) {
        if (v.id === winner.id) return this.d.view.tell(who, { kind: 'export_refused', round: round.number, reason: 'images_missing' });
        continue;
      }
      const images = await this.allFormats(round, v, assets);
      // The content people voted on and approved; formats rendered now for the platforms come from the same visual and copy.
      const hash = versions.get(v.id)?.hash ?? contentHash(v, assets.images);
      const key = adKey(hash);
      byKey.set(key, { v, images });
      const source: ExportCreative = {
        adKey: key,
        label: v.label,
        role: v.id === winner.id ? 'winner' : 'sibling',
        hash,
        copy: { headline: v.headline, body: v.body, cta: v.cta },
        brief: round.brief,
        images,
        roundId: round.id,
        variantId: v.id,
        ...(v.locales?.length ? { locale: sourceLocale(v, round.brief) } : {}),
      };
      creatives.push(source);
      const loc = await this.localeCreatives(round, v, assets, source, versions.get(v.id));
      creatives.push(...loc.creatives);
      localeAds.push(...loc.creatives.map((c) => ({ key: c.adKey, locale: c.locale as string, label: v.label })));
      localeSkips.push(...loc.skipped.map((x) => ({ ...x, label: v.label, exported: false })));
    }
    const brand = this.d.brand(round.options.brand);
    // Extra texts are asked for the brief's language only: a translated ad's extra texts come from its
    // own copy by rules, so none of them is written in another language than the ad.
    const { extra, notes } = await extraCopyFor(
      this.d.extraCopy,
      creatives.filter((c) => byKey.has(c.adKey)),
      brand?.displayName,
    );
    const at = this.now();
    const result = await buildExport(
      creatives,
      [...PLATFORMS],
      {
        campaign: `${round.brief.slice(0, 50)}${round.brief.length > 50 ? '…' : ''} · round ${round.number}`,
        brand,
        finalUrl: this.d.finalUrl,
        extra,
        notes,
        at,
        by: user,
      },
      this.d.tools,
    );
    const zip = writeZip(
      result.files.map((f) => ({ name: f.path, data: f.data })),
      at,
    );
    const winnerKey = creatives[0].adKey;
    await this.d.view.archive(
      round,
      { filename: `adcreative-export-round-${round.number}-${winnerKey}.zip`, bytes: zip, title: `Ad export · round ${round.number}` },
      `:package: Export of variant ${winner.label} and its ${byKey.size - 1} sibling${byKey.size === 2 ? '' : 's'}${localeAds.length ? ` (with ${localeAds.length} translated ad${localeAds.length === 1 ? '' : 's'})` : ''} for Google Ads, Meta, LinkedIn and TikTok (ads paused)`,
    );

    // Siblings join the library (the winner is there since the close), so their results count too.
    const creativeIds = new Map<string, string>();
    if (round.winnerCreativeId) creativeIds.set(winnerKey, round.winnerCreativeId);
    // Each audience's winner went into the library at close, tagged with its segment: re-added as
    // a sibling it would lose "winner" and its audience tag (the library merges rows by image).
    const segmentWinners = await this.segmentWinnerIds(round);
    // The library holds each variant once, in the brief's language: a translation is not a creative of its own there.
    const siblings = creatives.filter((c) => c.role === 'sibling' && byKey.has(c.adKey) && !segmentWinners.has(c.variantId ?? ''));
    if (siblings.length) {
      try {
        const lib = await this.d.library();
        const added = await lib.add(
          siblings.map((c) => siblingCreative(round, c, byKey.get(c.adKey)?.images ?? {}, byKey.get(c.adKey)?.v.audience)),
        );
        siblings.forEach((c, i) => {
          const id = added.ids[i];
          if (id) creativeIds.set(c.adKey, id);
        });
        if (added.failed.length) this.d.logger.warn('export: siblings not stored in the library', { failed: added.failed });
      } catch (e) {
        this.d.logger.warn('export: siblings not stored in the library', { error: describeError(e) });
      }
    }
    const records: ExportRecord[] = creatives.map((c) => ({
      id: randomUUID(),
      adKey: c.adKey,
      roundId: round.id,
      variantId: c.variantId ?? null,
      label: c.label,
      hash: c.hash,
      role: c.role === 'winner' ? 'winner' : 'sibling',
      platforms: result.platforms.filter((x) => x.ads.some((a) => a.adKey === c.adKey && a.included)).map((x) => x.platform),
      creativeId: creativeIds.get(c.adKey) ?? null,
      by: user,
      at,
      published: null,
    }));
    await this.d.rounds.recordExports(records);
    const note: RoundNote = {
      kind: 'exported',
      by: user,
      ads: creatives.map((c) => ({ label: c.label, adKey: c.adKey, role: c.role === 'winner' ? 'winner' : 'sibling' })),
      ...(round.options.locales?.length ? { locales: this.outcome(round, result.platforms, localeAds, localeSkips) } : {}),
      platforms: result.platforms.map((x) => {
        const ads = x.ads;
        return {
          platform: x.platform,
          included: ads.filter((a) => a.included).length,
          total: ads.length,
          left: ads.filter((a) => !a.included).map((a) => ({ label: a.label, why: a.why ?? '' })),
        };
      }),
      checked: { ads: Object.values(result.checked.ads).reduce((a, b) => a + b, 0), images: result.checked.images },
      notes: [...notes, ...result.platforms.flatMap((x) => x.warnings)],
    };
    await this.d.view.notes(round, [note]);
    await this.d.refreshTally(round.id);
  }

  /** Which locales the export holds, and which not and why (an ad every platform left out counts as not exported). */
  private outcome(
    round: Round,
    platforms: PlatformExport[],
    ads: { key: string; locale: string; label: string }[],
    skips: { locale: string; label: string; exported: boolean; why: string }[],
  ): LocaleOutcome {
    const rows = ads.map((a) => {
      const on = platforms.flatMap((p) => p.ads.filter((x) => x.adKey === a.key));
      const exported = on.some((x) => x.included);
      return {
        locale: a.locale,
        label: a.label,
        exported,
        why: exported ? undefined : `left out on every platform (${on[0]?.why ?? 'no platform took it'})`,
      };
    });
    const all = [...rows, ...skips];
    // The brief's order of locales first, then any the variants hold that it does not name.
    const order = [...(round.options.locales ?? []), ...all.map((r) => r.locale)].filter((l, i, xs) => xs.indexOf(l) === i);
    return localeOutcome(all, order);
  }

  /** "Results": the imported figures of the round's exported ads, the winner's beside its siblings'. */
  async results(p: { roundId: string; user: string; channel?: string }): Promise<void> {
    const round = await this.d.rounds.round(p.roundId);
    if (!round) return;
    const who: Recipient = { user: p.user, channel: p.channel ?? round.channel, threadTs: round.threadTs };
    const exports = await this.d.rounds.exportsOf(round.id);
    if (!exports.length) return this.d.view.tell(who, { kind: 'results_none', round: round.number, exported: false });
    const latest = new Map<string, ExportRecord>();
    for (const e of exports) latest.set(e.adKey, e);
    const now = currentResults(await this.d.rounds.resultRows([...latest.keys()]));
    if (!now.size) return this.d.view.tell(who, { kind: 'results_none', round: round.number, exported: true });
    const role = (e: ExportRecord): 'winner' | 'sibling' => (e.role === 'winner' ? 'winner' : 'sibling');
    const ordered = [...latest.values()].sort((a, b) =>
      a.role === 'winner' ? -1 : b.role === 'winner' ? 1 : a.label.localeCompare(b.label),
    );
    await this.d.view.notes(round, [
      {
        kind: 'results',
        rows: ordered.flatMap((e) => {
          const r = now.get(e.adKey);
          return r
            ? [
                {
                  label: e.label,
                  adKey: e.adKey,
                  role: role(e),
                  impressions: r.impressions,
                  clicks: r.clicks,
                  conversions: r.conversions,
                  platforms: r.platforms.map((x) => x.platform),
                  importedAt: new Date(Math.max(...r.platforms.map((x) => x.importedAt.getTime()))),
                },
              ]
            : [];
        }),
        waiting: ordered.filter((e) => !now.has(e.adKey)).map((e) => ({ label: e.label, adKey: e.adKey, role: role(e) })),
      },
    ]);
  }
}

/** A sibling as a library row: exported to the platforms, with where it came from. */
function siblingCreative(
  round: Round,
  c: ExportCreative,
  images: Partial<Record<FormatName, Uint8Array>>,
  audience: string | undefined,
): NewCreative {
  const main: FormatName = images.square ? 'square' : (FORMATS.find((f) => images[f]) ?? 'square');
  return {
    image: images[main] as Uint8Array,
    fileName: `export-${c.adKey}-${main}.png`,
    source: `export:${round.id}`,
    brand: round.options.brand ?? '',
    channel: round.options.channel,
    format: main,
    headline: c.copy.headline,
    body: c.copy.body,
    cta: c.copy.cta,
    caption: `${c.copy.headline}. ${c.copy.body}`,
    // Its audience too, so retrieval filtered by audience still finds it.
    tags: ['exported', 'sibling', ...(audience ? [audienceTag(audience)] : [])],
    provenance: JSON.stringify({
      brief: round.brief,
      round: round.number,
      roundId: round.id,
      variant: c.label,
      adKey: c.adKey,
      contentHash: c.hash,
    }),
  };
}
