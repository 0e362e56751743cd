/**
 * Variant assets on S3-compatible object storage (ASSETS_URI=s3://bucket/prefix), so a replica
 * that did not render a round can still upload, export or promote its winner. The only module
 * that imports the AWS SDK.
 *
 * Layout under the prefix, per round:
 *   <round>/<variant>.json   which blobs make up the variant (written last, so it never names a
 *                            blob that is not there yet)
 *   <round>/sha256/<hex>     each image, the raw visual and the embedding, named by content hash
 * A blob is written with `If-None-Match: *`: saving the same bytes again (a retry, a re-render
 * that kept the visual) writes nothing, and a 412 means "already there". Reads stream each body,
 * bounded in size and checked against its hash as it arrives.
 */
import { createHash } from 'node:crypto';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { describeError, StoreError } from '../errors.ts';
import { type Logger, silentLogger } from '../log.ts';
import { describeLocation, parseS3Uri, type S3Settings } from '../object-storage.ts';
import { FORMATS, type FormatName } from '../vocabulary.ts';
import { type AssetStore, assetFolder, type VariantAssets } from './assets.ts';

interface Manifest {
  version: 1;
  images: Partial<Record<FormatName, string>>;
  preview: string;
  visual: string;
  embedding: string;
}

const HEX = /^[0-9a-f]{64}$/;
/** Larger than any image the bot renders or accepts (IMAGE_MAX_BYTES defaults to 25 MiB). */
const DEFAULT_MAX_OBJECT_BYTES = 64 * 1024 * 1024;

const status = (e: unknown) => (e instanceof S3ServiceException ? e.$metadata.httpStatusCode : undefined);
const code = (e: unknown) => (e instanceof S3ServiceException ? e.name : undefined);

export function createS3Client(s: S3Settings): S3Client {
  return new S3Client({
    endpoint: s.endpoint,
    region: s.region ?? 'us-east-1',
    forcePathStyle: s.forcePathStyle,
    // Buckets outside the configured region answer 301; the SDK then retries at the right one.
    followRegionRedirects: !s.endpoint,
    // Explicit keys when configured; otherwise the SDK's default chain (roles, web identity, ~/.aws).
    credentials:
      s.accessKeyId && s.secretAccessKey
        ? { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey, sessionToken: s.sessionToken }
        : undefined,
  });
}

export function createS3AssetStore(opts: {
  uri: string;
  settings: S3Settings;
  logger?: Logger;
  maxObjectBytes?: number;
  client?: S3Client;
}): AssetStore & { location: string; ready(): Promise<void>; close(): void } {
  const { bucket, prefix } = parseS3Uri(opts.uri);
  const client = opts.client ?? createS3Client(opts.settings);
  const logger = opts.logger ?? silentLogger;
  const maxBytes = opts.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES;
  const location = describeLocation(opts.uri, opts.settings);
  const base = (roundId: string) => `${prefix ? `${prefix}/` : ''}${roundId}/`;
  const manifestKey = (roundId: string, variantId: string) => {
    assetFolder(roundId, variantId);
    return `${base(roundId)}${variantId}.json`;
  };
  const blobKey = (roundId: string, hash: string) => `${base(roundId)}sha256/${hash}`;
  // Servers without conditional writes answer 501; then blobs are written plainly (same bytes, same key).
  let conditional = true;

  const unavailable = (what: string, e: unknown) =>
    new StoreError('ASSETS_UNAVAILABLE', `variant assets at ${location}: ${what} failed: ${describeError(e)}`, { cause: e });

  async function putBlob(roundId: string, bytes: Uint8Array, contentType: string): Promise<string> {
    const hash = createHash('sha256').update(bytes).digest('hex');
    const put = (ifNoneMatch?: string) =>
      client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: blobKey(roundId, hash),
          Body: bytes,
          ContentType: contentType,
          IfNoneMatch: ifNoneMatch,
        }),
      );
    const asked = conditional;
    try {
      await put(asked ? '*' : undefined);
    } catch (e) {
      if (status(e) === 412) return hash; // already stored: same key, same bytes
      if (asked && (status(e) === 501 || code(e) === 'NotImplemented')) {
        if (conditional) logger.info('assets: the object store has no conditional writes; writing blobs unconditionally', { location });
        conditional = false;
        await put().catch((e2: unknown) => {
          throw unavailable('writing a blob', e2);
        });
        return hash;
      }
      throw unavailable('writing a blob', e);
    }
    return hash;
  }

  /** The object's bytes, streamed: undefined when there is none; bounded; checked against `hash` when given. */
  async function read(key: string, hash?: string): Promise<Uint8Array | undefined> {
    let body: AsyncIterable<Uint8Array>;
    try {
      const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (r.ContentLength !== undefined && r.ContentLength > maxBytes)
        throw new StoreError('ASSET_TOO_LARGE', `${key} at ${location} is ${r.ContentLength} bytes; the limit is ${maxBytes}`);
      body = r.Body as AsyncIterable<Uint8Array>;
    } catch (e) {
      if (status(e) === 404 || code(e) === 'NoSuchKey') return undefined;
      if (e instanceof StoreError) throw e;
      throw unavailable(`reading ${key}`, e);
    }
    const chunks: Uint8Array[] = [];
    const sha = createHash('sha256');
    let size = 0;
    try {
      for await (const c of body) {
        size += c.byteLength;
        if (size > maxBytes) throw new StoreError('ASSET_TOO_LARGE', `${key} at ${location} is over the ${maxBytes}-byte limit`);
        sha.update(c);
        chunks.push(c);
      }
    } catch (e) {
      if (e instanceof StoreError) throw e;
      // The SDK checks the store's own checksum (x-amz-checksum-*) as the body streams.
      if (/checksum mismatch/i.test(describeError(e)))
        throw new StoreError('ASSET_CORRUPT', `${key} at ${location} does not match its stored checksum; the stored copy is damaged`, {
          cause: e,
        });
      throw unavailable(`reading ${key}`, e);
    }
    if (hash && sha.digest('hex') !== hash)
      throw new StoreError('ASSET_CORRUPT', `${key} at ${location} does not match its content hash; the stored copy is damaged`);
    return new Uint8Array(Buffer.concat(chunks));
  }

  return {
    location,
    async save(roundId, variantId, a) {
      const mkey = manifestKey(roundId, variantId);
      const emb = new Uint8Array(a.imageEmbedding.buffer, a.imageEmbedding.byteOffset, a.imageEmbedding.byteLength);
      const formats = (Object.entries(a.images) as [FormatName, Uint8Array | undefined][]).filter(([, b]) => b);
      const [preview, visual, embedding, ...imgs] = await Promise.all([
        putBlob(roundId, a.preview, 'image/png'),
        putBlob(roundId, a.visual, 'application/octet-stream'),
        putBlob(roundId, emb, 'application/octet-stream'),
        ...formats.map(([, b]) => putBlob(roundId, b as Uint8Array, 'image/png')),
      ]);
      const manifest: Manifest = {
        version: 1,
        images: Object.fromEntries(formats.map(([f], i) => [f, imgs[i]])),
        preview,
        visual,
        embedding,
      };
      try {
        await client.send(
          new PutObjectCommand({ Bucket: bucket, Key: mkey, Body: JSON.stringify(manifest), ContentType: 'application/json' }),
        );
      } catch (e) {
        throw unavailable('writing a variant manifest', e);
      }
    },
    async load(roundId, variantId) {
      const raw = await read(manifestKey(roundId, variantId));
      if (!raw) return undefined;
      let m: Manifest;
      try {
        m = JSON.parse(Buffer.from(raw).toString('utf8')) as Manifest;
      } catch (e) {
        throw new StoreError('ASSET_CORRUPT', `the manifest of variant ${variantId} at ${location} is not JSON: ${describeError(e)}`);
      }
      const hashes = [m.preview, m.visual, m.embedding, ...Object.values(m.images)];
      if (
        m.version !== 1 ||
        !hashes.every((h) => typeof h === 'string' && HEX.test(h)) ||
        !Object.keys(m.images).every((f) => FORMATS.includes(f as FormatName))
      )
        throw new StoreError('ASSET_CORRUPT', `the manifest of variant ${variantId} at ${location} is not one this version wrote`);
      const need = async (h: string) => {
        const b = await read(blobKey(roundId, h), h);
        if (!b) throw new StoreError('ASSET_MISSING', `variant ${variantId} at ${location} names blob ${h}, which is missing`);
        return b;
      };
      const formats = Object.entries(m.images) as [FormatName, string][];
      const [preview, visual, emb, ...imgs] = await Promise.all([
        need(m.preview),
        need(m.visual),
        need(m.embedding),
        ...formats.map(([, h]) => need(h)),
      ]);
      const images: VariantAssets['images'] = Object.fromEntries(formats.map(([f], i) => [f, imgs[i]]));
      return { images, preview, visual, imageEmbedding: new Float32Array(emb.buffer, emb.byteOffset, emb.byteLength / 4) };
    },
    async remove(roundId) {
      assetFolder(roundId, 'x');
      let token: string | undefined;
      do {
        const page = await client
          .send(new ListObjectsV2Command({ Bucket: bucket, Prefix: base(roundId), ContinuationToken: token }))
          .catch((e: unknown) => {
            throw unavailable('listing a round', e);
          });
        const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key as string }));
        if (keys.length)
          await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } })).catch((e: unknown) => {
            throw unavailable('deleting a round', e);
          });
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    },
    async ready() {
      await client.send(new HeadBucketCommand({ Bucket: bucket })).catch((e: unknown) => {
        throw unavailable(status(e) === 404 ? `finding bucket ${bucket}` : 'reaching the bucket', e);
      });
    },
    close() {
      client.destroy();
    },
  };
}
