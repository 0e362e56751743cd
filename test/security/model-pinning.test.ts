/**
 * Issue 14: real model downloads were trust-on-first-use (`revision: main`, every `sha256: null`).
 * The manifest now pins a commit and records what the hub publishes for it (sums where published,
 * sizes for every weight file); fetch enforces them, refusing a wrong-sized file before its transfer.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { downloadFile, fetchModel, isCommit, loadManifest, matchesPublishedSize } from '../../src/clip/fetch.ts';
import { ModelError } from '../../src/errors.ts';

let dir: string;
let server: Server;
let base: string;
const requests: string[] = [];
/** path → body; `chunked` paths are sent without a Content-Length. */
let files: Map<string, { body: Buffer; chunked?: boolean }>;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'adc-pin-'));
  files = new Map();
  requests.length = 0;
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const f = files.get(path);
    if (!f) return void res.writeHead(404).end();
    // The hub names the commit it served; a mirror might name another.
    const headers: Record<string, string> = { 'x-repo-commit': '0000000000000000000000000000000000000000' };
    if (!f.chunked) headers['content-length'] = String(f.body.length);
    res.writeHead(200, headers);
    res.end(f.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('the real model is pinned', () => {
  it('the shipped manifest names a commit and a published size for every weight file', () => {
    const m = loadManifest().models['clip-vit-base-patch32'];
    expect(isCommit(m.revision)).toBe(true);
    const weights = m.files.filter((f) => f.path.endsWith('.onnx'));
    expect(weights).toHaveLength(4);
    for (const f of weights) expect(f.publishedSize, f.path).toMatch(/^\d+(\.\d+)? MB$/);
    for (const f of m.files.filter((x) => x.sha256 !== null)) expect(f.sha256, f.path).toMatch(/^[0-9a-f]{64}$/);
    expect(m.files.filter((f) => f.sha256 !== null).map((f) => f.path)).toEqual([
      'onnx/vision_model.onnx',
      'onnx/text_model_quantized.onnx',
    ]);
  });

  it('fetches from the pinned commit and refuses a weight file of the wrong size before transferring it', async () => {
    const m = loadManifest().models['clip-vit-base-patch32'];
    const at = (p: string) => `/${m.repo}/resolve/${m.revision}/${p}`;
    for (const p of ['config.json', 'preprocessor_config.json', 'tokenizer.json']) files.set(at(p), { body: Buffer.from('{}') });
    // A mirror (or a hub account taken over) serving a small file in place of the real weights.
    files.set(at('onnx/text_model.onnx'), { body: Buffer.alloc(4096, 7) });
    const err = await fetchModel({ model: m, name: 'clip', dir, precision: 'fp32', endpoint: base, progressStream: devNull() }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).code).toBe('SIZE_MISMATCH');
    expect((err as Error).message).toContain(
      'the server offers 4096 bytes, but the hub publishes 254 MB for this file at the pinned revision',
    );
    expect(requests.every((r) => r.includes(`/resolve/${m.revision}/`))).toBe(true);
    expect(existsSync(join(dir, 'onnx'))).toBe(true);
    expect(readdirSync(join(dir, 'onnx'))).toEqual([]); // nothing kept, not even a .part
  });

  it('checks a size it only learns after the transfer, and accepts the right size', async () => {
    files.set('/w.onnx', { body: Buffer.alloc(1500, 1), chunked: true });
    const bad = downloadFile({ url: `${base}/w.onnx`, dest: join(dir, 'w.onnx'), publishedSize: '2.5 kB' });
    await expect(bad).rejects.toThrow(/downloaded 1500 bytes, but the hub publishes 2\.5 kB/);
    expect(existsSync(join(dir, 'w.onnx'))).toBe(false);
    const good = await downloadFile({ url: `${base}/w.onnx`, dest: join(dir, 'w.onnx'), publishedSize: '1.5 kB' });
    expect(good.size).toBe(1500);
  });

  it('reads sizes as the hub shows them (SI units, rounded to the digits shown)', () => {
    expect(matchesPublishedSize(254_069_579, '254 MB')).toBe(true);
    expect(matchesPublishedSize(64_173_509, '64.2 MB')).toBe(true);
    expect(matchesPublishedSize(351_468_764, '352 MB')).toBe(false);
    expect(matchesPublishedSize(89_149_999, '89.1 MB')).toBe(true);
    expect(matchesPublishedSize(89_150_001, '89.1 MB')).toBe(false);
    expect(() => matchesPublishedSize(1, 'about 3 megs')).toThrow(/not like "352 MB"/);
  });
});

function devNull(): NodeJS.WritableStream & { isTTY?: boolean } {
  return new Writable({ write: (_c, _e, cb) => cb() });
}
