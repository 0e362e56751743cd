/**
 * `export --publish` against a local stand-in of the Marketing API (test/helpers/fake-meta.ts):
 * images, creatives and paused ads created in order with Meta's ids filled in; rate limits backed
 * off; refusals reported with Meta's own message. Real ad accounts cannot be reached here.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adKey, buildExport } from '../../../src/export/build.ts';
import type { MetaAdEntry } from '../../../src/export/meta.ts';
import { MetaApi, MetaApiError } from '../../../src/export/meta-api.ts';
import { exportImageTools } from '../../../src/export/tools.ts';
import { type FakeMeta, startFakeMeta } from '../../helpers/fake-meta.ts';
import { tinyPng } from '../../helpers/png.ts';

const TOKEN = 'EAAB-test-token-not-real';
let meta: FakeMeta;
let entries: MetaAdEntry[];
let files: Map<string, Uint8Array>;

beforeEach(async () => {
  meta = await startFakeMeta({ token: TOKEN, accountId: '1234567890', pageIds: ['111'], adsetIds: ['222'] });
  const hash = 'ab'.repeat(32);
  const r = await buildExport(
    [
      {
        adKey: adKey(hash),
        label: 'A',
        role: 'winner',
        hash,
        brief: 'x',
        copy: { headline: 'Sunscreen that stays put', body: 'No sting, no streaks.', cta: 'Shop now' },
        images: {
          square: tinyPng(1080, 1080, [1, 2, 3]),
          portrait: tinyPng(1080, 1350, [1, 2, 3]),
          story: tinyPng(1080, 1920, [1, 2, 3]),
        },
      },
    ],
    ['meta'],
    { campaign: 'C', finalUrl: 'https://acme.example/sun', at: new Date(0), by: 'U1' },
    exportImageTools(),
  );
  entries = JSON.parse(r.files.find((f) => f.path === 'meta/ad-creatives.json')?.data as string);
  files = new Map(r.files.filter((f) => typeof f.data !== 'string').map((f) => [f.path, f.data as Uint8Array]));
});
afterEach(() => meta.close());

const api = (over: Partial<ConstructorParameters<typeof MetaApi>[0]> = {}, waits: number[] = []) =>
  new MetaApi({
    accessToken: TOKEN,
    adAccountId: '1234567890',
    pageId: '111',
    adsetId: '222',
    graphUrl: meta.url,
    sleep: async (ms) => {
      waits.push(ms);
    },
    ...over,
  });

describe('Meta Marketing API publish', () => {
  it('uploads the images, creates the creative with their hashes and the ad PAUSED, token never in a URL', async () => {
    const done = await api().publish(entries, (p) => files.get(p));
    expect(done).toHaveLength(1);
    expect(meta.images.size).toBe(3);
    const creative = meta.creatives.get(done[0].creativeId) as {
      object_story_spec: { page_id: string };
      asset_feed_spec: { images: { hash: string }[] };
    };
    expect(creative.object_story_spec.page_id).toBe('111');
    expect(creative.asset_feed_spec.images.map((i) => i.hash).sort()).toEqual(Object.values(done[0].imageHashes).sort());
    expect(meta.ads.get(done[0].adId)).toMatchObject({
      status: 'PAUSED',
      adset_id: '222',
      creative_id: done[0].creativeId,
      name: `${entries[0].ad_key} A`,
    });
    expect(meta.requests.map((r) => r.path.split('/').pop())).toEqual(['adimages', 'adimages', 'adimages', 'adcreatives', 'ads']);
    expect(meta.requests.every((r) => r.fields.access_token === TOKEN)).toBe(true);
  });

  it('backs off on the ads-management rate limit and goes on', async () => {
    meta.rateLimitFirst = 2;
    const waits: number[] = [];
    const done = await api({}, waits).publish(entries, (p) => files.get(p));
    expect(done).toHaveLength(1);
    expect(waits).toEqual([2000, 4000]);
  });

  it('stops with Meta’s own message, code and trace id, and never shows the token', async () => {
    const err = (await api({ accessToken: 'EAAB-wrong' })
      .publish(entries, (p) => files.get(p))
      .then(
        () => undefined,
        (e: unknown) => e as MetaApiError,
      )) as MetaApiError;
    expect(err).toBeInstanceOf(MetaApiError);
    expect(err.code).toBe('META_TOKEN_REFUSED');
    expect(err.message).toMatch(/Invalid OAuth access token.*code 190, OAuthException.*fbtrace_id Atrace1/);
    expect(err.message).not.toContain('EAAB-wrong');
    const badSet = (await api({ adsetId: '999' })
      .publish(entries, (p) => files.get(p))
      .then(
        () => undefined,
        (e: unknown) => e as MetaApiError & { published?: unknown[] },
      )) as MetaApiError & { published?: unknown[] };
    expect(badSet.message).toMatch(/Meta refused the ad .*Invalid adset_id 999 \(code 100/);
    // The creative made before the refusal is reported, not forgotten.
    expect(meta.creatives.size).toBe(1);
    expect(badSet.published).toEqual([expect.objectContaining({ creativeId: [...meta.creatives.keys()][0], adId: '' })]);
  });

  it('refuses a rate limit that does not end, after its retries', async () => {
    meta.rateLimitFirst = 10;
    const err = (await api({ retries: 3 })
      .publish(entries, (p) => files.get(p))
      .then(
        () => undefined,
        (e: unknown) => e as MetaApiError,
      )) as MetaApiError;
    expect(err.message).toMatch(/too many calls to this ad-account.*code 80004\/2446079/);
  });
});
