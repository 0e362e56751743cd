/**
 * A round with `--locales` (issue 18), run by the real runner over the real RoundService on
 * SQLite with the offline pipeline: the locales reach the generator, each variant's copy per
 * locale is stored and read back, and the thread is shown one message (one vote) per variant.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { DEFAULT_BRAND } from '../../../src/generate/brands.ts';
import type { Localizer } from '../../../src/generate/locale-copy.ts';
import { createOfflineCopywriter } from '../../../src/generate/offline-copy.ts';
import { createPipeline } from '../../../src/generate/pipeline.ts';
import { priceTable } from '../../../src/generate/pricing.ts';
import { createStudioImages } from '../../../src/generate/studio.ts';
import type { GenerateRequest } from '../../../src/generate/types.ts';
import { silentLogger } from '../../../src/log.ts';
import { DEFAULT_WEIGHTS } from '../../../src/rank/score.ts';
import { createFileAssetStore } from '../../../src/rounds/assets.ts';
import { RoundRunner } from '../../../src/rounds/runner.ts';
import { RoundService, type RoundSettings } from '../../../src/rounds/service.ts';
import { openSqliteStore, type SqliteRoundStore } from '../../../src/rounds/sqlite.ts';
import { limitsFor } from '../../../src/vocabulary.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import { fakeLibrary } from '../../helpers/fakes.ts';
import { recordingView } from '../../helpers/recording-view.ts';

const settings: RoundSettings = {
  ratePerHour: 50,
  dailyImageCap: 1000,
  monthlyUsdCap: 0,
  autoCloseMinutes: 60,
  reminderMinutes: 10,
  doubleClickMs: 0,
  pricing: { estimate: (n: number) => ({ usd: 0.04 * n, textCalls: 1, imageCalls: n }) },
};

let dir: string;
let store: SqliteRoundStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'runner-locales-'));
  store = await openSqliteStore(join(dir, 'state.sqlite'));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const pngSize = (b: Uint8Array): [number, number] => [Buffer.from(b).readUInt32BE(16), Buffer.from(b).readUInt32BE(20)];

/** A localizer that "translates" by tagging the copy, so every locale is drawn. */
const tagging: Localizer = {
  offline: false,
  localize: async (ctx) => ({
    copies: ctx.variants.map((v) =>
      ctx.locales.map((l) =>
        l.lang === ctx.source
          ? { locale: l.tag, status: 'source' as const, ...v, flags: [] }
          : {
              locale: l.tag,
              status: 'translated' as const,
              headline: `${l.tag}: ${v.headline}`.slice(0, 27),
              body: v.body,
              cta: v.cta,
              flags: [],
            },
      ),
    ),
    failures: [],
  }),
};

async function startRound(locales: string[], localizer?: Localizer) {
  const encoder = fakeEncoder();
  const asked: GenerateRequest[] = [];
  const pipeline = createPipeline({
    copywriter: createOfflineCopywriter(),
    images: createStudioImages({ size: 128 }),
    encoder,
    maxSimilarity: async (e) => e.map(() => 0.2),
    brand: () => DEFAULT_BRAND,
    limits: (ch) => limitsFor(ch),
    weights: DEFAULT_WEIGHTS,
    candidateFactor: 1,
    concurrency: 2,
    prices: priceTable(),
    logger: silentLogger,
    ...(localizer ? { localizer } : {}),
  });
  const rounds = new RoundService({ store, settings });
  const view = recordingView();
  const r = new RoundRunner({
    rounds,
    generator: {
      ...pipeline,
      generate: (q) => {
        asked.push(q);
        return pipeline.generate(q);
      },
    },
    library: async () => fakeLibrary([]),
    encoder,
    assets: createFileAssetStore(join(dir, 'variants')),
    view,
    isAdmin: async () => false,
    synthetic: true,
    settings: { inspirationCount: 3, maxConcurrentRounds: 2 },
    logger: silentLogger,
  });
  await r.start({
    user: 'U1',
    channel: 'C1',
    brief: 'Trail-running sunscreen that stays out of your eyes',
    options: { variants: 2, formats: ['square'], channel: 'meta', anonymous: false, hideTally: false, locales },
    replyTo: { user: 'U1', channel: 'C1', replyUrl: 'reply' },
  });
  return { r, rounds, view, asked, round: await rounds.latestInThread('C1', 'T1') };
}

it('a round with --locales: copy per locale stored with each variant and shown with it, one vote per variant', async () => {
  const { rounds, view, asked, round } = await startRound(['en-GB', 'fr']);
  expect(round?.status).toBe('open');
  expect(asked[0].locales).toEqual(['en-GB', 'fr']);
  // Read back from SQLite: the English brief's copy as written, French marked not translated (offline).
  const stored = await rounds.variants(round?.id ?? '');
  expect(stored).toHaveLength(2);
  for (const v of stored) {
    expect(v.locales?.map((l) => [l.locale, l.status])).toEqual([
      ['en-GB', 'source'],
      ['fr', 'not-translated'],
    ]);
    expect(v.locales?.[0]).toMatchObject({ headline: v.headline, body: v.body, cta: v.cta });
    expect(v.locales?.[0]).not.toHaveProperty('images');
  }
  // One message per variant (not per locale), carrying its locales.
  const posted = view.of('variant');
  expect(posted.map((p) => p.variant.label)).toEqual(['A', 'B']);
  expect(posted[0].variant.locales?.map((l) => l.locale)).toEqual(['en-GB', 'fr']);
}, 60_000);

it("shows a variant's rendered locales side by side in the one image of its message", async () => {
  const { view, round } = await startRound(['en', 'de', 'fr'], tagging);
  expect(round?.status).toBe('open');
  const posted = view.of('variant');
  expect(posted).toHaveLength(2);
  for (const p of posted) {
    expect(p.variant.locales?.map((l) => l.status)).toEqual(['source', 'translated', 'translated']);
    // Three 480 px tiles with 24 px gaps, not the 1080 px square preview.
    const [w, h] = pngSize(p.image);
    expect(w).toBe(24 + 3 * (480 + 24));
    expect(h).toBeGreaterThan(480);
  }
}, 60_000);

it('a round whose other locales are not translated shows the preview itself', async () => {
  const { view } = await startRound(['en', 'de']);
  for (const p of view.of('variant')) expect(pngSize(p.image)).toEqual([1080, 1080]);
}, 60_000);

it('an edit of the copy: the brief-language locale shows the edit, its translations are marked outdated', async () => {
  const { r, rounds, view, round } = await startRound(['en', 'de'], tagging);
  const [a] = await rounds.variants(round?.id ?? '');
  expect(a.locales?.map((l) => [l.locale, l.status, l.outdated])).toEqual([
    ['en', 'source', undefined],
    ['de', 'translated', undefined],
  ]);
  await r.editCopy({ variantId: a.id, user: 'U1', copy: { headline: 'Stays out of your eyes', body: a.body, cta: a.cta } });
  const shown = view.of('variant').at(-1)?.variant;
  expect(shown?.label).toBe('A');
  expect(shown?.locales?.[0]).toMatchObject({ locale: 'en', status: 'source', headline: 'Stays out of your eyes' });
  // The German was translated from the old headline: it says so instead of passing for the new one.
  expect(shown?.locales?.[1]).toMatchObject({ locale: 'de', status: 'translated', outdated: true, headline: a.locales?.[1].headline });
  // Stored so: after a restart (a fresh read of the database) the thread and the export still know.
  const stored = (await rounds.variants(round?.id ?? '')).find((v) => v.id === a.id);
  expect(stored?.locales?.map((l) => [l.locale, l.headline, l.outdated])).toEqual([
    ['en', 'Stays out of your eyes', undefined],
    ['de', a.locales?.[1].headline, true],
  ]);
}, 60_000);
