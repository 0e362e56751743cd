import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { SegmentStanding } from '../../../../src/rounds/view.ts';
import { EMOJI, renderBlocks } from '../../../../src/sandbox/blockkit.ts';
import { checkBlocks } from '../../../../src/sandbox/slack-rules.ts';
import { audienceHeadingMessage, audienceHeadings, segmentLeadersBlock } from '../../../../src/slack/blocks/audiences.ts';
import { noticeMessage } from '../../../../src/slack/blocks/ephemeral.ts';
import { checkMessage, checkView } from '../../../../src/slack/blocks/kit.ts';
import { noteText, parentMessage, tallyMessage, variantMessage } from '../../../../src/slack/blocks/round.ts';
import { BRIEF_BLOCKS, briefModal } from '../../../../src/slack/blocks/views.ts';

const huge = 'Ω<&>'.repeat(2000);
const variant = (label: string, audience?: string) => ({
  id: `r1-${label}`,
  label,
  headline: `Headline ${label}`,
  body: 'Body',
  cta: 'Shop now',
  concept: 'c',
  reason: 'r',
  scores: { relevance: 0.3, novelty: 0.5, diversity: 0.2, preference: null, total: 0.4 },
  offline: false,
  flags: [],
  ...(audience ? { audience } : {}),
});
const standing = (audience: string, labels: string[], leader?: string, votes = 0): SegmentStanding => ({
  audience,
  labels,
  votes,
  leader: leader ? { variantId: `r1-${leader}`, label: leader, headline: `Headline ${leader}`, votes, tie: false } : null,
});
const tallyBase = {
  roundId: 'r1',
  round: 1,
  status: 'open' as const,
  anonymous: false,
  hideTally: false,
  total: 3,
  entries: ['A', 'B', 'C', 'D'].map((label) => ({ label, votes: 0, voters: [], probBest: 0.25 })),
  pendingFeedback: 0,
};

describe('audiences in the thread', () => {
  it('a heading opens each run of one audience; nothing without audiences', () => {
    const items = [variant('A', 'students'), variant('B', 'students'), variant('C', 'parents'), variant('D', 'parents')].map((v) => ({
      variant: v,
    }));
    expect([...audienceHeadings(items)]).toEqual([
      ['r1-A', { audience: 'students', labels: ['A', 'B'] }],
      ['r1-C', { audience: 'parents', labels: ['C', 'D'] }],
    ]);
    expect(audienceHeadings([variant('A'), variant('B')].map((v) => ({ variant: v }))).size).toBe(0);
  });

  it('the heading names the audience and its variants, escaped, within limits', () => {
    const m = audienceHeadingMessage({ audience: 'parents <of> toddlers', labels: ['C', 'D'], round: 2 });
    expect(m.text).toBe('For parents &lt;of&gt; toddlers: variants C, D of round 2');
    expect(JSON.stringify(m.blocks)).toContain('For parents <of> toddlers');
    // A person votes once in each audience (migration 6), not once across them all.
    const rule = JSON.stringify(m.blocks);
    expect(rule).toContain('Each person has one vote in each audience: a vote here replaces only your vote for this audience');
    expect(rule).not.toMatch(/across/);
    const long = audienceHeadingMessage({ audience: huge, labels: ['A'], round: 1 });
    expect(checkMessage(long)).toEqual([]);
    expect(checkBlocks(long.blocks)).toBeUndefined();
  });

  it('each variant says its audience; the parent lists the audiences and that variants are per audience', () => {
    const v = variantMessage({ round: 1, variant: variant('C', 'parents'), fileId: null, voteReaction: '+1' });
    expect(JSON.stringify(v.blocks)).toContain('For *parents*');
    expect(JSON.stringify(v.blocks)).toContain('one vote per person for this audience; click again to take it back');
    expect(JSON.stringify(variantMessage({ round: 1, variant: variant('C'), fileId: null, voteReaction: '+1' }).blocks)).toContain(
      '— one vote per person; click again',
    );
    expect(JSON.stringify(variantMessage({ round: 1, variant: variant('C'), fileId: null, voteReaction: '+1' }).blocks)).not.toContain(
      'For *',
    );
    const p = parentMessage({
      brief: 'Cold brew',
      author: 'U1',
      options: {
        variants: 2,
        formats: ['square'],
        channel: 'meta',
        anonymous: false,
        hideTally: false,
        audiences: ['students', 'parents'],
      },
      round: 1,
      status: 'writing',
    });
    expect(JSON.stringify(p.blocks)).toContain('2 variants per audience · square · meta · audiences: students; parents');
  });

  it('a private vote confirmation names the audience the vote is in, and that the others stand', () => {
    const text = (m: ReturnType<typeof noticeMessage>) => JSON.stringify(m.blocks);
    expect(text(noticeMessage({ kind: 'your_vote', label: 'C', retracted: false, audience: 'parents <of> toddlers' }))).toContain(
      'Your vote for parents &lt;of&gt; toddlers: variant C. You have one vote in each audience.',
    );
    expect(text(noticeMessage({ kind: 'your_vote', label: 'C', retracted: true, audience: 'parents' }))).toContain(
      'You took back your vote for variant C (for parents); your votes in other audiences stand.',
    );
    expect(text(noticeMessage({ kind: 'your_vote', label: 'C', retracted: false }))).toContain('Your vote: variant C.');
  });

  it("the tally names each segment's leader, or that it has no votes; the winners once closed", () => {
    const open = tallyMessage({ ...tallyBase, segments: [standing('students', ['A', 'B'], 'B', 2), standing('parents', ['C', 'D'])] });
    const text = JSON.stringify(open.blocks);
    expect(text).toContain('*Leading per audience*');
    expect(text).toContain('• *students*: variant B — “Headline B” — 2 of 2 votes');
    expect(text).toContain('• *parents* (C, D): no votes yet');
    const closed = tallyMessage({ ...tallyBase, status: 'closed', segments: [standing('students', ['A', 'B'], 'B', 2)] });
    expect(JSON.stringify(closed.blocks)).toContain('Winner per audience');
    // Hidden counts hide the leaders too.
    const hidden = tallyMessage({ ...tallyBase, hideTally: true, segments: [standing('students', ['A', 'B'], 'B', 2)] });
    expect(JSON.stringify(hidden.blocks)).not.toContain('per audience');
    expect(segmentLeadersBlock([], false)).toBeUndefined();
  });

  it('stays inside Slack limits with five huge segments (the stand-in agrees)', () => {
    const segments = Array.from({ length: 5 }, (_, i) => standing(`${huge}${i}`, ['A', 'B'], 'A', 7));
    for (const s of segments) if (s.leader) s.leader.headline = huge;
    const m = tallyMessage({ ...tallyBase, segments });
    expect(checkMessage(m)).toEqual([]);
    expect(checkBlocks(m.blocks)).toBeUndefined();
  });

  it('notes say which audience a stored winner is tagged with', () => {
    expect(noteText({ kind: 'stored', label: 'C', audience: 'parents' })).toBe(
      ':books: Variant C is now in the creative library, tagged for parents, with this brief and the votes.',
    );
    expect(noteText({ kind: 'stored', label: 'C' })).toBe(
      ':books: Variant C is now in the creative library, with this brief and the votes.',
    );
    expect(noteText({ kind: 'store_failed', label: 'C', audience: 'parents', detail: 'disk full' })).toContain(
      'The winner for parents could not be stored',
    );
  });

  it('the brief form has an optional audience segments field, within Slack limits', () => {
    const modal = briefModal({
      channelId: 'C1',
      brands: [],
      defaults: { channel: 'meta', formats: ['square'], variants: 4 },
      maxVariants: 10,
      maxChars: 1000,
    });
    const field = modal.blocks.find((b) => b.block_id === BRIEF_BLOCKS.audiences);
    expect(field).toMatchObject({ type: 'input', optional: true, label: { text: 'Audience segments' } });
    expect(checkView(modal)).toEqual([]);
  });

  it('renders on the sandbox page without a placeholder, with emoji the page knows', () => {
    const messages = [
      audienceHeadingMessage({ audience: 'students', labels: ['A', 'B'], round: 1 }),
      variantMessage({ round: 1, variant: variant('A', 'students'), fileId: null, voteReaction: '+1' }),
      tallyMessage({
        ...tallyBase,
        status: 'closed',
        segments: [standing('students', ['A', 'B'], 'B', 2), standing('parents', ['C', 'D'])],
      }),
    ];
    for (const m of messages) expect(renderBlocks(m.blocks, {})).not.toContain('bk-unknown');
    expect(renderBlocks(messages[0].blocks, {})).toContain('For students');
    const src = readFileSync(new URL('../../../../src/slack/blocks/audiences.ts', import.meta.url), 'utf8');
    const names = [...new Set([...src.matchAll(/:([a-z0-9_+-]+):/g)].map((m) => m[1]))];
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((n) => !(n in EMOJI))).toEqual([]);
  });
});
