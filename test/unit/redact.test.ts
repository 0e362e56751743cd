import { afterEach, describe, expect, it } from 'vitest';
import { SECRET_ENV_NAMES } from '../../src/config.ts';
import { isSecretName, redact } from '../../src/redact.ts';

const saved = { ...process.env };
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});

describe('redact', () => {
  it.each([
    ['an OpenAI project key', 'key sk-proj-AbCdEf0123456789_xyz-QRS was rejected', 'sk-proj-AbCdEf0123456789'],
    ['an OpenAI key', 'Incorrect API key provided: sk-abcdefghijklmnop.', 'sk-abcdefghijklmnop'],
    ['a Slack bot token', 'token xoxb-1234-5678-AbCdEf is revoked', 'xoxb-1234-5678'],
    ['a Slack user token', 'xoxp-99-88-77-abc', 'xoxp-99'],
    ['a Slack app token', 'xapp-1-A0123-456-deadbeef', 'xapp-1-A0123'],
    ['a bearer header', 'upstream said: Authorization: Bearer eyJhbGciOi.J9.sig', 'eyJhbGciOi'],
    ['a basic auth header', '{"authorization":"Basic dXNlcjpodW50ZXIy"}', 'dXNlcjpodW50ZXIy'],
    ['a Hugging Face token', 'hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345', 'hf_AbCdEfGh'],
    ['an AWS access key id', 'AKIAIOSFODNN7EXAMPLE signed it', 'AKIAIOSFODNN7EXAMPLE'],
    ['a key in a query string', 'GET https://api.example.com/v1?api_key=s3cr3tvalue&x=1', 's3cr3tvalue'],
    ['a password in a connection string', 'connect postgres://app:hunter2@db:5432/x failed', 'hunter2'],
    ['a Slack webhook', 'https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX', 'XXXXXXXXXXXXXXXX'],
  ])('removes %s and keeps the rest readable', (_what, text, secret) => {
    const out = redact(text);
    expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
  });

  it('keeps what names the removed thing', () => {
    expect(redact('Authorization: Bearer abc.def')).toBe('Authorization: Bearer [redacted]');
    expect(redact('postgres://app:hunter2@db:5432/x')).toBe('postgres://app:[redacted]@db:5432/x');
    expect(redact('https://x.test/a?token=abc123&page=2')).toBe('https://x.test/a?token=[redacted]&page=2');
  });

  it('leaves ordinary text alone', () => {
    const text = 'Summer sale: 40% off running shoes — sketch a bold headline (ask-me-anything, risk-free)';
    expect(redact(text)).toBe(text);
  });

  it('removes the values of secret variables by name, also as they appear inside JSON', () => {
    process.env.SERVE_CLIP_TOKEN = 'plain"value\\with-quotes';
    process.env.CORP_GATEWAY_API_KEY = 'gateway-secret-9876';
    process.env.SHORT_TOKEN = 'abc'; // too short to redact safely: ordinary words would go
    const line = JSON.stringify({ msg: `401 for gateway-secret-9876 and ${process.env.SERVE_CLIP_TOKEN}`, n: 'abc' });
    const out = redact(line);
    expect(out).not.toContain('gateway-secret-9876');
    expect(out).not.toContain(JSON.stringify(process.env.SERVE_CLIP_TOKEN).slice(1, -1));
    expect(out).toContain('"n":"abc"');
  });

  it('knows every secret setting of config.ts by its name', () => {
    expect(SECRET_ENV_NAMES.length).toBeGreaterThan(0);
    for (const name of SECRET_ENV_NAMES) expect(isSecretName(name), name).toBe(true);
    for (const name of ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'LANCEDB_API_KEY', 'HF_TOKEN', 'SERVE_CLIP_TOKEN'])
      expect(isSecretName(name), name).toBe(true);
    for (const name of ['MAX_TOKENS', 'SLACK_API_URL', 'LOG_LEVEL', 'PORT']) expect(isSecretName(name), name).toBe(false);
  });
});
