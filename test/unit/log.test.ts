import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { redact } from '../../src/redact.ts';

const saved = { ...process.env };
afterEach(() => {
  for (const k of ['OPENAI_API_KEY', 'LANCEDB_API_KEY', 'AWS_SECRET_ACCESS_KEY']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe('log redaction', () => {
  it('keeps the values of secret variables out of log lines, even inside error messages', () => {
    process.env.OPENAI_API_KEY = 'openai-secret-value-123';
    process.env.LANCEDB_API_KEY = 'ldb-secret-value-456';
    process.env.AWS_SECRET_ACCESS_KEY = 'aws/secret+value=789';
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', write: (l) => lines.push(l) });
    log.error('library: open failed', {
      error: new Error('401 for key ldb-secret-value-456 (aws/secret+value=789)'),
      key: 'openai-secret-value-123',
    });
    const out = lines.join('\n');
    for (const v of ['openai-secret-value-123', 'ldb-secret-value-456', 'aws/secret+value=789']) expect(out).not.toContain(v);
    expect(out).toContain('[redacted]');
    expect(out).toContain('library: open failed');
  });

  it('redacts key and token shapes and passwords in connection strings wherever they appear', () => {
    const s = redact('sk-abcdefghijklmnop xoxb-123-456-abc Bearer abc.def postgres://app:hunter2@db:5432/x');
    expect(s).not.toMatch(/abcdefghijklmnop|xoxb-123|abc\.def|hunter2/);
    expect(s).toContain('postgres://app:[redacted]@db:5432/x');
  });
});
