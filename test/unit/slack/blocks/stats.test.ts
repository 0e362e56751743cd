import { describe, expect, it } from 'vitest';
import { formatStatsText, statsSummary } from '../../../../src/rank/eval-report.ts';
import { statsMessage } from '../../../../src/slack/blocks/ephemeral.ts';

const usage = { rounds: 3, images: 12, usd: 0.5 };

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
});
