/**
 * Issue 13: no person's or model's words reach Slack as live markup — not in the blocks, and not in
 * the fallback `text` that notifications show. Every builder that carries such words is fed text
 * holding each kind of Slack markup; what Slack would read as mrkdwn (the fallback text and every
 * mrkdwn text object) may keep only the mentions the bot wrote itself.
 */
import { describe, expect, it } from 'vitest';
import { errorMessage, noticeMessage, plainError } from '../../../../src/slack/blocks/ephemeral.ts';
import type { Message, View } from '../../../../src/slack/blocks/kit.ts';
import {
  failedRoundMessage,
  failureText,
  inspirationMessage,
  notesMessage,
  noteText,
  parentMessage,
  resultText,
  statusText,
  tallyMessage,
  variantMessage,
} from '../../../../src/slack/blocks/round.ts';
import { homeView } from '../../../../src/slack/blocks/views.ts';

/** Markup of every kind Slack turns into a notification, a mention or a link in mrkdwn. */
const HOSTILE = 'Sale <!channel> <!here> <!everyone> <!subteam^S0EVIL> <@U0EVIL> <@W0EVIL> <#C0EVIL> <https://evil.example|click> & more';
const LIVE = /<(?:!(?:channel|here|everyone|subteam)|@U0EVIL|@W0EVIL|#C0EVIL|https:\/\/evil)/;

/** What Slack parses as mrkdwn: the fallback text and each mrkdwn text object. */
function mrkdwnOf(m: Message | View): string[] {
  const out: string[] = 'text' in m && typeof m.text === 'string' ? [m.text] : [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) {
      for (const y of x) walk(y);
      return;
    }
    if (!x || typeof x !== 'object') return;
    const o = x as Record<string, unknown>;
    if (o.type === 'mrkdwn' && typeof o.text === 'string') out.push(o.text);
    for (const v of Object.values(o)) walk(v);
  };
  walk(m.blocks);
  return out;
}

const scores = { relevance: 0.5, novelty: 0.5, diversity: 0.5, preference: null, total: 1 };
const options = {
  variants: 2,
  formats: ['square' as const],
  channel: 'meta' as const,
  anonymous: false,
  hideTally: false,
  fields: { product: HOSTILE, audience: HOSTILE, tone: HOSTILE },
};
const variant = {
  id: 'r1-A',
  label: 'A',
  headline: HOSTILE,
  body: HOSTILE,
  cta: HOSTILE,
  concept: HOSTILE,
  reason: HOSTILE,
  scores,
  offline: false,
  flags: [HOSTILE],
};

const built: [string, Message | View][] = [
  [
    'parent',
    parentMessage({ brief: HOSTILE, author: 'U0ALICE', options, round: 1, status: statusText({ stage: 'failed', why: HOSTILE }) }),
  ],
  [
    'inspiration',
    inspirationMessage({
      round: 1,
      state: 'ok',
      hits: [{ headline: HOSTILE, channel: HOSTILE, brand: HOSTILE, ctr: 0.01, similarity: 0.5, demo: false }],
    }),
  ],
  ['inspiration unavailable', inspirationMessage({ round: 1, state: 'unavailable', detail: HOSTILE, hits: [] })],
  ['variant', variantMessage({ round: 1, variant, fileId: null, voteReaction: '+1' })],
  [
    'tally',
    tallyMessage({
      roundId: 'r1',
      round: 1,
      status: 'closed',
      anonymous: false,
      hideTally: false,
      total: 1,
      entries: [{ label: 'A', votes: 1, voters: ['U0BOB'], probBest: 1 }],
      pendingFeedback: 0,
      result: resultText({ by: 'U0ALICE', winner: { label: 'A', headline: HOSTILE, votes: 1, total: 1 }, tie: null }),
    }),
  ],
  ...(['generation', 'no_variants', 'stopped'] as const).map((kind): [string, Message] => [
    `failed (${kind})`,
    failedRoundMessage({ roundId: 'r1', headline: failureText(1, { kind, why: HOSTILE }).thread }),
  ]),
  [
    'notes',
    notesMessage(
      [
        { kind: 'partial' as const, made: 1, failures: [{ label: 'B', stage: 'image', message: HOSTILE }] },
        { kind: 'store_failed' as const, label: 'A', detail: HOSTILE },
      ].map(noteText),
    ),
  ],
  ['refused', noticeMessage({ kind: 'refused', code: 'SPEND_CAP', detail: HOSTILE })],
  ['cannot post', noticeMessage({ kind: 'cannot_post', channel: 'C1', reason: 'other', detail: HOSTILE })],
  ['vote failed', noticeMessage({ kind: 'vote_failed', detail: HOSTILE })],
  ['re-render failed', noticeMessage({ kind: 'rerender_failed', label: 'A', detail: HOSTILE })],
  ['plain error', plainError(HOSTILE)],
  [
    'App Home',
    homeView({
      user: 'U0ALICE',
      open: [{ brief: HOSTILE, round: 1, status: 'voting open', permalink: 'https://example.slack.com/archives/C1/p1', votes: 0 }],
      winners: [{ brief: HOSTILE, headline: HOSTILE, label: 'A', permalink: null, votes: 1 }],
    }),
  ],
];

describe('words from people and the model, in everything the bot builds', () => {
  it.each(built)('%s: no live mention, channel or link from them in its mrkdwn or fallback text', (_, m) => {
    const texts = mrkdwnOf(m);
    expect(texts.join('\n')).toContain('&lt;!channel&gt;');
    expect(texts.filter((t) => LIVE.test(t))).toEqual([]);
  });

  it('the bot’s own mentions stay live', () => {
    const [, parent] = built[0];
    expect(mrkdwnOf(parent).join('\n')).toContain('<@U0ALICE>');
    expect(mrkdwnOf(errorMessage('Only <@U0ALICE> can close it, in <#C0GENERAL>.')).join('\n')).toMatch(/<@U0ALICE>.*<#C0GENERAL>/);
  });
});
