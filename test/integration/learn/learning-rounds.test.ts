import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeModel } from '../../../src/clip/synth/index.ts';
import { loadConfig } from '../../../src/config.ts';
import { retrainPreference } from '../../../src/learn/learning.ts';
import { openLearningSources } from '../../../src/learn/open-sources.ts';
import { roundSummaries, roundVoteSource } from '../../../src/learn/round-sources.ts';
import { createRng, normalizeRows } from '../../../src/linalg.ts';
import { silentLogger } from '../../../src/log.ts';
import { type AssetStore, createFileAssetStore } from '../../../src/rounds/assets.ts';
import { openSqliteStore, type SqliteRoundStore } from '../../../src/rounds/sqlite.ts';
import { openState } from '../../../src/rounds/state.ts';
import type { RoundOptions, RoundStore } from '../../../src/rounds/types.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import { type PgCluster, postgresAvailable, startPostgres } from '../../helpers/postgres.ts';

const D = 16;
const ROUNDS = 40;
const options: RoundOptions = { variants: 3, formats: ['square'], channel: 'meta', anonymous: false, hideTally: false };
const caps = {
  perUserLimit: 1000,
  perUserSince: new Date(0),
  dailyImageCap: 100000,
  daySince: new Date(0),
  monthlyUsdCap: 0,
  monthSince: new Date(0),
};

/**
 * ROUNDS rounds of three variants (two per brief thread), four votes each; the team likes
 * images along a hidden direction. All but the last round are closed with their winner.
 */
async function seedRounds(store: RoundStore, a: AssetStore, dims: number): Promise<void> {
  const rng = createRng(3);
  // The team likes images along a hidden direction; four people vote in each round.
  const hidden = Float32Array.from({ length: dims }, () => rng.normal());
  for (let r = 0; r < ROUNDS; r++) {
    const id = `round-${r}`;
    const at = new Date(Date.UTC(2026, 0, 1, 0, r));
    await store.insertRound(
      {
        id,
        channel: 'C1',
        threadTs: `${Math.floor(r / 2)}.0`,
        number: (r % 2) + 1,
        brief: 'b',
        author: 'U1',
        startedBy: 'U1',
        options,
        createdAt: at,
        imagesPlanned: 3,
      },
      caps,
    );
    const utils: number[] = [];
    const variants = [0, 1, 2].map((i) => {
      const emb = Float32Array.from({ length: dims }, () => rng.normal());
      normalizeRows(emb, 1, dims);
      utils.push(emb.reduce((s, x, j) => s + x * hidden[j], 0));
      return { id: `${id}-v${i}`, emb };
    });
    await store.insertVariants(
      variants.map((v, i) => ({
        id: v.id,
        roundId: id,
        label: 'ABC'[i],
        position: i,
        headline: `Headline ${r}.${i}`,
        body: `Body ${r}.${i}`,
        cta: 'Shop',
        concept: 'c',
        reason: 'r',
        scores: { relevance: 0.2 + 0.01 * i, novelty: 0.5, diversity: 0.3, preference: null, total: 0.3 },
        offline: true,
        flags: [],
        formats: ['square'],
        messageTs: null,
        fileId: null,
      })),
    );
    for (const v of variants) {
      await a.save(id, v.id, { images: {}, preview: new Uint8Array([1]), visual: new Uint8Array([1]), imageEmbedding: v.emb });
    }
    await store.transitionRound(id, ['generating'], 'open');
    const best = utils.indexOf(Math.max(...utils));
    for (let u = 0; u < 4; u++) {
      // Three of four follow the hidden taste; one votes at random.
      const pick = u < 3 ? best : rng.int(3);
      await store.swapVote({ roundId: id, user: `U${u}`, audience: '', expected: null, next: variants[pick].id, source: 'button', at });
    }
    if (r < ROUNDS - 1) await store.transitionRound(id, ['open'], 'closed', { closedAt: at, winnerVariantId: variants[best].id });
  }
}

describe('learning loop on the real round store', () => {
  let dir: string;
  let store: SqliteRoundStore;
  const assets = () => createFileAssetStore(join(dir, 'variants'));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'adc-learning-rounds-'));
    store = await openSqliteStore(join(dir, 'state.sqlite'));
    await seedRounds(store, assets(), D);
  });

  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads rounds with their scores, vote counts and winners for the report', async () => {
    const rs = await roundSummaries(store);
    expect(rs).toHaveLength(ROUNDS);
    expect(rs.filter((r) => r.status === 'open')).toHaveLength(1);
    expect(new Set(rs.map((r) => r.briefId)).size).toBe(ROUNDS / 2);
    expect(rs[0].variants.reduce((s, v) => s + v.votes, 0)).toBe(4);
    expect(rs.slice(0, -1).every((r) => r.variants.filter((v) => v.winner).length === 1)).toBe(true);
  });

  it("turns finished rounds' votes into training records and learns the team's taste from them", async () => {
    const enc = fakeEncoder({ dims: D });
    let opened = 0;
    const src = roundVoteSource({
      store,
      assets: assets(),
      encoder: async () => {
        opened++;
        return enc;
      },
    });
    const votes = await src.votes();
    // The open round's votes are left out: they may still move.
    expect(votes).toHaveLength((ROUNDS - 1) * 4);
    expect(votes[0].shown).toHaveLength(3);
    expect(opened).toBe(1);
    // Copy is embedded with the library's caption rule.
    const [want] = await enc.embedTexts(['Headline 0.0 — Body 0.0']);
    expect([...votes[0].shown[0].textEmbedding]).toEqual([...want]);

    const cfg = loadConfig({ DATA_DIR: dir, PREFERENCE_MIN_VOTES: '100' });
    const sources = await openLearningSources(cfg, { logger: silentLogger });
    try {
      expect(sources.library).toBeUndefined();
      expect(sources.rounds).toBeDefined();
      // The real encoder is not needed here: swap the vote source for one on the fake encoder.
      sources.votes = src;
      const run = await retrainPreference({ cfg, sources, logger: silentLogger }, { seed: 1 });
      expect(run.model.meta.votes).toBe((ROUNDS - 1) * 4);
      expect(run.model.meta.model).toBe('test/fake-clip');
      expect(run.model.meta.heldOut.accuracy).toBeGreaterThan(0.6);
    } finally {
      await sources.close();
    }
  });
});

describe('learning loop on PostgreSQL (DATABASE_URL set), as `train preference` runs it', () => {
  const pgOk = postgresAvailable();
  let dir: string;
  let cluster: PgCluster | undefined;
  let env: Record<string, string>;

  beforeAll(async () => {
    if (!pgOk) return;
    dir = mkdtempSync(join(tmpdir(), 'adc-learning-pg-'));
    cluster = await startPostgres();
    // The copy is embedded again by the configured encoder: a tiny synthetic CLIP (512-d).
    await synthesizeModel({ arch: 'tiny', outDir: join(dir, 'model'), seed: 4 });
    env = {
      DATA_DIR: join(dir, 'data'),
      DATABASE_URL: cluster.createDatabase('learning'),
      CLIP_MODEL_DIR: join(dir, 'model'),
      CLIP_DEVICE: 'cpu',
      CLIP_THREADS: '1',
      PREFERENCE_MIN_VOTES: '100',
    };
    // Written the way the bot writes them: through openState, into PostgreSQL.
    const state = await openState(loadConfig(env));
    try {
      await seedRounds(state.store, state.assets, 512);
    } finally {
      await state.close();
    }
  }, 120_000);

  afterAll(() => {
    cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads the rounds and votes from PostgreSQL and trains the preference model on them', async (ctx) => {
    if (!cluster) return ctx.skip();
    const cfg = loadConfig(env);
    const sources = await openLearningSources(cfg, { logger: silentLogger });
    try {
      const rounds = (await sources.rounds?.rounds()) ?? [];
      expect(rounds).toHaveLength(ROUNDS);
      expect(rounds.reduce((n, r) => n + r.variants.reduce((m, v) => m + v.votes, 0), 0)).toBe(ROUNDS * 4);
      const run = await retrainPreference({ cfg, sources, logger: silentLogger }, { seed: 1 });
      expect(run.model.meta.votes).toBe((ROUNDS - 1) * 4);
    } finally {
      await sources.close();
    }
    // Nothing was read from, or written to, a SQLite file beside it.
    expect(existsSync(join(env.DATA_DIR, 'state.sqlite'))).toBe(false);
  });
});

describe('votes in a round with audiences', () => {
  it("choose among the voter's own segment: another segment's variants were not turned down", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'adc-learning-audiences-'));
    const store = await openSqliteStore(join(dir, 'state.sqlite'));
    const a = createFileAssetStore(join(dir, 'variants'));
    try {
      const at = new Date(Date.UTC(2026, 0, 1));
      await store.insertRound(
        {
          id: 'r',
          channel: 'C1',
          threadTs: '1.0',
          number: 1,
          brief: 'b',
          author: 'U1',
          startedBy: 'U1',
          options: { ...options, variants: 2, audiences: ['students', 'parents'] },
          createdAt: at,
          imagesPlanned: 4,
        },
        caps,
      );
      const audiences = ['students', 'students', 'parents', 'parents'];
      await store.insertVariants(
        audiences.map((audience, i) => ({
          id: `v${i}`,
          roundId: 'r',
          label: 'ABCD'[i],
          position: i,
          headline: `Headline ${i}`,
          body: 'Body',
          cta: 'Shop',
          concept: 'c',
          reason: 'r',
          scores: { relevance: 0.2, novelty: 0.5, diversity: 0.3, preference: null, total: 0.3 },
          offline: true,
          flags: [],
          formats: ['square'],
          messageTs: null,
          fileId: null,
          audience,
        })),
      );
      for (let i = 0; i < 4; i++) {
        const emb = Float32Array.from({ length: D }, (_, j) => (j === i ? 1 : 0));
        await a.save('r', `v${i}`, { images: {}, preview: new Uint8Array([1]), visual: new Uint8Array([1]), imageEmbedding: emb });
      }
      await store.transitionRound('r', ['generating'], 'open');
      // One person votes in both segments (migration 6): each vote is a choice among its own segment.
      await store.swapVote({ roundId: 'r', user: 'U1', audience: 'students', expected: null, next: 'v0', source: 'button', at });
      await store.swapVote({ roundId: 'r', user: 'U1', audience: 'parents', expected: null, next: 'v3', source: 'button', at });
      await store.transitionRound('r', ['open'], 'closed', { closedAt: at, winnerVariantId: 'v0' });
      const enc = fakeEncoder({ dims: D });
      const votes = await roundVoteSource({ store, assets: a, encoder: async () => enc }).votes();
      expect(votes.map((v) => [v.userId, v.chosenVariantId, v.shown.map((s) => s.variantId)])).toEqual([
        ['U1', 'v3', ['v2', 'v3']],
        ['U1', 'v0', ['v0', 'v1']],
      ]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
