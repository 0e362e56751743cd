/**
 * Health, readiness and metrics over HTTP. `/healthz`: the process is up. `/readyz`: the
 * parts a request needs answer (state store, library, encoder) — probed in the background
 * so a load balancer's frequent checks never pile up on a slow dependency. `/metrics`:
 * Prometheus text.
 *
 * The bot serves these on PORT in every mode: Bolt's server in HTTP and Socket Mode
 * (src/slack/app.ts takes `ready` and `metrics` from services), the sandbox page server in
 * sandbox mode; serve-clip mounts `opsRoute` beside its KServe routes.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeError } from '../errors.ts';
import { enterRequestContext, type Logger } from '../log.ts';

export type Check = () => Promise<unknown>;

export interface Readiness {
  /** The last probe's verdict (false until the first probe finished). */
  ok(): boolean;
  /** Each check's last result: "ok" or the error. */
  status(): Record<string, string>;
  /** Probes now. */
  refresh(): Promise<boolean>;
  stop(): void;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

export function createReadiness(opts: {
  checks: Record<string, Check>;
  intervalMs?: number;
  timeoutMs?: number;
  logger?: Logger;
}): Readiness {
  let last: Record<string, string> = {};
  let ok = false;
  let running: Promise<boolean> | undefined;
  const refresh = (): Promise<boolean> => {
    running ??= (async () => {
      const entries = await Promise.all(
        Object.entries(opts.checks).map(async ([name, check]) => {
          try {
            await withTimeout(check(), opts.timeoutMs ?? 3000, name);
            return [name, 'ok'] as const;
          } catch (e) {
            return [name, describeError(e)] as const;
          }
        }),
      );
      const next = Object.fromEntries(entries);
      const nextOk = entries.every(([, s]) => s === 'ok');
      if (nextOk !== ok) {
        if (nextOk) opts.logger?.info('ready', { checks: next });
        else opts.logger?.warn('not ready', { checks: next });
      }
      last = next;
      ok = nextOk;
      return ok;
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  void refresh();
  const timer = setInterval(() => void refresh(), opts.intervalMs ?? 5000);
  timer.unref();
  return { ok: () => ok, status: () => ({ ...last }), refresh, stop: () => clearInterval(timer) };
}

/** The request id of an incoming request: the load balancer's X-Request-Id, or a new one. */
export function requestId(req: IncomingMessage): string {
  const h = req.headers['x-request-id'];
  const v = Array.isArray(h) ? h[0] : h;
  return v && /^[\w.:-]{1,128}$/.test(v) ? v : randomUUID();
}

/**
 * Tags the request being handled (call first thing in a server's request handler): every
 * line logged from here on in this request's async context — listeners and the work they
 * start — carries its id. Each request calls it again, so a kept-alive connection's next
 * request gets its own id.
 */
export function tagRequest(req: IncomingMessage): string {
  const id = requestId(req);
  enterRequestContext(id);
  return id;
}

/** Handles /healthz, /readyz and /metrics; false for any other path. */
export function opsRoute(deps: {
  readiness?: Readiness;
  metrics?: { text(): Promise<string>; contentType: string };
}): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (path === '/healthz') {
      json(200, { ok: true });
      return true;
    }
    if (path === '/readyz') {
      const ok = deps.readiness ? deps.readiness.ok() : true;
      json(ok ? 200 : 503, { ready: ok, checks: deps.readiness?.status() ?? {} });
      return true;
    }
    if (path === '/metrics' && deps.metrics) {
      const text = await deps.metrics.text();
      res.writeHead(200, { 'content-type': deps.metrics.contentType }).end(text);
      return true;
    }
    return false;
  };
}
