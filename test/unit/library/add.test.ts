import { describe, expect, it } from 'vitest';
import { draftCreative, idForSha, sha256Hex } from '../../../src/library/add.ts';
import type { StoredCreative } from '../../../src/library/schema.ts';

const image = new Uint8Array([1, 2, 3]);
const sha = sha256Hex(image);
const at = { sha, thumbnail: new Uint8Array([9]), now: new Date('2025-01-02T03:04:05Z') };

function stored(over: Partial<StoredCreative> = {}): StoredCreative {
  return {
    ...draftCreative(
      { image, brand: 'acme', channel: 'meta', headline: 'Old headline', body: 'Old body', cta: 'Buy', tags: ['x'] },
      undefined,
      {
        ...at,
        now: new Date('2024-06-01T00:00:00Z'),
      },
    ),
    imageEmbedding: new Float32Array([1, 0]),
    textEmbedding: new Float32Array([0, 1]),
    impressions: 500,
    clicks: 10,
    ...over,
  };
}

describe('the creative an add stores', () => {
  it('is keyed by the picture: the id is the sha256 prefix, the same bytes always give the same one', () => {
    const c = draftCreative({ image }, undefined, at);
    expect(c.id).toBe(idForSha(sha));
    expect(c.id).toBe(sha.slice(0, 16));
    expect(c).toMatchObject({ sha256: sha, source: 'api', createdAt: at.now, demo: false });
  });

  it('captions a creative without copy from its brand, file name and tags, else a generic caption', () => {
    expect(draftCreative({ image, brand: ' Acme ', fileName: 'shots/summer_sale-v2.png', tags: ['beach'] }, undefined, at)).toMatchObject({
      brand: 'acme',
      caption: 'acme summer sale v2 beach',
      source: 'ingest:shots/summer_sale-v2.png',
    });
    expect(draftCreative({ image }, undefined, at).caption).toBe('an advertising creative');
    expect(draftCreative({ image, headline: 'Fresh', body: 'Now 20% off' }, undefined, at).caption).toBe('Fresh — Now 20% off');
  });

  it('adding the same picture again keeps what the new item leaves out, and the embeddings that still fit', () => {
    const old = stored();
    const again = draftCreative({ image, channel: 'Google', clicks: 12 }, old, at);
    expect(again).toMatchObject({
      id: old.id,
      brand: 'acme',
      channel: 'google',
      headline: 'Old headline',
      caption: old.caption,
      impressions: 500,
      clicks: 12,
      createdAt: old.createdAt,
    });
    // Unchanged caption: neither embedding is computed again.
    expect(again.imageEmbedding).toBe(old.imageEmbedding);
    expect(again.textEmbedding).toBe(old.textEmbedding);

    // New copy changes the caption: the caption is embedded again, the image is not.
    const recopied = draftCreative({ image, headline: 'New headline' }, old, at);
    expect(recopied.caption).toBe('New headline — Old body');
    expect(recopied.imageEmbedding).toBe(old.imageEmbedding);
    expect(recopied.textEmbedding).toHaveLength(0);
  });
});
