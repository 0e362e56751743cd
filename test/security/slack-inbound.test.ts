/**
 * Issue 14, before the signature check: what reaches the bot's Slack endpoint from anyone who can
 * reach its port. Through the real Bolt HTTP receiver (the sandbox delivers to the same endpoint).
 */
import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { MiB, rssGrowthDuring } from '../helpers/memory.ts';
import { type Harness, harness, tallyMessage } from '../integration/slack/harness.ts';

const C = 'C0GENERAL';
let h: Harness;
let lines: string[];

beforeEach(async () => {
  lines = [];
  h = await harness({ logger: createLogger({ level: 'info', write: (l) => lines.push(l) }) });
});
afterEach(async () => {
  await h.close();
});

/** Streams `total` bytes of zeros as a POST body without holding them, until the server answers or hangs up. */
function flood(url: string, total: number, withLength: boolean): Promise<{ status?: number; sent: number }> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (withLength) headers['content-length'] = String(total);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers });
    const chunk = Buffer.alloc(64 * 1024, 0x30);
    let sent = 0;
    let status: number | undefined;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve({ status, sent });
    };
    req.on('response', (res) => {
      status = res.statusCode;
      res.resume();
      res.on('end', finish);
      res.on('error', finish);
    });
    req.on('error', finish);
    req.on('close', finish);
    const pump = () => {
      while (!done && status === undefined && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!done && sent >= total) req.end();
    };
    pump();
  });
}

const notAcked = () => lines.filter((l) => l.includes('not acknowledged') || l.includes('Could not determine the type'));

describe('the Slack endpoint before the signature check', () => {
  it('refuses an oversized unsigned body with 413 without buffering it (announced or streamed)', async () => {
    const total = 192 * MiB;
    const { result, growthBytes } = await rssGrowthDuring(async () => [
      await flood(h.bot.eventsUrl, total, true),
      await flood(h.bot.eventsUrl, total, false),
    ]);
    const [announced, streamed] = result;
    expect(announced.status).toBe(413);
    // Streamed: refused once 4 MiB arrived; the client may see the 413 or only the hang-up.
    expect(streamed.status === 413 || streamed.sent < total).toBe(true);
    expect(growthBytes).toBeLessThan(64 * MiB);
    // Still serving.
    expect((await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'help' })).status).toBe(200);
  });

  it('survives a signed null body and acknowledges payload=[] and unknown actions at once', async () => {
    const nul = await h.d.send('null', 'application/json');
    expect(nul.status).toBe(200);
    const empty = await h.d.send('payload=%5B%5D', 'application/x-www-form-urlencoded');
    expect(empty.status).toBe(200);
    const unsigned = await h.d.send('null', 'application/json', { signature: 'v0=0000' });
    expect(unsigned.status).toBe(401);
    const unknown = await h.d.sendPayload({
      type: 'block_actions',
      user: { id: 'U0ALICE' },
      team: { id: h.d.teamId },
      api_app_id: h.d.apiAppId,
      channel: { id: C },
      trigger_id: '1.2.3',
      actions: [{ type: 'button', action_id: 'retired_button_from_v1', value: 'x', action_ts: '1700000000.000100' }],
    });
    expect(unknown.status).toBe(200);
    // Acknowledged by us, not by Bolt's 2.5 s fallback (which logs before it answers).
    expect(notAcked()).toEqual([]);
    expect(lines.some((l) => l.includes('unknown action acknowledged'))).toBe(true);
    // The bot still works end to end.
    await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'Kettle for campers --variants 2' });
    const parent = await h.slack.waitFor(
      () => h.slack.channelMessages(C).find((m) => m.text.includes('Kettle for campers')),
      5000,
      'parent',
    );
    await h.slack.waitFor(() => tallyMessage(h.slack, C, parent.ts), 10_000, 'tally');
  });

  it('answers a POST to a path it does not serve with 404, quietly', async () => {
    const base = new URL(h.bot.eventsUrl);
    for (const path of ['/slack/event', '/wp-login.php', '/slack/events/../admin']) {
      const res = await fetch(new URL(path, base), { method: 'POST', body: '{"type":"url_verification"}' });
      expect(res.status).toBe(404);
      await res.body?.cancel();
    }
    // A scanner's probes are not the operator's problem: no error-level line for them.
    expect(lines.filter((l) => JSON.parse(l).level === 'error')).toEqual([]);
  });

  it('makes one round of a slash command delivered three times', async () => {
    const first = await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'Trail mix for cyclists --variants 2' });
    expect(first.status).toBe(200);
    // Replays of the very same request (freshly signed, as an attacker or a proxy retry would).
    expect((await h.d.resend(first, {})).status).toBe(200);
    expect((await h.d.resend(first, {})).status).toBe(200);
    const parent = await h.slack.waitFor(() => h.slack.channelMessages(C).find((m) => m.text.includes('Trail mix')), 5000, 'parent');
    await h.slack.waitFor(() => tallyMessage(h.slack, C, parent.ts), 10_000, 'tally');
    expect(h.slack.channelMessages(C).filter((m) => m.text.includes('Trail mix'))).toHaveLength(1);
    expect(h.gen.requests).toHaveLength(1);
  });
});
