/**
 * Request bodies with a ceiling, for every server that reads one before it knows who sent it
 * (the bot's Slack endpoint, checked for a signature only after the body is read; serve-clip).
 * A body announced larger than the ceiling is refused before a byte of it is read; one that
 * grows past it while streaming (chunked, no Content-Length) is refused as soon as it does. The
 * refusal closes the connection, so the rest of the body is neither buffered nor drained.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AdError } from '../errors.ts';

/** A request body over the ceiling: answer 413. */
export class BodyTooLargeError extends AdError {
  constructor(readonly maxBytes: number) {
    super('BODY_TOO_LARGE', `request body larger than ${maxBytes} bytes`);
  }
}

/** The declared Content-Length, when there is one that parses. */
function declaredLength(req: IncomingMessage): number | undefined {
  const h = req.headers['content-length'];
  if (h === undefined) return undefined;
  const n = Number(h);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * Reads the whole body of `req`, refusing (`BodyTooLargeError`) one over `maxBytes`.
 * `alignAt`: the returned bytes are placed so that offset `alignAt` in them starts on an 8-byte
 * boundary, where typed arrays (Float32Array, BigInt64Array) can view binary data in place
 * instead of copying it.
 */
export function readBoundedBody(req: IncomingMessage, maxBytes: number, opts: { alignAt?: number } = {}): Promise<Buffer> {
  const declared = declaredLength(req);
  if (declared !== undefined && declared > maxBytes) return Promise.reject(new BodyTooLargeError(maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        cleanup();
        req.pause();
        chunks.length = 0;
        reject(new BodyTooLargeError(maxBytes));
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      const pad = opts.alignAt === undefined ? 0 : (8 - (opts.alignAt % 8)) % 8;
      if (pad === 0) return resolve(Buffer.concat(chunks, size));
      // Its own ArrayBuffer (not the shared pool), so the base is aligned and `pad` does the rest.
      const out = Buffer.from(new ArrayBuffer(pad + size), pad, size);
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.length;
      }
      resolve(out);
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/**
 * Answers 413 and closes the connection once the answer is out: the client stops sending, and
 * nothing is left to read on a kept-alive connection.
 */
export function refuseTooLarge(req: IncomingMessage, res: ServerResponse, e: BodyTooLargeError): void {
  if (res.headersSent) {
    req.socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: 'body_too_large', message: e.message });
  res.writeHead(413, { 'content-type': 'application/json', connection: 'close', 'content-length': Buffer.byteLength(body) });
  res.end(body, () => req.socket.destroy());
}
