/**
 * Votes per audience segment in a Slack thread, through the real Bolt receiver and the strict
 * Slack stand-in: each audience's heading says a person votes once in each audience; a person
 * who clicks a students variant and a parents variant backs both leaders, and a second students
 * click (or a reaction) moves only their students vote.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeMessage } from '../../../src/sandbox/web-api.ts';
import { type Harness, harness, tallyMessage, variantMessages } from './harness.ts';

const C = 'C0GENERAL';
let h: Harness;

beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

const blocksText = (m: FakeMessage | undefined): string => JSON.stringify(m?.blocks ?? []);

function voteValue(m: FakeMessage): string {
  const actions = (m.blocks as { type: string; elements?: { action_id: string; value?: string }[] }[]).find((b) => b.type === 'actions');
  const v = actions?.elements?.find((e) => e.action_id === 'vote')?.value;
  if (!v) throw new Error('no vote button');
  return v;
}

describe('votes per audience in a Slack thread', () => {
  it('one person backs a leader in each audience; a second vote in one audience moves only that vote', async () => {
    await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'Cold brew concentrate --audiences "students; parents" --variants 2' });
    const parent = await h.slack.waitFor(() => h.slack.channelMessages(C).at(-1), 5000, 'parent message');
    await h.slack.waitFor(() => tallyMessage(h.slack, C, parent.ts), 10_000, 'tally message');

    const headings = h.slack.thread(C, parent.ts).filter((m) => m.text.startsWith('For '));
    expect(headings.map((m) => m.text)).toEqual(['For students: variants A, B of round 1', 'For parents: variants C, D of round 1']);
    for (const m of headings) {
      expect(blocksText(m)).toContain('Each person has one vote in each audience');
      expect(blocksText(m)).not.toContain('across');
    }
    const [A, B, Cv, D] = variantMessages(h.slack, C, parent.ts).map((v) => v.message);
    expect(blocksText(A)).toContain('one vote per person for this audience');

    const click = (user: string, m: FakeMessage) =>
      h.d.blockAction({ user, channel: C, message: m, action: { action_id: 'vote', value: voteValue(m) } });
    // Bob votes in both audiences; then moves his students vote from A to B.
    await click('U0BOB', A);
    await click('U0BOB', Cv);
    await click('U0BOB', B);
    // Carol reacts on D, then on C: her parents vote moves to C; she has no students vote.
    h.slack.reactAsUser({ user: 'U0CAROL', channel: C, ts: D.ts, name: '+1' });
    await h.d.reactionAdded({ user: 'U0CAROL', channel: C, ts: D.ts, reaction: '+1' });
    h.slack.reactAsUser({ user: 'U0CAROL', channel: C, ts: Cv.ts, name: '+1' });
    await h.d.reactionAdded({ user: 'U0CAROL', channel: C, ts: Cv.ts, reaction: '+1' });

    const want = ['• *students*: variant B — “', '” — 1 of 1 vote', '• *parents*: variant C — “', '” — 2 of 2 votes'];
    const tally = await h.slack.waitFor(
      () => {
        const t = tallyMessage(h.slack, C, parent.ts);
        return want.every((w) => blocksText(t).includes(w)) ? t : undefined;
      },
      5000,
      'tally: students B 1 of 1, parents C 2 of 2',
    );
    expect(blocksText(tally)).toMatch(/`A` [█░]+ \*0\*/);
    expect(blocksText(tally)).toMatch(/`B` [█░]+ \*1\*[^`]*U0BOB/);
    expect(blocksText(tally)).toMatch(/`C` [█░]+ \*2\*[^`]*U0BOB[^`]*U0CAROL|`C` [█░]+ \*2\*[^`]*U0CAROL[^`]*U0BOB/);
    expect(blocksText(tally)).toMatch(/`D` [█░]+ \*0\*/);
    const round = await h.rounds.latestInThread(C, parent.ts);
    const votes = await h.rounds.votes(round?.id as string);
    expect(votes.map((v) => [v.user, v.audience, v.variantId.slice(-1)]).sort()).toEqual([
      ['U0BOB', 'parents', 'C'],
      ['U0BOB', 'students', 'B'],
      ['U0CAROL', 'parents', 'C'],
    ]);
  });
});
