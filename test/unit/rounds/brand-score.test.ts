/**
 * The brand score is kept with the variant's scores (a JSON column: no migration), and an edit of
 * the copy stores the edited copy's score in its place.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BrandScore } from '../../../src/generate/brand-score.ts';
import { RoundService, type RoundSettings } from '../../../src/rounds/service.ts';
import { openSqliteStore, type SqliteRoundStore } from '../../../src/rounds/sqlite.ts';
import type { RoundOptions } from '../../../src/rounds/types.ts';

const settings: RoundSettings = {
  ratePerHour: 3,
  dailyImageCap: 10,
  monthlyUsdCap: 1,
  autoCloseMinutes: 60,
  reminderMinutes: 10,
  doubleClickMs: 800,
  pricing: { estimate: (n: number) => ({ usd: 0.01 + 0.04 * n, textCalls: 1, imageCalls: n }) },
};
const options: RoundOptions = { variants: 1, formats: ['square'], channel: 'meta', anonymous: false, hideTally: false };

let dir: string;
let store: SqliteRoundStore;
let svc: RoundService;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rounds-brand-'));
  store = await openSqliteStore(join(dir, 'state.sqlite'));
  svc = new RoundService({ store, settings, clock: () => new Date('2026-03-10T12:00:00Z') });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const failing: BrandScore = {
  score: 0.5,
  passed: 1,
  applicable: 2,
  minimum: 0.8,
  regenerated: true,
  rules: [
    { rule: 'must_say', status: 'failed', detail: 'missing "Northwind"' },
    { rule: 'never_say', status: 'passed', detail: 'none used' },
    { rule: 'logo_contrast', status: 'not_applicable', detail: 'the brand kit has no logo' },
  ],
};

describe('brand score in the round store', () => {
  it('keeps the score, its rules and the minimum with the variant, and an edit replaces it', async () => {
    const round = await svc.createRound({ channel: 'C1', threadTs: '1.1', number: 1, brief: 'coffee', author: 'U1', options });
    const scores = { relevance: 0.3, novelty: 0.5, diversity: 0.5, preference: null, total: 0.5, brand: failing };
    const [v] = await svc.recordVariants(round, [
      {
        headline: 'Fresh beans',
        body: 'b',
        cta: 'Order now',
        concept: 'x',
        reason: 'y',
        scores,
        offline: true,
        flags: [],
        formats: ['square'],
      },
    ]);
    const [stored] = await svc.variants(round.id);
    expect(stored.scores.brand).toEqual(failing);

    const fixed: BrandScore = {
      ...failing,
      score: 1,
      passed: 2,
      regenerated: undefined,
      rules: failing.rules.map((r) => ({ ...r, status: r.status === 'failed' ? 'passed' : r.status })),
    };
    const edited = svc.editedCopy(
      v,
      { headline: 'Northwind beans', body: 'b', cta: 'Order now', flags: [], scores: { ...scores, brand: fixed } },
      'U2',
    );
    await svc.saveCopy(edited);
    const [after] = await svc.variants(round.id);
    expect(after.headline).toBe('Northwind beans');
    expect(after.scores.brand?.score).toBe(1);
    expect(after.scores.relevance).toBe(0.3);
    expect(after.flags).toEqual(['copy edited by <@U2>']);
  });
});
