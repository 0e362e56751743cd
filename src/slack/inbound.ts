/**
 * What happens to an HTTP request before Bolt's receiver sees it. Bolt's HTTPReceiver reads
 * the whole body, however large, before it checks the signature, and a signed body that parses to
 * something other than an object (`null`, `[]`, `payload=[]`) crashes or stalls it. So the body
 * is read here, bounded, and handed to Bolt already read (`rawBody`, which Bolt uses as is); a
 * body of the wrong shape is answered here: 401 unsigned, else acknowledged at once (it carries
 * nothing to act on, and Slack must hear back within 3 s).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { isValidSlackRequest } from '@slack/bolt';
import type { Logger } from '../log.ts';
import { BodyTooLargeError, readBoundedBody, refuseTooLarge } from '../ops/body.ts';

/**
 * Slack's requests are small: an event or a modal submission is kilobytes (files arrive as
 * links, not bytes). 4 MiB leaves room for the largest view state and no room for abuse.
 */
export const SLACK_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** The payload as Bolt would parse it; undefined when it does not parse (Bolt answers 400 then). */
function parsed(contentType: string | undefined, raw: Buffer): { value: unknown } | undefined {
  try {
    const text = raw.toString('utf8');
    if (contentType === 'application/x-www-form-urlencoded') {
      const q = parseQuery(text);
      return { value: typeof q.payload === 'string' ? JSON.parse(q.payload) : q };
    }
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

function header(req: IncomingMessage, name: string): string {
  const v = req.headers[name];
  return typeof v === 'string' ? v : '';
}

/**
 * Reads and checks the body of a request for the Slack endpoint. Resolves true when Bolt should
 * handle the request (its body is in `rawBody`), false when it was answered here.
 */
export async function admitSlackRequest(
  req: IncomingMessage,
  res: ServerResponse,
  opts: { signingSecret: string; logger: Logger; maxBytes?: number },
): Promise<boolean> {
  let raw: Buffer;
  try {
    raw = await readBoundedBody(req, opts.maxBytes ?? SLACK_MAX_BODY_BYTES);
  } catch (e) {
    if (!(e instanceof BodyTooLargeError)) throw e;
    opts.logger.warn('request refused: body too large', { path: req.url, maxBytes: e.maxBytes });
    refuseTooLarge(req, res, e);
    return false;
  }
  (req as IncomingMessage & { rawBody?: Buffer }).rawBody = raw;
  const body = parsed(header(req, 'content-type') || undefined, raw);
  if (!body || (typeof body.value === 'object' && body.value !== null && !Array.isArray(body.value))) return true;
  const signed = isValidSlackRequest({
    signingSecret: opts.signingSecret,
    body: raw.toString('utf8'),
    headers: {
      'x-slack-signature': header(req, 'x-slack-signature'),
      'x-slack-request-timestamp': Number(header(req, 'x-slack-request-timestamp')),
    },
  });
  if (!signed) {
    res.writeHead(401).end();
    return false;
  }
  opts.logger.warn('signed request without an object payload acknowledged and ignored', {
    shape: body.value === null ? 'null' : Array.isArray(body.value) ? 'array' : typeof body.value,
  });
  res.writeHead(200).end();
  return false;
}
