import { describe, expect, it } from 'vitest';
import type { AdapterMeta } from '../../../src/clip/adapter.ts';
import { formatStatsText, renderEvalReport, type StatsInput, statsSummary } from '../../../src/learn/eval-report.ts';
import type { PreferenceMeta } from '../../../src/learn/preference.ts';
import type { RoundSummary } from '../../../src/learn/sources.ts';

function rounds(): RoundSummary[] {
  const out: RoundSummary[] = [];
  // brief-a: 3 rounds, brief-b: 1 round (open), brief-c: 1 round closed with no votes.
  const mk = (roundId: string, briefId: string, status: 'open' | 'closed', votes: number[], winner: number | null): RoundSummary => ({
    roundId,
    briefId,
    status,
    variants: votes.map((v, i) => ({
      variantId: `${roundId}-${i}`,
      label: String.fromCharCode(65 + i),
      scores: {
        relevance: 0.2 + 0.02 * i + (i === winner ? 0.05 : 0),
        novelty: 0.4 - 0.01 * i,
        preference: i === winner ? 0.9 : 0.3 + 0.01 * i,
      },
      votes: v,
      winner: i === winner,
    })),
  });
  out.push(mk('a1', 'brief-a', 'closed', [3, 1, 0], 0));
  out.push(mk('a2', 'brief-a', 'closed', [0, 4, 1], 1));
  out.push(mk('a3', 'brief-a', 'closed', [2, 2, 5], 2));
  out.push(mk('b1', 'brief-b', 'open', [1, 0, 0], null));
  out.push(mk('c1', 'brief-c', 'closed', [0, 0, 0], null));
  return out;
}

const recall = (r1: number, n = 200) => ({
  n,
  textToImage: { r1, r5: r1 + 0.05, r10: r1 + 0.08 },
  imageToText: { r1, r5: r1 + 0.04, r10: r1 + 0.07 },
});

const adapterMeta: AdapterMeta = {
  model: 'openai/clip-vit-base-patch32',
  dims: 512,
  libraryRows: 1000,
  trainedAt: '2026-11-01T10:00:00.000Z',
  logitScale: 40,
  seed: 42,
  pairs: { train: 900, heldOut: 100 },
  epochs: 6,
  bestEpoch: 4,
  before: recall(0.31),
  after: recall(0.52),
};

const prefMeta: PreferenceMeta = {
  model: 'openai/clip-vit-base-patch32',
  dims: 512,
  adapter: null,
  trainedAt: '2026-11-02T10:00:00.000Z',
  votes: 120,
  rounds: 30,
  comparisons: { votes: 300, ctr: 10 },
  l2: 0.1,
  heldOut: { rounds: 6, comparisons: 60, accuracy: 0.74 },
  calibration: [
    { predicted: 0.2, observed: 0.25, count: 20 },
    { predicted: 0.5, observed: 0.5, count: 40 },
    { predicted: 0.8, observed: 0.75, count: 20 },
  ],
  reference: [0, 1, 2],
};

function input(over: Partial<StatsInput> = {}): StatsInput {
  return {
    rounds: rounds(),
    adapter: { id: 'abc123def456', meta: adapterMeta },
    adapterEnabled: true,
    preference: { meta: prefMeta },
    preferenceMinVotes: 50,
    libraryRows: 1100,
    retrainShare: 0.25,
    ...over,
  };
}

describe('statsSummary', () => {
  it('counts rounds, briefs, votes and winners', () => {
    const s = statsSummary(input());
    expect(s.rounds).toEqual({ total: 5, open: 1, closed: 4, briefs: 3, withWinner: 3 });
    expect(s.votes.total).toBe(4 + 5 + 9 + 1 + 0);
    expect(s.votes.medianPerRound).toBe(4);
    expect(s.adapter.state).toBe('ready');
    expect(s.adapter.growth).toBeCloseTo(0.1);
    expect(s.preference).toMatchObject({ state: 'ready', votes: 120, accuracy: 0.74 });
    expect(s.recall.after?.textToImage.r1).toBe(0.52);
  });

  it('says when the adapter is off, stale or missing and when votes are insufficient', () => {
    expect(statsSummary(input({ adapterEnabled: false })).adapter.state).toBe('off');
    expect(statsSummary(input({ libraryRows: 1300 })).adapter.state).toBe('stale');
    expect(statsSummary(input({ adapter: null })).adapter.state).toBe('none');
    const few = statsSummary(input({ preferenceMinVotes: 500 }));
    expect(few.preference.state).toBe('insufficient');
    const text = formatStatsText(few).join('\n');
    expect(text).toMatch(/insufficient data \(120 of 500 votes needed\)/);
    expect(formatStatsText(statsSummary(input({ libraryRows: 1300 }))).join('\n')).toMatch(/grown 30\.0% since training/);
    expect(statsSummary(input({ preference: null, rounds: [] }))).toMatchObject({
      preference: { state: 'untrained' },
      votes: { total: 0, medianPerRound: null },
    });
  });

  it('gives one readable line per figure, recall before → after included', () => {
    const text = formatStatsText(statsSummary(input())).join('\n');
    expect(text).toContain('Rounds: 5 (1 open, 4 closed) over 3 briefs; 3 with a winner');
    expect(text).toContain('Recall@1 text→image: 31.0% → 52.0%');
    expect(text).toContain('held-out pairwise accuracy 74.0%');
  });
});

describe('renderEvalReport', () => {
  it('is one self-contained page: inline SVG charts, nothing fetched from the network', () => {
    const html = renderEvalReport({ ...input(), generatedAt: new Date('2026-11-03T00:00:00Z') });
    expect(html.startsWith('<!doctype html>')).toBe(true);
    // Every chart the issue asks for.
    for (const title of [
      'Held-out recall@k, raw CLIP against the adapter',
      'Relevance (cosine brief ↔ image)',
      'Novelty',
      'Predicted preference',
      'Calibration on held-out comparisons',
      "Winners' scores against the other variants",
      'Rounds per brief',
      'Votes per round',
    ]) {
      expect(html).toContain(title.replace("'", '&#39;'));
    }
    expect((html.match(/<svg /g) ?? []).length).toBe(8);
    // No scripts, stylesheets, images or fonts from elsewhere; the only URL is the SVG namespace.
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(/i);
    expect(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, '')).not.toMatch(/https?:\/\//);
    // Rounds per brief: one brief with 3 rounds, two with 1.
    expect(html).toContain('3 rounds · briefs: 1');
    expect(html).toContain('1 round · briefs: 2');
    expect(html).toContain('31.0% → <b>52.0%</b>');
  });

  it('escapes what users typed and shows placeholders when there is nothing yet', () => {
    const evil = rounds();
    evil[0].roundId = '<img src=x onerror=alert(1)>';
    const html = renderEvalReport({ ...input({ rounds: evil, adapter: null, preference: null }), generatedAt: new Date() });
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;img src=x');
    expect(html).toContain('no adapter trained yet');
    expect(html).toContain('no preference model yet');
    // The summary's commands read as code, not as Slack's backticks.
    expect(html).toContain('<li>Adapter: not trained (run <code>adcreative train adapter</code>)</li>');
    expect(html.slice(html.indexOf('<ul class="stats">'), html.indexOf('</ul>'))).not.toContain('`');
    const none = renderEvalReport({ ...input({ rounds: [] }), generatedAt: new Date() });
    expect(none).toContain('no closed rounds with winners yet');
  });
});
