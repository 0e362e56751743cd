import { describe, expect, it } from 'vitest';
import { errorMessage, helpMessage, notInChannelMessage, statsMessage } from '../../../../src/slack/blocks/ephemeral.ts';
import { checkMessage, checkView, esc, LIMITS } from '../../../../src/slack/blocks/kit.ts';
import { failedRoundMessage, inspirationMessage, parentMessage, tallyMessage, variantMessage } from '../../../../src/slack/blocks/round.ts';
import { briefModal, editCopyModal, homeView } from '../../../../src/slack/blocks/views.ts';

const huge = 'Ω<&>'.repeat(5000);
const options = {
  variants: 6,
  formats: ['square', 'portrait', 'story', 'landscape'] as const,
  brand: 'acme',
  channel: 'tiktok' as const,
  anonymous: false,
  hideTally: false,
};
const variant = (label: string) => ({
  id: `00000000-0000-0000-0000-000000000000-${label}`,
  label,
  headline: huge,
  body: huge,
  cta: huge,
  concept: huge,
  reason: huge,
  scores: { relevance: 0.31234, novelty: 0.5, diversity: 0.2, preference: null, total: 0.4 },
  offline: true,
  flags: Array.from({ length: 50 }, () => huge.slice(0, 100)),
});

describe('Block Kit builders stay inside Slack limits with extreme input', () => {
  it('parent, inspiration, variant and tally messages', () => {
    const msgs = [
      parentMessage({
        brief: huge,
        author: 'U1',
        options: { ...options, formats: [...options.formats] },
        round: 12,
        status: huge,
        cost: huge,
        winner: huge,
        synthetic: true,
      }),
      inspirationMessage({
        round: 1,
        state: 'ok',
        hits: Array.from({ length: 40 }, () => ({
          headline: huge,
          channel: huge,
          brand: huge,
          ctr: 0.0123,
          similarity: 0.9,
          fileId: 'F1',
          demo: true,
        })),
        synthetic: true,
      }),
      inspirationMessage({ round: 1, state: 'empty', hits: [] }),
      inspirationMessage({ round: 1, state: 'unavailable', detail: huge, hits: [] }),
      variantMessage({ round: 3, variant: variant('F'), fileId: 'F123', voteReaction: '+1' }),
      tallyMessage({
        roundId: 'r'.repeat(36),
        round: 2,
        status: 'open',
        anonymous: false,
        hideTally: false,
        total: 500,
        entries: ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J'].map((l) => ({
          label: l,
          votes: 50,
          voters: Array.from({ length: 50 }, (_, i) => `U${i}XXXXXXXX`),
          probBest: 0.1,
        })),
        pendingFeedback: 999,
        cost: huge,
        closesAt: new Date(),
        result: huge,
      }),
      helpMessage({ brands: Array.from({ length: 300 }, (_, i) => `brand${i}`), maxVariants: 6, maxChars: 1000, voteReaction: '+1' }),
      statsMessage({
        month: { rounds: 3, failed: 0, images: 12, usd: 1.234 },
        day: { rounds: 1, failed: 0, images: 4, usd: 0.2 },
        monthlyUsdCap: 100,
        dailyImageCap: 200,
      }),
      errorMessage(huge, huge),
      failedRoundMessage({ roundId: 'r1', headline: huge }),
      notInChannelMessage({ channelId: 'C1', kind: 'hidden', botName: 'adcreative' }),
    ];
    for (const m of msgs) expect(checkMessage(m)).toEqual([]);
  });

  it('optional inputs do not say "(optional)" themselves: Slack adds it to their label', () => {
    const modal = briefModal({
      channelId: 'C1',
      brands: ['acme'],
      defaults: { channel: 'meta', formats: ['square'], variants: 4 },
      maxVariants: 6,
      maxChars: 1000,
    });
    const inputs = modal.blocks.filter((b) => b.type === 'input') as unknown as { optional?: boolean; label: { text: string } }[];
    expect(inputs.some((b) => b.optional)).toBe(true);
    for (const b of inputs) if (b.optional) expect(b.label.text).not.toMatch(/optional/i);
  });

  it('modals and the App Home', () => {
    expect(
      checkView(
        briefModal({
          channelId: 'C1',
          brands: Array.from({ length: 500 }, (_, i) => `b${i}`),
          defaults: { channel: 'meta', formats: ['square'], variants: 4 },
          maxVariants: 10,
          maxChars: 5000,
        }),
      ),
    ).toEqual([]);
    expect(checkView(editCopyModal({ variantId: 'v', label: 'A', headline: huge, body: huge, cta: huge }))).toEqual([]);
    const many = Array.from({ length: 100 }, () => ({
      brief: huge,
      round: 3,
      status: 'voting open',
      permalink: 'https://x.slack.com/archives/C1/p1',
      votes: 3,
    }));
    const wins = Array.from({ length: 100 }, () => ({ brief: huge, headline: huge, label: 'B', permalink: null, votes: 4 }));
    expect(checkView(homeView({ user: 'U1', open: many, winners: wins, synthetic: true }))).toEqual([]);
  });

  it('button values fit and the vote button carries the variant id', () => {
    const m = variantMessage({ round: 1, variant: variant('A'), fileId: null, voteReaction: 'heart' });
    const actions = m.blocks.find((b) => b.type === 'actions') as unknown as {
      elements: { action_id: string; value?: string; options?: { value: string }[] }[];
    };
    expect(actions.elements[0]).toMatchObject({ action_id: 'vote', value: variant('A').id });
    for (const o of actions.elements[1].options ?? []) expect(o.value.length).toBeLessThanOrEqual(LIMITS.optionValue);
    expect(m.blocks.some((b) => b.type === 'image')).toBe(false);
    expect(JSON.stringify(m.blocks)).toContain(':heart:');
  });

  it('hides counts until close and names only when not anonymous', () => {
    const base = {
      roundId: 'r',
      round: 1,
      total: 2,
      entries: [{ label: 'A', votes: 2, voters: ['U1', 'U2'], probBest: 0.8 }],
      pendingFeedback: 0,
    };
    const hidden = JSON.stringify(tallyMessage({ ...base, status: 'open', anonymous: false, hideTally: true }).blocks);
    expect(hidden).toContain('hidden until the round closes');
    expect(hidden).not.toContain('<@U1>');
    const anon = JSON.stringify(tallyMessage({ ...base, status: 'closed', anonymous: true, hideTally: true }).blocks);
    expect(anon).toContain('*2*');
    expect(anon).not.toContain('<@U1>');
    expect(anon).not.toContain('close_round');
  });

  it('escapes mrkdwn control characters in user text', () => {
    expect(esc('<!channel> & <@U1>')).toBe('&lt;!channel&gt; &amp; &lt;@U1&gt;');
    const m = parentMessage({
      brief: '<!channel> buy now',
      author: 'U1',
      options: { ...options, formats: ['square'] },
      round: 1,
      status: 'ok',
    });
    expect(JSON.stringify(m.blocks)).not.toContain('<!channel>');
  });

  it('the checker itself catches what Slack refuses', () => {
    const tooMany = { text: 'x', blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) };
    expect(checkMessage(tooMany)[0]).toContain('51 blocks');
    const longValue = {
      text: 'x',
      blocks: [
        {
          type: 'actions',
          elements: [{ type: 'button', action_id: 'a', text: { type: 'plain_text', text: 'b' }, value: 'v'.repeat(2001) }],
        },
      ],
    };
    expect(checkMessage(longValue).join()).toContain('limit 2000');
    expect(checkMessage({ text: 'x', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'y'.repeat(3001) } }] }).join()).toContain(
      'limit 3000',
    );
    expect(checkView({ type: 'modal', title: { type: 'plain_text', text: 't'.repeat(25) }, blocks: [] }).join()).toContain('limit 24');
    expect(checkMessage({ text: 'x', blocks: [{ type: 'image', image_url: 'https://x/y.png' }] }).join()).toContain('alt_text');
  });
});
