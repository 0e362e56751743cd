/**
 * A loopback server that speaks the OpenAI shapes the generator uses: Chat Completions
 * (structured output) and Images (generations, edits; b64_json). Each endpoint answers from
 * a handler the test sets, so a test scripts 429s, 500s, refusals, malformed JSON and
 * content-policy errors, then asserts what the user gets.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Endpoint = 'chat' | 'generations' | 'edits';

export interface FakeRequest {
  endpoint: Endpoint;
  headers: IncomingMessage['headers'];
  /** Parsed JSON body (chat, generations); for multipart edits, the field names and the prompt. */
  body: Record<string, unknown>;
  raw: Buffer;
}

export interface FakeReply {
  status?: number;
  headers?: Record<string, string>;
  /** JSON body, or a string sent as-is. */
  body: unknown;
}

export type Handler = (req: FakeRequest, attempt: number) => FakeReply | Promise<FakeReply>;

export interface FakeOpenAI {
  /** Base URL for OPENAI_BASE_URL (ends in /v1). */
  url: string;
  requests: FakeRequest[];
  on(endpoint: Endpoint, handler: Handler): void;
  close(): Promise<void>;
}

export function chatReply(content: string | null, opts: { refusal?: string } = {}): FakeReply {
  return {
    body: {
      id: 'chatcmpl-test',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'gpt-4o-mini',
      choices: [
        { index: 0, message: { role: 'assistant', content, refusal: opts.refusal ?? null }, finish_reason: 'stop', logprobs: null },
      ],
      usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
    },
  };
}

export interface TestVariant {
  headline: string;
  primary_text: string;
  cta: string;
  visual_concept: string;
}

export function variantsReply(variants: TestVariant[]): FakeReply {
  return chatReply(JSON.stringify({ variants }));
}

export function imageReply(png: Uint8Array): FakeReply {
  return { body: { created: 1_700_000_000, data: [{ b64_json: Buffer.from(png).toString('base64') }] } };
}

/** An API error in OpenAI's shape; `retry-after-ms` keeps the SDK's backoff short in tests. */
export function errorReply(status: number, message: string, code: string | null = null, type = 'invalid_request_error'): FakeReply {
  return { status, headers: { 'retry-after-ms': '5' }, body: { error: { message, type, param: null, code } } };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Field names and text values of a multipart body (enough to check what an edit sent). */
function parseMultipart(raw: Buffer, contentType: string): Record<string, unknown> {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  if (!m) return {};
  const boundary = `--${m[1] ?? m[2]}`;
  const out: Record<string, unknown> = {};
  for (const part of raw.toString('latin1').split(boundary)) {
    const head = /name="([^"]+)"(?:; filename="([^"]*)")?/.exec(part);
    if (!head) continue;
    const value = part.slice(part.indexOf('\r\n\r\n') + 4).replace(/\r\n$/, '');
    out[head[1]] = head[2] !== undefined ? { filename: head[2], bytes: value.length } : Buffer.from(value, 'latin1').toString('utf8');
  }
  return out;
}

export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const handlers = new Map<Endpoint, Handler>();
  const requests: FakeRequest[] = [];
  const attempts = new Map<string, number>();
  const server: Server = createServer(async (req, res) => {
    try {
      const raw = await readBody(req);
      const path = (req.url ?? '').split('?')[0];
      const endpoint: Endpoint | undefined =
        path === '/v1/chat/completions'
          ? 'chat'
          : path === '/v1/images/generations'
            ? 'generations'
            : path === '/v1/images/edits'
              ? 'edits'
              : undefined;
      if (!endpoint || req.method !== 'POST') {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { message: `no route ${req.method} ${path}`, type: 'not_found', code: null } }));
        return;
      }
      const ct = String(req.headers['content-type'] ?? '');
      const body = ct.startsWith('multipart/')
        ? parseMultipart(raw, ct)
        : (JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>);
      const fr: FakeRequest = { endpoint, headers: req.headers, body, raw };
      requests.push(fr);
      const key = `${endpoint}:${String(body.prompt ?? JSON.stringify(body.messages ?? ''))}`;
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      const h = handlers.get(endpoint);
      const reply = h ? await h(fr, attempt) : errorReply(500, `no handler for ${endpoint}`, null, 'server_error');
      const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers }).end(text);
    } catch (e) {
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: String(e), type: 'server_error', code: null } }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    on: (endpoint, handler) => handlers.set(endpoint, handler),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
