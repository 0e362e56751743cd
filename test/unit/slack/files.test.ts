import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadFile, resolveFile, trustedFileUrl } from '../../../src/slack/files.ts';
import { tinyPng } from '../../helpers/png.ts';

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

describe('downloading a file someone shared in Slack', () => {
  const png = Buffer.from(tinyPng(4, 4, [10, 20, 30]));
  let host: Server;
  let other: Server;
  let base = '';
  let otherBase = '';
  const seen: { path: string; auth?: string }[] = [];

  beforeAll(async () => {
    other = createServer((req, res) => {
      seen.push({ path: `other${req.url}`, auth: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'image/png' }).end(png);
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    otherBase = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    host = createServer((req, res) => {
      seen.push({ path: req.url ?? '', auth: req.headers.authorization });
      if (req.url === '/ok.png') return res.writeHead(200, { 'content-type': 'image/png' }).end(png);
      if (req.url === '/hop') return res.writeHead(302, { location: '/ok.png' }).end();
      if (req.url === '/away') return res.writeHead(302, { location: `${otherBase}/stolen.png` }).end();
      if (req.url === '/signin')
        return res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!DOCTYPE html><html><body>Sign in</body></html>');
      if (req.url === '/html-as-png') return res.writeHead(200, { 'content-type': 'image/png' }).end('<!DOCTYPE html><html>Sign in</html>');
      if (req.url === '/big') {
        // No Content-Length: the limit must hold while the bytes stream in.
        res.writeHead(200, { 'content-type': 'image/png' });
        for (let i = 0; i < 64; i++) res.write(Buffer.alloc(1024, 1));
        return res.end();
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => host.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => host.close(() => r()));
    await new Promise<void>((r) => other.close(() => r()));
  });

  const settings = () => ({ botToken: 'xoxb-secret', maxBytes: 16 * 1024, maxPixels: 40_000_000, extraHosts: [new URL(base).host] });

  it('follows redirects on Slack hosts, with the token', async () => {
    const bytes = await downloadFile({ url_private_download: `${base}/hop` }, settings());
    expect(Buffer.from(bytes).equals(png)).toBe(true);
    expect(seen.filter((s) => s.path === '/ok.png').at(-1)?.auth).toBe('Bearer xoxb-secret');
  });

  it('checks the host again after each redirect: the token never leaves for another host', async () => {
    await expect(downloadFile({ url_private_download: `${base}/away` }, settings())).rejects.toMatchObject({ code: 'FILE_UNTRUSTED_HOST' });
    expect(seen.some((s) => s.path.startsWith('other'))).toBe(false);
  });

  it("names Slack's sign-in page (by its type, or by its bytes) for what it is", async () => {
    for (const path of ['/signin', '/html-as-png'])
      await expect(downloadFile({ url_private_download: `${base}${path}` }, settings())).rejects.toMatchObject({
        code: 'FILE_NO_ACCESS',
        message: expect.stringMatching(/sign-in page.*app cannot see it/),
      });
  });

  it('keeps the size limit while streaming', async () => {
    await expect(downloadFile({ url_private_download: `${base}/big` }, settings())).rejects.toMatchObject({ code: 'FILE_TOO_LARGE' });
  });

  it('completes a Slack Connect stub with files.info before downloading it', async () => {
    const asked: string[] = [];
    const info = async (id: string) => {
      asked.push(id);
      return { id, name: 'p.png', mimetype: 'image/png', url_private_download: `${base}/ok.png` };
    };
    const stub = { id: 'F1', file_access: 'check_file_info' };
    expect(await resolveFile(stub, { info })).toMatchObject({ mimetype: 'image/png' });
    const bytes = await downloadFile(stub, { ...settings(), info });
    expect(Buffer.from(bytes).equals(png)).toBe(true);
    expect(asked).toEqual(['F1', 'F1']);
    await expect(resolveFile(stub, {})).rejects.toMatchObject({ code: 'FILE_NO_ACCESS' });
  });
});
