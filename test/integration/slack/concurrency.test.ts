import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../src/random.ts';
import type { FakeMessage } from '../../../src/sandbox/web-api.ts';
import { type Harness, harness, tallyMessage, variantMessages } from './harness.ts';

const C = 'C0GENERAL';
let h: Harness;

beforeEach(async () => {
  h = await harness({ tallyUpdateMs: 200 });
});
afterEach(async () => {
  await h.close();
});

function voteValue(m: FakeMessage): string {
  const actions = (m.blocks as { type: string; elements?: { action_id: string; value?: string }[] }[]).find((b) => b.type === 'actions');
  return actions?.elements?.find((e) => e.action_id === 'vote')?.value as string;
}

async function openRound(text: string) {
  await h.d.slashCommand({ user: 'U0ALICE', channel: C, text });
  const brief = text.split(' --')[0];
  const parent = await h.slack.waitFor(() => h.slack.channelMessages(C).find((m) => m.text.includes(brief)), 5000, 'parent');
  await h.slack.waitFor(() => tallyMessage(h.slack, C, parent.ts), 10_000, 'tally');
  return { parent, variants: variantMessages(h.slack, C, parent.ts).map((v) => v.message) };
}

describe('votes under load', () => {
  it('200 votes from 50 users at once, with retries mixed in, give exact tallies', async () => {
    const users = Array.from({ length: 50 }, (_, i) => `U1${String(i).padStart(4, '0')}`);
    for (const u of users) {
      h.slack.addUser({ id: u, name: u.toLowerCase() });
      h.slack.invite(C, u);
    }
    const { parent, variants } = await openRound('Running shoes --variants 4');
    const rand = mulberry32(42);
    // Each user: 4 actions in order (buttons or reactions); users run concurrently; ~30 % of deliveries are retried.
    const expected = new Map<string, number | null>();
    let retries = 0;
    const plans = users.map((u) => {
      const steps = Array.from({ length: 4 }, () => ({
        variant: Math.floor(rand() * 4),
        kind: rand() < 0.7 ? ('button' as const) : ('reaction' as const),
        retry: rand() < 0.3,
      }));
      let current: number | null = null;
      const reacted = new Set<number>();
      for (const s of steps) {
        if (s.kind === 'button') current = current === s.variant ? null : s.variant;
        else if (!reacted.has(s.variant)) {
          reacted.add(s.variant);
          current = s.variant;
        }
      }
      expected.set(u, current);
      return { u, steps };
    });
    await Promise.all(
      plans.map(async ({ u, steps }) => {
        for (const s of steps) {
          const m = variants[s.variant];
          if (s.kind === 'button') {
            const d = await h.d.blockAction({ user: u, channel: C, message: m, action: { action_id: 'vote', value: voteValue(m) } });
            expect(d.status).toBe(200);
            if (s.retry) {
              retries++;
              await h.d.resend(d);
            }
          } else {
            if (!h.slack.reactAsUser({ user: u, channel: C, ts: m.ts, name: '+1' })) continue;
            const d = await h.d.reactionAdded({ user: u, channel: C, ts: m.ts, reaction: '+1' });
            if (s.retry) {
              retries++;
              await h.d.resend(d, { retryNum: 1, retryReason: 'http_timeout' });
            }
          }
        }
      }),
    );
    expect(retries).toBeGreaterThan(20);
    const want = [0, 1, 2, 3].map((i) => [...expected.values()].filter((v) => v === i).length);
    const round = await h.store.latestRoundInThread(C, parent.ts);
    const got = (await h.rounds.tally(round?.id as string)).tally.entries.map((e) => e.votes);
    expect(got).toEqual(want);
    // Every user has at most one vote, and the live tally message converges on the same counts.
    const votes = await h.store.listVotes(round?.id as string);
    expect(new Set(votes.map((v) => v.user)).size).toBe(votes.length);
    const labels = ['A', 'B', 'C', 'D'];
    await h.slack.waitFor(
      () => {
        const s = JSON.stringify(tallyMessage(h.slack, C, parent.ts)?.blocks ?? []);
        return labels.every((l, i) => new RegExp(`\`${l}\` [█░]+ \\*${want[i]}\\*`).test(s));
      },
      10_000,
      `tally message showing ${want.join(',')}`,
    );
    // Bursts are coalesced: far fewer tally edits than votes.
    const tallyEdits = h.slack.callsTo('chat.update').filter((c) => c.args.ts === tallyMessage(h.slack, C, parent.ts)?.ts).length;
    expect(tallyEdits).toBeLessThan(100);
  });
});

describe('restart', () => {
  it('stopping mid-round and starting again on the same SQLite file loses nothing', async () => {
    const { parent, variants } = await openRound('Sunscreen for surfers --variants 2');
    await h.d.blockAction({
      user: 'U0BOB',
      channel: C,
      message: variants[0],
      action: { action_id: 'vote', value: voteValue(variants[0]) },
    });
    const fb = h.slack.postAsUser({ user: 'U0CAROL', channel: C, text: 'more blue', thread_ts: parent.ts });
    await h.d.messageEvent(fb);
    await h.slack.waitFor(() => h.slack.message(C, fb.ts)?.reactions.length, 5000, 'feedback ack');
    await h.restart();
    await h.d.blockAction({
      user: 'U0CAROL',
      channel: C,
      message: variants[1],
      action: { action_id: 'vote', value: voteValue(variants[1]) },
    });
    // Bob clicks A again after the restart: his stored vote is found, so this retracts it.
    await h.d.blockAction({
      user: 'U0BOB',
      channel: C,
      message: variants[0],
      action: { action_id: 'vote', value: voteValue(variants[0]) },
    });
    const round = await h.store.latestRoundInThread(C, parent.ts);
    expect((await h.rounds.tally(round?.id as string)).tally.entries.map((e) => e.votes)).toEqual([0, 1]);
    await h.slack.waitFor(
      () => JSON.stringify(tallyMessage(h.slack, C, parent.ts)?.blocks).includes('New round with feedback (1)'),
      5000,
      'feedback kept',
    );
    // The author can still close it.
    const tally = tallyMessage(h.slack, C, parent.ts) as FakeMessage;
    await h.d.blockAction({ user: 'U0ALICE', channel: C, message: tally, action: { action_id: 'close_round', value: round?.id } });
    await h.slack.waitFor(() => h.lib.items.length === 2, 5000, 'winner stored');
    expect(h.lib.items[1].headline).toBe(variants[1].text.slice(11));
  });

  it('a round cut off while generating (the process died) is marked failed after the restart, with a message', async () => {
    // What a killed process leaves behind: a parent message and a round still "generating" in SQL.
    const postedTs = await h.bot.thread.post(C, { text: 'Brief from <@U0ALICE>: pens', blocks: [] });
    const posted = { ts: postedTs };
    const r = await h.rounds.createRound({
      channel: C,
      threadTs: String(posted.ts),
      number: 1,
      brief: 'pens',
      author: 'U0ALICE',
      options: { variants: 2, formats: ['square'], channel: 'meta', anonymous: false, hideTally: false },
    });
    await h.restart();
    expect((await h.store.getRound(r.id))?.status).toBe('failed');
    await h.slack.waitFor(
      () => h.slack.thread(C, String(posted.ts)).find((m) => m.text.includes('restarted while round 1')),
      5000,
      'restart note',
    );
    // Mentioning the bot in that thread tries again.
    const reply = h.slack.postAsUser({
      user: 'U0ALICE',
      channel: C,
      text: `<@${h.slack.botUserId}> again please`,
      thread_ts: String(posted.ts),
    });
    await h.d.messageEvent(reply);
    await h.slack.waitFor(() => tallyMessage(h.slack, C, String(posted.ts), 2), 10_000, 'round 2 after the failure');
  });

  it('graceful stop aborts generation still running after the grace time and says so', async () => {
    h.gen.gate = new Promise<void>(() => {});
    await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'Pens for architects' });
    const parent = await h.slack.waitFor(() => h.slack.channelMessages(C).at(-1), 5000, 'parent');
    await h.slack.waitFor(() => h.gen.requests.length === 1, 5000, 'generation started');
    h.gen.gate = undefined;
    await h.bot.stop(100);
    const r = await h.store.latestRoundInThread(C, parent.ts);
    expect(r?.status).toBe('failed');
    expect(h.slack.thread(C, parent.ts).some((m) => m.text.includes('could not be made'))).toBe(true);
    await h.restart();
  });
});

describe('double clicks', () => {
  it('a second click within the double-click window keeps the vote and tells the voter why', async () => {
    await h.close();
    h = await harness({ tallyUpdateMs: 200, settings: { doubleClickMs: 60_000 } });
    const { parent, variants } = await openRound('Trail socks --variants 2');
    const click = () =>
      h.d.blockAction({ user: 'U0BOB', channel: C, message: variants[0], action: { action_id: 'vote', value: voteValue(variants[0]) } });
    await click();
    await click();
    const round = await h.store.latestRoundInThread(C, parent.ts);
    expect((await h.rounds.tally(round?.id as string)).tally.entries.map((e) => e.votes)).toEqual([1, 0]);
    const note = await h.slack.waitFor(
      () => h.slack.ephemeralsFor('U0BOB').find((e) => e.text.includes('still counts')),
      5000,
      'double-click note',
    );
    expect(note.text).toContain('variant A');
  });
});
