/**
 * The deployment the README describes, as real processes: PostgreSQL, `serve-clip`, the S3
 * stand-in (test/helpers/s3-server.ts) holding the library and the variant assets, and two bot
 * replicas in HTTP mode (`adcreative start`) sharing them — each with its own DATA_DIR, no shared
 * filesystem — driven through signed deliveries against the fake Slack Web API. Deliveries go to
 * either replica, moving to the other when one does not answer (as a load balancer with retries
 * would). The replica that rendered a round is killed with SIGKILL mid-round; the other finishes
 * the round, uploads the winner's formats and promotes it into the library, all from the bucket.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeModel } from '../../../src/clip/synth/index.ts';
import { mulberry32 } from '../../../src/random.ts';
import { openPostgresStore, type PostgresRoundStore } from '../../../src/rounds/postgres.ts';
import { Deliverer } from '../../../src/sandbox/deliver.ts';
import { type FakeMessage, type FakeSlack, startFakeSlack } from '../../../src/sandbox/web-api.ts';
import { freePort, type PgCluster, postgresAvailable, startPostgres } from '../../helpers/postgres.ts';
import { type S3StandIn, startS3 } from '../../helpers/s3-server.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const TOKEN = 'xoxb-replica-test-token';
const SECRET = 'replica-test-signing-secret';
const PG_PASSWORD_IN_URL = 'test-pg-password';
const C = 'C0GENERAL';

const pgOk = postgresAvailable();

interface Proc {
  name: string;
  child: ChildProcess;
  port: number;
  log: string[];
}

let dir: string;
let cluster: PgCluster | undefined;
let dbUrl: string;
let slack: FakeSlack;
let store: PostgresRoundStore;
let s3: S3StandIn;
const procs: Proc[] = [];
let common: Record<string, string> = {};

function launch(name: string, args: string[], env: Record<string, string>, port: number): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LANCEDB_LOG: 'error', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p: Proc = { name, child, port, log: [] };
  const keep = (b: Buffer) => {
    p.log.push(...b.toString('utf8').split('\n').filter(Boolean));
    if (p.log.length > 400) p.log.splice(0, p.log.length - 400);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  procs.push(p);
  return p;
}

async function waitHttp(p: Proc, path: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (p.child.exitCode !== null) throw new Error(`${p.name} exited (${p.child.exitCode}):\n${p.log.slice(-30).join('\n')}`);
    try {
      const r = await fetch(`http://127.0.0.1:${p.port}${path}`);
      if (r.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${p.name} not ready at ${path} after ${timeoutMs} ms:\n${p.log.slice(-30).join('\n')}`);
}

beforeAll(async () => {
  if (!pgOk) return;
  dir = mkdtempSync(join(tmpdir(), 'replicas-'));
  cluster = await startPostgres();
  dbUrl = cluster.createDatabase('adcreative');
  const modelDir = join(dir, 'clip-tiny');
  await synthesizeModel({ arch: 'tiny', outDir: modelDir, seed: 5 });
  slack = await startFakeSlack({ tokens: [TOKEN] });
  s3 = await startS3({ buckets: ['adcreative'] });
  for (let i = 0; i < 16; i++) {
    const id = `U2${String(i).padStart(4, '0')}`;
    slack.addUser({ id, name: id.toLowerCase() });
    slack.invite(C, id);
  }

  const clipPort = await freePort();
  const clip = launch(
    'serve-clip',
    ['serve-clip', '--host', '127.0.0.1', '--port', String(clipPort), '--model', modelDir],
    { CLIP_THREADS: '1' },
    clipPort,
  );
  common = {
    SLACK_BOT_TOKEN: TOKEN,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.url,
    DATABASE_URL: dbUrl,
    CLIP_ENDPOINT: `http://127.0.0.1:${clipPort}`,
    CLIP_MODEL_DIR: modelDir,
    // Nothing shared on disk: the library and the variants' images are in the bucket.
    LANCEDB_URI: 's3://adcreative/library',
    ASSETS_URI: 's3://adcreative/variants',
    AWS_ENDPOINT_URL_S3: s3.url,
    AWS_REGION: s3.region,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    IMAGE_PROVIDER: 'studio',
    VOTE_DOUBLE_CLICK_MS: '0',
    TALLY_UPDATE_MS: '100',
    ROUND_LEASE_SECONDS: '3',
    SHUTDOWN_GRACE_SECONDS: '2',
    ROUND_TIMER_SECONDS: '1',
  };
  const [p1, p2] = [await freePort(), await freePort()];
  launch('bot-1', ['start'], replicaEnv('bot-1', p1), p1);
  launch('bot-2', ['start'], replicaEnv('bot-2', p2), p2);
  await waitHttp(clip, '/v2/health/ready', 60_000);
  await Promise.all(procs.slice(1).map((p) => waitHttp(p, '/readyz', 60_000)));
  store = await openPostgresStore(dbUrl);
}, 120_000);

afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(
    procs.map((p) => (p.child.exitCode === null && p.child.signalCode === null ? new Promise((r) => p.child.once('exit', r)) : null)),
  );
  await store?.close();
  await new Promise((r) => (lb ? lb.close(r) : r(undefined)));
  await slack?.close();
  await s3?.close();
  cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A replica's settings: the shared services, its own port and its own DATA_DIR. */
function replicaEnv(name: string, port: number): Record<string, string> {
  return { ...common, PORT: String(port), REPLICA_ID: name, DATA_DIR: join(dir, `data-${name}`) };
}

/** Live bot replicas (a killed one is left out). */
const bots = () => procs.filter((p) => p.name.startsWith('bot-') && p.child.exitCode === null && p.child.signalCode === null);

async function kill(p: Proc): Promise<void> {
  p.child.kill('SIGKILL');
  await new Promise((r) => p.child.once('exit', r));
}

/**
 * The load balancer in front of the replicas, as compose.yaml's nginx does it: round robin,
 * and a request a replica does not answer (connection refused: it died) goes to the next.
 */
let rr = 0;
let lb: Server | undefined;
let lbUrl = '';
const served: Record<string, number> = {};
async function startBalancer(): Promise<string> {
  if (lbUrl) return lbUrl;
  lb = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const list = bots();
      const start = rr++;
      for (let i = 0; i < list.length; i++) {
        const p = list[(start + i) % list.length];
        try {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(req.headers))
            if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
          const r = await fetch(`http://127.0.0.1:${p.port}${req.url}`, { method: req.method, headers, body: new Uint8Array(body) });
          const text = Buffer.from(await r.arrayBuffer());
          served[p.name] = (served[p.name] ?? 0) + 1;
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'text/plain' }).end(text);
          return;
        } catch {
          // Down: next replica.
        }
      }
      res.writeHead(502).end('no replica answered');
    });
  });
  await new Promise<void>((r) => lb?.listen(0, '127.0.0.1', () => r()));
  lbUrl = `http://127.0.0.1:${(lb.address() as AddressInfo).port}/slack/events`;
  return lbUrl;
}

/** Polls an async condition (PostgreSQL state) until it holds. */
async function poll<T>(check: () => Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function voteValue(m: FakeMessage): string {
  const actions = (m.blocks as { type: string; elements?: { action_id: string; value?: string }[] }[]).find((b) => b.type === 'actions');
  return actions?.elements?.find((e) => e.action_id === 'vote')?.value as string;
}

describe.skipIf(!pgOk)('two bot replicas on PostgreSQL with serve-clip', () => {
  it('a replica killed mid-generation: another one takes the round over once its lease expires', async () => {
    const d = new Deliverer({ url: await startBalancer(), signingSecret: SECRET, slack });
    const servedBefore = { ...served };
    const brief = await d.slashCommand({
      user: 'U0BOB',
      channel: C,
      text: 'Rain jackets for cyclists --variants 6 --formats square,portrait,story,landscape',
    });
    expect(brief.status).toBe(200);
    const owner = bots().find((p) => (served[p.name] ?? 0) > (servedBefore[p.name] ?? 0)) as Proc;
    const parent = await slack.waitFor(() => slack.channelMessages(C).find((m) => m.text.includes('Rain jackets')), 20_000, 'parent');
    const round = await poll(async () => store.latestRoundInThread(C, parent.ts), 10_000, 'round row');
    await kill(owner);
    // Cut off mid-generation (had it finished, there would be nothing to take over).
    expect((await store.getRound(round.id))?.status).toBe('generating');
    const note = await slack.waitFor(
      () => slack.thread(C, parent.ts).find((m) => m.text.includes('restarted while round 1 was being generated')),
      30_000,
      'takeover note in the thread',
    );
    expect(note).toBeDefined();
    expect((await store.getRound(round.id))?.status).toBe('failed');
    // The orchestrator starts a replacement replica.
    const port = await freePort();
    const fresh = launch('bot-3', ['start'], replicaEnv('bot-3', port), port);
    await waitHttp(fresh, '/readyz', 60_000);
  }, 120_000);

  it('spreads a round over both replicas, survives SIGKILL of the one that rendered it, and counts every vote', async () => {
    // /metrics and /readyz on each replica, naming the replica and where the library and assets live.
    for (const p of bots()) {
      const ready = await fetch(`http://127.0.0.1:${p.port}/readyz`);
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as { checks: Record<string, string>; where: Record<string, string> };
      expect(body.checks).toMatchObject({ library: 'ok', assets: 'ok' });
      expect(body.where).toEqual({
        library: `s3://adcreative/library (${s3.url}, us-east-1, path-style)`,
        assets: `s3://adcreative/variants (${s3.url}, us-east-1, path-style)`,
      });
    }

    const d = new Deliverer({ url: await startBalancer(), signingSecret: SECRET, slack });
    const servedBefore = { ...served };
    const brief = await d.slashCommand({
      user: 'U0ALICE',
      channel: C,
      text: 'Trail running socks --variants 3 --formats square,story',
    });
    expect(brief.status).toBe(200);
    // The replica that took the command renders the round (and holds its lease).
    const renderer = bots().find((p) => (served[p.name] ?? 0) > (servedBefore[p.name] ?? 0)) as Proc;
    const parent = await slack.waitFor(
      () => slack.channelMessages(C).find((m) => m.text.includes('Trail running socks')),
      20_000,
      'parent',
    );
    const tallyOf = () => slack.thread(C, parent.ts).find((m) => m.text.startsWith('Tally for round 1:'));
    await slack.waitFor(tallyOf, 60_000, 'variants and tally');
    const variants = slack
      .thread(C, parent.ts)
      .filter((m) => m.text.startsWith('Variant '))
      .sort((a, b) => a.text.localeCompare(b.text));
    expect(variants).toHaveLength(3);
    const round = await store.latestRoundInThread(C, parent.ts);
    expect(round?.status).toBe('open');

    const users = [...slack.users.keys()].filter((u) => u.startsWith('U2'));
    const rand = mulberry32(7);
    const expected = new Map<string, number | null>();
    // Each person's plan, with the vote they should hold after each step.
    const plans = users.map((u) => {
      const steps = Array.from({ length: 4 }, () => ({
        variant: Math.floor(rand() * 3),
        kind: rand() < 0.7 ? ('button' as const) : ('reaction' as const),
        after: null as number | null,
        skip: false,
      }));
      let current: number | null = null;
      const reacted = new Set<number>();
      for (const s of steps) {
        if (s.kind === 'button') current = current === s.variant ? null : s.variant;
        else if (!reacted.has(s.variant)) {
          reacted.add(s.variant);
          current = s.variant;
        } else s.skip = true;
        s.after = current;
      }
      expected.set(u, current);
      return { u, steps };
    });
    // Bolt acks before the listener runs, so a person's next click waits until the last one
    // shows (as a person waits to see the button change); people act concurrently.
    const act = async (u: string, s: (typeof plans)[number]['steps'][number]) => {
      if (s.skip) return;
      const m = variants[s.variant];
      if (s.kind === 'button') {
        const r = await d.blockAction({ user: u, channel: C, message: m, action: { action_id: 'vote', value: voteValue(m) } });
        expect(r.status).toBe(200);
      } else {
        expect(slack.reactAsUser({ user: u, channel: C, ts: m.ts, name: '+1' })).toBe(true);
        const r = await d.reactionAdded({ user: u, channel: C, ts: m.ts, reaction: '+1' });
        expect(r.status).toBe(200);
      }
      const want = s.after === null ? null : voteValue(variants[s.after]);
      await poll(
        async () => ((await store.currentVote(round?.id as string, u, ''))?.variantId ?? null) === want,
        15_000,
        `${u}'s vote to become ${want}`,
      );
    };

    // First half of everyone's actions, alternating replicas.
    await Promise.all(
      plans.map(async ({ u, steps }) => {
        for (const s of steps.slice(0, 2)) await act(u, s);
      }),
    );
    const before = await store.listVotes(round?.id as string);
    expect(before.length).toBeGreaterThan(0);
    // Both replicas took part.
    const [b1, b2] = bots();
    expect(served[b1.name]).toBeGreaterThan(5);
    expect(served[b2.name]).toBeGreaterThan(5);

    // The replica that rendered the round dies without warning, mid-round.
    const victim = renderer;
    const survivor = bots().find((p) => p !== renderer) as Proc;
    await kill(victim);

    // The rest of the actions: the balancer still tries the dead replica in turn and moves on to the live one.
    await Promise.all(
      plans.map(async ({ u, steps }) => {
        for (const s of steps.slice(2)) await act(u, s);
      }),
    );

    const want = [0, 1, 2].map((i) => [...expected.values()].filter((v) => v === i).length);
    const votes = await store.listVotes(round?.id as string);
    const got = variants.map((m) => votes.filter((v) => v.variantId === voteValue(m)).length);
    expect(got).toEqual(want);
    expect(new Set(votes.map((v) => v.user)).size).toBe(votes.length);

    // The author closes the round; the survivor decides and announces the winner.
    const tally = tallyOf() as FakeMessage;
    const closed = await d.blockAction({
      user: 'U0ALICE',
      channel: C,
      message: tally,
      action: { action_id: 'close_round', value: round?.id },
    });
    expect(closed.status).toBe(200);
    const final = await poll(
      async () => {
        const r = await store.getRound(round?.id as string);
        return r?.status === 'closed' && r.winnerVariantId ? r : undefined;
      },
      20_000,
      'round closed with a winner',
    );
    const top = Math.max(...want);
    expect(want[variants.findIndex((m) => voteValue(m) === (final as { winnerVariantId: string }).winnerVariantId)]).toBe(top);
    await slack.waitFor(
      () => {
        const s = JSON.stringify(tallyOf()?.blocks ?? []);
        return ['A', 'B', 'C'].every((l, i) => new RegExp(`\`${l}\` [█░]+ \\*${want[i]}\\*`).test(s));
      },
      20_000,
      `tally message showing ${want.join(',')}`,
    );

    // The survivor, which rendered nothing of this round, exports the winner in every format and
    // promotes it into the library — both read from the bucket.
    const exported = await slack.waitFor(
      () => slack.thread(C, parent.ts).find((m) => m.text.includes('in all formats') && m.files.length === 2),
      30_000,
      "the winner's formats uploaded to the thread",
    );
    const blobs = new Set(s3.keys('adcreative', `variants/${round?.id}/sha256/`).map((k) => k.slice(k.lastIndexOf('/') + 1)));
    for (const id of exported.files) {
      const bytes = slack.files.get(id)?.bytes as Uint8Array;
      expect(blobs.has(createHash('sha256').update(bytes).digest('hex'))).toBe(true);
    }
    await slack.waitFor(
      () => slack.thread(C, parent.ts).find((m) => m.text.includes('is now in the creative library')),
      30_000,
      'the winner promoted into the library',
    );
    expect((await store.getRound(round?.id as string))?.winnerCreativeId).toBeTruthy();
    expect(s3.keys('adcreative', 'library/creatives.lance/data/').length).toBeGreaterThan(0);
    // No replica kept the library or the variants on its own disk.
    for (const name of ['bot-1', 'bot-2', 'bot-3']) {
      expect(existsSync(join(dir, `data-${name}`, 'variants'))).toBe(false);
      expect(existsSync(join(dir, `data-${name}`, 'lancedb'))).toBe(false);
    }

    // The survivor's metrics saw the votes; no secret reached any log.
    const metrics = await (await fetch(`http://127.0.0.1:${survivor.port}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`adcreative_votes_total\\{(?=[^}]*kind="voted")(?=[^}]*replica="${survivor.name}")[^}]*\\} [1-9]`));
    expect(metrics).toMatch(new RegExp(`adcreative_rounds_total\\{(?=[^}]*event="closed")(?=[^}]*replica="${survivor.name}")[^}]*\\} 1`));
    for (const p of procs) {
      const all = p.log.join('\n');
      expect(all).not.toContain(TOKEN);
      expect(all).not.toContain(SECRET);
      expect(all).not.toContain(PG_PASSWORD_IN_URL);
      expect(all).not.toContain(s3.secretAccessKey);
    }
  }, 150_000);
});
