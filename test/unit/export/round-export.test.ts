/**
 * Export and Results of a closed round through the real runner, RoundService and exporter on
 * SQLite, shown through a recording RoundView: refusals, an export refused rather than written
 * past a limit, and a real one (the offline pipeline's images) zipped, recorded and reported.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RoundExporter } from '../../../src/export/round-export.ts';
import { exportImageTools } from '../../../src/export/tools.ts';
import { DEFAULT_BRAND } from '../../../src/generate/brands.ts';
import { createOfflineCopywriter } from '../../../src/generate/offline-copy.ts';
import { createPipeline } from '../../../src/generate/pipeline.ts';
import { priceTable } from '../../../src/generate/pricing.ts';
import { createStudioImages } from '../../../src/generate/studio.ts';
import type { Generator } from '../../../src/generate/types.ts';
import { silentLogger } from '../../../src/log.ts';
import { DEFAULT_WEIGHTS } from '../../../src/rank/score.ts';
import { createFileAssetStore } from '../../../src/rounds/assets.ts';
import { RoundRunner } from '../../../src/rounds/runner.ts';
import { RoundService } from '../../../src/rounds/service.ts';
import { openSqliteStore, type SqliteRoundStore } from '../../../src/rounds/sqlite.ts';
import { limitsFor } from '../../../src/vocabulary.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import { type FakeLibrary, fakeGenerator, fakeLibrary } from '../../helpers/fakes.ts';
import { type RecordingView, recordingView } from '../../helpers/recording-view.ts';

const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
let dir: string;
let store: SqliteRoundStore;
let rounds: RoundService;
let view: RecordingView;
let lib: FakeLibrary;

function setup(generator: Generator) {
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
  const refreshed: string[] = [];
  const exporter = new RoundExporter({
    rounds,
    assets,
    generator,
    library: async () => lib,
    view,
    refreshTally: async (id) => {
      refreshed.push(id);
    },
    brand: () => ({ name: 'acme', displayName: 'Acme Outdoor', background: '#FFFFFF' }),
    tools: exportImageTools(),
    finalUrl: 'https://acme.example',
    logger: silentLogger,
  });
  return { runner, exporter, refreshed };
}

async function closedRound(runner: RoundRunner, vote = true) {
  await runner.start({
    user: ALICE,
    channel: 'C1',
    brief: 'Trail-running sunscreen that does not sting your eyes',
    options: { variants: 2, formats: ['square'], channel: 'meta', anonymous: false, hideTally: false },
    replyTo: { user: ALICE },
  });
  const round = (await rounds.latestInThread('C1', `T${view.of('openThread').length}`)) as NonNullable<
    Awaited<ReturnType<RoundService['round']>>
  >;
  const [a] = await rounds.variants(round.id);
  if (vote) await rounds.buttonVote(a.id, BOB);
  return round;
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'round-export-'));
  store = await openSqliteStore(join(dir, 'state.sqlite'));
  rounds = new RoundService({
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
  view = recordingView();
  lib = fakeLibrary([]);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const told = () => view.of('tell').map((t) => t.notice);
const notes = (kind: string) => view.of('notes').flatMap((n) => n.notes.filter((x) => x.kind === kind));

describe('export of a closed round', () => {
  it('refuses an open round and one without a winner; refuses to write an export past a limit', async () => {
    const { runner, exporter } = setup(fakeGenerator());
    const open = await closedRound(runner);
    await exporter.exportWinner({ roundId: open.id, user: ALICE });
    expect(told().at(-1)).toEqual({ kind: 'export_refused', round: 1, reason: 'not_closed' });
    const empty = await closedRound(runner, false);
    await runner.close({ roundId: empty.id, user: ALICE });
    await exporter.exportWinner({ roundId: empty.id, user: ALICE });
    expect(told().at(-1)).toEqual({ kind: 'export_refused', round: 1, reason: 'no_winner' });
    // The fake generator's images are 5 px: no platform takes them, so nothing is written or recorded.
    await runner.close({ roundId: open.id, user: ALICE });
    await exporter.exportWinner({ roundId: open.id, user: ALICE });
    expect(notes('export_failed')).toEqual([
      { kind: 'export_failed', detail: expect.stringMatching(/breaks \d+ platform limits and was not written/) },
    ]);
    expect(view.of('archive')).toEqual([]);
    expect(await rounds.exportsOf(open.id)).toEqual([]);
    await exporter.results({ roundId: open.id, user: ALICE });
    expect(told().at(-1)).toEqual({ kind: 'results_none', round: 1, exported: false });
  });

  it('zips the winner and its sibling, records them with their library rows, and reports results once imported', async () => {
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
    });
    const { runner, exporter, refreshed } = setup(generator);
    const round = await closedRound(runner);
    await runner.close({ roundId: round.id, user: ALICE });
    const closed = await rounds.round(round.id);
    expect(closed?.winnerCreativeId).toBeTruthy();
    await exporter.exportWinner({ roundId: round.id, user: BOB });
    expect(notes('export_failed')).toEqual([]);
    const archive = view.of('archive')[0];
    expect(archive.file.filename).toMatch(/^adcreative-export-round-1-adc-[0-9a-f]{12}\.zip$/);
    expect(Buffer.from(archive.file.bytes).readUInt32LE(0)).toBe(0x04034b50);
    const records = await rounds.exportsOf(round.id);
    expect(records.map((r) => [r.label, r.role, r.by, r.platforms.sort()])).toEqual([
      ['A', 'winner', BOB, ['google-ads', 'linkedin', 'meta', 'tiktok']],
      ['B', 'sibling', BOB, ['google-ads', 'linkedin', 'meta', 'tiktok']],
    ]);
    // The winner's row from the close; the sibling's added now, tagged as an exported sibling.
    expect(records[0].creativeId).toBe(closed?.winnerCreativeId);
    const sibling = lib.items.find((i) => i.id === records[1].creativeId);
    expect(sibling).toMatchObject({ source: `export:${round.id}`, tags: ['exported', 'sibling'] });
    expect(notes('exported')[0]).toMatchObject({
      by: BOB,
      ads: [
        { label: 'A', role: 'winner' },
        { label: 'B', role: 'sibling' },
      ],
    });
    expect(refreshed).toEqual([round.id]);
    expect((await runner.snapshot(round.id)).afterVote).toEqual({ exported: true });

    await exporter.results({ roundId: round.id, user: ALICE });
    expect(told().at(-1)).toEqual({ kind: 'results_none', round: 1, exported: true });
    const at = new Date('2026-07-01T00:00:00Z');
    await store.addResultRows(
      records.map((r, i) => ({
        importId: 'imp-1',
        line: i + 2,
        platform: 'meta' as const,
        source: 'report.csv',
        adKey: r.adKey,
        platformAdId: null,
        adName: `${r.adKey} ${r.label}`,
        impressions: 1000 * (i + 1),
        clicks: 10,
        conversions: 1,
        raw: {},
        reason: null,
        importedAt: at,
      })),
    );
    await exporter.results({ roundId: round.id, user: ALICE });
    expect(notes('results')[0]).toEqual({
      kind: 'results',
      rows: [
        {
          label: 'A',
          adKey: records[0].adKey,
          role: 'winner',
          impressions: 1000,
          clicks: 10,
          conversions: 1,
          platforms: ['meta'],
          importedAt: at,
        },
        {
          label: 'B',
          adKey: records[1].adKey,
          role: 'sibling',
          impressions: 2000,
          clicks: 10,
          conversions: 1,
          platforms: ['meta'],
          importedAt: at,
        },
      ],
      waiting: [],
    });
  }, 120_000);
});
