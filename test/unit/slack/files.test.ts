import { describe, expect, it } from 'vitest';
import { trustedFileUrl } from '../../../src/slack/files.ts';

describe('which hosts get the bot token with a file download', () => {
  it("accepts Slack's file hosts over https", () => {
    expect(trustedFileUrl('https://files.slack.com/files-pri/T1-F1/download/a.png')).toBe(true);
    expect(trustedFileUrl('https://files.slack-gov.com/files-pri/T1-F1/a.png')).toBe(true);
  });

  it('refuses other hosts, look-alikes and plain http', () => {
    expect(trustedFileUrl('https://attacker.example/a.png')).toBe(false);
    expect(trustedFileUrl('https://files.slack.com.attacker.example/a.png')).toBe(false);
    expect(trustedFileUrl('https://notslack.com/a.png')).toBe(false);
    expect(trustedFileUrl('http://files.slack.com/a.png')).toBe(false);
    expect(trustedFileUrl('not a url')).toBe(false);
  });

  it('accepts the configured Web API host (the sandbox, tests, a proxy)', () => {
    expect(trustedFileUrl('http://127.0.0.1:41234/files/F1/a.png', ['127.0.0.1:41234'])).toBe(true);
    expect(trustedFileUrl('http://127.0.0.1:9999/files/F1/a.png', ['127.0.0.1:41234'])).toBe(false);
  });
});
