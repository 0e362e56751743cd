import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFileAssetStore, type VariantAssets } from '../../../src/rounds/assets.ts';

const dir = mkdtempSync(join(tmpdir(), 'assets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function assets(fill: number): VariantAssets {
  // Large enough that a write takes several chunks: a reader in the middle would see it cut short.
  const big = new Uint8Array(2 << 20).fill(fill);
  return { images: { square: big, story: big }, preview: big, visual: big, imageEmbedding: new Float32Array(512).fill(fill) };
}

describe('the folder asset store', () => {
  it('never hands a download half of an edit: every file read is the old one or the new one, whole', async () => {
    const store = createFileAssetStore(dir);
    await store.save('r1', 'v1', assets(1));
    const reads = async () => {
      for (let i = 0; i < 40; i++) {
        const a = await store.load('r1', 'v1');
        for (const bytes of [a?.images.square, a?.images.story, a?.preview, a?.visual]) {
          expect(bytes?.length).toBe(2 << 20);
          expect((bytes as Uint8Array)[(2 << 20) - 1]).toBe((bytes as Uint8Array)[0]);
        }
        expect(a?.imageEmbedding.length).toBe(512);
      }
    };
    const writes = async () => {
      for (let i = 0; i < 40; i++) await store.save('r1', 'v1', assets(i % 2 ? 1 : 2));
    };
    await Promise.all([reads(), writes()]);
    // No temporary file is left behind.
    expect(readdirSync(join(dir, 'r1', 'v1')).sort()).toEqual(['embedding.f32', 'preview.png', 'square.png', 'story.png', 'visual.bin']);
  });
});
