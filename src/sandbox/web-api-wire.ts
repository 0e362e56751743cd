/**
 * The wire side of the Slack Web API stand-in: how arguments arrive (form-encoded or JSON,
 * JSON-in-a-string for `blocks`), how errors are answered (`ok: false` with Slack's code), and
 * how uploaded bytes are read.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseQuery } from 'node:querystring';

export type Args = Record<string, unknown>;
export type Handler = (args: Args, ctx: { token: string }) => Args;

export class SlackApiError extends Error {
  constructor(
    readonly code: string,
    readonly extra: Args = {},
  ) {
    super(code);
  }
}

export const fail = (code: string, extra?: Args): never => {
  throw new SlackApiError(code, extra);
};

export function parseJsonArg(v: unknown, name: string): unknown {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return fail(name === 'blocks' ? 'invalid_blocks_format' : 'invalid_arguments', { detail: `${name} is not valid JSON` });
  }
}

/** Pulls the first file part out of a multipart/form-data body (what WebClient sends to upload_url). */
export function multipartFile(body: Buffer, contentType: string): Buffer | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!m) return undefined;
  const boundary = Buffer.from(`--${m[1] ?? m[2]}`);
  let at = body.indexOf(boundary);
  while (at !== -1) {
    const headStart = at + boundary.length + 2;
    const headEnd = body.indexOf('\r\n\r\n', headStart);
    if (headEnd === -1) return undefined;
    const next = body.indexOf(boundary, headEnd);
    if (next === -1) return undefined;
    const head = body.subarray(headStart, headEnd).toString('utf8');
    if (/filename=/i.test(head) || /name="(file|body)"/i.test(head)) return body.subarray(headEnd + 4, next - 2);
    at = next;
  }
  return undefined;
}

export function sniffMime(bytes: Buffer | undefined, name: string): string {
  if (bytes && bytes.length >= 4) {
    if (bytes[0] === 0x89 && bytes[1] === 0x50) return 'image/png';
    if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'image/jpeg';
    if (bytes.subarray(0, 3).toString('latin1') === 'GIF') return 'image/gif';
    if (bytes.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
    if (bytes.readUInt32LE(0) === 0x04034b50) return 'application/zip';
  }
  if (/\.png$/i.test(name)) return 'image/png';
  if (/\.jpe?g$/i.test(name)) return 'image/jpeg';
  return 'application/octet-stream';
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function parseArgs(body: Buffer, contentType: string, query: URLSearchParams): Args {
  const args: Args = Object.fromEntries(query.entries());
  if (body.length === 0) return args;
  const text = body.toString('utf8');
  if (contentType.includes('application/json')) {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed && typeof parsed === 'object') Object.assign(args, parsed);
    } catch {
      args.__invalid_json = true;
    }
    return args;
  }
  const form = parseQuery(text);
  for (const [k, v] of Object.entries(form)) args[k] = Array.isArray(v) ? v[v.length - 1] : v;
  return args;
}

export function recordArgs(args: Args): Args {
  const out: Args = { ...args };
  for (const k of ['blocks', 'view', 'files', 'attachments']) {
    if (typeof out[k] === 'string') {
      try {
        out[k] = JSON.parse(out[k] as string);
      } catch {
        // Left as sent; the handler reported it.
      }
    }
  }
  return out;
}
