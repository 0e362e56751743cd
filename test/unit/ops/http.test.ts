/**
 * The one implementation of /healthz, /readyz and /metrics, on a real HTTP server as the bot,
 * the sandbox page and serve-clip mount it: in front of the server's own routes.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createReadiness, type OpsRouteDeps, opsRoute, type Readiness, readinessWith } from '../../../src/ops/http.ts';

let server: Server | undefined;
const readinesses: Readiness[] = [];

afterEach(async () => {
  for (const r of readinesses.splice(0)) r.stop();
  if (server) await new Promise<void>((r) => server?.close(() => r()));
  server = undefined;
});

/** A server whose own handler answers 418 to anything the ops routes leave alone. */
async function serve(deps: OpsRouteDeps): Promise<string> {
  const ops = opsRoute(deps);
  const s = createServer((req, res) => {
    ops(req, res)
      .then((handled) => {
        if (!handled) res.writeHead(418).end('own route');
      })
      .catch(() => res.writeHead(500).end());
  });
  server = s;
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

function probe(checks: Parameters<typeof createReadiness>[0]['checks'], timeoutMs?: number): Readiness {
  const r = createReadiness({ checks, timeoutMs, intervalMs: 3_600_000 });
  readinesses.push(r);
  return r;
}

describe('ops routes', () => {
  it('/readyz is 503 until the probes pass, naming each check, and 200 after', async () => {
    let libraryUp = false;
    const readiness = probe({
      store: async () => {},
      library: async () => {
        if (!libraryUp) throw new Error('no library at /data/lancedb');
      },
    });
    const url = await serve({ readiness });
    await readiness.refresh();
    const down = await fetch(`${url}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ ready: false, checks: { store: 'ok', library: 'no library at /data/lancedb' } });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    libraryUp = true;
    await readiness.refresh();
    const up = await fetch(`${url}/readyz`);
    expect(up.status).toBe(200);
    expect(await up.json()).toEqual({ ready: true, checks: { store: 'ok', library: 'ok' } });
  });

  it('a probe that hangs counts as not ready, with how long it was given', async () => {
    const readiness = probe({ encoder: () => new Promise(() => {}) }, 50);
    const url = await serve({ readiness });
    await readiness.refresh();
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { checks: Record<string, string> }).checks.encoder).toMatch(/encoder did not answer within 50 ms/);
  });

  it('conditions read per request join the probes: starting and shutting down are not ready', async () => {
    let phase: 'starting' | 'running' | 'stopping' = 'starting';
    const readiness = readinessWith(
      { ok: () => true, status: () => ({ store: 'ok' }) },
      { bot: () => (phase === 'stopping' ? 'shutting down' : phase === 'running' || 'starting') },
    );
    const url = await serve({ readiness, details: () => ({ inflight: 2 }) });
    const body = async () => {
      const res = await fetch(`${url}/readyz`);
      return { status: res.status, ...((await res.json()) as object) };
    };
    expect(await body()).toEqual({ status: 503, ready: false, checks: { store: 'ok', bot: 'starting' }, inflight: 2 });
    phase = 'running';
    expect(await body()).toEqual({ status: 200, ready: true, checks: { store: 'ok', bot: 'ok' }, inflight: 2 });
    phase = 'stopping';
    expect(await body()).toEqual({ status: 503, ready: false, checks: { store: 'ok', bot: 'shutting down' }, inflight: 2 });
  });

  it('a failing base readiness is not hidden by conditions that hold', () => {
    const r = readinessWith({ ok: () => false, status: () => ({ library: 'down' }) }, { bot: () => true });
    expect(r.ok()).toBe(false);
    expect(r.status()).toEqual({ library: 'down', bot: 'ok' });
  });

  it('serves /metrics in the registry’s content type, and leaves it to the server without one', async () => {
    const metrics = { contentType: 'text/plain; version=0.0.4; charset=utf-8', text: async () => 'adcreative_votes_total 3\n' };
    let url = await serve({ readiness: readinessWith(undefined, {}), metrics });
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(metrics.contentType);
    expect(await res.text()).toBe('adcreative_votes_total 3\n');
    await new Promise<void>((r) => server?.close(() => r()));

    url = await serve({ readiness: readinessWith(undefined, {}) });
    expect((await fetch(`${url}/metrics`)).status).toBe(418);
  });

  it('answers GET and HEAD only; other methods and paths go to the server’s own routes', async () => {
    const url = await serve({ readiness: readinessWith(undefined, {}) });
    const head = await fetch(`${url}/readyz`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect((await fetch(`${url}/healthz?probe=1`)).status).toBe(200);
    expect((await fetch(`${url}/healthz`, { method: 'POST' })).status).toBe(418);
    expect((await fetch(`${url}/slack/events`)).status).toBe(418);
  });
});
