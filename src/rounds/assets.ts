/**
 * Each variant's pixels (every format, the raw visual, the preview) and its embedding, kept
 * on disk under $DATA_DIR/variants/<round>/<variant>/ so a restart can still promote a
 * winner, upload its formats or re-render it with new copy.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FormatName } from '../vocabulary.ts';

export interface VariantAssets {
  images: Partial<Record<FormatName, Uint8Array>>;
  preview: Uint8Array;
  visual: Uint8Array;
  imageEmbedding: Float32Array;
}

export interface AssetStore {
  save(roundId: string, variantId: string, a: VariantAssets): Promise<void>;
  load(roundId: string, variantId: string): Promise<VariantAssets | undefined>;
  remove(roundId: string): Promise<void>;
}

const SAFE = /^[A-Za-z0-9-]+$/;

export function createFileAssetStore(dir: string): AssetStore {
  const folder = (roundId: string, variantId: string) => {
    if (!SAFE.test(roundId) || !SAFE.test(variantId)) throw new Error(`unsafe asset id ${roundId}/${variantId}`);
    return join(dir, roundId, variantId);
  };
  return {
    async save(roundId, variantId, a) {
      const d = folder(roundId, variantId);
      await mkdir(d, { recursive: true });
      for (const [fmt, bytes] of Object.entries(a.images)) if (bytes) await writeFile(join(d, `${fmt}.png`), bytes);
      await writeFile(join(d, 'preview.png'), a.preview);
      await writeFile(join(d, 'visual.bin'), a.visual);
      await writeFile(
        join(d, 'embedding.f32'),
        Buffer.from(a.imageEmbedding.buffer, a.imageEmbedding.byteOffset, a.imageEmbedding.byteLength),
      );
    },
    async load(roundId, variantId) {
      const d = folder(roundId, variantId);
      let names: string[];
      try {
        names = await readdir(d);
      } catch {
        return undefined;
      }
      const images: Partial<Record<FormatName, Uint8Array>> = {};
      for (const n of names) {
        const m = /^(square|portrait|story|landscape)\.png$/.exec(n);
        if (m) images[m[1] as FormatName] = new Uint8Array(await readFile(join(d, n)));
      }
      const emb = await readFile(join(d, 'embedding.f32'));
      const copy = new Uint8Array(emb);
      return {
        images,
        preview: new Uint8Array(await readFile(join(d, 'preview.png'))),
        visual: new Uint8Array(await readFile(join(d, 'visual.bin'))),
        imageEmbedding: new Float32Array(copy.buffer, 0, copy.byteLength / 4),
      };
    },
    async remove(roundId) {
      if (!SAFE.test(roundId)) return;
      await rm(join(dir, roundId), { recursive: true, force: true });
    },
  };
}
