import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseCommandArgs } from '../../../src/cli/command.ts';
import { loadConfig } from '../../../src/config.ts';
import { makeLearningCommands } from '../../../src/learn/commands.ts';
import { formatStatsText, renderEvalReport, type StatsInput, statsSummary, type TasteCurve } from '../../../src/learn/eval-report.ts';
import type { PreferenceMeta } from '../../../src/learn/preference.ts';
import { silentLogger } from '../../../src/log.ts';

const curve: TasteCurve = {
  date: '2026-11-30T10:00:00.000Z',
  settings: { seeds: 20, rounds: 6, shown: 4 },
  curve: {
    today: [0, 10, 30, 200].map((at, i) => ({
      at,
      votes: at,
      accuracy: { mean: [0.5, 0.6, 0.66, 0.87][i], worst: [0.5, 0.55, 0.6, 0.83][i] },
    })),
    new: [0, 10, 30, 200].map((at, i) => ({
      at,
      votes: at,
      accuracy: { mean: [0.7, 0.72, 0.76, 0.89][i], worst: [0.6, 0.62, 0.69, 0.87][i] },
    })),
  },
  regret: {
    rounds: [1, 2, 3, 4, 5, 6],
    favouriteShareWindow5: {
      random: [0.3, 0.3, 0.3, 0.3, 0.3, 0.3],
      today: [0.1, 0.2, 0.2, 0.2, 0.25, 0.3],
      new: [0.4, 0.45, 0.5, 0.5, 0.55, 0.6],
    },
  },
};

const meta = (
  votes: number,
  prior?: { ctrRows: number; winners: number },
): PreferenceMeta & { prior?: { ctrRows: number; winners: number } } => ({
  model: 'm',
  dims: 512,
  adapter: null,
  trainedAt: '2026-11-30T09:00:00.000Z',
  votes,
  rounds: 3,
  comparisons: { votes: 0, ctr: 0 },
  l2: 1,
  heldOut: { rounds: 0, comparisons: 0, accuracy: null },
  calibration: [],
  reference: [],
  prior,
});

const stats = (preference: StatsInput['preference']): StatsInput => ({
  rounds: [],
  adapter: null,
  adapterEnabled: true,
  preference,
  preferenceMinVotes: 10,
  libraryRows: 400,
  retrainShare: 0.25,
});

describe("the report's taste section", () => {
  it("plots the learning curve and the favourite's share, today's model against the taste model", () => {
    const html = renderEvalReport({ ...stats(null), generatedAt: new Date('2026-11-30T12:00:00Z'), tasteCurve: curve });
    expect(html).toContain("Learning the team's taste");
    expect(html).toContain('Held-out pairwise accuracy against votes cast');
    expect(html).toMatch(/Rounds won by the team(&#39;|')s favourite/);
    expect(html).toContain('20 seeds × 6 rounds');
    // Two lines per model (mean and worst seed) and three for regret.
    expect(html.match(/<path d="M/g)?.length).toBeGreaterThanOrEqual(7);
    expect(html).toContain('stroke-dasharray="4 3"><title>taste (worst)</title>');
  });

  it('says how to get a curve when there is none', () => {
    const html = renderEvalReport({ ...stats(null), generatedAt: new Date() });
    expect(html).toContain('npm run bench -- taste');
  });

  it('calls a model with priors on before its first vote, and one without them insufficient', () => {
    expect(formatStatsText(statsSummary(stats({ meta: meta(0, { ctrRows: 120, winners: 4 }) })))).toContain(
      'Preference model: on, trained on 0 votes and priors (CTR of 120 creatives, 4 past winners), held-out pairwise accuracy —',
    );
    expect(statsSummary(stats({ meta: meta(3, { ctrRows: 0, winners: 0 }) })).preference.state).toBe('insufficient');
  });

  it('eval --taste reads the benchmark file, and refuses one that is not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'taste-report-'));
    try {
      const cmds = makeLearningCommands({
        config: () => loadConfig({ DATA_DIR: dir }),
        openSources: async () => ({ model: { name: 'm', dims: 0 }, close: async () => {} }),
        logger: silentLogger,
      });
      const evalCmd = cmds.find((c) => c.name === 'eval')!;
      const io = { stdout: new PassThrough(), stderr: new PassThrough() };
      const good = join(dir, 'taste.json');
      writeFileSync(good, JSON.stringify(curve));
      const out = join(dir, 'r.html');
      expect(await evalCmd.run(parseCommandArgs(evalCmd, ['--out', out, '--taste', good]), io as never)).toBe(0);
      const bad = join(dir, 'bad.json');
      writeFileSync(bad, JSON.stringify({ name: 'train' }));
      await expect(evalCmd.run(parseCommandArgs(evalCmd, ['--out', out, '--taste', bad]), io as never)).rejects.toThrow(
        /not a taste benchmark result/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
