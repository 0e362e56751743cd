/**
 * Variant assets on S3 (ASSETS_URI=s3://…) against the local S3 stand-in: what one replica saves
 * another loads, byte for byte; saving again writes no blob twice; damage and outages are reported
 * with the location and never a credential; and the stand-in itself refuses what S3 refuses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { isAdError } from '../../../src/errors.ts';
import type { VariantAssets } from '../../../src/rounds/assets.ts';
import { createS3AssetStore, createS3Client } from '../../../src/rounds/s3-assets.ts';
import { openAssets } from '../../../src/rounds/state.ts';
import { type S3StandIn, startS3 } from '../../helpers/s3-server.ts';

let s3: S3StandIn;

const settings = () => ({
  endpoint: s3.url,
  region: s3.region,
  accessKeyId: s3.accessKeyId,
  secretAccessKey: s3.secretAccessKey,
  forcePathStyle: true,
});

function assets(seed: number): VariantAssets {
  const bytes = (n: number, k: number) => Uint8Array.from({ length: n }, (_, i) => (i * k + seed) & 0xff);
  return {
    images: { square: bytes(3000, 3), story: bytes(5000, 5) },
    preview: bytes(800, 7),
    visual: bytes(4000, 11),
    imageEmbedding: Float32Array.from({ length: 16 }, (_, i) => Math.sin(i + seed)),
  };
}

beforeAll(async () => {
  s3 = await startS3({ buckets: ['variants'] });
});

afterAll(async () => {
  await s3?.close();
});

describe('S3 asset store', () => {
  it('one replica saves, another (its own client) loads the same bytes; saving again writes nothing new', async () => {
    const a = createS3AssetStore({ uri: 's3://variants/team-a', settings: settings() });
    const b = await openAssets(
      loadConfig({
        ASSETS_URI: 's3://variants/team-a',
        AWS_ENDPOINT_URL: s3.url,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        S3_FORCE_PATH_STYLE: 'true',
      }),
    );
    expect(b.location).toBe(`s3://variants/team-a (${s3.url}, us-east-1, path-style)`);
    await b.ready();
    const x = assets(1);
    await a.save('r1', 'v1', x);
    const got = await b.load('r1', 'v1');
    expect(got?.images.square).toEqual(x.images.square);
    expect(got?.images.story).toEqual(x.images.story);
    expect(got?.images.portrait).toBeUndefined();
    expect(got?.preview).toEqual(x.preview);
    expect(got?.visual).toEqual(x.visual);
    expect(Array.from(got?.imageEmbedding ?? [])).toEqual(Array.from(x.imageEmbedding));
    const keys = s3.keys('variants', 'team-a/');
    expect(keys).toContain('team-a/r1/v1.json');
    expect(keys.filter((k) => k.startsWith('team-a/r1/sha256/'))).toHaveLength(5);

    // The same bytes again (a retry): every blob write is a 412 "already there", none is rewritten.
    const before = s3.requests.length;
    await b.save('r1', 'v1', x);
    const again = s3.requests.slice(before).filter((r) => r.method === 'PUT' && r.key?.includes('/sha256/'));
    expect(again).toHaveLength(5);
    expect(again.every((r) => r.status === 412 && r.ifNoneMatch === '*')).toBe(true);

    // A re-render with new copy: new images, same visual; the manifest now names the new ones.
    const edited = { ...assets(2), visual: x.visual };
    await b.save('r1', 'v1', edited);
    expect((await a.load('r1', 'v1'))?.images.square).toEqual(edited.images.square);

    expect(await a.load('r1', 'nope')).toBeUndefined();
    await a.save('r1', 'v2', assets(3));
    await a.remove('r1');
    expect(s3.keys('variants', 'team-a/r1/')).toEqual([]);
    expect(await b.load('r1', 'v2')).toBeUndefined();
    a.close();
    b.close?.();
  });

  it('a damaged blob is reported, not served; a missing bucket or wrong key says where, never the secret', async () => {
    const store = createS3AssetStore({ uri: 's3://variants/damage', settings: settings() });
    await store.save('r2', 'v1', assets(4));
    const blob = s3.keys('variants', 'damage/r2/sha256/')[0];
    s3.tamper('variants', blob, Buffer.from('not the bytes that were stored'));
    const err = await store.load('r2', 'v1').catch((e: unknown) => e);
    expect(isAdError(err) && err.code).toBe('ASSET_CORRUPT');

    const noBucket = createS3AssetStore({ uri: 's3://missing-bucket/x', settings: settings() });
    await expect(noBucket.ready()).rejects.toThrow(/s3:\/\/missing-bucket\/x .*finding bucket missing-bucket/);
    const wrongSecret = 'wrong-secret-value-123';
    const bad = createS3AssetStore({ uri: 's3://variants/x', settings: { ...settings(), secretAccessKey: wrongSecret } });
    const e = await bad.save('r3', 'v1', assets(5)).catch((x: unknown) => x as Error);
    expect(isAdError(e) && e.code).toBe('ASSETS_UNAVAILABLE');
    expect((e as Error).message).toMatch(/SignatureDoesNotMatch|signature/i);
    expect((e as Error).message).not.toContain(wrongSecret);
    expect((e as Error).message).not.toContain(s3.secretAccessKey);
    for (const s of [store, noBucket, bad]) s.close();
  });

  it('on a store that refuses conditional writes (501), blobs are written plainly', async () => {
    const plain = await startS3({ buckets: ['variants'], conditionalWrites: 'refuse' });
    try {
      const store = createS3AssetStore({
        uri: 's3://variants/p',
        settings: {
          endpoint: plain.url,
          region: plain.region,
          accessKeyId: plain.accessKeyId,
          secretAccessKey: plain.secretAccessKey,
          forcePathStyle: true,
        },
      });
      const x = assets(6);
      await store.save('r4', 'v1', x);
      expect((await store.load('r4', 'v1'))?.visual).toEqual(x.visual);
      expect(plain.requests.some((r) => r.status === 501)).toBe(true);
      // Known now: the next save sends no condition at all.
      const before = plain.requests.length;
      await store.save('r4', 'v2', assets(7));
      expect(plain.requests.slice(before).every((r) => r.status === 200 && r.ifNoneMatch === undefined)).toBe(true);
      store.close();
    } finally {
      await plain.close();
    }
  });
});

describe('the S3 stand-in is as strict as S3', () => {
  it('refuses unsigned and mis-signed requests, lists deep prefixes and pages, serves ranges', async () => {
    const anon = await fetch(`${s3.url}/variants/anything`);
    expect(anon.status).toBe(403);
    expect(await anon.text()).toContain('<Code>AccessDenied</Code>');

    const { PutObjectCommand, ListObjectsV2Command, GetObjectCommand } = await import('@aws-sdk/client-s3');
    const client = createS3Client(settings());
    const bad = createS3Client({ ...settings(), secretAccessKey: 'not-the-secret' });
    await expect(bad.send(new PutObjectCommand({ Bucket: 'variants', Key: 'k', Body: 'x' }))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
    });
    const wrongRegion = createS3Client({ ...settings(), region: 'eu-west-1' });
    await expect(wrongRegion.send(new PutObjectCommand({ Bucket: 'variants', Key: 'k', Body: 'x' }))).rejects.toMatchObject({
      name: 'AuthorizationHeaderMalformed',
    });

    for (let i = 0; i < 5; i++)
      await client.send(new PutObjectCommand({ Bucket: 'variants', Key: `list/db/t${i}.lance/_versions/1.manifest`, Body: 'm' }));
    await client.send(new PutObjectCommand({ Bucket: 'variants', Key: 'list/db/top.txt', Body: 'x' }));
    const prefixes: string[] = [];
    const files: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const r = await client.send(
        new ListObjectsV2Command({ Bucket: 'variants', Prefix: 'list/db/', Delimiter: '/', MaxKeys: 2, ContinuationToken: token }),
      );
      prefixes.push(...(r.CommonPrefixes ?? []).map((p) => p.Prefix as string));
      files.push(...(r.Contents ?? []).map((c) => c.Key as string));
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
      pages++;
    } while (token);
    expect(prefixes).toEqual([0, 1, 2, 3, 4].map((i) => `list/db/t${i}.lance/`));
    expect(files).toEqual(['list/db/top.txt']);
    expect(pages).toBe(3);

    await expect(
      client.send(new PutObjectCommand({ Bucket: 'variants', Key: 'list/db/top.txt', Body: 'y', IfNoneMatch: '*' })),
    ).rejects.toMatchObject({
      $metadata: { httpStatusCode: 412 },
    });
    await client.send(new PutObjectCommand({ Bucket: 'variants', Key: 'range', Body: '0123456789' }));
    const part = await client.send(new GetObjectCommand({ Bucket: 'variants', Key: 'range', Range: 'bytes=2-4' }));
    expect(await part.Body?.transformToString()).toBe('234');
    await expect(client.send(new GetObjectCommand({ Bucket: 'variants', Key: 'range', Range: 'bytes=20-' }))).rejects.toMatchObject({
      name: 'InvalidRange',
    });
    for (const c of [client, bad, wrongRegion]) c.destroy();
  });
});
