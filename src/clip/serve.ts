/**
 * `serve-clip`: the CLIP models behind the KServe v2 / Open Inference Protocol over HTTP,
 * for a GPU host that several bot replicas share. Requests go through the in-process
 * encoder's dynamic batcher and inference worker, so concurrent requests from many
 * replicas share runs (`clip-text` rows are re-padded per run; `clip-vision` takes
 * preprocessed pixel tensors). The endpoints are Triton's, so the bot's remote encoder
 * works against either this server or Triton Inference Server with the repository that
 * `models triton` writes.
 *
 * Exposure: it binds loopback unless told otherwise (`--host`). With SERVE_CLIP_TOKEN set, every
 * route but the health probes (/healthz, /readyz, /v2/health/live, /v2/health/ready) wants
 * `Authorization: Bearer <token>` (the remote encoder sends it). Memory is bounded before anything is
 * parsed: a body over `maxBodyBytes` is refused (413) unread, and bodies being read or
 * embedded together stay under `maxInflightBytes` (more: 503 with Retry-After).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError, isAdError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { BodyTooLargeError, readBoundedBody } from '../ops/body.ts';
import { tagRequest } from '../ops/http.ts';
import { type Metrics, noopMetrics } from '../ops/metrics.ts';
import type { OnnxEncoder, TokenRow } from './encoder.ts';
import {
  clipModels,
  decodeInferRequest,
  encodeInferResponse,
  HEADER_LENGTH,
  type InferRequest,
  KServeError,
  type ModelMetadata,
  type Tensor,
} from './kserve.ts';

export type ClipModelName = 'clip-text' | 'clip-vision';

export interface ClipServerOptions {
  encoder: OnnxEncoder;
  /** Address to bind (default 127.0.0.1: this machine only). */
  host?: string;
  port: number;
  logger: Logger;
  metrics?: Metrics;
  /** Bearer token every /v2 route and /metrics require (SERVE_CLIP_TOKEN); none: open. */
  token?: string;
  /** Largest request body accepted (default 64 MiB, ~110 preprocessed images; clients send batches of 32). */
  maxBodyBytes?: number;
  /** Request bytes being read or embedded at once (default 256 MiB); a request past it gets 503 + Retry-After. */
  maxInflightBytes?: number;
  /** Largest batch in one request. */
  maxBatch?: number;
  version?: string;
  /** Extra routes tried first (serve-clip's /healthz, /readyz, /metrics); true when handled. */
  extraRoute?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
}

export interface ClipServer {
  server: Server;
  port: number;
  /** Where a client on this machine reaches it. */
  url: string;
  /** Settles once the models loaded (or failed to: the failure is logged and /v2/health/ready stays 503). */
  warm: Promise<void>;
  /** What it listens on, as an operator should read it: "127.0.0.1:8000 (this machine only)", "0.0.0.0:8000 (all interfaces)". */
  listening: string;
  close(): Promise<void>;
}

/** Whether `host` binds every interface rather than one address. */
function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost' || host.startsWith('127.');
}

/** Compares a presented bearer token in constant time (digests: equal lengths whatever was sent). */
function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!m) return false;
  const digest = (v: string) => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(m[1]), digest(token));
}

const CONTEXT_LENGTH = 77;

/** Routes answered without a token: health probes, which say nothing but up/ready. */
const OPEN_PATHS = new Set(['/healthz', '/readyz', '/v2/health/live', '/v2/health/ready']);

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

/** A refusal that also closes the connection: the rest of the body is neither read nor drained. */
class Refusal extends KServeError {
  constructor(
    status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(status, message);
  }
}

function input(req: InferRequest, name: string, model: string, datatype: Tensor['datatype']): Tensor {
  const t = req.inputs.find((i) => i.name === name);
  if (!t)
    throw new KServeError(400, `${model}: missing input "${name}" (inputs given: ${req.inputs.map((i) => i.name).join(', ') || 'none'})`);
  if (t.datatype !== datatype) throw new KServeError(400, `${model}: input "${name}" must be ${datatype}; got ${t.datatype}`);
  return t;
}

export async function startClipServer(opts: ClipServerOptions): Promise<ClipServer> {
  const { encoder } = opts;
  const metrics = opts.metrics ?? noopMetrics;
  const log = opts.logger.child({ component: 'serve-clip' });
  const dims = encoder.dims;
  // The vision signature follows the graph that loaded: float CHW, or 8-bit HWC for an rgb8 model.
  const signatures = () => clipModels(dims, 224, encoder.settings().visionInput === 'rgb8' ? 'rgb8' : 'float');
  const models: Record<string, ModelMetadata> = signatures();
  const maxBody = opts.maxBodyBytes ?? 64 * 1024 * 1024;
  const maxInflight = Math.max(opts.maxInflightBytes ?? 256 * 1024 * 1024, maxBody);
  let inflightBytes = 0;
  const maxBatch = opts.maxBatch ?? 1024;
  const version = opts.version ?? '1';
  const ready: Record<ClipModelName, boolean> = { 'clip-text': false, 'clip-vision': false };

  const unsubscribe = encoder.onRun((e) => {
    metrics.encoderBatch(e.kind, e.size);
    if (e.queueWaitMs !== undefined) metrics.encoderQueueWait(e.kind, e.queueWaitMs / 1000);
  });

  const warm = encoder
    .warmup()
    .then(() => {
      ready['clip-text'] = true;
      ready['clip-vision'] = true;
      const info = encoder.info();
      log.info('models ready', {
        models: Object.keys(models),
        dims,
        provider: info.device,
        precision: info.precision,
        visionInput: encoder.settings().visionInput,
        synthetic: info.synthetic,
      });
    })
    .catch((e: unknown) => log.error('model load failed', { error: describeError(e) }));

  /** A model's metadata, with the execution provider and precision in use once the models loaded. */
  const metadata = (name: ClipModelName): ModelMetadata => {
    const info = encoder.info();
    return {
      ...signatures()[name],
      parameters: { execution_provider: info.device, precision: info.precision, vision_input: encoder.settings().visionInput },
    };
  };

  const inferText = async (req: InferRequest): Promise<Tensor> => {
    const ids = input(req, 'input_ids', 'clip-text', 'INT64');
    const mask = input(req, 'attention_mask', 'clip-text', 'INT64');
    if (ids.shape.length !== 2)
      throw new KServeError(400, `clip-text: input_ids must be 2-D [batch, sequence]; got shape ${JSON.stringify(ids.shape)}`);
    if (JSON.stringify(ids.shape) !== JSON.stringify(mask.shape))
      throw new KServeError(
        400,
        `clip-text: attention_mask shape ${JSON.stringify(mask.shape)} differs from input_ids shape ${JSON.stringify(ids.shape)}`,
      );
    const [batch, seq] = ids.shape;
    if (seq < 1 || seq > CONTEXT_LENGTH)
      throw new KServeError(400, `clip-text: sequence length must be 1 to ${CONTEXT_LENGTH}; got ${seq}`);
    if (batch > maxBatch) throw new KServeError(400, `clip-text: batch of ${batch} exceeds the limit of ${maxBatch}`);
    const idData = ids.data as BigInt64Array;
    const maskData = mask.data as BigInt64Array;
    const rows: TokenRow[] = [];
    for (let b = 0; b < batch; b++) {
      const r = { ids: idData.subarray(b * seq, (b + 1) * seq), mask: maskData.subarray(b * seq, (b + 1) * seq) };
      for (let i = 0; i < seq; i++) {
        if (r.mask[i] !== 0n && r.mask[i] !== 1n)
          throw new KServeError(400, `clip-text: attention_mask must hold 0 or 1; row ${b} has ${r.mask[i]}`);
        if (r.ids[i] < 0n || r.ids[i] > 0xffffffn)
          throw new KServeError(400, `clip-text: input_ids row ${b} holds ${r.ids[i]}, not a token id`);
      }
      if (r.mask[0] !== 1n) throw new KServeError(400, `clip-text: row ${b} attends to no tokens (attention_mask starts with 0)`);
      rows.push(r);
    }
    const out = await encoder.embedTokenized(rows);
    return { name: 'text_embeds', datatype: 'FP32', shape: [batch, dims], data: join(out, dims) };
  };

  const inferVision = async (req: InferRequest): Promise<Tensor> => {
    const graph = await encoder.visionInput();
    const rgb8 = graph.type === 'uint8';
    const name = rgb8 ? 'pixels' : 'pixel_values';
    const other = req.inputs.find((i) => i.name === (rgb8 ? 'pixel_values' : 'pixels'));
    if (other && !req.inputs.some((i) => i.name === name))
      throw new KServeError(
        400,
        rgb8
          ? 'clip-vision: this server\'s vision model takes 8-bit pixels: send "pixels" UINT8 [batch, 224, 224, 3] (resized and centre-cropped RGB), not pixel_values'
          : 'clip-vision: this server\'s vision model takes "pixel_values" FP32 [batch, 3, 224, 224] (CLIP-preprocessed CHW); it was started without an 8-bit-pixel model (models rgb8)',
      );
    const px = input(req, name, 'clip-vision', rgb8 ? 'UINT8' : 'FP32');
    const want = graph.dims;
    if (px.shape.length !== 4 || px.shape.slice(1).some((d, i) => d !== want[i + 1]))
      throw new KServeError(
        400,
        `clip-vision: ${name} must have shape [batch, ${want.slice(1).join(', ')}] (${rgb8 ? '8-bit RGB HWC' : 'CLIP-preprocessed CHW'}); got ${JSON.stringify(px.shape)}`,
      );
    const batch = px.shape[0];
    if (batch > maxBatch) throw new KServeError(400, `clip-vision: batch of ${batch} exceeds the limit of ${maxBatch}`);
    const per = want.slice(1).reduce((a, b) => a * b, 1);
    if (!rgb8) {
      const data = px.data as Float32Array;
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i])) throw new KServeError(400, `clip-vision: pixel_values holds a non-finite value at element ${i}`);
      }
    }
    // One owned buffer per image (the batcher transfers them to the worker), copied straight
    // from the request body: `data` is a view of it, not a copy of its own.
    const data = px.data as Float32Array | Uint8Array;
    const images = Array.from({ length: batch }, (_, b) => data.slice(b * per, (b + 1) * per));
    const out = await encoder.embedPreprocessed(images);
    return { name: 'image_embeds', datatype: 'FP32', shape: [batch, dims], data: join(out, dims) };
  };

  /**
   * Reserves room for a request's body in the in-flight budget (its announced size; the
   * ceiling when it announces none) until its answer is sent, then reads it.
   */
  const admitBody = async (req: IncomingMessage, res: ServerResponse, headerLength: string | undefined): Promise<Buffer> => {
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (Number.isFinite(declared) && declared > maxBody)
      throw new Refusal(413, `request body of ${declared} bytes exceeds the ${maxBody}-byte limit (SERVE_CLIP_MAX_BODY_BYTES)`);
    const need = Number.isFinite(declared) ? declared : maxBody;
    if (inflightBytes + need > maxInflight) {
      throw new Refusal(
        503,
        `busy: ${inflightBytes} request bytes in flight (SERVE_CLIP_MAX_INFLIGHT_BYTES is ${maxInflight}); retry shortly`,
        {
          'retry-after': '1',
        },
      );
    }
    inflightBytes += need;
    res.once('close', () => {
      inflightBytes -= need;
    });
    const at = Number(headerLength);
    try {
      return await readBoundedBody(req, maxBody, Number.isInteger(at) && at >= 0 ? { alignAt: at } : {});
    } catch (e) {
      if (e instanceof BodyTooLargeError)
        throw new Refusal(413, `request body exceeds the ${maxBody}-byte limit (SERVE_CLIP_MAX_BODY_BYTES)`);
      throw e;
    }
  };

  const infer = async (model: ClipModelName, req: IncomingMessage, res: ServerResponse) => {
    const headerLen = req.headers[HEADER_LENGTH];
    const headerLength = Array.isArray(headerLen) ? headerLen[0] : headerLen;
    const body = await admitBody(req, res, headerLength);
    const parsed = decodeInferRequest(body, headerLength);
    const tensor = model === 'clip-text' ? await inferText(parsed) : await inferVision(parsed);
    const expected = models[model].outputs[0].name;
    const unknown = parsed.outputs.find((o) => o.name !== expected);
    if (unknown) throw new KServeError(400, `${model}: unknown output "${unknown.name}" (this model has ${expected})`);
    const binary = parsed.binaryOutput || parsed.outputs.some((o) => o.binary);
    const enc = encodeInferResponse({ model, version, id: parsed.id, outputs: [{ tensor, binary }] });
    res.writeHead(200, { ...enc.headers, 'content-length': enc.body.length }).end(enc.body);
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<string> => {
    const path = (req.url ?? '/').split('?')[0].replace(/\/+$/, '');
    // Health probes stay open (orchestrators send no token, and they tell nothing); models and metrics do not.
    if (opts.token && !OPEN_PATHS.has(path) && !tokenMatches(req.headers.authorization, opts.token))
      throw new Refusal(401, 'missing or wrong bearer token (set SERVE_CLIP_TOKEN to the same value on the bot)', {
        'www-authenticate': 'Bearer',
      });
    if (opts.extraRoute && (await opts.extraRoute(req, res))) return 'ops';
    if (req.method === 'GET' && path === '/v2/health/live') {
      sendJson(res, 200, { live: true });
      return 'live';
    }
    if (req.method === 'GET' && path === '/v2/health/ready') {
      const ok = ready['clip-text'] && ready['clip-vision'];
      sendJson(res, ok ? 200 : 503, { ready: ok });
      return 'ready';
    }
    if (req.method === 'GET' && path === '/v2') {
      sendJson(res, 200, { name: 'adcreative-serve-clip', version, extensions: ['binary_tensor_data'] });
      return 'server';
    }
    const m = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer)?$/.exec(path);
    if (!m) throw new KServeError(404, `no route ${req.method} ${path}; see /v2/models/clip-text and /v2/models/clip-vision`);
    const name = decodeURIComponent(m[1]);
    const meta = models[name];
    if (!meta) throw new KServeError(404, `unknown model "${name}"; this server has ${Object.keys(models).join(' and ')}`);
    if (m[2] !== undefined && m[2] !== version) throw new KServeError(404, `model "${name}" has no version ${m[2]} (it has ${version})`);
    if (m[3] === '/ready' && req.method === 'GET') {
      const ok = ready[name as ClipModelName];
      sendJson(res, ok ? 200 : 503, { name, ready: ok });
      return 'model-ready';
    }
    if (m[3] === '/infer') {
      if (req.method !== 'POST') throw new KServeError(405, 'infer takes POST');
      await infer(name as ClipModelName, req, res);
      return `infer:${name}`;
    }
    if (m[3] === undefined && req.method === 'GET') {
      sendJson(res, 200, metadata(name as ClipModelName));
      return 'metadata';
    }
    throw new KServeError(405, `${req.method} is not allowed on ${path}`);
  };

  const server = createServer((req, res) => {
    const t0 = performance.now();
    const id = tagRequest(req);
    route(req, res)
      .then((r) => metrics.httpRequest(r, res.statusCode, (performance.now() - t0) / 1000))
      .catch((e: unknown) => {
        let status = 500;
        let message = describeError(e);
        if (e instanceof KServeError) {
          status = e.status;
          message = e.message;
        } else if (isAdError(e) && (e.code === 'INPUT_INVALID' || e.name === 'InputError')) {
          status = 400;
        } else if (isAdError(e) && e.code === 'ENCODER_CLOSED') {
          status = 503;
        }
        if (status >= 500 && status !== 503) log.error('request failed', { requestId: id, url: req.url, error: message });
        else log.info('request refused', { requestId: id, url: req.url, status, error: message });
        metrics.httpRequest('error', status, (performance.now() - t0) / 1000);
        if (res.headersSent) res.destroy();
        else if (e instanceof Refusal) {
          // Close the connection after the answer: a body not read is not left to drain.
          const text = JSON.stringify({ error: message });
          res.writeHead(status, {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(text),
            connection: 'close',
            ...e.headers,
          });
          res.end(text, () => req.socket.destroy());
        } else sendJson(res, status, { error: message });
      });
  });
  // Many replicas keep connections open to one server.
  server.keepAliveTimeout = 65_000;
  const bind = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, bind, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const local = isWildcard(bind) ? '127.0.0.1' : bind;
  const hostPart = (h: string) => (h.includes(':') ? `[${h}]` : h);
  const listening = `${hostPart(bind || '0.0.0.0')}:${port} (${isWildcard(bind) ? 'all interfaces' : isLoopback(bind) ? 'this machine only' : 'that address only'})`;
  log.info('serve-clip listening', { listening, auth: opts.token ? 'bearer token' : 'none' });
  return {
    server,
    port,
    url: `http://${hostPart(local)}:${port}`,
    warm,
    listening,
    async close() {
      unsubscribe();
      await warm;
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  };
}

function join(rows: Float32Array[], dims: number): Float32Array {
  const out = new Float32Array(rows.length * dims);
  rows.forEach((r, i) => {
    out.set(r, i * dims);
  });
  return out;
}
