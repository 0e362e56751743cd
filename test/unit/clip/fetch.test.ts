import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { downloadFile, fetchModel, LOCK_FILE, listModels, type ManifestModel, readLock } from '../../../src/clip/fetch.ts';
import { ModelError, NetworkError } from '../../../src/errors.ts';

interface ServerOpts {
  range: boolean;
  /** Per path: cut the connection after this many body bytes, on the first N requests. */
  cut?: Record<string, { after: number; times: number }>;
  /** Per path: header x-linked-etag to advertise. */
  etag?: Record<string, string>;
}

interface TestServer {
  url: string;
  files: Map<string, Buffer>;
  requests: { path: string; range?: string }[];
  close(): Promise<void>;
}

async function startServer(opts: ServerOpts): Promise<TestServer> {
  const files = new Map<string, Buffer>();
  const requests: TestServer['requests'] = [];
  const cut = structuredClone(opts.cut ?? {});
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push({ path, range: req.headers.range });
    const body = files.get(path);
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'x-repo-commit': 'abc123' };
    if (opts.etag?.[path]) headers['x-linked-etag'] = `"${opts.etag[path]}"`;
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (opts.range && m) {
      start = Number(m[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, {
        ...headers,
        'content-length': String(body.length - start),
        'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
      });
    } else {
      res.writeHead(200, { ...headers, 'content-length': String(body.length) });
    }
    const rest = body.subarray(start);
    const c = cut[path];
    if (c && c.times > 0) {
      c.times--;
      res.write(rest.subarray(0, c.after), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(rest);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    files,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const quiet = () => new PassThrough().resume() as unknown as NodeJS.WritableStream;

const MODEL: ManifestModel = {
  source: 'openai/clip-vit-base-patch32',
  repo: 'Org/clip',
  revision: 'main',
  dir: 'models/clip',
  files: [
    { path: 'config.json', precision: 'any', sha256: null },
    { path: 'onnx/text_model.onnx', precision: 'fp32', sha256: null },
    { path: 'onnx/text_model_quantized.onnx', precision: 'int8', sha256: null },
  ],
};

let dir: string;
let srv: TestServer | undefined;
const content = {
  config: Buffer.from('{"projection_dim":512}'),
  text: randomBytes(300_000),
  textQ: randomBytes(50_000),
};

function serveModel(s: TestServer, rev = 'main') {
  s.files.set(`/Org/clip/resolve/${rev}/config.json`, content.config);
  s.files.set(`/Org/clip/resolve/${rev}/onnx/text_model.onnx`, content.text);
  s.files.set(`/Org/clip/resolve/${rev}/onnx/text_model_quantized.onnx`, content.textQ);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fetch-'));
});
afterEach(async () => {
  await srv?.close();
  srv = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('models fetch', () => {
  it('downloads the files of a precision, records their checksums, then verifies without downloading again', async () => {
    srv = await startServer({ range: true });
    serveModel(srv);
    const files = await fetchModel({ model: MODEL, name: 'clip', dir, precision: 'fp32', endpoint: srv.url, progressStream: quiet() });
    expect(files.map((f) => [f.path, f.status])).toEqual([
      ['config.json', 'downloaded'],
      ['onnx/text_model.onnx', 'downloaded'],
    ]);
    expect(readFileSync(join(dir, 'onnx/text_model.onnx')).equals(content.text)).toBe(true);
    expect(existsSync(join(dir, 'onnx/text_model_quantized.onnx'))).toBe(false);
    const lock = readLock(dir);
    expect(lock.files['onnx/text_model.onnx'].sha256).toBe(sha(content.text));
    expect(lock.commit).toBe('abc123');

    const before = srv.requests.length;
    const again = await fetchModel({ model: MODEL, name: 'clip', dir, precision: 'fp32', endpoint: srv.url, progressStream: quiet() });
    expect(again.every((f) => f.status === 'verified')).toBe(true);
    expect(srv.requests.length).toBe(before);

    // Later downloads use the commit recorded on first download, not the moving branch.
    serveModel(srv, 'abc123');
    await fetchModel({ model: MODEL, name: 'clip', dir, precision: 'int8', endpoint: srv.url, progressStream: quiet() });
    expect(srv.requests.at(-1)?.path).toBe('/Org/clip/resolve/abc123/onnx/text_model_quantized.onnx');
  });

  it('resumes an interrupted transfer with a Range request', async () => {
    srv = await startServer({ range: true, cut: { '/Org/clip/resolve/main/onnx/text_model.onnx': { after: 100_000, times: 1 } } });
    serveModel(srv);
    const dest = join(dir, 'onnx/text_model.onnx');
    const r = await downloadFile({ url: `${srv.url}/Org/clip/resolve/main/onnx/text_model.onnx`, dest });
    expect(readFileSync(dest).equals(content.text)).toBe(true);
    expect(r.resumed).toBe(1);
    expect(srv.requests.map((q) => q.range)).toEqual([undefined, expect.stringMatching(/^bytes=[1-9]\d*-$/)]);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it('keeps the partial file when retries run out, and the next run resumes it', async () => {
    srv = await startServer({ range: true, cut: { '/Org/clip/resolve/main/onnx/text_model.onnx': { after: 120_000, times: 1 } } });
    serveModel(srv);
    serveModel(srv, 'abc123');
    const run = () =>
      fetchModel({ model: MODEL, name: 'clip', dir, precision: 'fp32', endpoint: srv!.url, progressStream: quiet(), retries: 0 });
    const e = await run().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetworkError);
    expect((e as NetworkError).code).toBe('DOWNLOAD_INTERRUPTED');
    expect((e as NetworkError).hint).toContain('run the command again to resume');
    expect(existsSync(join(dir, 'onnx/text_model.onnx.part'))).toBe(true);
    await run();
    expect(readFileSync(join(dir, 'onnx/text_model.onnx')).equals(content.text)).toBe(true);
    expect(srv.requests.at(-1)?.range).toBe('bytes=120000-');
  });

  it('starts the file again when the server ignores Range', async () => {
    srv = await startServer({ range: false });
    serveModel(srv);
    const dest = join(dir, 'model.onnx');
    writeFileSync(`${dest}.part`, randomBytes(5000));
    const r = await downloadFile({ url: `${srv.url}/Org/clip/resolve/main/onnx/text_model.onnx`, dest });
    expect(r.restarted).toBe(1);
    expect(r.resumed).toBe(0);
    expect(readFileSync(dest).equals(content.text)).toBe(true);
    expect(srv.requests[0].range).toBe('bytes=5000-');
  });

  it('a checksum mismatch is an error and the bad file is removed', async () => {
    srv = await startServer({ range: true });
    serveModel(srv);
    await fetchModel({ model: MODEL, name: 'clip', dir, precision: 'fp32', endpoint: srv.url, progressStream: quiet() });
    // The file is damaged locally, and the server now serves other bytes than were recorded.
    writeFileSync(join(dir, 'onnx/text_model.onnx'), 'damaged');
    srv.files.set('/Org/clip/resolve/abc123/onnx/text_model.onnx', randomBytes(1000));
    srv.files.set('/Org/clip/resolve/abc123/config.json', content.config);
    const e = await fetchModel({ model: MODEL, name: 'clip', dir, precision: 'fp32', endpoint: srv.url, progressStream: quiet() }).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(ModelError);
    expect((e as ModelError).code).toBe('CHECKSUM_MISMATCH');
    expect((e as ModelError).message).toContain(join(dir, 'onnx/text_model.onnx'));
    expect(existsSync(join(dir, 'onnx/text_model.onnx'))).toBe(false);
    expect(existsSync(join(dir, 'onnx/text_model.onnx.part'))).toBe(false);
  });

  it('checks a first download against the sum the hub advertises', async () => {
    srv = await startServer({ range: true, etag: { '/Org/clip/resolve/main/onnx/text_model.onnx': 'a'.repeat(64) } });
    serveModel(srv);
    const dest = join(dir, 'onnx/text_model.onnx');
    await expect(downloadFile({ url: `${srv.url}/Org/clip/resolve/main/onnx/text_model.onnx`, dest })).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
    });
    expect(existsSync(dest) || existsSync(`${dest}.part`)).toBe(false);
  });

  it('records files copied in by hand and verifies them later', async () => {
    srv = await startServer({ range: true });
    const root = join(dir, 'models');
    const m = join(root, 'clip');
    mkdirSync(join(m, 'onnx'), { recursive: true });
    writeFileSync(join(m, 'config.json'), content.config);
    writeFileSync(join(m, 'onnx/text_model.onnx'), content.text);
    const files = await fetchModel({ model: MODEL, name: 'clip', dir: m, precision: 'fp32', endpoint: srv.url, progressStream: quiet() });
    expect(files.map((f) => f.status)).toEqual(['recorded', 'recorded']);
    expect(srv.requests).toEqual([]);
    const [listed] = await listModels([root]);
    expect(listed.dir).toBe(m);
    expect(listed.synthetic).toBe(false);
    expect(listed.files.find((f) => f.path === 'onnx/text_model.onnx')).toEqual({
      path: 'onnx/text_model.onnx',
      size: 300_000,
      checksum: 'ok',
    });
    expect(listed.files.some((f) => f.path === LOCK_FILE)).toBe(false);
    writeFileSync(join(m, 'onnx/text_model.onnx'), 'changed');
    const [relisted] = await listModels([root]);
    expect(relisted.files.find((f) => f.path === 'onnx/text_model.onnx')?.checksum).toBe('mismatch');
  });

  it('lists a model directory given directly (CLIP_MODEL_DIR outside the roots) once, even when a root also holds it', async () => {
    const root = join(dir, 'models');
    const elsewhere = join(dir, 'elsewhere', 'my-clip');
    for (const m of [join(root, 'clip'), elsewhere]) {
      mkdirSync(join(m, 'onnx'), { recursive: true });
      writeFileSync(join(m, 'config.json'), JSON.stringify({ adcreative_synthetic: true, adcreative_arch: 'tiny' }));
    }
    const listed = await listModels([root], { verify: false, dirs: [elsewhere, join(root, 'clip'), join(dir, 'absent')] });
    expect(listed.map((m) => m.dir)).toEqual([join(root, 'clip'), elsewhere]);
    expect(listed[1]).toMatchObject({ name: 'my-clip', synthetic: true, arch: 'tiny' });
  });

  it('an unreachable host is a clear error that says what to do offline', async () => {
    const s = await startServer({ range: true });
    const url = s.url;
    await s.close();
    const e = await fetchModel({ model: MODEL, name: 'clip', dir, precision: 'fp32', endpoint: url, progressStream: quiet() }).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(NetworkError);
    expect((e as NetworkError).code).toBe('NETWORK_UNREACHABLE');
    expect((e as NetworkError).message).toContain('cannot reach 127.0.0.1');
    expect((e as NetworkError).hint).toContain(`copy these files by hand from a machine that has it into ${dir}`);
    expect((e as NetworkError).hint).toContain('models synth --arch tiny');
  });

  it('an HTTP error names the URL and status', async () => {
    srv = await startServer({ range: true });
    await expect(downloadFile({ url: `${srv.url}/Org/clip/resolve/main/missing.onnx`, dest: join(dir, 'm.onnx') })).rejects.toMatchObject({
      code: 'DOWNLOAD_HTTP',
      message: expect.stringContaining('missing.onnx: HTTP 404'),
    });
  });

  it('`models fetch` exits non-zero offline and says what to do', async () => {
    const s = await startServer({ range: true });
    await s.close();
    process.env.HF_ENDPOINT = s.url;
    const { main } = await import('../../../src/cli.ts');
    let out = '';
    let err = '';
    const io = {
      stdout: new PassThrough().on('data', (d) => (out += d)),
      stderr: new PassThrough().on('data', (d) => (err += d)),
      stdin: new PassThrough(),
    };
    const code = await main(['models', 'fetch', '--dir', join(dir, 'real'), '--precision', 'int8'], io);
    expect(code).toBe(1);
    expect(err).toContain('NETWORK_UNREACHABLE');
    expect(err).toContain('copy these files by hand');
    expect(out).toBe('');
    expect(await main(['models', 'fetch', '--precision', 'fp16'], io)).toBe(2);
  });

  it('never writes the real model over a synthetic one', async () => {
    writeFileSync(join(dir, 'config.json'), '{"adcreative_synthetic": true}');
    await expect(fetchModel({ model: MODEL, name: 'clip', dir, precision: 'fp32', endpoint: 'http://127.0.0.1:9' })).rejects.toMatchObject({
      code: 'MODEL_DIR_SYNTHETIC',
    });
  });
});
