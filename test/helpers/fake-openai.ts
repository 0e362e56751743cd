/**
 * A loopback stand-in for the OpenAI API the generator calls: Chat Completions (structured
 * output) and Images (generations, edits). It is strict where the real API is:
 *
 * - every request body is checked against OpenAI's published API description (the vendored
 *   excerpt of github.com/openai/openai-openapi, see helpers/openapi.ts), and against the
 *   per-model rules that description states in words (sizes, qualities, which parameters which
 *   model takes, prompt lengths, edit inputs); each rule below names where it is written;
 * - a request that breaks a rule is refused as the API refuses it (400 with
 *   `{error: {message, type, param, code}}`), is not billed, and is listed in `refused`, so a
 *   test can assert the app never sent one; when the description leaves a case open, it refuses;
 * - answers carry what the API's answers carry: usage (chat tokens with cached tokens; the GPT
 *   image models' text/image input and image output tokens), `x-request-id`, and on 429/5xx the
 *   `retry-after-ms` and `retry-after` headers the SDK's backoff reads; each answered request is
 *   listed in `billed` with the usage it reported.
 *
 * Each endpoint answers from a handler the test sets, so a test scripts 429s, 500s, refusals,
 * malformed JSON and content-policy errors, then asserts what the user gets.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { check, checkRequest, type FilePart, multipartFieldType, openapi, type SchemaProblem, type Spec } from './openapi.ts';

export type Endpoint = 'chat' | 'generations' | 'edits';

const PATHS: Record<string, Endpoint> = {
  '/v1/chat/completions': 'chat',
  '/v1/images/generations': 'generations',
  '/v1/images/edits': 'edits',
};
const SPEC_PATH: Record<Endpoint, string> = { chat: '/chat/completions', generations: '/images/generations', edits: '/images/edits' };

export interface FakeRequest {
  endpoint: Endpoint;
  headers: IncomingMessage['headers'];
  /** The JSON body (chat, generations); for multipart edits, the text fields (typed as the schema types them) and the file parts (`image[]` fields as a list). */
  body: Record<string, unknown>;
  raw: Buffer;
}

export interface FakeReply {
  status?: number;
  headers?: Record<string, string>;
  /** JSON body, or a string sent as-is. Usage left out is filled in as the API would count it. */
  body: unknown;
}

export type Handler = (req: FakeRequest, attempt: number) => FakeReply | Promise<FakeReply>;

/** A request the stand-in answered with success: what the API would bill. */
export interface BilledEntry {
  endpoint: Endpoint;
  model: string;
  /** The usage object the answer carried (none for the dall-e models, which bill per image). */
  usage?: Record<string, unknown>;
  size?: string;
  quality?: string;
}

export interface RefusedEntry {
  endpoint: Endpoint | 'unknown';
  status: number;
  param: string | null;
  message: string;
}

export interface FakeOpenAI {
  /** Base URL for OPENAI_BASE_URL (ends in /v1). */
  url: string;
  /** Every request that reached a handler (valid ones). */
  requests: FakeRequest[];
  /** Answered with success, so billed. */
  billed: BilledEntry[];
  /** Refused by the stand-in's checks (never billed). */
  refused: RefusedEntry[];
  /** Answers of the test's handlers that do not match the description of the API's answers. */
  answerProblems: string[];
  on(endpoint: Endpoint, handler: Handler): void;
  /** Forgets requests, billed, refused and answer problems (between tests). */
  reset(): void;
  close(): Promise<void>;
}

// ---------- what the description says per model ----------

/**
 * The image models and what each takes, from the descriptions in openapi.yaml:
 * CreateImageRequest.size / CreateImageEditRequest.size ("The standard sizes 1024x1024, 1536x1024,
 * and 1024x1536 are supported by the GPT image models; auto …; For dall-e-2, use one of 256x256,
 * 512x512, or 1024x1024. For dall-e-3, use one of 1024x1024, 1792x1024, or 1024x1792."),
 * CreateImageRequest.quality ("auto (default value) …; high, medium and low are supported for the
 * GPT image models; hd and standard are supported for dall-e-3; standard is the only option for
 * dall-e-2"), CreateImageRequest.prompt ("32000 characters for the GPT image models, 1000
 * characters for dall-e-2 and 4000 characters for dall-e-3"), the `/images/edits` summary ("This
 * endpoint supports GPT Image models … and dall-e-2") and CreateImageEditRequest.image ("up to 16
 * images" png/webp/jpg "less than 50MB"; dall-e-2 "one image … a square png file less than 4MB").
 */
interface ImageRules {
  gpt: boolean;
  sizes: string[];
  qualities: string[];
  maxPrompt: number;
  edits: { maxImages: number; squarePng: boolean; maxBytes: number } | null;
}
const GPT: ImageRules = {
  gpt: true,
  sizes: ['1024x1024', '1536x1024', '1024x1536', 'auto'],
  qualities: ['low', 'medium', 'high', 'auto'],
  maxPrompt: 32_000,
  edits: { maxImages: 16, squarePng: false, maxBytes: 50 * 1024 * 1024 },
};
const IMAGE_MODELS: Record<string, ImageRules> = {
  'gpt-image-2.6-sunburst': GPT,
  'gpt-image-2.6-flare': GPT,
  'gpt-image-1': GPT,
  'gpt-image-1-mini': GPT,
  'gpt-image-1.5': GPT,
  'dall-e-3': {
    gpt: false,
    sizes: ['1024x1024', '1792x1024', '1024x1792'],
    qualities: ['standard', 'hd', 'auto'],
    maxPrompt: 4000,
    edits: null,
  },
  'dall-e-2': {
    gpt: false,
    sizes: ['256x256', '512x512', '1024x1024'],
    qualities: ['standard', 'auto'],
    maxPrompt: 1000,
    edits: { maxImages: 1, squarePng: true, maxBytes: 4 * 1024 * 1024 },
  },
};

/** Chat models the stand-in serves; another name is answered 404 `model_not_found`, as the API answers a model that does not exist. */
const CHAT_MODELS = ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'gpt-5', 'gpt-5-mini', 'gpt-5-nano'];

/**
 * Image tokens a GPT image model draws per quality and size: the table in the image generation
 * guide ("Cost and latency"). Quality `auto` lets the model choose: the stand-in chooses high,
 * the dearest, as a model may (and so a price guess from the request alone is wrong by ~4×).
 */
const OUTPUT_TOKENS: Record<string, Record<string, number>> = {
  low: { '1024x1024': 272, '1024x1536': 408, '1536x1024': 400 },
  medium: { '1024x1024': 1056, '1024x1536': 1584, '1536x1024': 1568 },
  high: { '1024x1024': 4160, '1024x1536': 6240, '1536x1024': 6208 },
};

// ---------- replies ----------

/** A chat answer; its `usage` is filled in from the request unless given. */
export function chatReply(content: string | null, opts: { refusal?: string; usage?: Record<string, unknown> } = {}): FakeReply {
  return {
    body: {
      id: 'chatcmpl-test',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'gpt-4o-mini-2024-07-18',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content, refusal: opts.refusal ?? null, annotations: [] },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
      ...(opts.usage ? { usage: opts.usage } : {}),
      service_tier: 'default',
    },
  };
}

export interface TestVariant {
  headline: string;
  primary_text: string;
  cta: string;
  visual_concept: string;
  /** The copywriter's tone self-check: asked (and so required) when the brand kit names tone words. */
  tone_respected?: boolean;
  tone_note?: string;
}

export function variantsReply(variants: TestVariant[], opts: { usage?: Record<string, unknown> } = {}): FakeReply {
  return chatReply(JSON.stringify({ variants }), opts);
}

/** An image answer; usage and the GPT models' size/quality/format fields are filled in unless given. */
export function imageReply(png: Uint8Array, opts: { usage?: Record<string, unknown> } = {}): FakeReply {
  return {
    body: {
      created: 1_700_000_000,
      data: [{ b64_json: Buffer.from(png).toString('base64') }],
      ...(opts.usage ? { usage: opts.usage } : {}),
    },
  };
}

/** An API error in OpenAI's shape (ErrorResponse); 429 and 5xx carry the retry headers the SDK honours. */
export function errorReply(
  status: number,
  message: string,
  code: string | null = null,
  type = status === 429 ? 'requests' : status >= 500 ? 'server_error' : 'invalid_request_error',
  param: string | null = null,
): FakeReply {
  // The SDK waits `retry-after-ms` (or `retry-after` seconds) before retrying; a short wait keeps tests quick.
  const retry = status === 429 || status >= 500 ? { 'retry-after-ms': '5', 'retry-after': '0' } : undefined;
  return { status, headers: retry, body: { error: { message, type, param, code } } };
}

// ---------- request reading ----------

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = 'invalid_value',
    readonly type = 'invalid_request_error',
  ) {
    super(message);
  }
}

/** A multipart/form-data body (RFC 7578) as text fields and file parts; repeated `name[]` fields are lists. */
function parseMultipart(raw: Buffer, contentType: string): Record<string, unknown> {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!m) throw new Refusal(400, 'multipart/form-data bodies need a boundary parameter in the Content-Type header.', null, null);
  const delim = Buffer.from(`--${m[1] ?? m[2]}`);
  const out: Record<string, unknown> = {};
  let pos = raw.indexOf(delim);
  if (pos < 0) throw new Refusal(400, 'The multipart body does not contain its boundary.', null, null);
  for (;;) {
    pos += delim.length;
    if (raw.subarray(pos, pos + 2).toString() === '--') break;
    const headEnd = raw.indexOf('\r\n\r\n', pos);
    const next = raw.indexOf(delim, headEnd);
    if (headEnd < 0 || next < 0) throw new Refusal(400, 'The multipart body is truncated.', null, null);
    const head = raw.subarray(pos, headEnd).toString('utf8');
    const data = raw.subarray(headEnd + 4, next - 2); // the CRLF before the delimiter belongs to it
    const name = /name="([^"]*)"/i.exec(head)?.[1];
    const filename = /filename="([^"]*)"/i.exec(head)?.[1];
    const type = /content-type:\s*([^\r\n]+)/i.exec(head)?.[1]?.trim() ?? 'application/octet-stream';
    if (!name) throw new Refusal(400, 'A multipart part has no name.', null, null);
    const value: unknown =
      filename !== undefined
        ? ({ kind: 'file', filename, contentType: type, data: Buffer.from(data) } satisfies FilePart)
        : data.toString('utf8');
    if (name.endsWith('[]')) {
      const key = name.slice(0, -2);
      out[key] = [...((out[key] as unknown[] | undefined) ?? []), value];
    } else if (out[name] !== undefined) {
      throw new Refusal(400, `The multipart field '${name}' is given more than once.`, name);
    } else out[name] = value;
    pos = next;
  }
  return out;
}

/** Multipart carries text: numbers and booleans are read as the schema types them. */
function typeFields(path: string, fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v !== 'string') {
      out[k] = v;
      continue;
    }
    const t = multipartFieldType(path, k);
    if (t === 'integer' || t === 'number') out[k] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
    else if (t === 'boolean') out[k] = v === 'true' ? true : v === 'false' ? false : v;
    else out[k] = v;
  }
  return out;
}

function sniff(data: Buffer): 'png' | 'jpeg' | 'webp' | 'other' {
  if (data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'jpeg';
  if (data.subarray(0, 4).toString('latin1') === 'RIFF' && data.subarray(8, 12).toString('latin1') === 'WEBP') return 'webp';
  return 'other';
}

function pngSize(data: Buffer): { width: number; height: number } {
  return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
}

// ---------- the rules ----------

const quoted = (xs: string[]) =>
  `${xs
    .slice(0, -1)
    .map((x) => `'${x}'`)
    .join(', ')}${xs.length > 1 ? ', and ' : ''}'${xs.at(-1)}'`;

function firstProblem(ps: SchemaProblem[]): never {
  const p = ps[0];
  throw new Refusal(400, p.message, p.param || null, p.code === 'unknown_parameter' ? 'unknown_parameter' : p.code);
}

function imageRules(endpoint: 'generations' | 'edits', body: Record<string, unknown>): ImageRules {
  // `model` is optional in the description ("Defaults to dall-e-2 unless a parameter specific to the
  // GPT image models is used" / "Defaults to gpt-image-1.5"): a default that depends on other
  // parameters is exactly where a client can be surprised, so the stand-in wants it named.
  if (typeof body.model !== 'string')
    throw new Refusal(400, "The stand-in requires 'model': name the image model.", 'model', 'missing_required_parameter');
  const model = body.model;
  const r = IMAGE_MODELS[model];
  if (!r) throw new Refusal(400, `Invalid value: '${model}'. Supported values are: ${quoted(Object.keys(IMAGE_MODELS))}.`, 'model');
  if (endpoint === 'edits' && !r.edits) {
    // `/images/edits` summary: "This endpoint supports GPT Image models … and dall-e-2."
    throw new Refusal(400, `Invalid value: '${model}'. The images edit endpoint supports the GPT image models and dall-e-2.`, 'model');
  }
  return r;
}

function checkImageParams(endpoint: 'generations' | 'edits', body: Record<string, unknown>, r: ImageRules): void {
  const model = String(body.model);
  const prompt = String(body.prompt ?? '');
  // CreateImageRequest.prompt / CreateImageEditRequest.prompt: maximum length per model.
  if (prompt.length > r.maxPrompt) {
    throw new Refusal(
      400,
      `Invalid 'prompt': string too long. Expected a string with maximum length ${r.maxPrompt}, but got a string with length ${prompt.length} instead.`,
      'prompt',
      'string_above_max_length',
    );
  }
  if (prompt.trim() === '') throw new Refusal(400, "Invalid 'prompt': empty string.", 'prompt', 'empty_string');
  // CreateImageRequest.n: "For dall-e-3, only n=1 is supported."
  if (model === 'dall-e-3' && body.n !== undefined && body.n !== 1) throw new Refusal(400, 'For dall-e-3, only n=1 is supported.', 'n');
  // size: the sizes each model takes (see IMAGE_MODELS).
  if (body.size !== undefined && body.size !== null && !r.sizes.includes(String(body.size))) {
    throw new Refusal(400, `Invalid value: '${String(body.size)}'. Supported values are: ${quoted(r.sizes)}.`, 'size');
  }
  // quality: per model (CreateImageRequest.quality; CreateImageEditRequest.quality "for GPT image models").
  if (body.quality !== undefined && body.quality !== null && !r.qualities.includes(String(body.quality))) {
    throw new Refusal(400, `Invalid value: '${String(body.quality)}'. Supported values are: ${quoted(r.qualities)}.`, 'quality');
  }
  // response_format: generations "isn't supported for the GPT image models, which always return
  // base64-encoded images"; edits "only supported for dall-e-2".
  if (body.response_format !== undefined && r.gpt) {
    throw new Refusal(
      400,
      `Unknown parameter: 'response_format'. It is not supported for ${model}, which always returns base64-encoded images.`,
      'response_format',
      'unknown_parameter',
    );
  }
  // background, output_format, output_compression, moderation: "only supported for the GPT image models".
  // input_fidelity (InputFidelity): "only supported for gpt-image-1 and gpt-image-1.5 and later models, unsupported for gpt-image-1-mini".
  for (const k of ['background', 'output_format', 'output_compression', 'moderation', 'input_fidelity'])
    if (body[k] !== undefined && body[k] !== null && !r.gpt)
      throw new Refusal(400, `Unknown parameter: '${k}'. It is only supported for the GPT image models.`, k, 'unknown_parameter');
  if (body.input_fidelity !== undefined && model === 'gpt-image-1-mini')
    throw new Refusal(
      400,
      "Unknown parameter: 'input_fidelity'. It is not supported for gpt-image-1-mini.",
      'input_fidelity',
      'unknown_parameter',
    );
  // background: "When using transparent, set the output format to png or webp."
  if (body.background === 'transparent' && body.output_format === 'jpeg')
    throw new Refusal(400, "Transparent backgrounds need output_format 'png' or 'webp'.", 'background');
  // output_compression: "only supported for the GPT image models with the webp or jpeg output formats".
  if (body.output_compression !== undefined && body.output_format !== 'jpeg' && body.output_format !== 'webp')
    throw new Refusal(400, "output_compression is only supported with output_format 'jpeg' or 'webp'.", 'output_compression');
  // style (CreateImageRequest.style): "only supported for dall-e-3".
  if (endpoint === 'generations' && body.style !== undefined && model !== 'dall-e-3')
    throw new Refusal(400, "Unknown parameter: 'style'. It is only supported for dall-e-3.", 'style', 'unknown_parameter');
  // stream / partial_images: the bot never streams; a streamed answer is another protocol.
  if (body.stream === true) throw new Refusal(400, 'The stand-in does not stream.', 'stream');
}

function checkEditInputs(body: Record<string, unknown>, r: ImageRules): FilePart[] {
  const rules = r.edits as NonNullable<ImageRules['edits']>;
  const images = (Array.isArray(body.image) ? body.image : [body.image]) as FilePart[];
  // CreateImageEditRequest.image: GPT "up to 16 images"; dall-e-2 "you can only provide one image".
  if (images.length > rules.maxImages) {
    throw new Refusal(
      400,
      `Invalid 'image': ${String(body.model)} takes at most ${rules.maxImages} image${rules.maxImages === 1 ? '' : 's'}; got ${images.length}.`,
      'image',
    );
  }
  images.forEach((f, i) => {
    const kind = sniff(f.data);
    const where = images.length > 1 ? `image[${i}]` : 'image';
    // GPT: "each image should be a png, webp, or jpg file less than 50MB"; dall-e-2: "a square png file less than 4MB".
    if (rules.squarePng ? kind !== 'png' : kind === 'other') {
      throw new Refusal(
        400,
        `Invalid image file '${f.filename}': ${rules.squarePng ? 'dall-e-2 takes a PNG' : 'supported formats are png, webp and jpg'}; got ${kind === 'other' ? 'something else' : kind}.`,
        where,
        'invalid_image_format',
      );
    }
    if (f.data.length >= rules.maxBytes) {
      throw new Refusal(
        400,
        `Invalid image file '${f.filename}': ${f.data.length} bytes; it must be less than ${rules.maxBytes}.`,
        where,
        'image_too_large',
      );
    }
    if (rules.squarePng) {
      const { width, height } = pngSize(f.data);
      if (width !== height)
        throw new Refusal(
          400,
          `Invalid image file '${f.filename}': dall-e-2 edits need a square image; got ${width}x${height}.`,
          where,
          'invalid_image_dimensions',
        );
    }
  });
  // CreateImageEditRequest.mask: "Must be a valid PNG file, less than 4MB, and have the same dimensions as image."
  const mask = body.mask as FilePart | undefined;
  if (mask) {
    if (sniff(mask.data) !== 'png' || mask.data.length >= 4 * 1024 * 1024)
      throw new Refusal(400, 'The mask must be a PNG under 4MB.', 'mask');
    if (sniff(images[0].data) === 'png') {
      const a = pngSize(mask.data);
      const b = pngSize(images[0].data);
      if (a.width !== b.width || a.height !== b.height)
        throw new Refusal(400, 'The mask must have the same dimensions as the image.', 'mask');
    }
  }
  return images;
}

/**
 * Structured Outputs guide ("Supported schemas"): with `strict: true` the root must be an object
 * (not anyOf), every object must set `additionalProperties: false`, and every property must be
 * listed in `required`. ResponseFormatJsonSchema.json_schema.name: "Must be a-z, A-Z, 0-9, or
 * contain underscores and dashes, with a maximum length of 64."
 */
function checkResponseFormat(body: Record<string, unknown>): void {
  const rf = body.response_format as
    | { type?: string; json_schema?: { name?: string; strict?: boolean; schema?: Record<string, unknown> } }
    | undefined;
  if (rf?.type !== 'json_schema' || !rf.json_schema) return;
  const js = rf.json_schema;
  if (!/^[a-zA-Z0-9_-]{1,64}$/.test(String(js.name))) {
    throw new Refusal(
      400,
      `Invalid 'response_format.json_schema.name': must be a-z, A-Z, 0-9, underscores or dashes, at most 64 characters.`,
      'response_format.json_schema.name',
    );
  }
  if (!js.strict) return;
  const walk = (s: Record<string, unknown>, where: string) => {
    if (s.type === 'object') {
      if (s.additionalProperties !== false) {
        throw new Refusal(
          400,
          `Invalid schema for response_format '${js.name}': In context=${where}, 'additionalProperties' is required to be supplied and to be false.`,
          'response_format',
        );
      }
      const props = Object.keys((s.properties as Record<string, unknown>) ?? {});
      const req = (s.required as string[] | undefined) ?? [];
      const missing = props.filter((p) => !req.includes(p));
      if (missing.length) {
        throw new Refusal(
          400,
          `Invalid schema for response_format '${js.name}': In context=${where}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing[0]}'.`,
          'response_format',
        );
      }
      for (const [k, v] of Object.entries((s.properties as Record<string, Record<string, unknown>>) ?? {}))
        walk(v, `${where}.properties.${k}`);
    }
    if (s.type === 'array' && s.items) walk(s.items as Record<string, unknown>, `${where}.items`);
  };
  const root = js.schema ?? {};
  if (root.type !== 'object' || root.anyOf) {
    throw new Refusal(400, `Invalid schema for response_format '${js.name}': the root must be an object, not anyOf.`, 'response_format');
  }
  walk(root, '()');
}

// ---------- usage, as the API would count it ----------

/** "1 token ≈ 4 characters of English" (OpenAI's tokenizer help): the stand-in's count. */
const tokens = (text: string) => Math.ceil(text.length / 4);

/**
 * With `strict: true` the model's JSON always matches the schema it was given (Structured Outputs:
 * "the model will always generate responses that adhere to your supplied JSON Schema"), so a
 * test's answer that does not is a stand-in no real model would be: a field the app added to its
 * schema (the tone self-check) must be answered. Content that is not JSON is left to the tests
 * of malformed answers.
 */
function structuredOutputProblems(spec: Spec, body: Record<string, unknown>, out: Record<string, unknown>): string[] {
  const rf = body.response_format as { type?: string; json_schema?: { strict?: boolean; schema?: Record<string, unknown> } } | undefined;
  if (rf?.type !== 'json_schema' || rf.json_schema?.strict !== true || !rf.json_schema.schema) return [];
  const content = (out.choices as { message?: { content?: unknown } }[] | undefined)?.[0]?.message?.content;
  if (typeof content !== 'string') return [];
  let data: unknown;
  try {
    data = JSON.parse(content);
  } catch {
    return [];
  }
  return check(spec, rf.json_schema.schema, data, 'content').map((p) => `${p.param} ${p.message}`);
}

function messageText(m: { content?: unknown }): string {
  if (typeof m.content === 'string') return m.content;
  if (Array.isArray(m.content)) return m.content.map((p: { text?: string }) => p.text ?? '').join('');
  return '';
}

/**
 * Prompt caching guide: caching applies to prompts of 1024 tokens or more, and cache hits come
 * in increments of 128 tokens of a prefix seen recently. The stand-in remembers prompts per model.
 */
function cachedTokens(seen: string[], prompt: string): number {
  let best = 0;
  for (const p of seen) {
    let i = 0;
    while (i < p.length && i < prompt.length && p[i] === prompt[i]) i++;
    best = Math.max(best, i);
  }
  const t = tokens(prompt.slice(0, best));
  return tokens(prompt) >= 1024 && t >= 1024 ? Math.floor(t / 128) * 128 : 0;
}

/** Image input tokens of one input image: the vision rule (85 + 170 per 512-px tile after scaling to fit 2048 and a 768-px short side). */
function inputImageTokens(f: FilePart): number {
  let w = 1024;
  let h = 1024;
  if (sniff(f.data) === 'png') ({ width: w, height: h } = pngSize(f.data));
  const fit = Math.min(1, 2048 / Math.max(w, h));
  w *= fit;
  h *= fit;
  const short = Math.min(1, 768 / Math.min(w, h));
  w *= short;
  h *= short;
  return 85 + 170 * Math.ceil(w / 512) * Math.ceil(h / 512);
}

// ---------- the server ----------

export async function startFakeOpenAI(opts: { apiKey?: string } = {}): Promise<FakeOpenAI> {
  const handlers = new Map<Endpoint, Handler>();
  const requests: FakeRequest[] = [];
  const billed: BilledEntry[] = [];
  const refused: RefusedEntry[] = [];
  const answerProblems: string[] = [];
  const attempts = new Map<string, number>();
  const prompts = new Map<string, string[]>();
  let seq = 0;
  const spec = openapi();

  const server: Server = createServer(async (req, res) => {
    const requestId = `req_test_${++seq}`;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': requestId, ...headers }).end(text);
    };
    let endpoint: Endpoint | undefined;
    try {
      const raw = await readBody(req);
      const path = (req.url ?? '').split('?')[0];
      endpoint = PATHS[path];
      if (!endpoint || req.method !== 'POST') throw new Refusal(404, `Invalid URL (${req.method} ${path})`, null, null);
      // Authentication (API reference, "Authentication"): "Authorization: Bearer OPENAI_API_KEY".
      const auth = String(req.headers.authorization ?? '');
      const key = /^Bearer (\S+)$/.exec(auth)?.[1];
      if (!key) {
        throw new Refusal(
          401,
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth.",
          null,
          null,
        );
      }
      if (opts.apiKey && key !== opts.apiKey) throw new Refusal(401, 'Incorrect API key provided.', null, 'invalid_api_key');

      // The request body: JSON for chat and generations; multipart/form-data for an edit with image files
      // (the `/images/edits` JSON form takes `images` by URL or file id, which the bot does not use).
      const ct = String(req.headers['content-type'] ?? '')
        .split(';')[0]
        .trim()
        .toLowerCase();
      let body: Record<string, unknown>;
      if (endpoint === 'edits') {
        if (ct !== 'multipart/form-data')
          throw new Refusal(
            400,
            `The stand-in takes edits as multipart/form-data with image files; got ${ct || 'no content type'}.`,
            null,
            null,
          );
        body = typeFields(SPEC_PATH.edits, parseMultipart(raw, String(req.headers['content-type'])));
      } else {
        if (ct !== 'application/json') throw new Refusal(400, `Expected Content-Type application/json; got ${ct || 'none'}.`, null, null);
        try {
          body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
        } catch {
          throw new Refusal(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)",
            null,
            null,
          );
        }
        if (typeof body !== 'object' || body === null || Array.isArray(body))
          throw new Refusal(400, 'The request body must be a JSON object.', null, null);
      }

      // The published description of the operation's request body.
      const problems = checkRequest(SPEC_PATH[endpoint], endpoint === 'edits' ? 'multipart/form-data' : 'application/json', body);
      if (problems.length) firstProblem(problems);

      let inputTokens = 0;
      if (endpoint === 'chat') {
        const model = String(body.model);
        if (!CHAT_MODELS.includes(model)) {
          throw new Refusal(404, `The model \`${model}\` does not exist or you do not have access to it.`, null, 'model_not_found');
        }
        checkResponseFormat(body);
        if (body.stream === true) throw new Refusal(400, 'The stand-in does not stream.', 'stream');
      } else {
        const r = imageRules(endpoint, body);
        checkImageParams(endpoint, body, r);
        if (endpoint === 'edits') inputTokens = checkEditInputs(body, r).reduce((n, f) => n + inputImageTokens(f), 0);
      }

      const fr: FakeRequest = { endpoint, headers: req.headers, body, raw };
      requests.push(fr);
      const key2 = `${endpoint}:${String(body.prompt ?? JSON.stringify(body.messages ?? ''))}`;
      const attempt = (attempts.get(key2) ?? 0) + 1;
      attempts.set(key2, attempt);
      const h = handlers.get(endpoint);
      const reply = h ? await h(fr, attempt) : errorReply(500, `no handler for ${endpoint}`, null, 'server_error');
      const status = reply.status ?? 200;
      let out = reply.body;
      if (status === 200 && typeof out === 'object' && out !== null) {
        out = complete(endpoint, body, structuredClone(out) as Record<string, unknown>, inputTokens);
        const o = out as Record<string, unknown>;
        const model = String(body.model);
        billed.push({
          endpoint,
          model,
          usage: o.usage as Record<string, unknown> | undefined,
          ...(endpoint === 'chat' ? {} : { size: String(o.size ?? body.size ?? ''), quality: String(o.quality ?? body.quality ?? '') }),
        });
        // The answer must itself match the description of the API's answers.
        const schema = endpoint === 'chat' ? 'CreateChatCompletionResponse' : 'ImagesResponse';
        for (const p of check(spec, { $ref: `#/components/schemas/${schema}` }, out))
          answerProblems.push(`${endpoint}: ${p.param} ${p.message}`);
        if (endpoint === 'chat') for (const p of structuredOutputProblems(spec, body, o)) answerProblems.push(`chat: ${p}`);
      } else if (status === 200) {
        // A non-JSON success (a test's malformed answer) was still answered, so billed.
        billed.push({ endpoint, model: String(body.model) });
      }
      send(status, out, reply.headers);
    } catch (e) {
      if (e instanceof Refusal) {
        refused.push({ endpoint: endpoint ?? 'unknown', status: e.status, param: e.param, message: e.message });
        send(e.status, { error: { message: e.message, type: e.type, param: e.param, code: e.code } });
      } else {
        send(500, { error: { message: String(e), type: 'server_error', param: null, code: null } }, { 'retry-after-ms': '5' });
      }
    }
  });

  /** Fills in what the API's answer carries and the test's handler left out. */
  function complete(
    endpoint: Endpoint,
    body: Record<string, unknown>,
    out: Record<string, unknown>,
    imageInputTokens: number,
  ): Record<string, unknown> {
    if (endpoint === 'chat') {
      const messages = (body.messages as { role: string; content?: unknown }[]) ?? [];
      // Counted as the cookbook's "How to count tokens" does: 3 per message + its text, 3 to prime the answer; the schema counts too.
      const promptText = messages.map((m) => `${m.role}\n${messageText(m)}`).join('\n') + JSON.stringify(body.response_format ?? '');
      const promptTokens = messages.length * 3 + 3 + tokens(promptText);
      const seen = prompts.get(String(body.model)) ?? [];
      const cached = cachedTokens(seen, promptText);
      seen.push(promptText);
      prompts.set(String(body.model), seen);
      const msg = (out.choices as { message: { content?: string | null; refusal?: string | null } }[] | undefined)?.[0]?.message;
      const completion = Math.max(1, tokens(msg?.content ?? msg?.refusal ?? ''));
      out.model ??= `${String(body.model)}-2024-07-18`;
      out.usage ??= {
        prompt_tokens: promptTokens,
        completion_tokens: completion,
        total_tokens: promptTokens + completion,
        prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      };
      return out;
    }
    const r = IMAGE_MODELS[String(body.model)];
    if (!r.gpt) return out; // ImagesResponse.usage: "For the GPT image models only".
    const size = !body.size || body.size === 'auto' ? '1024x1024' : String(body.size);
    const quality = !body.quality || body.quality === 'auto' ? 'high' : String(body.quality);
    const textTokens = tokens(String(body.prompt ?? ''));
    const output = OUTPUT_TOKENS[quality][size];
    out.background ??= body.background === 'transparent' ? 'transparent' : 'opaque';
    out.output_format ??= (body.output_format as string | undefined) ?? 'png';
    out.size ??= size;
    out.quality ??= quality;
    out.usage ??= {
      total_tokens: textTokens + imageInputTokens + output,
      input_tokens: textTokens + imageInputTokens,
      output_tokens: output,
      input_tokens_details: { text_tokens: textTokens, image_tokens: imageInputTokens },
    };
    return out;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    billed,
    refused,
    answerProblems,
    on: (endpoint, handler) => handlers.set(endpoint, handler),
    reset() {
      requests.length = 0;
      billed.length = 0;
      refused.length = 0;
      answerProblems.length = 0;
      attempts.clear();
      prompts.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
