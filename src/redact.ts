/**
 * Secret redaction, the one implementation for every text that leaves the process or is kept:
 * log lines (log.ts), error messages shown in Slack and on the command line and errors stored
 * with a round (errors.ts `describeError`, and the round service's `fail`).
 *
 * Two nets, because an upstream error may echo a key this process never configured (an
 * `Authorization` header of another client, a key pasted into a brief):
 * - the values of the secret environment variables, found by name, so a secret setting added
 *   later is covered without a list to keep in step (config.ts' `secret: true` settings are
 *   checked against `isSecretName` by test);
 * - anything shaped like a key or token, wherever it appears.
 *
 * Ground floor: imports nothing, so errors.ts and log.ts can use it without a cycle.
 */

/** Names of environment variables whose values are secrets: `*_TOKEN`, `*_SECRET`, `*_API_KEY`, … and DATABASE_URL. */
const SECRET_NAME = /(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?)(_|$)|^DATABASE_URL$/;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name.toUpperCase());
}

// Shorter values would redact ordinary words ("true", a port number).
const MIN_SECRET_LENGTH = 6;

const MARK = '[redacted]';

/**
 * Key and token shapes. Each keeps what names the thing (a `Bearer ` prefix, a parameter
 * name) so a reader still sees what was removed.
 */
const SHAPES: { re: RegExp; to?: string }[] = [
  // Slack: bot/user/app-level/refresh/config tokens (xoxb-, xoxp-, xoxa-, xoxe-, xoxc-, xoxs-, xoxr-, xapp-).
  { re: /\bxox[a-z]-[A-Za-z0-9-]+/g },
  { re: /\bxapp-[A-Za-z0-9-]+/g },
  // Slack incoming webhooks carry their secret in the path.
  { re: /(hooks\.slack\.com\/(?:services|workflows|triggers)\/)[A-Za-z0-9/_-]+/g, to: `$1${MARK}` },
  // OpenAI-style keys: sk-…, sk-proj-…, sk-svcacct-…, sk-admin-….
  { re: /\bsk-[A-Za-z0-9_-]{8,}/g },
  // Hugging Face tokens.
  { re: /\bhf_[A-Za-z0-9]{20,}/g },
  // AWS access key ids (the secret key itself has no shape; it is caught by name).
  { re: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g },
  // An Authorization header or field, whatever its scheme: `Authorization: Basic …`, `"authorization":"…"`.
  { re: /(\bauthorization["']?\s*[:=]\s*["']?(?:(?:Bearer|Basic|Token|Bot)\s+)?)[^\s"',;}]+/gi, to: `$1${MARK}` },
  // Bearer credentials anywhere else.
  { re: /(\bBearer\s+)[A-Za-z0-9._~+/=-]+/gi, to: `$1${MARK}` },
  // Credentials in query strings.
  {
    re: /([?&](?:api[_-]?key|access[_-]?token|token|key|secret|password|sig|signature|X-Amz-Signature|X-Amz-Credential)=)[^&\s"'#]+/gi,
    to: `$1${MARK}`,
  },
  // Passwords inside connection strings (postgres://user:pass@host).
  { re: /(\/\/[^:/@\s]+:)[^@\s/]+@/g, to: `$1${MARK}@` },
];

function secretValues(): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(process.env)) {
    if (!value || value.length < MIN_SECRET_LENGTH || !isSecretName(name)) continue;
    out.push(value);
    // The same value as it appears inside a JSON string (a log line is JSON).
    const json = JSON.stringify(value).slice(1, -1);
    if (json !== value) out.push(json);
  }
  // Longest first, so a secret that contains another is removed whole.
  return out.sort((a, b) => b.length - a.length);
}

/** `text` with every configured secret and every key-shaped string replaced by `[redacted]`. */
export function redact(text: string): string {
  return redactWith(text, secretValues());
}

function redactWith(text: string, secrets: string[]): string {
  let s = text;
  for (const v of secrets) if (s.includes(v)) s = s.split(v).join(MARK);
  for (const { re, to } of SHAPES) s = s.replace(re, to ?? MARK);
  return s;
}

/** `v` with `redact` applied to every string in it (Block Kit blocks, JSON-like values); the shape stays. */
export function redactStrings<T>(v: T, secrets = secretValues()): T {
  if (typeof v === 'string') return redactWith(v, secrets) as T;
  if (Array.isArray(v)) return v.map((x) => redactStrings(x, secrets)) as T;
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactStrings(x, secrets)])) as T;
  return v;
}
