/**
 * Issue 14, serve-clip (the GPU host's inference server), on real ONNX Runtime and the tiny
 * synthetic model: loopback unless told otherwise, an optional bearer token the remote encoder
 * sends, client mistakes are 4xx and hurt no batch-mate, and memory is bounded before parsing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOnnxEncoder, type OnnxEncoder } from '../../src/clip/encoder.ts';
import { encodeInferRequest, HEADER_LENGTH } from '../../src/clip/kserve.ts';
import { createRemoteEncoder } from '../../src/clip/remote.ts';
import { type ClipServer, startClipServer } from '../../src/clip/serve.ts';
import { synthesizeModel } from '../../src/clip/synth/index.ts';
import { ClipTokenizer } from '../../src/clip/tokenizer.ts';
import { InferenceError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { createReadiness, opsRoute } from '../../src/ops/http.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import { MiB, rssGrowthDuring } from '../helpers/memory.ts';

const TOKEN = 'serve-clip-test-token-7f3a9c';
let root: string;
let modelDir: string;
let enc: OnnxEncoder;
let open: ClipServer;
let guarded: ClipServer;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'adc-serve-clip-'));
  modelDir = join(root, 'clip-tiny');
  await synthesizeModel({ arch: 'tiny', outDir: modelDir, seed: 5 });
  // A wait long enough that concurrent requests share runs.
  enc = createOnnxEncoder({
    modelDir,
    device: 'cpu',
    precision: 'fp32',
    threads: 1,
    batchMax: 64,
    batchWaitMs: 40,
    limits: { maxPixels: 40_000_000, maxBytes: 25 * MiB },
    logger: silentLogger,
  });
  await enc.warmup();
  open = await startClipServer({ encoder: enc, port: 0, logger: silentLogger, maxBodyBytes: 64 * MiB, maxInflightBytes: 64 * MiB });
  const metrics = createMetrics();
  guarded = await startClipServer({
    encoder: enc,
    port: 0,
    logger: silentLogger,
    token: TOKEN,
    metrics,
    extraRoute: opsRoute({ metrics, readiness: createReadiness({ checks: {}, intervalMs: 3_600_000 }) }),
  });
}, 120_000);

afterAll(async () => {
  await open?.close();
  await guarded?.close();
  await enc?.close();
  rmSync(root, { recursive: true, force: true });
});

/** A clip-text infer request (JSON) for `texts`, tokenized as the remote encoder does; `poke` may change an id first. */
function textRequest(texts: string[], poke?: (ids: BigInt64Array) => void): { body: string; headers: Record<string, string> } {
  const e = ClipTokenizer.load(join(modelDir, 'tokenizer.json')).encodeBatch(texts, { padTo: 'longest' });
  poke?.(e.inputIds);
  const shape = [e.batch, e.seqLen];
  return {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      inputs: [
        { name: 'input_ids', datatype: 'INT64', shape, data: Array.from(e.inputIds, Number) },
        { name: 'attention_mask', datatype: 'INT64', shape, data: Array.from(e.attentionMask, Number) },
      ],
    }),
  };
}

describe('serve-clip exposure', () => {
  it('binds this machine only unless --host says otherwise, and says which', async () => {
    expect((open.server.address() as AddressInfo).address).toBe('127.0.0.1');
    expect(open.listening).toBe(`127.0.0.1:${open.port} (this machine only)`);
    const wide = await startClipServer({ encoder: enc, port: 0, host: '0.0.0.0', logger: silentLogger });
    try {
      expect((wide.server.address() as AddressInfo).address).toBe('0.0.0.0');
      expect(wide.listening).toBe(`0.0.0.0:${wide.port} (all interfaces)`);
    } finally {
      await wide.close();
    }
  });

  it('with SERVE_CLIP_TOKEN, wants the bearer token everywhere but the health probes; the remote encoder sends it', async () => {
    const { body, headers } = textRequest(['oat milk']);
    const infer = (h: Record<string, string>) =>
      fetch(`${guarded.url}/v2/models/clip-text/infer`, { method: 'POST', headers: { ...headers, ...h }, body });
    expect((await infer({})).status).toBe(401);
    expect((await infer({ authorization: 'Bearer wrong-token' })).status).toBe(401);
    expect((await infer({ authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect((await fetch(`${guarded.url}/v2/models/clip-vision`)).status).toBe(401);
    expect((await fetch(`${guarded.url}/metrics`)).status).toBe(401);
    for (const probe of ['/healthz', '/v2/health/live', '/v2/health/ready'])
      expect((await fetch(`${guarded.url}${probe}`)).status, probe).toBe(200);

    const withToken = createRemoteEncoder({ endpoint: guarded.url, modelDir, token: TOKEN });
    expect(await withToken.embedTexts(['oat milk'])).toHaveLength(1);
    expect(await withToken.ready()).toBe(true);
    const without = createRemoteEncoder({ endpoint: guarded.url, modelDir, retries: 0 });
    const err = await without.embedTexts(['oat milk']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InferenceError);
    expect((err as Error).message).toMatch(/HTTP 401: missing or wrong bearer token \(set SERVE_CLIP_TOKEN/);
    await Promise.all([withToken.close(), without.close()]);
  });
});

describe('serve-clip and client mistakes', () => {
  it('refuses a token id outside the vocabulary with 400, and its batch-mates still get 200', async () => {
    const vocab = ClipTokenizer.load(join(modelDir, 'tokenizer.json')).vocabSize;
    const good = textRequest(['oat milk for runners']);
    const bad = textRequest(['oat milk for runners'], (ids) => {
      ids[1] = BigInt(vocab + 5);
    });
    const all = await Promise.all(
      Array.from({ length: 8 }, (_, i) => fetch(`${open.url}/v2/models/clip-text/infer`, { method: 'POST', ...(i === 3 ? bad : good) })),
    );
    const statuses = all.map((r) => r.status);
    expect(statuses).toEqual([200, 200, 200, 400, 200, 200, 200, 200]);
    expect(((await all[3].json()) as { error: string }).error).toMatch(
      new RegExp(`holds ${vocab + 5} .*not a token id of this model \\(0 to ${vocab - 1}\\)`),
    );
  });

  it('answers a JSON array nested 100,000 deep with 400, not a stack overflow', async () => {
    const deep = `${'['.repeat(100_000)}1${']'.repeat(100_000)}`;
    const body = `{"inputs":[{"name":"input_ids","datatype":"INT64","shape":[1,1],"data":${deep}},{"name":"attention_mask","datatype":"INT64","shape":[1,1],"data":[1]}]}`;
    const res = await fetch(`${open.url}/v2/models/clip-text/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/nests deeper than 16 levels/);
  });
});

/** Streams a clip-vision request of `images` zero images without holding it in this process. */
function visionFlood(url: string, images: number): Promise<{ status?: number; retryAfter?: string }> {
  const per = 3 * 224 * 224 * 4;
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'pixel_values', datatype: 'FP32', shape: [images, 3, 224, 224], parameters: { binary_data_size: images * per } }],
      outputs: [{ name: 'image_embeds', parameters: { binary_data: true } }],
    }),
  );
  const total = header.length + images * per;
  return new Promise((resolve) => {
    const u = new URL(`${url}/v2/models/clip-vision/infer`);
    const req = request({
      host: u.hostname,
      port: u.port,
      path: u.pathname,
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(total), [HEADER_LENGTH]: String(header.length) },
    });
    let done = false;
    let status: number | undefined;
    let retryAfter: string | undefined;
    const finish = () => {
      if (!done) {
        done = true;
        resolve({ status, retryAfter });
      }
    };
    req.on('response', (res) => {
      status = res.statusCode;
      retryAfter = res.headers['retry-after'] as string | undefined;
      res.resume();
      res.on('end', finish);
    });
    req.on('error', finish);
    req.on('close', finish);
    const zeros = Buffer.alloc(64 * 1024);
    let sent = 0;
    const body = images * per;
    req.write(header);
    const pump = () => {
      while (!done && status === undefined && sent < body) {
        const n = Math.min(zeros.length, body - sent);
        sent += n;
        if (!req.write(n === zeros.length ? zeros : zeros.subarray(0, n))) return void req.once('drain', pump);
      }
      if (sent >= body) req.end();
    };
    pump();
  });
}

describe('serve-clip memory', () => {
  it('bounds bytes in flight: of four 46 MB image batches at once, the ones past the budget get 503 + Retry-After', async () => {
    const { result, growthBytes } = await rssGrowthDuring(() => Promise.all(Array.from({ length: 4 }, () => visionFlood(open.url, 80))));
    const statuses = result.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThanOrEqual(2);
    for (const r of result.filter((x) => x.status === 503)) expect(r.retryAfter).toBe('1');
    expect(growthBytes).toBeLessThan(320 * MiB);
  });

  it('refuses a body over its limit before reading it', async () => {
    const huge = encodeInferRequest({
      inputs: [{ name: 'pixel_values', datatype: 'FP32', shape: [1, 3, 224, 224], data: new Float32Array(150_528) }],
      binary: true,
    });
    const res = await fetch(`${open.url}/v2/models/clip-vision/infer`, {
      method: 'POST',
      headers: { ...huge.headers, 'content-length': String(65 * MiB) },
      body: new Uint8Array(huge.body),
      duplex: 'half',
    } as RequestInit).catch((e: unknown) => e);
    // Announced over the limit: 413 at once (or the connection closed under a client still sending).
    if (res instanceof Response) expect(res.status).toBe(413);
    else expect(String((res as Error).message)).toMatch(/fetch failed|closed|reset|socket/i);
  });
});
