import { describe, expect, it } from 'vitest';
import { formatStatsText, statsSummary } from '../../../../src/learn/eval-report.ts';
import { statsMessage } from '../../../../src/slack/blocks/ephemeral.ts';

const usage = { rounds: 3, failed: 0, images: 12, usd: 0.5 };

describe('/adcreative stats', () => {
  it('shows spend against the cap and the learning loop from the same summary the eval report uses', () => {
    const learning = formatStatsText(
      statsSummary({
        rounds: [],
        adapter: null,
        adapterEnabled: true,
        preference: null,
        preferenceMinVotes: 50,
        libraryRows: 240,
        retrainShare: 0.25,
      }),
    );
    const m = statsMessage({ month: usage, day: usage, monthlyUsdCap: 10, dailyImageCap: 100, learning });
    expect(m.text).toContain('$0.50 of $10.00 (5%)');
    expect(m.text).toContain('Rounds: 0');
    const blocks = JSON.stringify(m.blocks);
    expect(blocks).toContain('*Learning*');
  });

  it('leaves the learning section out when no summary is available', () => {
    const m = statsMessage({ month: usage, day: usage, monthlyUsdCap: 0, dailyImageCap: 100 });
    expect(JSON.stringify(m.blocks)).not.toContain('Learning');
    expect(m.text).toContain('(no cap)');
  });

  it('counts rounds that failed (never posted) apart from the ones the team saw', () => {
    const m = statsMessage({ month: { rounds: 5, failed: 2, images: 8, usd: 0.3 }, day: usage, monthlyUsdCap: 0, dailyImageCap: 100 });
    expect(m.text).toContain('3 rounds (+2 failed) · 8 images');
    const one = statsMessage({ month: { rounds: 1, failed: 0, images: 4, usd: 0.1 }, day: usage, monthlyUsdCap: 0, dailyImageCap: 100 });
    expect(one.text).toContain('1 round · 4 images');
    expect(one.text).not.toContain('failed');
  });
});
