/**
 * Each variant's pixels (every format, the raw visual, the preview) and its embedding, kept so a
 * restart — or another replica — can still promote a winner, upload its formats or re-render it
 * with new copy. Two stores behind one interface: a folder ($DATA_DIR/variants/<round>/<variant>/
 * by default) and S3-compatible object storage (ASSETS_URI=s3://…, in s3-assets.ts).
 */
import { randomBytes } from 'node:crypto';
import { access, constants, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from '../errors.ts';
import { type FormatName, isFormat } from '../vocabulary.ts';

export interface VariantAssets {
  images: Partial<Record<FormatName, Uint8Array>>;
  preview: Uint8Array;
  visual: Uint8Array;
  imageEmbedding: Float32Array;
}

export interface AssetStore {
  /** Where the assets live, for logs and /readyz (never credentials). Optional so test fakes stay small. */
  readonly location?: string;
  save(roundId: string, variantId: string, a: VariantAssets): Promise<void>;
  load(roundId: string, variantId: string): Promise<VariantAssets | undefined>;
  remove(roundId: string): Promise<void>;
  /** Resolves when the store can be written (the folder, or the bucket answers); rejects saying why not. */
  ready?(): Promise<void>;
}

const SAFE = /^[A-Za-z0-9-]+$/;

/** `round/variant` for ids that are safe as path segments and object keys; throws for any other. */
export function assetFolder(roundId: string, variantId: string): string {
  if (!SAFE.test(roundId) || !SAFE.test(variantId)) throw new StoreError('ASSET_ID_UNSAFE', `unsafe asset id ${roundId}/${variantId}`);
  return `${roundId}/${variantId}`;
}

/**
 * Writes beside the file and renames over it: an edit re-saves a variant while someone may be
 * downloading it, and a plain write lets that reader see a file cut short (an empty PNG, which
 * Slack refuses to upload). A rename within one folder is atomic on POSIX file systems.
 */
async function writeWhole(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export function createFileAssetStore(dir: string): AssetStore & { location: string; ready(): Promise<void> } {
  const folder = (roundId: string, variantId: string) => join(dir, assetFolder(roundId, variantId));
  return {
    location: dir,
    async save(roundId, variantId, a) {
      const d = folder(roundId, variantId);
      await mkdir(d, { recursive: true });
      for (const [fmt, bytes] of Object.entries(a.images)) if (bytes) await writeWhole(join(d, `${fmt}.png`), bytes);
      await writeWhole(join(d, 'preview.png'), a.preview);
      await writeWhole(join(d, 'visual.bin'), a.visual);
      await writeWhole(
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
        const format = n.endsWith('.png') ? n.slice(0, -'.png'.length) : '';
        if (isFormat(format)) images[format] = new Uint8Array(await readFile(join(d, n)));
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
    async ready() {
      await mkdir(dir, { recursive: true });
      await access(dir, constants.W_OK);
    },
  };
}
