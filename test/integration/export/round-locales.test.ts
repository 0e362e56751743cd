/**
 * Export of a round made with `--locales de,fr` where French could not be translated, through the
 * real runner, RoundService on SQLite, offline pipeline (real renderer) and exporter: the zip,
 * read back from its bytes and checked against the platforms' published limits by the test's own
 * reading (test/helpers/export-checks.ts), holds each variant in the brief's language and in
 * German as ads of their own, no French ad, and the thread's note says French was not translated.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { RoundExporter } from '../../../src/export/round-export.ts';
import { exportImageTools } from '../../../src/export/tools.ts';
import { DEFAULT_BRAND } from '../../../src/generate/brands.ts';
import { type Localizer, notTranslated } from '../../../src/generate/locale-copy.ts';
import { createOfflineCopywriter } from '../../../src/generate/offline-copy.ts';
import { createPipeline } from '../../../src/generate/pipeline.ts';
import { priceTable } from '../../../src/generate/pricing.ts';
import { createStudioImages } from '../../../src/generate/studio.ts';
import { silentLogger } from '../../../src/log.ts';
import { DEFAULT_WEIGHTS } from '../../../src/rank/score.ts';
import { createFileAssetStore } from '../../../src/rounds/assets.ts';
import { RoundRunner } from '../../../src/rounds/runner.ts';
import { RoundService } from '../../../src/rounds/service.ts';
import { openSqliteStore, type SqliteRoundStore } from '../../../src/rounds/sqlite.ts';
import type { RoundNote } from '../../../src/rounds/view.ts';
import { approvalNoteText } from '../../../src/slack/blocks/decisions.ts';
import { limitsFor } from '../../../src/vocabulary.ts';
import { checkExportDir } from '../../helpers/export-checks.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import { fakeLibrary } from '../../helpers/fakes.ts';
import { recordingView } from '../../helpers/recording-view.ts';

const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const PY = '/usr/bin/python3';

/**
 * German copy per variant; the second is longer than Meta's 27-character and Google's 30-character
 * headlines in every text it has (LinkedIn and TikTok take it), and French: the translator was offline.
 */
const GERMAN = [
  {
    headline: 'Sonnenschutz ohne Brennen',
    body: 'Brennt nicht in den Augen, auch nicht nach zwei Stunden auf dem Trail. Wasserfest und leicht.',
    cta: 'Jetzt kaufen',
  },
  {
    headline: 'Sonnenschutz für lange Läufe in der Hitze',
    body: 'Diese Sonnencreme brennt nicht in den Augen und hält auch nach zwei Stunden auf dem heißen Trail bei jedem Schritt und jedem Tropfen Schweiß.',
    cta: 'Jetzt mehr über die Sonnencreme erfahren',
  },
];
/** Chinese (double-width, no spaces) and Arabic (right to left), drawn by the same renderer as generate's. */
const TRANSLATED: Record<string, { headline: string; body: string; cta: string }[]> = {
  de: GERMAN,
  zh: [
    { headline: '不刺眼的跑步防晒霜', body: '长距离越野跑也不刺眼。防水，轻薄。', cta: '立即购买' },
    { headline: '为长跑而生的防晒', body: '出汗也不会流进眼睛。清爽不油腻。', cta: '了解更多' },
  ],
  ar: [
    { headline: 'واقي شمس لا يلسع العينين', body: 'لا يلسع العينين حتى في الجري الطويل. مقاوم للماء وخفيف.', cta: 'تسوق الآن' },
    { headline: 'واقي شمس للجري الطويل', body: 'يبقى في مكانه مع العرق. خفيف على البشرة.', cta: 'اعرف المزيد' },
  ],
};
const localizer: Localizer = {
  offline: false,
  localize: async (ctx) => ({
    copies: ctx.variants.map((_, i) =>
      ctx.locales.map((l) =>
        TRANSLATED[l.lang]
          ? { locale: l.tag, status: 'translated' as const, ...TRANSLATED[l.lang][i % 2], flags: [] }
          : notTranslated(l, 'the translator was offline'),
      ),
    ),
    failures: [],
  }),
};

let dir: string;
let store: SqliteRoundStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'export-locales-'));
  store = await openSqliteStore(join(dir, 'state.sqlite'));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

interface ManifestAd {
  adKey: string;
  label: string;
  role: string;
  locale?: string;
  contentHash: string;
  approvedCopy: { headline: string; body: string; cta: string };
}
interface Manifest {
  ads: ManifestAd[];
  platforms: { platform: string; ads: { adKey: string; included: boolean; why?: string }[] }[];
}

/** A round with `locales`, A voted the winner, closed and exported; the zip extracted by another program and checked. */
async function exportedRound(locales: string[]) {
  const generator = createPipeline({
    copywriter: createOfflineCopywriter(),
    images: createStudioImages({ size: 256 }),
    encoder: fakeEncoder(),
    maxSimilarity: async (e) => e.map(() => 0.2),
    brand: () => DEFAULT_BRAND,
    limits: (ch) => limitsFor(ch),
    weights: DEFAULT_WEIGHTS,
    candidateFactor: 1,
    concurrency: 2,
    prices: priceTable(),
    logger: silentLogger,
    localizer,
  });
  const rounds = new RoundService({
    store,
    settings: {
      ratePerHour: 50,
      dailyImageCap: 1000,
      monthlyUsdCap: 0,
      autoCloseMinutes: 0,
      reminderMinutes: 0,
      doubleClickMs: 0,
      pricing: { estimate: (n: number) => ({ usd: 0, textCalls: 0, imageCalls: n }) },
    },
  });
  const view = recordingView();
  const lib = fakeLibrary([]);
  const assets = createFileAssetStore(join(dir, 'variants'));
  const runner = new RoundRunner({
    rounds,
    generator,
    library: async () => lib,
    encoder: fakeEncoder(),
    assets,
    view,
    isAdmin: async () => false,
    synthetic: false,
    settings: { inspirationCount: 1, maxConcurrentRounds: 1 },
    logger: silentLogger,
  });
  const exporter = new RoundExporter({
    rounds,
    assets,
    generator,
    library: async () => lib,
    view,
    refreshTally: async () => {},
    brand: () => ({ name: 'acme', displayName: 'Acme Outdoor', background: '#FFFFFF' }),
    tools: exportImageTools(),
    finalUrl: 'https://acme.example',
    logger: silentLogger,
  });

  await runner.start({
    user: ALICE,
    channel: 'C1',
    brief: 'Trail-running sunscreen that does not sting your eyes',
    options: { variants: 2, formats: ['square'], channel: 'meta', anonymous: false, hideTally: false, locales },
    replyTo: { user: ALICE },
  });
  const round = await rounds.latestInThread('C1', 'T1');
  if (!round) throw new Error('no round');
  const [a, b] = await rounds.variants(round.id);
  await rounds.buttonVote(a.id, BOB);
  await runner.close({ roundId: round.id, user: ALICE });
  await exporter.exportWinner({ roundId: round.id, user: BOB });
  const failed = view.of('notes').flatMap((n) => n.notes.filter((x) => x.kind === 'export_failed'));
  expect(failed).toEqual([]);

  // The zip as posted, extracted by another program.
  const archive = view.of('archive')[0];
  const zipPath = join(dir, 'export.zip');
  writeFileSync(zipPath, archive.file.bytes);
  const out = join(dir, 'unzipped');
  execFileSync(PY, ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', zipPath, out]);
  const check = checkExportDir(out);
  expect(check.problems).toEqual([]);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Manifest;
  return { rounds, round, view, lib, exporter, a, b, out, check, manifest };
}

it('a round with de and fr (not translated) exports the winner and sibling in English and German, inside every limit', async () => {
  const { rounds, round, view, lib, exporter, a, b, out, check, manifest } = await exportedRound(['de', 'fr']);
  expect(a.locales?.map((l) => [l.locale, l.status])).toEqual([
    ['de', 'translated'],
    ['fr', 'not-translated'],
  ]);
  expect(manifest.ads.map((x) => [x.label, x.role, x.locale])).toEqual([
    ['A', 'winner', 'en'],
    ['A · de', 'winner', 'de'],
    ['B', 'sibling', 'en'],
    ['B · de', 'sibling', 'de'],
  ]);
  const keys = manifest.ads.map((x) => x.adKey);
  expect(new Set(keys).size).toBe(4);
  for (const k of keys) expect(k).toMatch(/^adc-[0-9a-f]{12}$/);
  const [en, deAd] = manifest.ads;
  const german = (v: typeof a) => v.locales?.find((l) => l.locale === 'de');
  expect(en.approvedCopy.headline).toBe(a.headline);
  expect(deAd.approvedCopy).toEqual({ headline: german(a)?.headline, body: german(a)?.body, cta: german(a)?.cta });
  expect(JSON.stringify(manifest)).not.toMatch(/"locale": ?"fr"/);
  // Limits per locale: the long German copy is left out where no text of its own fits (never cut),
  // with the reason, and kept where it fits; the short one goes everywhere.
  const long = manifest.ads.find((x) => x.locale === 'de' && x.approvedCopy.headline === GERMAN[1].headline) as ManifestAd;
  const on = (p: string, k: string) => manifest.platforms.find((x) => x.platform === p)?.ads.find((x) => x.adKey === k);
  const short = manifest.ads.find((x) => x.locale === 'de' && x !== long) as ManifestAd;
  for (const p of ['google-ads', 'meta', 'linkedin', 'tiktok'])
    for (const k of [en.adKey, short.adKey]) expect(on(p, k)).toMatchObject({ included: true });
  expect(on('meta', long.adKey)).toEqual(
    expect.objectContaining({ included: false, why: expect.stringMatching(/headline of at most 27 characters/) }),
  );
  expect(on('google-ads', long.adKey)).toEqual(
    expect.objectContaining({ included: false, why: expect.stringMatching(/headline of at most 30 characters/) }),
  );
  expect(on('linkedin', long.adKey)).toMatchObject({ included: true });
  expect(check.ads.linkedin).toBe(4);
  expect(check.ads.meta).toBe(3);

  // The German ad is named with its locale, and its text is the German copy.
  const li = parse(readFileSync(join(out, 'linkedin/single-image-ads.csv'), 'utf8'), { columns: true, bom: true }) as Record<
    string,
    string
  >[];
  expect(li.find((r) => r['Ad name'] === `${deAd.adKey} A · de`)).toMatchObject({
    Headline: german(a)?.headline,
    'Introductory text': german(a)?.body,
  });
  const rda = parse(readFileSync(join(out, 'google-ads/responsive-display-ads.csv'), 'utf8'), { columns: true, bom: true }) as Record<
    string,
    string
  >[];
  // Google sets languages per campaign: the German ads have a campaign of their own.
  expect(rda.find((r) => r['Ad group'].startsWith(deAd.adKey))?.Campaign).toMatch(/ · Display · de$/);
  expect(rda.find((r) => r['Ad group'].startsWith(en.adKey))?.Campaign).toMatch(/ · Display · en$/);
  // Its images were drawn with the German copy: other pixels than the English ones, in every format.
  const sha = (p: string) =>
    createHash('sha256')
      .update(readFileSync(join(out, p)))
      .digest('hex');
  for (const f of ['square', 'landscape', 'portrait', 'story']) {
    const files = (k: string) => manifestFiles(out).filter((p) => p.startsWith(`images/${k}-${f}-`) && p.endsWith('.png'));
    const [e] = files(en.adKey);
    const [d] = files(deAd.adKey);
    expect(d, `${f} of the German ad`).toBeTruthy();
    expect(sha(d)).not.toBe(sha(e));
  }

  // The decision log: the German ads on record under their own keys.
  const records = await rounds.exportsOf(round.id);
  expect(records.map((r) => [r.label, r.adKey]).sort()).toEqual(manifest.ads.map((x) => [x.label, x.adKey]).sort());
  // The library holds the sibling once, in the brief's language.
  expect(lib.items.filter((i) => i.source === `export:${round.id}`).map((i) => i.headline)).toEqual([b.headline]);

  // Export again: the same content, the same keys (the German ads' too).
  await exporter.exportWinner({ roundId: round.id, user: BOB });
  const again = new Set((await rounds.exportsOf(round.id)).map((r) => r.adKey));
  expect([...again].sort()).toEqual([...keys].sort());

  // The thread's note: German exported, French not, and why.
  const note = view.of('notes').flatMap((n) => n.notes.filter((x) => x.kind === 'exported'))[0] as Extract<RoundNote, { kind: 'exported' }>;
  expect(note.locales).toEqual({ exported: ['de'], notExported: [{ locale: 'fr', why: 'not translated (the translator was offline)' }] });
  // Where the long German ad was left out, the note names it with the reason.
  expect(note.platforms.find((x) => x.platform === 'meta')?.left).toEqual([
    { label: long.label, why: expect.stringMatching(/headline of at most 27 characters/) },
  ]);
  expect(approvalNoteText(note)).toMatch(
    /Locales: translated ads exported in \*de\*; not exported — \*fr\*: not translated \(the translator was offline\)/,
  );
}, 180_000);

function manifestFiles(out: string): string[] {
  return (JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { files: { path: string }[] }).files.map((f) => f.path);
}

it('Chinese and Arabic ads are drawn on the visual with their own script and checked like the others', async () => {
  const { a, out, check, manifest } = await exportedRound(['zh-CN', 'ar']);
  expect(check.problems).toEqual([]);
  expect(manifest.ads.map((x) => [x.label, x.locale])).toEqual([
    ['A', 'en'],
    ['A · zh-CN', 'zh-CN'],
    ['A · ar', 'ar'],
    ['B', 'en'],
    ['B · zh-CN', 'zh-CN'],
    ['B · ar', 'ar'],
  ]);
  expect(manifest.ads[1].approvedCopy.headline).toBe(a.locales?.find((l) => l.locale === 'zh-CN')?.headline);
  const sha = (p: string) =>
    createHash('sha256')
      .update(readFileSync(join(out, p)))
      .digest('hex');
  const square = (k: string) => manifestFiles(out).find((p) => p.startsWith(`images/${k}-square-`) && p.endsWith('.png')) as string;
  const [en, zh, ar] = manifest.ads.slice(0, 3).map((x) => sha(square(x.adKey)));
  expect(new Set([en, zh, ar]).size).toBe(3);
  for (const p of manifest.platforms)
    for (const x of manifest.ads.slice(0, 3)) expect(p.ads.find((y) => y.adKey === x.adKey)?.included).toBe(true);
}, 180_000);
