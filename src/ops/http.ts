/**
 * Health, readiness and metrics over HTTP: the one implementation of `/healthz`, `/readyz`
 * and `/metrics` that the bot (HTTP and Socket Mode), the sandbox page server and serve-clip
 * all mount on their own servers with `opsRoute`.
 *
 * `/healthz`: the process is up. `/readyz`: 200 only when everything a request needs
 * answers — the background probes of `createReadiness` (state store, library, encoder),
 * never run per request so a load balancer's frequent checks cannot pile up on a slow
 * dependency, plus cheap conditions read at each request (`readinessWith`: started, not
 * shutting down); 503 otherwise, with each check's state. `/metrics`: Prometheus text.
 *
 * The routes sit in front of each server's own handler rather than in Bolt's `customRoutes`:
 * the bot needs the same routes in Socket Mode, where Bolt's route server binds no host and
 * reports no port, and one handler in front of both receivers keeps the modes alike.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeError } from '../errors.ts';
import { enterRequestContext, type Logger } from '../log.ts';

/** A readiness check: throws when not ready; may resolve with a short description of what it found ("webgpu fp16, …"). */
export type Check = () => Promise<unknown>;

/** What /readyz answers from: a verdict and, per check, "ok" or what is wrong. */
export interface ReadinessView {
  ok(): boolean;
  /** Each check's last result: "ok" (or "ok: <what the check described>") or the error. */
  status(): Record<string, string>;
  /** Where the parts live (library, assets…), shown on /readyz; never credentials. */
  where?(): Record<string, string>;
}

/** Background probes; `ok()` is the last probe's verdict (false until the first one finished). */
export interface Readiness extends ReadinessView {
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
  where?: Record<string, string>;
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
            const found = await withTimeout(check(), opts.timeoutMs ?? 3000, name);
            return [name, typeof found === 'string' && found ? `ok: ${found}` : 'ok', true] as const;
          } catch (e) {
            return [name, describeError(e), false] as const;
          }
        }),
      );
      const next = Object.fromEntries(entries.map(([n, s]) => [n, s]));
      const nextOk = entries.every(([, , passed]) => passed);
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
  return {
    ok: () => ok,
    status: () => ({ ...last }),
    where: opts.where ? () => ({ ...opts.where }) : undefined,
    refresh,
    stop: () => clearInterval(timer),
  };
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

/** A condition read at each request: true, or why not ("starting", "shutting down"). */
export type Condition = () => true | string;

/**
 * `base` (when given) and every condition must hold. Conditions are for what is known at
 * once, in memory; anything that asks another process belongs in `createReadiness`.
 */
export function readinessWith(base: ReadinessView | undefined, conditions: Record<string, Condition>): ReadinessView {
  const read = () => Object.entries(conditions).map(([name, c]) => [name, c()] as const);
  return {
    ok: () => (base ? base.ok() : true) && read().every(([, v]) => v === true),
    status: () => ({ ...base?.status(), ...Object.fromEntries(read().map(([name, v]) => [name, v === true ? 'ok' : v])) }),
    where: base?.where ? () => base.where?.() ?? {} : undefined,
  };
}

/** A Prometheus registry as /metrics needs it (`createMetrics` in ./metrics.ts is one). */
export interface MetricsText {
  text(): Promise<string>;
  readonly contentType: string;
}

export interface OpsRouteDeps {
  /** What ready means for this server; required, so no server answers 200 by forgetting it. */
  readiness: ReadinessView;
  /** Absent: /metrics is left to the server's own handler (a 404 there). */
  metrics?: MetricsText;
  /** More facts /readyz shows (the bot's work in flight); they do not change the verdict. */
  details?: () => Record<string, unknown>;
}

/**
 * Handles GET and HEAD of /healthz, /readyz and /metrics; resolves false for anything else,
 * so the server's own routes come next. Call it first thing in the request handler.
 */
export function opsRoute(deps: OpsRouteDeps): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = (req.url ?? '').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
    };
    const json = (status: number, body: unknown) => send(status, 'application/json; charset=utf-8', JSON.stringify(body));
    if (path === '/healthz') {
      json(200, { ok: true });
      return true;
    }
    if (path === '/readyz') {
      const ready = deps.readiness.ok();
      const where = deps.readiness.where?.();
      json(ready ? 200 : 503, { ready, checks: deps.readiness.status(), ...(where ? { where } : {}), ...deps.details?.() });
      return true;
    }
    if (path === '/metrics' && deps.metrics) {
      send(200, deps.metrics.contentType, await deps.metrics.text());
      return true;
    }
    return false;
  };
}
