/**
 * Socket Mode end to end: the real Bolt SocketModeReceiver (and @slack/socket-mode client) opens
 * its connection through the fake Web API's apps.connections.open, and receives slash commands,
 * button clicks and events as envelopes over a local WebSocket, acking each by envelope id.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FakeMessage } from '../../../src/sandbox/web-api.ts';
import { APP_TOKEN, type Harness, harness, tallyMessage, variantMessages } from './harness.ts';

const C = 'C0GENERAL';
let h: Harness;

beforeEach(async () => {
  h = await harness({ mode: 'socket', tallyUpdateMs: 50 });
});
afterEach(async () => {
  await h.close();
});

function voteValue(m: FakeMessage): string {
  const actions = (m.blocks as { type: string; elements?: { action_id: string; value?: string }[] }[]).find((b) => b.type === 'actions');
  return actions?.elements?.find((e) => e.action_id === 'vote')?.value as string;
}

describe('Socket Mode', () => {
  it('connects with the app token and runs a round from envelopes: command, clicks, reactions', async () => {
    const open = h.slack.callsTo('apps.connections.open');
    expect(open).toHaveLength(1);
    expect(open[0].ok).toBe(true);
    expect(h.socket?.connected).toBe(1);

    const cmd = await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'Trail running socks --variants 2' });
    expect(cmd.status).toBe(200);
    const parent = await h.slack.waitFor(
      () => h.slack.channelMessages(C).find((m) => m.text.includes('Trail running socks')),
      5000,
      'parent',
    );
    await h.slack.waitFor(() => tallyMessage(h.slack, C, parent.ts), 10_000, 'tally');
    const [A, B] = variantMessages(h.slack, C, parent.ts).map((v) => v.message);

    await h.d.blockAction({ user: 'U0BOB', channel: C, message: A, action: { action_id: 'vote', value: voteValue(A) } });
    h.slack.reactAsUser({ user: 'U0CAROL', channel: C, ts: B.ts, name: '+1' });
    await h.d.reactionAdded({ user: 'U0CAROL', channel: C, ts: B.ts, reaction: '+1' });

    const round = await h.store.latestRoundInThread(C, parent.ts);
    await vi.waitFor(async () => expect((await h.rounds.tally(round?.id as string)).tally.entries.map((e) => e.votes)).toEqual([1, 1]), {
      timeout: 5000,
    });
    // Every envelope was acked by id; none left waiting.
    const acks = (h.socket?.received ?? []).filter((f) => typeof f.envelope_id === 'string');
    expect(acks.length).toBeGreaterThanOrEqual(3);
  });

  it('a retried event envelope is processed once', async () => {
    const cmd = await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'Rain shells --variants 2' });
    expect(cmd.status).toBe(200);
    const parent = await h.slack.waitFor(() => h.slack.channelMessages(C).find((m) => m.text.includes('Rain shells')), 5000, 'parent');
    await h.slack.waitFor(() => tallyMessage(h.slack, C, parent.ts), 10_000, 'tally');
    const reply = h.slack.postAsUser({ user: 'U0BOB', channel: C, text: 'more orange', thread_ts: parent.ts });
    const first = await h.d.messageEvent(reply);
    await h.d.messageEvent(reply, { eventId: first.eventId, retryNum: 1 });
    await h.slack.waitFor(() => h.slack.message(C, reply.ts)?.reactions.find((r) => r.name === 'eyes'), 5000, '👀 on feedback');
    expect(h.slack.callsTo('reactions.add').filter((c) => c.args.timestamp === reply.ts)).toHaveLength(1);
  });

  it('reconnects when Slack asks it to, through a fresh apps.connections.open, and goes on', { timeout: 45_000 }, async () => {
    h.socket?.refresh();
    // The client waits a fixed 5 s before reconnecting.
    await vi.waitFor(() => expect(h.socket?.connections).toBe(2), { timeout: 25_000 });
    await vi.waitFor(() => expect(h.socket?.connected).toBe(1), { timeout: 10_000 });
    expect(h.slack.callsTo('apps.connections.open').length).toBeGreaterThanOrEqual(2);
    await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'Wool beanies --variants 2' });
    await h.slack.waitFor(() => h.slack.channelMessages(C).find((m) => m.text.includes('Wool beanies')), 5000, 'parent after reconnect');
  });

  it('refuses a bot token for the connection (Slack wants the app-level token)', async () => {
    const res = await fetch(`${h.slack.url}apps.connections.open`, {
      method: 'POST',
      headers: { authorization: 'Bearer xoxb-test-token' },
    });
    expect(await res.json()).toMatchObject({ ok: false });
    const ok = await fetch(`${h.slack.url}apps.connections.open`, { method: 'POST', headers: { authorization: `Bearer ${APP_TOKEN}` } });
    expect(await ok.json()).toMatchObject({ ok: true, url: h.socket?.url });
  });
});
