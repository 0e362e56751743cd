/**
 * A strict S3 stand-in on 127.0.0.1 for the tests: the subset of the Amazon S3 REST API that the
 * bot's two S3 clients use (the AWS SDK for JavaScript in the variant asset store, and LanceDB's
 * Rust `object_store` for the library), path-style only, objects in memory.
 *
 * Why not an npm server: s3rver 3.7.1 (the usual one; its successor needs Node 24) was tried with
 * LanceDB 0.37.1 first. Reads, writes, index builds and search worked, but (1) ListObjectsV2 with a
 * delimiter misses every common prefix more than one level deep, so `tableNames()` on an s3://
 * library came back empty, and (2) it ignores `If-None-Match: *` on PUT, the conditional write
 * LanceDB commits each table version with — two writers would silently overwrite each other's
 * commit instead of one getting 412 and retrying. This stand-in implements both as S3 documents.
 *
 * Every rule below names its source in the Amazon S3 API Reference ("API Reference") or the
 * Signature Version 4 guide ("SigV4"). What it does not implement it refuses with 501
 * NotImplemented rather than guess (presigned URLs, aws-chunked uploads, versioning, ACLs, …).
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';

interface StoredObject {
  body: Buffer;
  etag: string;
  lastModified: Date;
  contentType: string;
  metadata: Record<string, string>;
  checksums: Record<string, string>;
}

interface Upload {
  bucket: string;
  key: string;
  contentType: string;
  metadata: Record<string, string>;
  parts: Map<number, { body: Buffer; etag: string }>;
}

export interface S3Request {
  method: string;
  bucket?: string;
  key?: string;
  query: string;
  status: number;
  code?: string;
  ifNoneMatch?: string;
}

export interface S3StandIn {
  /** Endpoint URL (path-style): http://127.0.0.1:PORT */
  url: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Every request answered, in order. */
  requests: S3Request[];
  createBucket(name: string): void;
  /** Keys in a bucket (sorted), optionally under a prefix. */
  keys(bucket: string, prefix?: string): string[];
  object(bucket: string, key: string): Buffer | undefined;
  /** Overwrites an object's bytes in place (to test that readers notice corruption). */
  tamper(bucket: string, key: string, body: Buffer): void;
  close(): Promise<void>;
}

class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
  }
}

const notImplemented = (what: string) =>
  new S3Error(501, 'NotImplemented', `A header or query you provided implies functionality that this stand-in does not implement: ${what}`);

// API Reference, "Multipart upload limits": 5 MiB minimum part size except the last; parts 1..10,000.
const MIN_PART = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;
// API Reference, "Creating object key names": a key is at most 1,024 bytes of UTF-8.
const MAX_KEY_BYTES = 1024;
// SigV4, "Elements of an AWS API request signature": a request more than 15 minutes from the server's clock is refused.
const MAX_SKEW_MS = 15 * 60 * 1000;
// Bucket naming rules (general purpose buckets): 3–63 chars, lower-case letters, digits, dots, hyphens.
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** A bound on one request body, so a runaway client cannot exhaust the test process. */
const MAX_BODY = 256 * 1024 * 1024;

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const xmlUnescape = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_m, d) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_m, h) => String.fromCodePoint(Number.parseInt(h, 16)))
    .replace(/&amp;/g, '&');

/** SigV4 "URI-encode": every byte but A–Z a–z 0–9 - . _ ~ percent-encoded, upper-case hex. */
function uriEncode(s: string, keepSlash: boolean): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, '%20'));
  } catch {
    throw new S3Error(400, 'InvalidURI', `Couldn't parse the specified URI: ${s}`);
  }
}

/** Raw query pairs, decoded, in arrival order. */
function queryPairs(raw: string): [string, string][] {
  if (!raw) return [];
  return raw
    .split('&')
    .filter(Boolean)
    .map((p) => {
      const i = p.indexOf('=');
      return i < 0 ? [decode(p), ''] : [decode(p.slice(0, i)), decode(p.slice(i + 1))];
    });
}

const sha256hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const hmac = (key: Buffer | string, s: string) => createHmac('sha256', key).update(s).digest();

/** CRC32C (Castagnoli), for `x-amz-checksum-crc32c`. */
const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32c(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC32C_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
const u32b64 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b.toString('base64');
};

/** API Reference, PutObject "x-amz-checksum-*": the checksum of the body, base64; a mismatch is BadDigest. */
const CHECKSUMS: Record<string, (b: Buffer) => string> = {
  crc32: (b) => u32b64(crc32(b)),
  crc32c: (b) => u32b64(crc32c(b)),
  sha1: (b) => createHash('sha1').update(b).digest('base64'),
  sha256: (b) => createHash('sha256').update(b).digest('base64'),
};

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Per-header canonical values from the raw headers (SigV4: trimmed, inner runs of spaces collapsed, repeats joined by commas). */
function canonicalHeaderValues(req: IncomingMessage): Map<string, string> {
  const m = new Map<string, string[]>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    const value = req.rawHeaders[i + 1].trim().replace(/\s+/g, ' ');
    m.set(name, [...(m.get(name) ?? []), value]);
  }
  return new Map([...m].map(([k, v]) => [k, v.join(',')]));
}

function httpDate(d: Date): string {
  return d.toUTCString();
}

export async function startS3(
  opts: {
    buckets?: string[];
    region?: string;
    accessKeyId?: string;
    secretAccessKey?: string;
    /**
     * Conditional writes (If-None-Match / If-Match on PUT): 'enforce' as S3 does (the default);
     * 'ignore' them as s3rver and S3 before August 2024 did — to show what that costs concurrent
     * writers; 'refuse' them with 501 NotImplemented as some S3-compatible servers do.
     */
    conditionalWrites?: 'enforce' | 'ignore' | 'refuse';
    /** Runs before a PutObject is decided (after its body arrived): tests hold writes here to line up a race. */
    beforeWrite?: (bucket: string, key: string) => Promise<void>;
  } = {},
): Promise<S3StandIn> {
  const region = opts.region ?? 'us-east-1';
  const accessKeyId = opts.accessKeyId ?? 'AKIASTANDIN000000001';
  const secretAccessKey = opts.secretAccessKey ?? `stand-in-secret-${randomUUID()}`;
  const buckets = new Map<string, Map<string, StoredObject>>();
  const uploads = new Map<string, Upload>();
  const requests: S3Request[] = [];
  for (const b of opts.buckets ?? []) buckets.set(b, new Map());

  function verifySignature(req: IncomingMessage, path: string, rawQuery: string): void {
    const auth = header(req, 'authorization');
    if (!auth) {
      // Presigned URLs (X-Amz-Signature in the query) are not used by the bot: refused, not guessed.
      if (/X-Amz-Signature=/i.test(rawQuery)) throw notImplemented('presigned (query-string) authentication');
      // API Reference, "Making requests": buckets are private; an anonymous request is refused.
      throw new S3Error(403, 'AccessDenied', 'Access Denied: the request carries no Authorization header');
    }
    // SigV4, "Authorization header": AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…
    const m = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(auth.trim());
    if (!m)
      throw new S3Error(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed; only AWS4-HMAC-SHA256 is accepted');
    const [ak, date, credRegion, service, terminator] = m[1].split('/');
    if (ak !== accessKeyId)
      throw new S3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    if (credRegion !== region)
      throw new S3Error(400, 'AuthorizationHeaderMalformed', `the region '${credRegion}' is wrong; expecting '${region}'`, {
        Region: region,
      });
    if (service !== 's3' || terminator !== 'aws4_request')
      throw new S3Error(400, 'AuthorizationHeaderMalformed', 'the credential scope must end in /s3/aws4_request');
    const signed = m[2].split(';');
    // SigV4 for S3, "Signature calculations for the Authorization header": host and x-amz-content-sha256 must be signed,
    // and so must every x-amz-* header sent.
    const values = canonicalHeaderValues(req);
    for (const need of ['host', 'x-amz-content-sha256'])
      if (!signed.includes(need)) throw new S3Error(403, 'AccessDenied', `${need} must be a signed header`);
    for (const name of values.keys())
      if (name.startsWith('x-amz-') && !signed.includes(name))
        throw new S3Error(403, 'AccessDenied', `There were headers present in the request which were not signed: ${name}`);
    const amzDate = header(req, 'x-amz-date');
    if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate))
      throw new S3Error(403, 'AccessDenied', 'AWS authentication requires a valid x-amz-date header (YYYYMMDDTHHMMSSZ)');
    if (amzDate.slice(0, 8) !== date)
      throw new S3Error(403, 'SignatureDoesNotMatch', 'the date in the credential scope does not match x-amz-date');
    const when = Date.UTC(
      +amzDate.slice(0, 4),
      +amzDate.slice(4, 6) - 1,
      +amzDate.slice(6, 8),
      +amzDate.slice(9, 11),
      +amzDate.slice(11, 13),
      +amzDate.slice(13, 15),
    );
    if (Math.abs(Date.now() - when) > MAX_SKEW_MS)
      throw new S3Error(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
    for (const h of signed) if (!values.has(h)) throw new S3Error(403, 'AccessDenied', `signed header ${h} is missing from the request`);
    const canonicalUri = path
      .split('/')
      .map((seg) => uriEncode(decode(seg.replace(/\+/g, '%2B')), false))
      .join('/');
    const canonicalQuery = queryPairs(rawQuery)
      .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
      .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const canonical = [
      req.method,
      canonicalUri,
      canonicalQuery,
      ...signed.map((h) => `${h}:${values.get(h)}`),
      '',
      m[2],
      header(req, 'x-amz-content-sha256'),
    ].join('\n');
    const scope = `${date}/${region}/s3/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonical)].join('\n');
    const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, date), region), 's3'), 'aws4_request');
    const expected = hmac(key, toSign);
    if (!timingSafeEqual(expected, Buffer.from(m[3], 'hex')))
      throw new S3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  }

  /** SigV4 payload hash and the integrity headers a body may carry. */
  function verifyBody(req: IncomingMessage, body: Buffer): Record<string, string> {
    const claimed = header(req, 'x-amz-content-sha256') ?? '';
    if (/^STREAMING-/.test(claimed)) throw notImplemented(`aws-chunked uploads (x-amz-content-sha256: ${claimed})`);
    if (claimed !== 'UNSIGNED-PAYLOAD') {
      // SigV4 for S3, "x-amz-content-sha256": the hex SHA-256 of the payload, or UNSIGNED-PAYLOAD.
      if (!/^[0-9a-f]{64}$/.test(claimed))
        throw new S3Error(400, 'InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a hex SHA-256');
      if (sha256hex(body) !== claimed)
        throw new S3Error(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
    if (header(req, 'content-encoding')?.includes('aws-chunked')) throw notImplemented('Content-Encoding: aws-chunked');
    // API Reference, PutObject "Content-MD5": base64 MD5 of the body; a mismatch is BadDigest.
    const md5 = header(req, 'content-md5');
    if (md5 !== undefined) {
      if (Buffer.from(md5, 'base64').length !== 16) throw new S3Error(400, 'InvalidDigest', 'The Content-MD5 you specified is not valid.');
      if (createHash('md5').update(body).digest('base64') !== md5)
        throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
    const sums: Record<string, string> = {};
    for (const name of Object.keys(req.headers)) {
      const cm = /^x-amz-checksum-(.+)$/.exec(name);
      if (!cm || cm[1] === 'algorithm' || cm[1] === 'mode' || cm[1] === 'type') continue;
      const algo = cm[1];
      const fn = CHECKSUMS[algo];
      if (!fn) throw notImplemented(`checksum algorithm ${algo}`);
      if (fn(body) !== header(req, name))
        throw new S3Error(400, 'BadDigest', `The ${algo.toUpperCase()} you specified did not match the calculated checksum.`);
      sums[algo] = header(req, name) as string;
    }
    // API Reference, PutObject "x-amz-sdk-checksum-algorithm": names the checksum header that must accompany it.
    const algo = header(req, 'x-amz-sdk-checksum-algorithm')?.toLowerCase();
    if (algo && !sums[algo])
      throw new S3Error(400, 'InvalidRequest', `x-amz-sdk-checksum-algorithm is ${algo} but no x-amz-checksum-${algo} header was sent`);
    return sums;
  }

  function bucketOf(name: string): Map<string, StoredObject> {
    const b = buckets.get(name);
    if (!b) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: name });
    return b;
  }

  function metaFrom(req: IncomingMessage): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('x-amz-meta-') && typeof v === 'string') out[k] = v;
    return out;
  }

  function objectHeaders(o: StoredObject, withChecksums: boolean): Record<string, string> {
    const h: Record<string, string> = {
      ETag: o.etag,
      'Last-Modified': httpDate(o.lastModified),
      'Content-Type': o.contentType,
      'Accept-Ranges': 'bytes',
      ...o.metadata,
    };
    if (withChecksums) for (const [a, v] of Object.entries(o.checksums)) h[`x-amz-checksum-${a}`] = v;
    return h;
  }

  /** RFC 9110 §13.2.2 evaluation order, as API Reference GetObject/HeadObject/PutObject document it. */
  function preconditions(req: IncomingMessage, o: StoredObject | undefined, forWrite: boolean): number | undefined {
    const ifMatch = header(req, 'if-match');
    const ifNoneMatch = header(req, 'if-none-match');
    if (forWrite && opts.conditionalWrites === 'ignore') return undefined;
    if (forWrite && opts.conditionalWrites === 'refuse' && (ifMatch !== undefined || ifNoneMatch !== undefined))
      throw notImplemented('conditional writes');
    if (forWrite) {
      if (header(req, 'if-modified-since') || header(req, 'if-unmodified-since')) throw notImplemented('date conditions on writes');
      // API Reference, PutObject "If-None-Match": only `*` is accepted — write only if no object has this key.
      if (ifNoneMatch !== undefined && ifNoneMatch !== '*')
        throw notImplemented(`If-None-Match: ${ifNoneMatch} on a write (only * is supported)`);
      if (ifMatch !== undefined && ifNoneMatch !== undefined) throw notImplemented('If-Match and If-None-Match together on a write');
      if (ifNoneMatch === '*' && o) return 412;
      // API Reference, PutObject "If-Match": written only if the ETag matches; no object → 404 NoSuchKey.
      if (ifMatch !== undefined) {
        if (!o) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.');
        if (ifMatch !== o.etag && ifMatch !== '*') return 412;
      }
      return undefined;
    }
    if (!o) return undefined;
    const etags = (v: string) => v.split(',').map((s) => s.trim());
    if (ifMatch !== undefined && !etags(ifMatch).some((e) => e === '*' || e === o.etag)) return 412;
    const ius = header(req, 'if-unmodified-since');
    if (ifMatch === undefined && ius && o.lastModified.getTime() > Date.parse(ius)) return 412;
    if (ifNoneMatch !== undefined && etags(ifNoneMatch).some((e) => e === '*' || e === o.etag)) return 304;
    const ims = header(req, 'if-modified-since');
    if (ifNoneMatch === undefined && ims && o.lastModified.getTime() <= Date.parse(ims)) return 304;
    return undefined;
  }

  function listV2(bucket: string, q: Map<string, string>): string {
    const b = bucketOf(bucket);
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const rawMax = q.get('max-keys');
    // API Reference, ListObjectsV2 "max-keys": at most 1,000 are returned, whatever is asked.
    if (rawMax !== undefined && !/^\d+$/.test(rawMax))
      throw new S3Error(400, 'InvalidArgument', 'Provided max-keys not an integer or within integer range');
    const maxKeys = Math.min(rawMax === undefined ? 1000 : Number(rawMax), 1000);
    const encoding = q.get('encoding-type');
    if (encoding !== undefined && encoding !== 'url')
      throw new S3Error(400, 'InvalidArgument', 'Invalid Encoding Method specified in Request');
    const token = q.get('continuation-token');
    let after = q.get('start-after') ?? '';
    let afterPrefix: string | undefined;
    if (token !== undefined) {
      let t: { k?: unknown; p?: unknown };
      try {
        t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
      } catch {
        throw new S3Error(400, 'InvalidArgument', 'The continuation token provided is incorrect');
      }
      if (typeof t.k !== 'string') throw new S3Error(400, 'InvalidArgument', 'The continuation token provided is incorrect');
      after = t.k;
      if (t.p === true) afterPrefix = t.k;
    }
    // API Reference, ListObjectsV2: keys in ascending UTF-8 binary order.
    const keys = [...b.keys()].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    const contents: StoredObject[] = [];
    const contentKeys: string[] = [];
    const common: string[] = [];
    let truncated = false;
    let last: { k: string; p: boolean } | undefined;
    for (const k of keys) {
      if (!k.startsWith(prefix)) continue;
      if (Buffer.compare(Buffer.from(k), Buffer.from(after)) <= 0) continue;
      if (afterPrefix !== undefined && k.startsWith(afterPrefix)) continue;
      let cp: string | undefined;
      if (delimiter) {
        const i = k.indexOf(delimiter, prefix.length);
        if (i >= 0) cp = k.slice(0, i + delimiter.length);
      }
      if (cp !== undefined && common[common.length - 1] === cp) continue;
      if (contents.length + common.length >= maxKeys) {
        truncated = true;
        break;
      }
      if (cp !== undefined) {
        common.push(cp);
        last = { k: cp, p: true };
      } else {
        contents.push(b.get(k) as StoredObject);
        contentKeys.push(k);
        last = { k, p: false };
      }
    }
    const enc = (s: string) => xmlEscape(encoding === 'url' ? uriEncode(s, true) : s);
    const parts = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
      `<Name>${xmlEscape(bucket)}</Name><Prefix>${enc(prefix)}</Prefix>`,
      delimiter ? `<Delimiter>${enc(delimiter)}</Delimiter>` : '',
      `<MaxKeys>${maxKeys}</MaxKeys><KeyCount>${contents.length + common.length}</KeyCount><IsTruncated>${truncated}</IsTruncated>`,
      encoding ? '<EncodingType>url</EncodingType>' : '',
      token !== undefined ? `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>` : '',
      q.has('start-after') ? `<StartAfter>${enc(q.get('start-after') as string)}</StartAfter>` : '',
      truncated && last ? `<NextContinuationToken>${Buffer.from(JSON.stringify(last)).toString('base64url')}</NextContinuationToken>` : '',
      ...contents.map(
        (o, i) =>
          `<Contents><Key>${enc(contentKeys[i])}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><ETag>${xmlEscape(o.etag)}</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
      ),
      ...common.map((p) => `<CommonPrefixes><Prefix>${enc(p)}</Prefix></CommonPrefixes>`),
      '</ListBucketResult>',
    ];
    return parts.join('');
  }

  function tags(xml: string, name: string): string[] {
    return [...xml.matchAll(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, 'g'))].map((m) => m[1]);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, body: Buffer, log: S3Request): Promise<void> {
    const rawPath = (req.url ?? '/').split('?')[0];
    const rawQuery = (req.url ?? '').includes('?') ? (req.url as string).slice((req.url as string).indexOf('?') + 1) : '';
    verifySignature(req, rawPath, rawQuery);
    const q = new Map(queryPairs(rawQuery));
    q.delete('x-id'); // The JavaScript SDK names the operation in ?x-id=…; it selects nothing.
    const segs = rawPath.split('/');
    const bucket = segs[1] ? decode(segs[1]) : '';
    const key = segs.length > 2 ? decode(segs.slice(2).join('/')) : '';
    log.bucket = bucket || undefined;
    log.key = key || undefined;
    log.ifNoneMatch = header(req, 'if-none-match');
    const send = (status: number, headers: Record<string, string>, payload?: Buffer | string) => {
      res.writeHead(status, { 'x-amz-request-id': randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase(), ...headers });
      res.end(req.method === 'HEAD' ? undefined : payload);
    };
    const xml = (status: number, s: string) => send(status, { 'Content-Type': 'application/xml' }, s);
    const known = (allowed: string[]) => {
      for (const k of q.keys())
        if (!allowed.includes(k)) throw notImplemented(`the ?${k} subresource or parameter on ${req.method} ${key ? 'object' : 'bucket'}`);
    };

    if (!bucket) {
      if (req.method !== 'GET') throw notImplemented(`${req.method} on the service`);
      const list = [...buckets.keys()].map(
        (b) => `<Bucket><Name>${b}</Name><CreationDate>${new Date(0).toISOString()}</CreationDate></Bucket>`,
      );
      return xml(
        200,
        `<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult><Buckets>${list.join('')}</Buckets></ListAllMyBucketsResult>`,
      );
    }

    if (!key) {
      switch (req.method) {
        case 'HEAD':
          known([]);
          bucketOf(bucket);
          return send(200, { 'x-amz-bucket-region': region });
        case 'PUT':
          known([]);
          if (!BUCKET_NAME.test(bucket)) throw new S3Error(400, 'InvalidBucketName', 'The specified bucket is not valid.');
          if (buckets.has(bucket))
            throw new S3Error(
              409,
              'BucketAlreadyOwnedByYou',
              'Your previous request to create the named bucket succeeded and you already own it.',
            );
          buckets.set(bucket, new Map());
          return send(200, { Location: `/${bucket}` });
        case 'GET':
          if (q.has('location')) {
            known(['location']);
            bucketOf(bucket);
            return xml(
              200,
              `<?xml version="1.0" encoding="UTF-8"?><LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${region === 'us-east-1' ? '' : region}</LocationConstraint>`,
            );
          }
          // ListObjects (v1) is not used by either client: refused rather than half-done.
          if (q.get('list-type') !== '2') throw notImplemented('ListObjects (v1); use list-type=2');
          known(['list-type', 'prefix', 'delimiter', 'max-keys', 'continuation-token', 'start-after', 'encoding-type', 'fetch-owner']);
          return xml(200, listV2(bucket, q));
        case 'POST': {
          known(['delete']);
          if (!q.has('delete')) throw notImplemented('POST on a bucket without ?delete');
          const b = bucketOf(bucket);
          // API Reference, DeleteObjects: "The Content-MD5 or x-amz-sdk-checksum-algorithm header is required".
          if (!header(req, 'content-md5') && !header(req, 'x-amz-sdk-checksum-algorithm'))
            throw new S3Error(
              400,
              'InvalidRequest',
              'Missing required header for this request: Content-MD5 or x-amz-sdk-checksum-algorithm',
            );
          verifyBody(req, body);
          const text = body.toString('utf8');
          if (!/<Delete[\s>]/.test(text))
            throw new S3Error(
              400,
              'MalformedXML',
              'The XML you provided was not well-formed or did not validate against our published schema.',
            );
          const objects = tags(text, 'Object');
          // API Reference, DeleteObjects: up to 1,000 keys per request.
          if (objects.length === 0 || objects.length > 1000)
            throw new S3Error(400, 'MalformedXML', 'A DeleteObjects request names 1 to 1,000 objects.');
          const quiet = tags(text, 'Quiet')[0]?.trim() === 'true';
          const deleted: string[] = [];
          for (const o of objects) {
            const k = tags(o, 'Key')[0];
            if (k === undefined) throw new S3Error(400, 'MalformedXML', 'An Object in a DeleteObjects request has no Key.');
            if (tags(o, 'VersionId').length) throw notImplemented('versioned deletes');
            const kk = xmlUnescape(k);
            b.delete(kk);
            deleted.push(kk);
          }
          return xml(
            200,
            `<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${quiet ? '' : deleted.map((k) => `<Deleted><Key>${xmlEscape(k)}</Key></Deleted>`).join('')}</DeleteResult>`,
          );
        }
        case 'DELETE':
          known([]);
          if (bucketOf(bucket).size) throw new S3Error(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty');
          buckets.delete(bucket);
          return send(204, {});
        default:
          throw notImplemented(`${req.method} on a bucket`);
      }
    }

    const b = bucketOf(bucket);
    if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new S3Error(400, 'KeyTooLongError', 'Your key is too long');
    for (const h of [
      'x-amz-server-side-encryption-customer-algorithm',
      'x-amz-object-lock-mode',
      'x-amz-tagging',
      'x-amz-acl',
      'x-amz-website-redirect-location',
    ])
      if (header(req, h) !== undefined) throw notImplemented(h);

    switch (req.method) {
      case 'GET':
      case 'HEAD': {
        known([]);
        const o = b.get(key);
        if (!o) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
        const pre = preconditions(req, o, false);
        if (pre === 412) throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
        if (pre === 304) return send(304, { ETag: o.etag, 'Last-Modified': httpDate(o.lastModified) });
        const range = header(req, 'range');
        if (range !== undefined) {
          // API Reference, GetObject "Range": one byte range per request (RFC 9110 §14.1.2 forms).
          const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
          if (!m || (m[1] === '' && m[2] === '')) {
            if (range.includes(',')) throw notImplemented('several byte ranges in one GET');
            // An unparseable Range is ignored and the whole object returned (RFC 9110 §14.2).
          } else {
            const size = o.body.length;
            let start: number;
            let end: number;
            if (m[1] === '') {
              start = Math.max(0, size - Number(m[2]));
              end = size - 1;
            } else {
              start = Number(m[1]);
              end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
            }
            if (start >= size || (m[1] !== '' && m[2] !== '' && Number(m[2]) < start) || (m[1] === '' && Number(m[2]) === 0))
              throw new S3Error(416, 'InvalidRange', 'The requested range is not satisfiable', {
                RangeRequested: range,
                ActualObjectSize: String(size),
              });
            const slice = o.body.subarray(start, end + 1);
            return send(
              206,
              { ...objectHeaders(o, false), 'Content-Range': `bytes ${start}-${end}/${size}`, 'Content-Length': String(slice.length) },
              slice,
            );
          }
        }
        const withSums = header(req, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED';
        return send(200, { ...objectHeaders(o, withSums), 'Content-Length': String(o.body.length) }, o.body);
      }
      case 'PUT': {
        if (q.has('partNumber') || q.has('uploadId')) {
          known(['partNumber', 'uploadId']);
          const up = uploads.get(q.get('uploadId') ?? '');
          if (!up || up.bucket !== bucket || up.key !== key)
            throw new S3Error(404, 'NoSuchUpload', 'The specified multipart upload does not exist.');
          const n = Number(q.get('partNumber'));
          if (!Number.isInteger(n) || n < 1 || n > MAX_PARTS)
            throw new S3Error(400, 'InvalidArgument', `Part number must be an integer between 1 and ${MAX_PARTS}, inclusive`);
          if (header(req, 'x-amz-copy-source')) throw notImplemented('UploadPartCopy');
          verifyBody(req, body);
          const etag = `"${createHash('md5').update(body).digest('hex')}"`;
          up.parts.set(n, { body, etag });
          return send(200, { ETag: etag });
        }
        known([]);
        const copySource = header(req, 'x-amz-copy-source');
        if (copySource !== undefined) {
          for (const h of Object.keys(req.headers))
            if (h.startsWith('x-amz-copy-source-if') || h === 'if-none-match' || h === 'if-match')
              throw notImplemented(`${h} on CopyObject`);
          const src = decode(copySource.replace(/^\//, ''));
          if (src.includes('?versionId=')) throw notImplemented('copying an object version');
          const slash = src.indexOf('/');
          if (slash < 1)
            throw new S3Error(400, 'InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey');
          const from = bucketOf(src.slice(0, slash)).get(src.slice(slash + 1));
          if (!from) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: src.slice(slash + 1) });
          const replace = header(req, 'x-amz-metadata-directive') === 'REPLACE';
          const copy: StoredObject = {
            ...from,
            lastModified: new Date(),
            contentType: replace ? (header(req, 'content-type') ?? 'binary/octet-stream') : from.contentType,
            metadata: replace ? metaFrom(req) : from.metadata,
          };
          b.set(key, copy);
          return xml(
            200,
            `<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult><LastModified>${copy.lastModified.toISOString()}</LastModified><ETag>${xmlEscape(copy.etag)}</ETag></CopyObjectResult>`,
          );
        }
        const sums = verifyBody(req, body);
        await opts.beforeWrite?.(bucket, key);
        // The check and the write happen in one turn of the event loop: conditional writes are atomic.
        const pre = preconditions(req, b.get(key), true);
        if (pre === 412)
          throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
            Condition: header(req, 'if-none-match') ? 'If-None-Match' : 'If-Match',
          });
        const o: StoredObject = {
          body,
          etag: `"${createHash('md5').update(body).digest('hex')}"`,
          lastModified: new Date(),
          contentType: header(req, 'content-type') ?? 'binary/octet-stream',
          metadata: metaFrom(req),
          checksums: sums,
        };
        b.set(key, o);
        const h: Record<string, string> = { ETag: o.etag };
        for (const [a, v] of Object.entries(sums)) h[`x-amz-checksum-${a}`] = v;
        return send(200, h);
      }
      case 'POST': {
        if (q.has('uploads')) {
          known(['uploads']);
          if (header(req, 'x-amz-checksum-algorithm')) throw notImplemented('multipart uploads with additional checksums');
          const id = randomUUID();
          uploads.set(id, {
            bucket,
            key,
            contentType: header(req, 'content-type') ?? 'binary/octet-stream',
            metadata: metaFrom(req),
            parts: new Map(),
          });
          return xml(
            200,
            `<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(key)}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`,
          );
        }
        if (q.has('uploadId')) {
          known(['uploadId']);
          const id = q.get('uploadId') as string;
          const up = uploads.get(id);
          if (!up || up.bucket !== bucket || up.key !== key)
            throw new S3Error(404, 'NoSuchUpload', 'The specified multipart upload does not exist.');
          verifyBody(req, body);
          const text = body.toString('utf8');
          if (!/<CompleteMultipartUpload[\s>]/.test(text))
            throw new S3Error(
              400,
              'MalformedXML',
              'The XML you provided was not well-formed or did not validate against our published schema.',
            );
          const listed = tags(text, 'Part').map((p) => ({
            n: Number(tags(p, 'PartNumber')[0]),
            etag: xmlUnescape(tags(p, 'ETag')[0] ?? '').trim(),
          }));
          if (!listed.length) throw new S3Error(400, 'MalformedXML', 'CompleteMultipartUpload lists no parts.');
          const chunks: Buffer[] = [];
          const md5s: Buffer[] = [];
          for (let i = 0; i < listed.length; i++) {
            const p = listed[i];
            // API Reference, CompleteMultipartUpload errors: InvalidPartOrder, InvalidPart, EntityTooSmall.
            if (i > 0 && p.n <= listed[i - 1].n)
              throw new S3Error(
                400,
                'InvalidPartOrder',
                'The list of parts was not in ascending order. Parts must be ordered by part number.',
              );
            const part = up.parts.get(p.n);
            const quoted = p.etag.startsWith('"') ? p.etag : `"${p.etag}"`;
            if (!part || part.etag !== quoted)
              throw new S3Error(
                400,
                'InvalidPart',
                "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
              );
            if (i < listed.length - 1 && part.body.length < MIN_PART)
              throw new S3Error(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.', {
                PartNumber: String(p.n),
              });
            chunks.push(part.body);
            md5s.push(Buffer.from(part.etag.slice(1, -1), 'hex'));
          }
          // API Reference, CompleteMultipartUpload "If-None-Match": the upload completes only if no object has the key.
          const pre = preconditions(req, b.get(key), true);
          if (pre === 412) throw new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
          const o: StoredObject = {
            body: Buffer.concat(chunks),
            etag: `"${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${listed.length}"`,
            lastModified: new Date(),
            contentType: up.contentType,
            metadata: up.metadata,
            checksums: {},
          };
          b.set(key, o);
          uploads.delete(id);
          return xml(
            200,
            `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>/${xmlEscape(bucket)}/${xmlEscape(key)}</Location><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(key)}</Key><ETag>${xmlEscape(o.etag)}</ETag></CompleteMultipartUploadResult>`,
          );
        }
        throw notImplemented('POST on an object without ?uploads or ?uploadId');
      }
      case 'DELETE': {
        if (q.has('uploadId')) {
          known(['uploadId']);
          if (!uploads.delete(q.get('uploadId') as string))
            throw new S3Error(404, 'NoSuchUpload', 'The specified multipart upload does not exist.');
          return send(204, {});
        }
        known([]);
        if (header(req, 'if-match')) throw notImplemented('conditional deletes');
        // API Reference, DeleteObject: deleting a key that does not exist succeeds (204).
        b.delete(key);
        return send(204, {});
      }
      default:
        throw notImplemented(`${req.method} on an object`);
    }
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const raw = req.url ?? '/';
    const log: S3Request = { method: req.method ?? '', query: raw.includes('?') ? raw.slice(raw.indexOf('?') + 1) : '', status: 0 };
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      const fail = (e: unknown) => {
        const err = e instanceof S3Error ? e : new S3Error(500, 'InternalError', e instanceof Error ? e.message : String(e));
        log.status = err.status;
        log.code = err.code;
        const extra = Object.entries(err.extra)
          .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
          .join('');
        const bodyXml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${err.code}</Code><Message>${xmlEscape(err.message)}</Message>${extra}<RequestId>${randomUUID()}</RequestId></Error>`;
        if (!res.headersSent) res.writeHead(err.status, { 'Content-Type': 'application/xml' });
        res.end(req.method === 'HEAD' ? undefined : bodyXml);
      };
      if (size > MAX_BODY)
        return fail(new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size (of this stand-in)'));
      handle(req, res, Buffer.concat(chunks), log)
        .then(() => {
          log.status = res.statusCode;
        })
        .catch(fail)
        .finally(() => requests.push(log));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    region,
    accessKeyId,
    secretAccessKey,
    requests,
    createBucket(name) {
      if (!buckets.has(name)) buckets.set(name, new Map());
    },
    keys(bucket, prefix = '') {
      return [...(buckets.get(bucket)?.keys() ?? [])].filter((k) => k.startsWith(prefix)).sort();
    },
    object(bucket, key) {
      return buckets.get(bucket)?.get(key)?.body;
    },
    tamper(bucket, key, body) {
      const o = buckets.get(bucket)?.get(key);
      if (o) o.body = body;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
