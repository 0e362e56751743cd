/** The production image tools of an export, on the image module. */
import { probe } from '../image/decode.ts';
import { logoPlate, toJpeg } from '../image/export-images.ts';
import type { ExportImageTools } from './types.ts';

export function exportImageTools(): ExportImageTools {
  return {
    async info(bytes) {
      const i = await probe(bytes, { maxBytes: Number.MAX_SAFE_INTEGER, maxPixels: Number.MAX_SAFE_INTEGER });
      return { width: i.width, height: i.height, type: i.format };
    },
    logoPlate,
    jpeg: (b) => toJpeg(b, 85),
  };
}
