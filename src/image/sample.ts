/**
 * Seeded, photo-like sample images (smooth gradients, soft shapes, sensor-like noise) for
 * benchmarks and tests: they compress like photographs, unlike flat test cards.
 */
import sharp from 'sharp';

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

/** Raw interleaved RGB pixels of a photo-like picture. */
export function samplePhotoRgb(width: number, height: number, seed = 1): Uint8Array {
  const rand = rng(seed);
  const px = new Uint8Array(width * height * 3);
  const base = [rand() * 255, rand() * 255, rand() * 255];
  const grad = [rand() - 0.5, rand() - 0.5, rand() - 0.5];
  const blobs = Array.from({ length: 12 }, () => ({
    x: rand() * width,
    y: rand() * height,
    r: (0.05 + rand() * 0.25) * Math.min(width, height),
    c: [rand() * 255, rand() * 255, rand() * 255],
  }));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        let v = base[c] + grad[c] * ((x + y) / (width + height)) * 200 + 20 * Math.sin((x * (c + 1)) / 37 + y / 53);
        for (const b of blobs) {
          const d = Math.hypot(x - b.x, y - b.y) / b.r;
          if (d < 1) v = v * d + b.c[c] * (1 - d);
        }
        px[i + c] = Math.max(0, Math.min(255, v + (rand() - 0.5) * 24));
      }
    }
  }
  return px;
}

/** A photo-like JPEG of the given size (baseline, 4:2:0, like camera and web JPEGs). */
export async function samplePhotoJpeg(width: number, height: number, seed = 1, quality = 88): Promise<Uint8Array> {
  const raw = samplePhotoRgb(width, height, seed);
  const buf = await sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality })
    .toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
