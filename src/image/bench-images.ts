/**
 * Photo-like JPEGs made from a seed, for benchmarks and tests that need realistic image
 * files (smooth gradients, shapes and grain, so the JPEGs decode like photographs rather
 * than like flat colour) without shipping any.
 */
import sharp from 'sharp';

export interface GeneratedImagesOptions {
  count: number;
  width: number;
  height: number;
  seed?: number;
  /** JPEG quality, 1–100. */
  quality?: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** One RGB frame: two-colour gradient, a few discs, and grain. */
function frame(width: number, height: number, rand: () => number): Buffer {
  const px = Buffer.alloc(width * height * 3);
  const a = [rand() * 255, rand() * 255, rand() * 255];
  const b = [rand() * 255, rand() * 255, rand() * 255];
  const discs = Array.from({ length: 4 }, () => ({
    x: rand() * width,
    y: rand() * height,
    r: (0.08 + rand() * 0.25) * Math.min(width, height),
    c: [rand() * 255, rand() * 255, rand() * 255],
  }));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (x / width + y / height) / 2;
      let c0 = a[0] + (b[0] - a[0]) * t;
      let c1 = a[1] + (b[1] - a[1]) * t;
      let c2 = a[2] + (b[2] - a[2]) * t;
      for (const d of discs) {
        const dx = x - d.x;
        const dy = y - d.y;
        if (dx * dx + dy * dy < d.r * d.r) {
          c0 = d.c[0];
          c1 = d.c[1];
          c2 = d.c[2];
        }
      }
      const g = (rand() - 0.5) * 24;
      const i = (y * width + x) * 3;
      px[i] = Math.max(0, Math.min(255, c0 + g));
      px[i + 1] = Math.max(0, Math.min(255, c1 + g));
      px[i + 2] = Math.max(0, Math.min(255, c2 + g));
    }
  }
  return px;
}

export async function generateJpegs(opts: GeneratedImagesOptions): Promise<Buffer[]> {
  const rand = rng(opts.seed ?? 1);
  const out: Buffer[] = [];
  for (let i = 0; i < opts.count; i++) {
    const raw = frame(opts.width, opts.height, rand);
    out.push(
      await sharp(raw, { raw: { width: opts.width, height: opts.height, channels: 3 } })
        .jpeg({ quality: opts.quality ?? 85 })
        .toBuffer(),
    );
  }
  return out;
}
