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

function blocksText(m: FakeMessage | undefined): string {
  return JSON.stringify(m?.blocks ?? []);
}

function voteValue(m: FakeMessage): string {
  const actions = (m.blocks as { type: string; elements?: { action_id: string; value?: string }[] }[]).find((b) => b.type === 'actions');
  const v = actions?.elements?.find((e) => e.action_id === 'vote')?.value;
  if (!v) throw new Error('no vote button');
  return v;
}

function buttonValue(m: FakeMessage, actionId: string): string | undefined {
  for (const b of m.blocks as { type: string; elements?: { action_id: string; value?: string }[] }[]) {
    const e = b.elements?.find((x) => x.action_id === actionId);
    if (e) return e.value;
  }
  return undefined;
}

async function startRound(text: string, user = 'U0ALICE') {
  const res = await h.d.slashCommand({ user, channel: C, text });
  expect(res.status).toBe(200);
  const parent = await h.slack.waitFor(() => h.slack.channelMessages(C).at(-1), 5000, 'parent message');
  await h.slack.waitFor(() => tallyMessage(h.slack, C, parent.ts), 10_000, 'tally message');
  return parent;
}

describe('a round in Slack, end to end through the real Bolt receiver', () => {
  it('brief → thread → votes (buttons, reactions, move, retract) → feedback → round 2 → close → winner in the library', async () => {
    const parent = await startRound('Cold brew for night-shift nurses --variants 3 --brand acme');
    expect(parent.text).toContain('Cold brew for night-shift nurses');
    const thread = h.slack.thread(C, parent.ts);
    // Inspiration with the library's creative, then A, B, C, the notes, the tally.
    expect(thread.some((m) => m.text === 'Inspiration for round 1' && blocksText(m).includes('Past winner'))).toBe(true);
    const variants = variantMessages(h.slack, C, parent.ts);
    expect(variants.map((v) => v.label)).toEqual(['A', 'B', 'C']);
    for (const v of variants) {
      const img = (v.message.blocks as { type: string; slack_file?: { id: string }; alt_text?: string }[]).find((b) => b.type === 'image');
      expect(img?.slack_file?.id).toBeTruthy();
      expect(
        h.slack
          .fileBytes(img?.slack_file?.id as string)
          ?.subarray(1, 4)
          .toString(),
      ).toBe('PNG');
      expect(img?.alt_text).toContain(`Variant ${v.label}`);
    }
    expect(thread.some((m) => m.text.includes('offline drafts'))).toBe(true);
    expect(thread.some((m) => m.text.includes('synthetic model'))).toBe(true);
    await h.slack.waitFor(() => h.slack.message(C, parent.ts)?.text.includes('ready'), 5000, 'parent status ready');
    const [A, B, Cv] = variants.map((v) => v.message);

    // Bob votes A, then moves to B.
    await h.d.blockAction({ user: 'U0BOB', channel: C, message: A, action: { action_id: 'vote', value: voteValue(A) } });
    await h.d.blockAction({ user: 'U0BOB', channel: C, message: B, action: { action_id: 'vote', value: voteValue(B) } });
    // Carol votes B with a reaction, moves to A with another, then removes the B reaction: no change.
    h.slack.reactAsUser({ user: 'U0CAROL', channel: C, ts: B.ts, name: '+1' });
    await h.d.reactionAdded({ user: 'U0CAROL', channel: C, ts: B.ts, reaction: '+1' });
    h.slack.reactAsUser({ user: 'U0CAROL', channel: C, ts: A.ts, name: '+1' });
    await h.d.reactionAdded({ user: 'U0CAROL', channel: C, ts: A.ts, reaction: '+1' });
    h.slack.unreactAsUser({ user: 'U0CAROL', channel: C, ts: B.ts, name: '+1' });
    await h.d.reactionRemoved({ user: 'U0CAROL', channel: C, ts: B.ts, reaction: '+1' });
    // Ada votes C, then clicks C again: retracted. Another reaction name is not a vote.
    await h.d.blockAction({ user: 'U0ADMIN', channel: C, message: Cv, action: { action_id: 'vote', value: voteValue(Cv) } });
    await h.d.blockAction({ user: 'U0ADMIN', channel: C, message: Cv, action: { action_id: 'vote', value: voteValue(Cv) } });
    await h.d.reactionAdded({ user: 'U0ADMIN', channel: C, ts: Cv.ts, reaction: 'heart' });

    const tally = await h.slack.waitFor(
      () => {
        const t = tallyMessage(h.slack, C, parent.ts);
        const s = blocksText(t);
        return s.includes('`A` ') && s.includes('*1* · ') && s.includes('<@U0CAROL>') && s.includes('<@U0BOB>') && s.includes('2 votes')
          ? t
          : undefined;
      },
      5000,
      'tally with A:1 B:1',
    );
    expect(blocksText(tally)).toMatch(/`A` [█░]+ \*1\*[^`]*U0CAROL/);
    expect(blocksText(tally)).toMatch(/`B` [█░]+ \*1\*[^`]*U0BOB/);
    expect(blocksText(tally)).toMatch(/`C` [█░]+ \*0\*/);

    // Feedback in the thread: acknowledged with 👀 and offered as a new round. A retry is processed once.
    const reply = h.slack.postAsUser({ user: 'U0BOB', channel: C, text: 'warmer colours please', thread_ts: parent.ts });
    const first = await h.d.messageEvent(reply);
    await h.d.messageEvent(reply, { eventId: first.eventId, retryNum: 1, retryReason: 'http_timeout' });
    await h.slack.waitFor(() => h.slack.message(C, reply.ts)?.reactions.find((r) => r.name === 'eyes'), 5000, '👀 on feedback');
    const withButton = await h.slack.waitFor(
      () => {
        const t = tallyMessage(h.slack, C, parent.ts);
        return blocksText(t).includes('New round with feedback (1)') ? t : undefined;
      },
      5000,
      'new-round button',
    );
    expect(h.slack.callsTo('reactions.add').filter((c) => c.args.timestamp === reply.ts)).toHaveLength(1);
    // Its own messages, other bots and edits are not feedback.
    const edit = h.slack.editAsUser({ user: 'U0BOB', channel: C, ts: reply.ts, text: 'warmer colours!!' });
    await h.d.messageChanged(edit, 'warmer colours please');
    const botMsg = h.slack.postAsUser({ user: 'U0OTHERBOT', channel: C, text: 'I am a bot', thread_ts: parent.ts });
    botMsg.bot_id = 'B0OTHER';
    await h.d.messageEvent(botMsg);

    // Round 2 from the tally button: round 1 stops taking votes, feedback and the leader go into generation.
    await h.d.blockAction({
      user: 'U0BOB',
      channel: C,
      message: withButton,
      action: { action_id: 'new_round', value: buttonValue(withButton, 'new_round') },
    });
    await h.slack.waitFor(() => tallyMessage(h.slack, C, parent.ts, 2), 10_000, 'round 2 tally');
    expect(h.gen.requests[1].feedback).toEqual(['warmer colours please']);
    expect(h.gen.requests[1].leader?.headline).toBe(variantMessages(h.slack, C, parent.ts)[0].message.text.slice(11));
    await h.slack.waitFor(
      () => blocksText(tallyMessage(h.slack, C, parent.ts, 1)).includes('no longer takes votes'),
      5000,
      'round 1 superseded',
    );
    await h.d.blockAction({ user: 'U0ADMIN', channel: C, message: A, action: { action_id: 'vote', value: voteValue(A) } });
    await h.slack.waitFor(() => h.slack.ephemeralsFor('U0ADMIN').find((e) => e.text.includes('closed')), 5000, 'closed-round refusal');

    const v2 = variantMessages(h.slack, C, parent.ts, 2).map((v) => v.message);
    expect(v2).toHaveLength(3);
    await h.d.blockAction({ user: 'U0BOB', channel: C, message: v2[1], action: { action_id: 'vote', value: voteValue(v2[1]) } });
    await h.d.blockAction({ user: 'U0CAROL', channel: C, message: v2[1], action: { action_id: 'vote', value: voteValue(v2[1]) } });
    await h.d.blockAction({ user: 'U0ADMIN', channel: C, message: v2[0], action: { action_id: 'vote', value: voteValue(v2[0]) } });

    // Close by someone else: refused privately; by the author: closed, winner B announced and stored.
    const tally2 = tallyMessage(h.slack, C, parent.ts, 2) as FakeMessage;
    await h.d.blockAction({
      user: 'U0BOB',
      channel: C,
      message: tally2,
      action: { action_id: 'close_round', value: buttonValue(tally2, 'close_round') },
    });
    await h.slack.waitFor(() => h.slack.ephemeralsFor('U0BOB').find((e) => e.text.includes('Only <@U0ALICE>')), 5000, 'refusal');
    expect(h.lib.items).toHaveLength(1);
    await h.d.blockAction({
      user: 'U0ALICE',
      channel: C,
      message: tally2,
      action: { action_id: 'close_round', value: buttonValue(tally2, 'close_round') },
    });
    await h.slack.waitFor(() => h.lib.items.length === 2, 5000, 'winner in library');
    const winner = h.lib.items[1];
    expect(winner.headline).toBe(v2[1].text.slice(11));
    expect(winner.source).toMatch(/^winner:/);
    const prov = JSON.parse(winner.provenance as string);
    expect(prov).toMatchObject({
      brief: 'Cold brew for night-shift nurses',
      round: 2,
      variant: 'B',
      votes: { A: 1, B: 2, C: 0 },
      total: 3,
    });
    await h.slack.waitFor(() => h.slack.message(C, parent.ts)?.text.includes('winner B'), 5000, 'winner on parent');
    expect(blocksText(h.slack.message(C, parent.ts))).toContain('Winner: variant B');
    // The headline is quoted so it does not run into the vote count.
    expect(blocksText(h.slack.message(C, parent.ts))).toContain(`“${winner.headline}” — 2 of 3 votes. Closed by <@U0ALICE>`);
    const shared = h.slack.thread(C, parent.ts).find((m) => m.subtype === 'file_share' && m.text.includes('Variant B in all formats'));
    expect(shared?.files).toHaveLength(2);
    expect(blocksText(tallyMessage(h.slack, C, parent.ts, 2))).not.toContain('close_round');
    // Every vote was kept for training.
    const r2 = await h.store.latestRoundInThread(C, parent.ts);
    expect((await h.store.voteEvents(r2?.id as string)).length).toBe(3);
  });

  it('answers mistakes at once and says how to invite the bot', async () => {
    const empty = await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: '--variants 2' });
    expect(JSON.parse(empty.body).text).toContain('The brief is empty');
    const brand = await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'shoes --brand nope' });
    expect(JSON.parse(brand.body).text).toContain('acme, northwind');
    const long = await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'x'.repeat(600) });
    expect(JSON.parse(long.body).text).toContain('limit is 500');
    const help = await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'help' });
    expect(JSON.parse(help.body).text).toBe('adcreative help');
    await h.d.slashCommand({ user: 'U0ALICE', channel: 'C0RANDOM', text: 'shoes for runners' });
    const note = await h.slack.waitFor(() => h.slack.ephemeralsFor('U0ALICE').find((e) => e.text.includes('/invite')), 5000, 'invite note');
    expect(note.via).toBe('response_url');
    // The invite names the bot as people type it, not a placeholder.
    expect(note.text).toContain('`/invite @adcreative`');
    await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'stats' });
    await h.slack.waitFor(() => h.slack.ephemeralsFor('U0ALICE').find((e) => e.text.includes('This month')), 5000, 'stats');
  });

  it('posts partial results with the failures, and a human message when nothing could be made', async () => {
    h.gen.failLabels = ['B'];
    const parent = await startRound('Lamp for readers --variants 3');
    expect(variantMessages(h.slack, C, parent.ts).map((v) => v.label)).toEqual(['A', 'C']);
    expect(
      h.slack.thread(C, parent.ts).some((m) => m.text.includes('goes on with 2 variants') && m.text.includes('image model timed out')),
    ).toBe(true);

    h.gen.throwNext = new Error('OpenAI returned 500 three times');
    await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'Another brief' });
    const p2 = await h.slack.waitFor(() => h.slack.channelMessages(C).find((m) => m.text.includes('Another brief')), 5000, 'parent 2');
    await h.slack.waitFor(
      () => h.slack.thread(C, p2.ts).find((m) => m.text.includes('could not be made') && m.text.includes('500 three times')),
      5000,
      'failure note',
    );
    // One click on "Try again" makes the round again from the same brief.
    const note = h.slack.thread(C, p2.ts).find((m) => m.text.includes('could not be made')) as FakeMessage;
    const retry = (note.blocks as { type: string; elements?: { action_id: string; value?: string; text?: { text: string } }[] }[])
      .find((b) => b.type === 'actions')
      ?.elements?.find((e) => e.text?.text === 'Try again');
    expect(retry?.action_id).toBeDefined();
    await h.d.blockAction({
      user: 'U0ALICE',
      channel: C,
      message: note,
      action: { action_id: retry?.action_id as string, value: retry?.value },
    });
    await h.slack.waitFor(() => tallyMessage(h.slack, C, p2.ts, 2), 10_000, 'round 2 after Try again');
    // The old button, clicked again later, does not replace round 2 (its voting stays open).
    await h.d.blockAction({
      user: 'U0BOB',
      channel: C,
      message: note,
      action: { action_id: retry?.action_id as string, value: retry?.value },
    });
    await h.slack.waitFor(
      () => h.slack.ephemeralsFor('U0BOB').find((e) => e.text.includes('belongs to round 1')),
      5000,
      'stale button note',
    );
    const latest = await h.store.latestRoundInThread(C, p2.ts);
    expect(latest).toMatchObject({ number: 2, status: 'open' });
  });

  it('says how to fill an empty library', async () => {
    h.lib.items.length = 0;
    const parent = await startRound('Bike lights');
    expect(h.slack.thread(C, parent.ts).some((m) => blocksText(m).includes('library demo'))).toBe(true);
  });

  it('a reply that mentions the bot starts the next round at once', async () => {
    const parent = await startRound('Tea for gamers --variants 2');
    const reply = h.slack.postAsUser({ user: 'U0CAROL', channel: C, text: `<@${h.slack.botUserId}> make it louder`, thread_ts: parent.ts });
    await h.d.messageEvent(reply);
    await h.slack.waitFor(() => tallyMessage(h.slack, C, parent.ts, 2), 10_000, 'round 2');
    expect(h.gen.requests[1].feedback).toEqual(['make it louder']);
  });

  it('replies that arrive while a round is being made wait for the next round', async () => {
    const parent = await startRound('Socks for cyclists --variants 2');
    let release = () => {};
    h.gen.gate = new Promise<void>((r) => {
      release = r;
    });
    const first = h.slack.postAsUser({ user: 'U0BOB', channel: C, text: `<@${h.slack.botUserId}> brighter`, thread_ts: parent.ts });
    await h.d.messageEvent(first);
    await h.slack.waitFor(() => (h.gen.requests.length === 2 ? true : undefined), 5000, 'round 2 generating');
    // Round 2 is being made: this reply is kept, not slipped into round 2.
    const late = h.slack.postAsUser({ user: 'U0CAROL', channel: C, text: 'use the blue logo', thread_ts: parent.ts });
    await h.d.messageEvent(late);
    await h.slack.waitFor(() => h.slack.message(C, late.ts)?.reactions.find((r) => r.name === 'eyes'), 5000, '👀 on the late reply');
    h.gen.gate = undefined;
    release();
    expect(h.gen.requests[1].feedback).toEqual(['brighter']);
    // Round 2's tally offers it for round 3, and round 3 is made with it.
    const tally2 = await h.slack.waitFor(
      () => {
        const t = tallyMessage(h.slack, C, parent.ts, 2);
        return blocksText(t).includes('New round with feedback (1)') ? t : undefined;
      },
      10_000,
      'round 2 tally offering the late reply',
    );
    await h.d.blockAction({
      user: 'U0CAROL',
      channel: C,
      message: tally2,
      action: { action_id: 'new_round', value: buttonValue(tally2, 'new_round') },
    });
    await h.slack.waitFor(() => tallyMessage(h.slack, C, parent.ts, 3), 10_000, 'round 3');
    expect(h.gen.requests[2].feedback).toEqual(['brighter', 'use the blue logo']);
  });

  it('refuses requests without a valid, fresh signature', async () => {
    const body = 'command=%2Fadcreative&text=help&user_id=U0ALICE&channel_id=C0GENERAL';
    const ct = 'application/x-www-form-urlencoded';
    expect((await h.d.send(body, ct, { signature: 'v0=deadbeef' })).status).toBe(401);
    expect((await h.d.send(body, ct, { signature: null })).status).toBe(401);
    expect((await h.d.send(body, ct, { timestamp: Math.floor(Date.now() / 1000) - 600 })).status).toBe(401);
    expect((await h.d.send(body, ct, { timestamp: null })).status).toBe(401);
    expect(h.slack.calls).toHaveLength(0);
    const ok = await fetch(h.bot.eventsUrl.replace('/slack/events', '/healthz'));
    expect(ok.status).toBe(200);
  });
});
