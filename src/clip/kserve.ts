/**
 * The KServe v2 / Open Inference Protocol over HTTP, as far as CLIP needs it: infer
 * requests and responses with JSON tensors and with the binary tensor data extension
 * (Triton's `Inference-Header-Content-Length`: a JSON header, then each binary tensor's raw
 * little-endian bytes in order, sized by its `binary_data_size` parameter). Shared by
 * `serve-clip` (decode requests, encode responses) and the remote encoder (the reverse),
 * so both sides agree byte for byte — and both agree with Triton Inference Server.
 */

export const HEADER_LENGTH = 'inference-header-content-length';

export type Datatype = 'FP32' | 'INT64' | 'UINT8';
export type TensorData = Float32Array | BigInt64Array | Uint8Array;

export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TensorData;
}

/** A protocol error: the HTTP status and the message that goes into `{"error": …}`. */
export class KServeError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'KServeError';
  }
}

interface WireTensor {
  name?: unknown;
  datatype?: unknown;
  shape?: unknown;
  data?: unknown;
  parameters?: Record<string, unknown>;
}

interface WireRequest {
  id?: unknown;
  parameters?: Record<string, unknown>;
  inputs?: unknown;
  outputs?: unknown;
}

export interface InferRequest {
  id?: string;
  inputs: Tensor[];
  /** Output names asked for, with whether each should come back binary. Empty: all, JSON unless `binaryOutput`. */
  outputs: { name: string; binary: boolean }[];
  /** Request-level `binary_data_output`. */
  binaryOutput: boolean;
}

export interface Encoded {
  body: Buffer;
  headers: Record<string, string>;
}

const BYTES: Record<Datatype, number> = { FP32: 4, INT64: 8, UINT8: 1 };

export function elementCount(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON data may nest at most this deep (a tensor's rank; CLIP's are 2 and 4). */
const MAX_NESTING = 16;

/**
 * Nested or flat JSON arrays, row-major, as the protocol allows. Walked without recursion and
 * refused past MAX_NESTING: a request nested 100,000 deep is the client's mistake (400), not a
 * stack overflow (500).
 */
function flatten(name: string, v: unknown, out: unknown[]): void {
  const stack: { items: unknown[]; at: number }[] = [];
  let cur: unknown = v;
  for (;;) {
    if (Array.isArray(cur)) {
      if (stack.length >= MAX_NESTING)
        throw new KServeError(400, `input ${name}: data nests deeper than ${MAX_NESTING} levels; send it flat or nested by its shape`);
      stack.push({ items: cur, at: 0 });
    } else {
      out.push(cur);
    }
    let next: unknown;
    let found = false;
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top.at < top.items.length) {
        next = top.items[top.at++];
        found = true;
        break;
      }
      stack.pop();
    }
    if (!found) return;
    cur = next;
  }
}

function fromBytes(datatype: Datatype, bytes: Uint8Array): TensorData {
  // A view of the body where it is aligned (serve-clip reads bodies so that it is): an image
  // batch is not copied whole only to be cut into per-image buffers next. Else a copy.
  // A plain Uint8Array view, never the Buffer itself: Buffer#slice would give views, not copies.
  if (datatype === 'UINT8') return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteOffset % BYTES[datatype] === 0) {
    const n = bytes.byteLength / BYTES[datatype];
    return datatype === 'FP32' ? new Float32Array(bytes.buffer, bytes.byteOffset, n) : new BigInt64Array(bytes.buffer, bytes.byteOffset, n);
  }
  const buf = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(buf).set(bytes);
  return datatype === 'FP32' ? new Float32Array(buf) : new BigInt64Array(buf);
}

function fromJson(name: string, datatype: Datatype, data: unknown): TensorData {
  const flat: unknown[] = [];
  flatten(name, data, flat);
  if (datatype === 'FP32') {
    const out = new Float32Array(flat.length);
    for (let i = 0; i < flat.length; i++) {
      const x = flat[i];
      if (typeof x !== 'number')
        throw new KServeError(400, `input ${name}: FP32 data must be numbers; element ${i} is ${JSON.stringify(x)}`);
      out[i] = x;
    }
    return out;
  }
  if (datatype === 'UINT8') {
    const out = new Uint8Array(flat.length);
    for (let i = 0; i < flat.length; i++) {
      const x = flat[i];
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 255)
        throw new KServeError(400, `input ${name}: UINT8 data must be integers from 0 to 255; element ${i} is ${JSON.stringify(x)}`);
      out[i] = x;
    }
    return out;
  }
  const out = new BigInt64Array(flat.length);
  for (let i = 0; i < flat.length; i++) {
    const x = flat[i];
    if (typeof x !== 'number' || !Number.isInteger(x))
      throw new KServeError(400, `input ${name}: INT64 data must be integers; element ${i} is ${JSON.stringify(x)}`);
    out[i] = BigInt(x);
  }
  return out;
}

function toJson(t: Tensor): number[] {
  return t.data instanceof BigInt64Array ? Array.from(t.data, Number) : Array.from(t.data);
}

function bytesOf(t: TensorData): Buffer {
  return Buffer.from(t.buffer, t.byteOffset, t.byteLength);
}

/** Splits a body into its JSON header and the binary section that follows it. */
function splitBody(body: Buffer, headerLength: string | undefined, what: string): { json: unknown; binary: Buffer } {
  let jsonLen = body.length;
  if (headerLength !== undefined) {
    jsonLen = Number(headerLength);
    if (!Number.isInteger(jsonLen) || jsonLen < 0 || jsonLen > body.length)
      throw new KServeError(
        400,
        `Inference-Header-Content-Length ${JSON.stringify(headerLength)} does not fit a body of ${body.length} bytes`,
      );
  }
  let json: unknown;
  try {
    json = JSON.parse(body.subarray(0, jsonLen).toString('utf8'));
  } catch (e) {
    throw new KServeError(400, `${what} is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return { json, binary: body.subarray(jsonLen) };
}

function parseTensor(w: unknown, binary: Buffer, offset: { at: number }, where: string): Tensor {
  if (!isRecord(w)) throw new KServeError(400, `${where}: each tensor must be an object with name, shape, datatype`);
  const t = w as WireTensor;
  if (typeof t.name !== 'string' || !t.name) throw new KServeError(400, `${where}: a tensor has no name`);
  const name = t.name;
  if (t.datatype !== 'FP32' && t.datatype !== 'INT64' && t.datatype !== 'UINT8')
    throw new KServeError(400, `${where} ${name}: datatype must be FP32, INT64 or UINT8; got ${JSON.stringify(t.datatype)}`);
  const datatype = t.datatype;
  if (!Array.isArray(t.shape) || t.shape.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 0))
    throw new KServeError(400, `${where} ${name}: shape must be an array of non-negative integers; got ${JSON.stringify(t.shape)}`);
  const shape = t.shape as number[];
  const count = elementCount(shape);
  const size = t.parameters?.binary_data_size;
  let data: TensorData;
  if (size !== undefined) {
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0)
      throw new KServeError(400, `${where} ${name}: binary_data_size must be a non-negative integer`);
    if (offset.at + size > binary.length)
      throw new KServeError(
        400,
        `${where} ${name}: binary_data_size ${size} runs past the end of the body (${binary.length - offset.at} bytes left)`,
      );
    if (size !== count * BYTES[datatype])
      throw new KServeError(
        400,
        `${where} ${name}: shape ${JSON.stringify(shape)} of ${datatype} needs ${count * BYTES[datatype]} bytes; binary_data_size is ${size}`,
      );
    data = fromBytes(datatype, binary.subarray(offset.at, offset.at + size));
    offset.at += size;
  } else {
    if (t.data === undefined) throw new KServeError(400, `${where} ${name}: no data and no binary_data_size`);
    data = fromJson(name, datatype, t.data);
    if (data.length !== count)
      throw new KServeError(400, `${where} ${name}: shape ${JSON.stringify(shape)} needs ${count} elements; data has ${data.length}`);
  }
  return { name, datatype, shape, data };
}

export function decodeInferRequest(body: Buffer, headerLength?: string): InferRequest {
  const { json, binary } = splitBody(body, headerLength, 'the infer request');
  if (!isRecord(json)) throw new KServeError(400, 'the infer request must be a JSON object with "inputs"');
  const req = json as WireRequest;
  if (!Array.isArray(req.inputs) || req.inputs.length === 0) throw new KServeError(400, 'the infer request has no "inputs" array');
  const offset = { at: 0 };
  const inputs = req.inputs.map((w) => parseTensor(w, binary, offset, 'input'));
  if (offset.at !== binary.length)
    throw new KServeError(
      400,
      `the body has ${binary.length - offset.at} bytes of binary data that no input's binary_data_size accounts for`,
    );
  const outputs: InferRequest['outputs'] = [];
  if (req.outputs !== undefined) {
    if (!Array.isArray(req.outputs)) throw new KServeError(400, '"outputs" must be an array');
    for (const o of req.outputs) {
      if (!isRecord(o) || typeof o.name !== 'string') throw new KServeError(400, 'each requested output needs a "name"');
      const p = isRecord(o.parameters) ? o.parameters : {};
      outputs.push({ name: o.name, binary: p.binary_data === true });
    }
  }
  return {
    id: typeof req.id === 'string' ? req.id : undefined,
    inputs,
    outputs,
    binaryOutput: req.parameters?.binary_data_output === true,
  };
}

/** Builds an infer request body; `binary` sends every input as binary data and asks for binary outputs. */
export function encodeInferRequest(p: { id?: string; inputs: Tensor[]; outputs?: string[]; binary: boolean }): Encoded {
  const header: Record<string, unknown> = {
    ...(p.id ? { id: p.id } : {}),
    inputs: p.inputs.map((t) =>
      p.binary
        ? { name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: t.data.byteLength } }
        : { name: t.name, datatype: t.datatype, shape: t.shape, data: toJson(t) },
    ),
    ...(p.outputs ? { outputs: p.outputs.map((name) => ({ name, parameters: { binary_data: p.binary } })) } : {}),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  if (!p.binary) return { body: json, headers: { 'content-type': 'application/json' } };
  return {
    body: Buffer.concat([json, ...p.inputs.map((t) => bytesOf(t.data))]),
    headers: { 'content-type': 'application/octet-stream', [HEADER_LENGTH]: String(json.length) },
  };
}

export function encodeInferResponse(p: {
  model: string;
  version?: string;
  id?: string;
  outputs: { tensor: Tensor; binary: boolean }[];
}): Encoded {
  const header = {
    model_name: p.model,
    model_version: p.version ?? '1',
    ...(p.id ? { id: p.id } : {}),
    outputs: p.outputs.map(({ tensor: t, binary }) =>
      binary
        ? { name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: t.data.byteLength } }
        : { name: t.name, datatype: t.datatype, shape: t.shape, data: toJson(t) },
    ),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const bins = p.outputs.filter((o) => o.binary);
  if (!bins.length) return { body: json, headers: { 'content-type': 'application/json' } };
  return {
    body: Buffer.concat([json, ...bins.map((o) => bytesOf(o.tensor.data))]),
    headers: { 'content-type': 'application/octet-stream', [HEADER_LENGTH]: String(json.length) },
  };
}

export function decodeInferResponse(body: Buffer, headerLength?: string): { id?: string; outputs: Tensor[] } {
  const { json, binary } = splitBody(body, headerLength, 'the infer response');
  if (!isRecord(json) || !Array.isArray(json.outputs)) throw new KServeError(502, 'the infer response has no "outputs" array');
  const offset = { at: 0 };
  return {
    id: typeof json.id === 'string' ? json.id : undefined,
    outputs: json.outputs.map((w) => parseTensor(w, binary, offset, 'output')),
  };
}

export interface TensorMeta {
  name: string;
  datatype: Datatype;
  shape: number[];
}

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMeta[];
  outputs: TensorMeta[];
  /** serve-clip's addition (clients ignore unknown fields): the execution provider, precision and vision input in use. */
  parameters?: Record<string, string>;
}

/**
 * The two models' signatures, as serve-clip reports them and Triton's config.pbtxt declares
 * them (-1: any size). `rgb8`: the vision model takes 8-bit pixels (`models rgb8`).
 */
export function clipModels(
  dims: number,
  imageSize = 224,
  visionInput: 'float' | 'rgb8' = 'float',
): Record<'clip-text' | 'clip-vision', ModelMetadata> {
  return {
    'clip-text': {
      name: 'clip-text',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'input_ids', datatype: 'INT64', shape: [-1, -1] },
        { name: 'attention_mask', datatype: 'INT64', shape: [-1, -1] },
      ],
      outputs: [{ name: 'text_embeds', datatype: 'FP32', shape: [-1, dims] }],
    },
    'clip-vision': {
      name: 'clip-vision',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [
        visionInput === 'rgb8'
          ? { name: 'pixels', datatype: 'UINT8', shape: [-1, imageSize, imageSize, 3] }
          : { name: 'pixel_values', datatype: 'FP32', shape: [-1, 3, imageSize, imageSize] },
      ],
      outputs: [{ name: 'image_embeds', datatype: 'FP32', shape: [-1, dims] }],
    },
  };
}
