/**
 * Issue 14, "secrets never posted": an upstream error that echoes the request's Authorization
 * header (as some proxies and OpenAI-compatible servers do) must reach neither the thread nor
 * the round's stored error.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, harness } from '../integration/slack/harness.ts';

const C = 'C0GENERAL';
const KEY = 'sk-proj-Zx81kQm2Lr5Tn9Vb3Yc7Hd4Wf6Gj0Ps1';
const CONFIGURED = 'corp-gateway-credential-5150';
let h: Harness;
const saved = process.env.OPENAI_API_KEY;

beforeEach(async () => {
  // A configured key that is not key-shaped: caught by its variable, not by its shape.
  process.env.OPENAI_API_KEY = CONFIGURED;
  h = await harness();
});
afterEach(async () => {
  await h.close();
  if (saved === undefined) delete process.env.OPENAI_API_KEY;
  else process.env.OPENAI_API_KEY = saved;
});

describe('secrets in upstream errors', () => {
  it('are redacted from the thread and from the stored round error', async () => {
    h.gen.throwNext = new Error(
      `401 Unauthorized from gateway: {"headers":{"Authorization":"Bearer ${KEY}"},"x-api-key":"${CONFIGURED}","hint":"xoxb-111-222-SeCrEt"}`,
    );
    await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'Trail shoes for weekend runners' });
    const parent = await h.slack.waitFor(() => h.slack.channelMessages(C).find((m) => m.text.includes('Trail shoes')), 5000, 'parent');
    const note = await h.slack.waitFor(
      () => h.slack.thread(C, parent.ts).find((m) => m.text.includes('401 Unauthorized')),
      5000,
      'failure note',
    );
    const posted = JSON.stringify([...h.slack.thread(C, parent.ts), ...h.slack.channelMessages(C)]);
    expect(note.text).toContain('[redacted]');
    for (const secret of [KEY, CONFIGURED, 'xoxb-111-222-SeCrEt']) expect(posted).not.toContain(secret);

    await h.bot.runner.work.idle();
    const round = await h.store.latestRoundInThread(C, parent.ts);
    expect(round?.status).toBe('failed');
    expect(round?.error).toContain('401 Unauthorized');
    for (const secret of [KEY, CONFIGURED, 'xoxb-111-222-SeCrEt']) expect(round?.error).not.toContain(secret);
  });

  it('are redacted from everything the bot posts, whatever its source (here a key pasted into a brief)', async () => {
    await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: `Posters for our API launch, test key ${KEY} --variants 2` });
    const parent = await h.slack.waitFor(
      () => h.slack.channelMessages(C).find((m) => m.text.includes('Posters for our API launch')),
      5000,
      'parent',
    );
    await h.slack.waitFor(() => h.slack.thread(C, parent.ts).find((m) => m.text.startsWith('Tally for round 1:')), 10_000, 'tally');
    const posted = JSON.stringify([...h.slack.thread(C, parent.ts), ...h.slack.channelMessages(C)]);
    expect(posted).toContain('test key [redacted]');
    expect(posted).not.toContain(KEY);
    // Views too: the author's App Home lists the brief of their open round.
    await h.d.appHomeOpened('U0ALICE');
    const home = await h.slack.waitFor(() => h.slack.homes.get('U0ALICE'), 5000, 'home');
    expect(JSON.stringify(home.view)).toContain('Posters for our API launch');
    expect(JSON.stringify(home.view)).not.toContain(KEY);
  });
});
