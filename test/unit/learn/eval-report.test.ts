import { describe, expect, it } from 'vitest';
import type { AdapterMeta } from '../../../src/clip/adapter.ts';
import {
  barChart,
  fitLabel,
  formatStatsText,
  niceTicks,
  renderEvalReport,
  type StatsInput,
  statsSummary,
  textWidth,
} from '../../../src/learn/eval-report.ts';
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

/** The chart whose caption is `title`, cut out of the page. */
function chart(html: string, title: string): string {
  const at = html.indexOf(`<figcaption>${title}`);
  expect(at).toBeGreaterThan(-1);
  return html.slice(at, html.indexOf('</figure>', at));
}

/** The y-axis: each tick's label and height; the bars: their height and tooltip. */
function readChart(svg: string) {
  const ticks = [
    ...svg.matchAll(/<line x1="48" x2="544" y1="([\d.]+)" y2="[\d.]+" stroke="#e5e7eb"\/><text [^>]*text-anchor="end">([^<]*)<\/text>/g),
  ].map((m) => ({ y: Number(m[1]), label: m[2] }));
  const bars = [...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"[^>]*><title>([^<]*)<\/title>/g)].map(
    (m) => ({
      x: Number(m[1]),
      top: Number(m[2]),
      height: Number(m[3]),
      title: m[4],
    }),
  );
  const labels = [...svg.matchAll(/<text x="([\d.]+)" y="226" font-size="10" text-anchor="middle">([^<]*)<\/text>/g)].map((m) => ({
    x: Number(m[1]),
    text: m[2],
  }));
  return { ticks, bars, labels };
}

describe('eval report charts', () => {
  it('ticks at round steps, and a bar reaches the tick of its value', () => {
    expect(niceTicks(5, { integer: true })).toEqual([0, 1, 2, 3, 4, 5]);
    expect(niceTicks(9, { integer: true })).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(2, { integer: true })).toEqual([0, 1, 2]);
    expect(niceTicks(0.37)).toEqual([0, 0.1, 0.2, 0.3, 0.4]);
    expect(niceTicks(0)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);

    const svg = barChart('Votes', ['a', 'b', 'c'], [{ name: 'votes', values: [4, 5, 1] }], { integer: true });
    const { ticks, bars } = readChart(svg);
    expect(ticks.map((t) => t.label)).toEqual(['0', '1', '2', '3', '4', '5']);
    // Evenly spaced: every gap between neighbouring ticks is the same.
    const gaps = ticks.slice(1).map((t, i) => ticks[i].y - t.y);
    for (const g of gaps) expect(g).toBeCloseTo(gaps[0], 5);
    // The 4-vote bar's top sits on the "4" line, the 5-vote bar's on "5".
    const tickY = (label: string) => ticks.find((t) => t.label === label)!.y;
    expect(bars[0].top).toBeCloseTo(tickY('4'), 0);
    expect(bars[1].top).toBeCloseTo(tickY('5'), 0);
    expect(bars[2].top).toBeCloseTo(tickY('1'), 0);
  });

  it('names rounds by their brief and round number, never by id, and labels never overlap', () => {
    const many: RoundSummary[] = [];
    const briefs = ['Summer sale on running shoes for young urban runners', '清爽不油腻的防晒霜，面向年轻女性', 'Budget app launch'];
    for (let i = 0; i < 36; i++) {
      const b = i % 3;
      many.push({
        roundId: `0f9c1d2e-${String(i).padStart(4, '0')}-4a5b-8c7d-6e5f4a3b2c1d`,
        briefId: `C1:${b}`,
        brief: `${briefs[b]} --variants 4`,
        number: Math.floor(i / 3) + 1,
        status: 'closed',
        variants: [{ variantId: `v${i}`, label: 'A', scores: {}, votes: i % 7, winner: false }],
      });
    }
    const html = renderEvalReport({ ...input({ rounds: many }), generatedAt: new Date('2026-11-03T00:00:00Z') });
    const svg = chart(html, 'Votes per round');
    expect(svg).not.toContain('0f9c1d2e');
    // Each brief is named once under its rounds (options stripped), rounds by number.
    expect(svg).toContain('<title>Summer sale on running shoes for young urban runners</title>');
    expect(svg).not.toContain('--variants');
    expect((svg.match(/<title>Budget app launch<\/title>/g) ?? []).length).toBe(1);
    expect(svg).toContain('Summer sale on running shoes for young urban runners · round 12 · votes: ');
    const { labels, bars } = readChart(svg);
    expect(bars).toHaveLength(36);
    // Rounds of one brief sit together: the first twelve bars are the summer sale's, in order.
    expect(bars.slice(0, 12).every((b) => b.title.startsWith('Summer sale'))).toBe(true);
    // Estimated text extents (0.6 em a glyph) of neighbouring labels do not meet.
    const extent = (l: { x: number; text: string }) => [l.x - textWidth(l.text, 10) / 2, l.x + textWidth(l.text, 10) / 2];
    for (let i = 1; i < labels.length; i++) expect(extent(labels[i])[0]).toBeGreaterThanOrEqual(extent(labels[i - 1])[1]);
    const groupLabels = [...svg.matchAll(/y="242" font-size="11" text-anchor="middle"><title>[^<]*<\/title>([^<]*)<\/text>/g)].map(
      (m) => m[1],
    );
    expect(groupLabels).toHaveLength(3);
    for (const g of groupLabels) expect(textWidth(g, 11)).toBeLessThanOrEqual(496 / 3);
    expect(groupLabels[1]).toMatch(/^清爽不油腻的防晒霜，面向年.*…$/u);
  });

  it('cuts a label to its room with an ellipsis, or drops it when nothing fits', () => {
    expect(fitLabel('R12', 30, 10)).toBe('R12');
    expect(fitLabel('Summer sale on running shoes', 60, 10)).toBe('Summer sa…');
    // CJK glyphs are a full em wide.
    expect(fitLabel('清爽不油腻的防晒霜', 50, 10)).toBe('清爽不油…');
    expect(fitLabel('R12', 8, 10)).toBe('');
  });
});
