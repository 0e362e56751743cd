/**
 * serve-clip and the remote encoder, on real onnxruntime-node and the tiny synthetic model:
 * the same embeddings as in-process, JSON and binary tensors, clear KServe errors, and a
 * server that goes away and comes back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOnnxEncoder, type OnnxEncoder, type RunEvent } from '../../../src/clip/encoder.ts';
import { decodeInferResponse, encodeInferRequest, HEADER_LENGTH } from '../../../src/clip/kserve.ts';
import { createRemoteEncoder } from '../../../src/clip/remote.ts';
import { rgb8ModelDir } from '../../../src/clip/rgb8.ts';
import { type ClipServer, startClipServer } from '../../../src/clip/serve.ts';
import { synthesizeModel } from '../../../src/clip/synth/index.ts';
import { ClipTokenizer } from '../../../src/clip/tokenizer.ts';
import { cosine } from '../../../src/clip/types.ts';
import { NetworkError } from '../../../src/errors.ts';
import { createLogger, silentLogger } from '../../../src/log.ts';
import { testImage } from '../../helpers/images.ts';

let root: string;
let modelDir: string;
let local: OnnxEncoder;
let serverEncoder: OnnxEncoder;
let server: ClipServer;
const runs: RunEvent[] = [];

const TEXTS = ['oat milk for runners', 'a', 'summer sale on running shoes with free shipping and easy returns', 'café crème ☕'];

function encoder(batchMax: number, batchWaitMs: number): OnnxEncoder {
  return createOnnxEncoder({
    modelDir,
    device: 'cpu',
    precision: 'fp32',
    threads: 1,
    batchMax,
    batchWaitMs,
    limits: { maxPixels: 40_000_000, maxBytes: 25 * 1024 * 1024 },
    logger: silentLogger,
  });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'clip-remote-'));
  modelDir = join(root, 'clip-tiny');
  await synthesizeModel({ arch: 'tiny', outDir: modelDir, seed: 11 });
  local = encoder(8, 0);
  serverEncoder = encoder(16, 25);
  serverEncoder.onRun((e) => runs.push(e));
  server = await startClipServer({ encoder: serverEncoder, port: 0, host: '127.0.0.1', logger: silentLogger });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await Promise.all([local?.close(), serverEncoder?.close()]);
  rmSync(root, { recursive: true, force: true });
});

describe('serve-clip + remote encoder', () => {
  it('gives the same text and image embeddings as the in-process encoder', async () => {
    const remote = createRemoteEncoder({ endpoint: server.url, modelDir });
    expect(remote.dims).toBe(local.dims);
    expect(remote.info().device).toBe(`remote ${server.url}`);
    expect(remote.info().synthetic).toBe(true);
    const [a, b] = await Promise.all([remote.embedTexts(TEXTS), local.embedTexts(TEXTS)]);
    expect(a).toHaveLength(TEXTS.length);
    for (let i = 0; i < TEXTS.length; i++) expect(cosine(a[i], b[i])).toBeGreaterThanOrEqual(0.99999);
    // Different texts stay different (the comparison above is not trivially true).
    expect(cosine(a[0], a[2])).toBeLessThan(0.999);

    const images = await Promise.all([testImage(1, [120, 90]), testImage(2, [64, 128], 'png'), testImage(3)]);
    const [ri, li] = await Promise.all([remote.embedImages(images), local.embedImages(images)]);
    for (let i = 0; i < images.length; i++) expect(cosine(ri[i], li[i])).toBeGreaterThanOrEqual(0.99999);
    await remote.close();
  });

  it('batches concurrent requests from several clients into shared runs', async () => {
    const remote = createRemoteEncoder({ endpoint: server.url, modelDir });
    const before = runs.length;
    const texts = Array.from({ length: 24 }, (_, i) => `brief number ${i} for a batch`);
    const out = await Promise.all(texts.map((t) => remote.embedTexts([t])));
    expect(out).toHaveLength(24);
    const textRuns = runs.slice(before).filter((r) => r.kind === 'text');
    expect(textRuns.reduce((s, r) => s + r.size, 0)).toBe(24);
    expect(textRuns.length).toBeLessThan(24);
    expect(Math.max(...textRuns.map((r) => r.size))).toBeGreaterThan(1);
  });

  it('answers JSON and binary infer requests alike, and serves health and model metadata', async () => {
    const tok = ClipTokenizer.load(join(modelDir, 'tokenizer.json'));
    const e = tok.encodeBatch(TEXTS.slice(0, 2), { padTo: 'longest' });
    const inputs = [
      { name: 'input_ids', datatype: 'INT64' as const, shape: [e.batch, e.seqLen], data: e.inputIds },
      { name: 'attention_mask', datatype: 'INT64' as const, shape: [e.batch, e.seqLen], data: e.attentionMask },
    ];
    // Plain JSON, as curl would send it.
    const jsonRes = await fetch(`${server.url}/v2/models/clip-text/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'req-1',
        inputs: inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape, data: Array.from(t.data, Number) })),
      }),
    });
    expect(jsonRes.status).toBe(200);
    const body = (await jsonRes.json()) as { id: string; model_name: string; outputs: { name: string; shape: number[]; data: number[] }[] };
    expect(body.id).toBe('req-1');
    expect(body.model_name).toBe('clip-text');
    expect(body.outputs[0].name).toBe('text_embeds');
    expect(body.outputs[0].shape).toEqual([2, local.dims]);

    const enc = encodeInferRequest({ inputs, outputs: ['text_embeds'], binary: true });
    const binRes = await fetch(`${server.url}/v2/models/clip-text/infer`, {
      method: 'POST',
      headers: enc.headers,
      body: new Uint8Array(enc.body),
    });
    expect(binRes.status).toBe(200);
    expect(binRes.headers.get(HEADER_LENGTH)).toMatch(/^\d+$/);
    const dec = decodeInferResponse(Buffer.from(await binRes.arrayBuffer()), binRes.headers.get(HEADER_LENGTH) ?? undefined);
    const bin = dec.outputs[0].data as Float32Array;
    const ref = await local.embedTexts(TEXTS.slice(0, 2));
    for (let r = 0; r < 2; r++) {
      const jsonRow = Float32Array.from(body.outputs[0].data.slice(r * local.dims, (r + 1) * local.dims));
      expect(cosine(jsonRow, ref[r])).toBeGreaterThanOrEqual(0.99999);
      expect(cosine(bin.subarray(r * local.dims, (r + 1) * local.dims), ref[r])).toBeGreaterThanOrEqual(0.99999);
    }

    expect((await fetch(`${server.url}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`${server.url}/v2/models/clip-vision/ready`)).status).toBe(200);
    const meta = (await (await fetch(`${server.url}/v2/models/clip-vision`)).json()) as { inputs: { name: string; shape: number[] }[] };
    expect(meta.inputs).toEqual([{ name: 'pixel_values', datatype: 'FP32', shape: [-1, 3, 224, 224] }]);
  });

  it('serves an 8-bit-pixel vision model: its metadata says so, with the provider, and the remote encoder (with the token) sends bytes', async () => {
    await rgb8ModelDir(modelDir);
    const rgb8Encoder = createOnnxEncoder({
      modelDir,
      device: 'cpu',
      precision: 'fp32',
      visionInput: 'rgb8',
      threads: 1,
      limits: { maxPixels: 40_000_000, maxBytes: 25 * 1024 * 1024 },
      logger: silentLogger,
    });
    // Behind SERVE_CLIP_TOKEN the metadata is guarded too: the remote encoder must ask with the token.
    const token = 'rgb8-test-token-3b81';
    const auth = { authorization: `Bearer ${token}` };
    const rgb8Server = await startClipServer({ encoder: rgb8Encoder, port: 0, host: '127.0.0.1', logger: silentLogger, token });
    try {
      await rgb8Server.warm;
      expect((await fetch(`${rgb8Server.url}/v2/models/clip-vision`)).status).toBe(401);
      const meta = (await (await fetch(`${rgb8Server.url}/v2/models/clip-vision`, { headers: auth })).json()) as Record<string, unknown>;
      expect(meta.inputs).toEqual([{ name: 'pixels', datatype: 'UINT8', shape: [-1, 224, 224, 3] }]);
      expect(meta.parameters).toEqual({ execution_provider: 'cpu', precision: 'fp32', vision_input: 'rgb8' });
      const lines: string[] = [];
      const remote = createRemoteEncoder({
        endpoint: rgb8Server.url,
        modelDir,
        token,
        logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }),
      });
      const images = await Promise.all([testImage(1, [300, 200]), testImage(2, [200, 300])]);
      const [ri, li] = await Promise.all([remote.embedImages(images), local.embedImages(images)]);
      for (let i = 0; i < images.length; i++) expect(cosine(ri[i], li[i])).toBeGreaterThanOrEqual(0.99999);
      expect(lines.some((l) => /CLIP server vision input.*pixels UINT8/.test(l))).toBe(true);
      await remote.close();
      // A float tensor to the 8-bit server is refused with what to send instead.
      const res = await fetch(`${rgb8Server.url}/v2/models/clip-vision/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify({ inputs: [{ name: 'pixel_values', datatype: 'FP32', shape: [1, 3, 1, 1], data: [0, 0, 0] }] }),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toContain('send "pixels" UINT8 [batch, 224, 224, 3]');
    } finally {
      await rgb8Server.close();
      await rgb8Encoder.close();
    }
  });

  it('refuses bad tensors with a 4xx and a KServe error body that says what is wrong', async () => {
    const post = async (model: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) => {
      const res = await fetch(`${server.url}/v2/models/${model}/infer`, {
        method: 'POST',
        headers,
        body: typeof body === 'string' ? body : body instanceof Uint8Array ? new Blob([new Uint8Array(body)]) : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as { error: string } };
    };
    const wrongType = await post('clip-text', {
      inputs: [
        { name: 'input_ids', datatype: 'FP32', shape: [1, 2], data: [49406, 49407] },
        { name: 'attention_mask', datatype: 'INT64', shape: [1, 2], data: [1, 1] },
      ],
    });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error).toMatch(/input "input_ids" must be INT64; got FP32/);

    const shape = await post('clip-vision', {
      inputs: [{ name: 'pixel_values', datatype: 'FP32', shape: [1, 3, 2, 2], data: new Array(12).fill(0) }],
    });
    expect(shape.status).toBe(400);
    expect(shape.body.error).toMatch(/pixel_values must have shape \[batch, 3, 224, 224\]/);

    const count = await post('clip-text', {
      inputs: [
        { name: 'input_ids', datatype: 'INT64', shape: [1, 3], data: [49406, 49407] },
        { name: 'attention_mask', datatype: 'INT64', shape: [1, 3], data: [1, 1, 0] },
      ],
    });
    expect(count.status).toBe(400);
    expect(count.body.error).toMatch(/shape \[1,3\] needs 3 elements; data has 2/);

    // Binary section shorter than binary_data_size says.
    const header = Buffer.from(
      JSON.stringify({
        inputs: [{ name: 'pixel_values', datatype: 'FP32', shape: [1, 3, 224, 224], parameters: { binary_data_size: 602112 } }],
      }),
    );
    const short = await post('clip-vision', new Uint8Array(Buffer.concat([header, Buffer.alloc(1000)])), {
      'content-type': 'application/octet-stream',
      [HEADER_LENGTH]: String(header.length),
    });
    expect(short.status).toBe(400);
    expect(short.body.error).toMatch(/binary_data_size 602112 runs past the end of the body/);

    expect((await post('clip-audio', { inputs: [] })).status).toBe(404);
    expect((await post('clip-text', 'not json')).body.error).toMatch(/not valid JSON/);
  });

  it('says clearly when the server is down, opens the breaker, and recovers when it returns', async () => {
    const flaky = await startClipServer({ encoder: serverEncoder, port: 0, host: '127.0.0.1', logger: silentLogger });
    const port = flaky.port;
    const lines: string[] = [];
    const remote = createRemoteEncoder({
      endpoint: flaky.url,
      modelDir,
      retries: 1,
      backoffMs: 10,
      breakerFailures: 2,
      breakerCooldownMs: 500,
      timeoutMs: 2000,
      logger: createLogger({ write: (l) => lines.push(l) }),
    });
    expect(await remote.embedTexts(['up'])).toHaveLength(1);
    await flaky.close();

    const down = await remote.embedTexts(['down']).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(NetworkError);
    expect((down as NetworkError).code).toBe('CLIP_SERVER_DOWN');
    expect((down as Error).message).toMatch(new RegExp(`CLIP server at http://127\\.0\\.0\\.1:${port} is down .*; retrying in 1 s`));
    expect(remote.breaker().state).toBe('open');
    expect(await remote.ready()).toBe(false);
    // While open, calls fail at once without waiting on the network.
    const t0 = performance.now();
    await expect(remote.embedImages([await testImage(4)])).rejects.toMatchObject({ code: 'CLIP_SERVER_DOWN' });
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(lines.some((l) => l.includes('circuit open'))).toBe(true);

    // The server comes back on the same port; after the cool-down one probe closes the circuit.
    const back = await startClipServer({ encoder: serverEncoder, port, host: '127.0.0.1', logger: silentLogger });
    try {
      await new Promise((r) => setTimeout(r, 600));
      expect(remote.breaker().state).toBe('half-open');
      const again = await remote.embedTexts(['back again']);
      expect(cosine(again[0], (await local.embedTexts(['back again']))[0])).toBeGreaterThanOrEqual(0.99999);
      expect(remote.breaker()).toMatchObject({ state: 'closed', failures: 0 });
      expect(await remote.ready()).toBe(true);
      expect(lines.some((l) => l.includes('circuit closed'))).toBe(true);
    } finally {
      await back.close();
      await remote.close();
    }
  });
});
