/**
 * Every message and view the bot's own Block Kit builders produce renders on the sandbox
 * page without a placeholder, with its interactive parts carrying what the page needs.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EMOJI, renderBlocks, renderModal } from '../../../src/sandbox/blockkit.ts';
import { errorMessage, helpMessage, notInChannelMessage, statsMessage } from '../../../src/slack/blocks/ephemeral.ts';
import type { Message, View } from '../../../src/slack/blocks/kit.ts';
import {
  costLine,
  inspirationMessage,
  notesMessage,
  parentMessage,
  tallyMessage,
  variantMessage,
} from '../../../src/slack/blocks/round.ts';
import { briefModal, editCopyModal, homeView } from '../../../src/slack/blocks/views.ts';

const ctx = {
  fileUrl: (ref: { id?: string }) => (ref.id ? `/files/${ref.id}` : undefined),
  userName: (id: string) => ({ U0ALICE: 'alice', U0BOB: 'bob' })[id],
};

const options = {
  variants: 3,
  formats: ['square' as const, 'story' as const],
  channel: 'meta' as const,
  brand: 'acme',
  anonymous: false,
  hideTally: false,
};
const variant = {
  id: 'v1',
  label: 'A',
  headline: 'Sun-ready <skin> & more',
  body: 'SPF 50 that feels like nothing.',
  cta: 'Shop now',
  concept: 'runner at dawn',
  reason: 'closest to the brief',
  scores: { relevance: 0.31, novelty: 0.12, diversity: 0.5, preference: null, total: 0.4 },
  offline: true,
  flags: ['headline trimmed to 27 chars'],
};

const messages: [string, Message][] = [
  [
    'parent',
    parentMessage({
      brief: 'Trail sunscreen',
      author: 'U0ALICE',
      options,
      round: 1,
      status: 'drawing 2/3',
      cost: 'Cost: $0.00',
      synthetic: true,
    }),
  ],
  [
    'parent with winner',
    parentMessage({ brief: 'x', author: 'U0ALICE', options, round: 2, status: 'closed', winner: ':trophy: *Winner: B*' }),
  ],
  [
    'inspiration',
    inspirationMessage({
      round: 1,
      state: 'ok',
      synthetic: true,
      hits: [{ headline: 'Past', channel: 'meta', brand: 'acme', ctr: 0.02, similarity: 0.3, fileId: 'F1', demo: true }],
    }),
  ],
  ['inspiration empty', inspirationMessage({ round: 1, state: 'empty', hits: [] })],
  ['inspiration unavailable', inspirationMessage({ round: 1, state: 'unavailable', hits: [], detail: 'boom' })],
  ['variant', variantMessage({ round: 1, variant, fileId: 'F2', voteReaction: '+1' })],
  ['variant without image', variantMessage({ round: 1, variant, fileId: null, voteReaction: '+1' })],
  [
    'tally open',
    tallyMessage({
      roundId: 'r1',
      round: 1,
      status: 'open',
      anonymous: false,
      hideTally: false,
      total: 2,
      entries: [
        { label: 'A', votes: 2, voters: ['U0ALICE', 'U0BOB'], probBest: 0.7 },
        { label: 'B', votes: 0, voters: [], probBest: 0.3 },
      ],
      pendingFeedback: 1,
      cost: costLine({ usd: 0, textCalls: 0, imageCalls: 0, offline: true }),
      closesAt: new Date('2030-01-01T00:00:00Z'),
    }),
  ],
  [
    'tally hidden, closed',
    tallyMessage({
      roundId: 'r1',
      round: 1,
      status: 'closed',
      anonymous: true,
      hideTally: true,
      total: 1,
      entries: [{ label: 'A', votes: 1, voters: [], probBest: 1 }],
      pendingFeedback: 0,
      result: 'Winner: A',
    }),
  ],
  ['notes', notesMessage(['Round 2 uses your feedback', 'Offline drafts'])],
  ['help', helpMessage({ brands: ['acme'], maxVariants: 6, maxChars: 1000, voteReaction: '+1' })],
  [
    'stats',
    statsMessage({
      month: { rounds: 1, failed: 0, images: 3, usd: 0.12 },
      day: { rounds: 1, failed: 0, images: 3, usd: 0.12 },
      monthlyUsdCap: 100,
      dailyImageCap: 200,
    }),
  ],
  ['error', errorMessage('Only <@U0ALICE> or an admin can close this round.', 'Ask them.')],
  ['not in channel', notInChannelMessage({ channelId: 'C0RANDOM', kind: 'public' })],
];

const views: [string, View][] = [
  [
    'brief modal',
    briefModal({
      channelId: 'C0GENERAL',
      brands: ['acme'],
      defaults: { channel: 'meta', formats: ['square'], variants: 3 },
      maxVariants: 6,
      maxChars: 1000,
    }),
  ],
  ['edit copy modal', editCopyModal({ variantId: 'v1', label: 'A', headline: 'H', body: 'B', cta: 'C' })],
];

describe("the bot's Block Kit on the sandbox page", () => {
  it.each(messages)('%s renders without a placeholder', (_name, m) => {
    const html = renderBlocks(m.blocks, ctx);
    expect(html).not.toContain('bk-unknown');
    expect(html.length).toBeGreaterThan(0);
  });

  it.each(views)('%s renders as a form without a placeholder', (_name, v) => {
    const html = renderModal(v, ctx);
    expect(html).not.toContain('bk-unknown');
    expect(html).toContain('data-kind="view-submit"');
  });

  it('knows every emoji shortcode the bot writes', () => {
    const src = ['blocks/round.ts', 'blocks/ephemeral.ts', 'blocks/views.ts']
      .map((f) => readFileSync(new URL(`../../../src/slack/${f}`, import.meta.url), 'utf8'))
      .join('\n');
    const names = [...new Set([...src.matchAll(/:([a-z0-9_+-]+):/g)].map((m) => m[1]))].filter(
      (n) => !/^(https?|mrkdwn|plain_text)$/.test(n),
    );
    expect(names.length).toBeGreaterThan(3);
    expect(names.filter((n) => !(n in EMOJI))).toEqual([]);
  });

  it('renders the App Home without a placeholder', () => {
    const v = homeView({
      user: 'U0ALICE',
      open: [{ brief: 'Trail sunscreen', round: 1, status: 'open', permalink: 'http://127.0.0.1/archives/C/p1', votes: 2 }],
      winners: [{ brief: 'Cold brew', headline: 'Wake up', label: 'B', permalink: null, votes: 3 }],
      synthetic: true,
    });
    expect(renderBlocks(v.blocks, ctx)).not.toContain('bk-unknown');
  });

  it('puts the vote button, the menu and the image where the page can use them', () => {
    const html = renderBlocks(variantMessage({ round: 1, variant, fileId: 'F2', voteReaction: '+1' }).blocks, ctx);
    expect(html).toMatch(
      /<button type="button" class="bk-button bk-primary" data-kind="button" data-action-id="vote" data-block-id="act-A" data-value="v1">Vote A<\/button>/,
    );
    expect(html).toContain('<option value="edit:v1">Edit copy</option>');
    expect(html).toContain('src="/files/F2"');
    expect(html).toContain('Sun-ready &lt;skin&gt; &amp; more');
    expect(html).toContain('👍');
  });

  it('shows tally bars and counts as text a person can read', () => {
    const [, t] = messages.find(([n]) => n === 'tally open')!;
    const html = renderBlocks(t.blocks, ctx);
    expect(html).toMatch(/<code>A<\/code> █+░* <b>2<\/b> · 70% chance best <span class="bk-mention" data-user="U0ALICE">@alice<\/span>/);
    expect(html).toContain('data-action-id="close_round"');
    expect(html).toContain('New round with feedback (1)');
    expect(html).toContain('2030-01-01 00:00 UTC');
  });
});
