/**
 * The other side of `bench/slack.ts`, in its own process so neither Slack's stand-in nor the
 * stopwatch shares the bot's event loop: the fake Web API, and signed slash commands whose
 * ack latency is measured here. Driven over IPC; not a benchmark of its own.
 */
import { Deliverer } from '../src/sandbox/deliver.ts';
import { type FakeSlack, startFakeSlack } from '../src/sandbox/web-api.ts';

type Msg =
  | { type: 'start'; users: string[]; channel: string }
  | { type: 'bot'; eventsUrl: string; secret: string }
  | { type: 'burst'; id: number; commands: { user: string; text: string }[] }
  | { type: 'send'; id: number; user: string; text: string }
  | { type: 'count'; id: number; method: string }
  | { type: 'stop' };

let slack: FakeSlack | undefined;
let d: Deliverer | undefined;
let channel = 'C0GENERAL';
const reply = (m: unknown) => process.send?.(m);

export async function main(): Promise<void> {
  process.stderr.write('slack-load is driven by `npm run bench -- slack`\n');
}

if (process.send) {
  process.on('message', async (m: Msg) => {
    try {
      if (m.type === 'start') {
        slack = await startFakeSlack();
        channel = m.channel;
        for (const u of m.users) {
          slack.addUser({ id: u, name: u.toLowerCase() });
          slack.invite(channel, u);
        }
        reply({ type: 'started', url: slack.url });
      } else if (m.type === 'bot') {
        d = new Deliverer({ url: m.eventsUrl, signingSecret: m.secret, slack });
        reply({ type: 'ready' });
      } else if (m.type === 'burst' && d) {
        const dd = d;
        const res = await Promise.all(m.commands.map((c) => dd.slashCommand({ user: c.user, channel, text: c.text })));
        reply({
          type: 'burst',
          id: m.id,
          ms: res.map((r) => r.ms),
          bad: res.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.body}`),
        });
      } else if (m.type === 'send' && d) {
        const r = await d.slashCommand({ user: m.user, channel, text: m.text });
        reply({ type: 'sent', id: m.id, status: r.status, ms: r.ms });
      } else if (m.type === 'count' && slack) {
        reply({ type: 'count', id: m.id, n: slack.callsTo(m.method).length });
      } else if (m.type === 'stop') {
        await slack?.close();
        process.exit(0);
      }
    } catch (e) {
      reply({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    }
  });
}
