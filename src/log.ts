/**
 * Structured JSON logs on stderr. Every line passes through `redact` (redact.ts), so a token
 * that slips into a message or an error never reaches the log.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { redact } from './redact.ts';

// The request being handled, so every line logged while handling it (in listeners and the
// work they start) carries its id without passing it down by hand.
const requestContext = new AsyncLocalStorage<{ requestId: string }>();

/** Runs `fn` (and everything it starts) with log lines tagged `requestId`. */
export function withRequestId<T>(requestId: string, fn: () => T): T {
  return requestContext.run({ requestId }, fn);
}

/** Tags the rest of the current async context (a request handler) with `requestId`. */
export function enterRequestContext(requestId: string): void {
  requestContext.enterWith({ requestId });
}

export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.requestId;
}

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

function serialise(v: unknown): unknown {
  if (v instanceof Error) return { name: v.name, message: v.message, ...('code' in v ? { code: (v as { code: unknown }).code } : {}) };
  return v;
}

export function createLogger(opts: { level?: Level; base?: Record<string, unknown>; write?: (line: string) => void } = {}): Logger {
  const min = ORDER[opts.level ?? ((process.env.LOG_LEVEL as Level) || 'info')] ?? ORDER.info;
  const write = opts.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const base = opts.base ?? {};
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min) return;
    const rec: Record<string, unknown> = { t: new Date().toISOString(), level, msg, ...base };
    const requestId = requestContext.getStore()?.requestId;
    if (requestId) rec.requestId = requestId;
    for (const [k, v] of Object.entries(fields ?? {})) rec[k] = serialise(v);
    write(redact(JSON.stringify(rec)));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ level: opts.level, base: { ...base, ...fields }, write }),
  };
}

/** A logger that drops everything, for tests and quiet CLI commands. */
export const silentLogger: Logger = createLogger({ write: () => {} });
