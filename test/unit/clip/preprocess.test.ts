import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CLIP_PREPROCESS,
  type PreprocessConfig,
  parsePreprocessConfig,
  preprocessImage,
  preprocessInto,
  readPreprocessConfig,
  resizedSize,
} from '../../../src/clip/preprocess.ts';
import { ImageError, ModelError } from '../../../src/errors.ts';

const DIR = new URL('../../fixtures/clip/preprocess/', import.meta.url).pathname;
const REF = JSON.parse(readFileSync(join(DIR, 'reference.json'), 'utf8')) as {
  mean: [number, number, number];
  std: [number, number, number];
  images: { image: string; tensor: string; source_size: [number, number]; mode: string }[];
};
const LIMITS = { maxPixels: 40_000_000, maxBytes: 25 * 1024 * 1024 };
const tmp = mkdtempSync(join(tmpdir(), 'clip-pre-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The reference's own preprocessor_config.json, read back through the parser. */
function referenceConfig(): PreprocessConfig {
  const dir = join(tmp, 'model');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'preprocessor_config.json'),
    JSON.stringify({
      crop_size: { height: 224, width: 224 },
      do_center_crop: true,
      do_normalize: true,
      do_rescale: true,
      do_resize: true,
      image_mean: REF.mean,
      image_std: REF.std,
      resample: 3,
      rescale_factor: 0.00392156862745098,
      size: { shortest_edge: 224 },
    }),
  );
  return readPreprocessConfig(dir);
}

function stats(got: Float32Array, want: Float32Array): { mean: number; p99: number; max: number } {
  const d = new Float64Array(got.length);
  for (let i = 0; i < got.length; i++) d[i] = Math.abs(got[i] - want[i]);
  d.sort();
  let s = 0;
  for (const v of d) s += v;
  return { mean: s / d.length, p99: d[Math.floor(d.length * 0.99)], max: d[d.length - 1] };
}

function tensor(name: string): Float32Array {
  const b = readFileSync(join(DIR, name));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

describe('preprocessing against the PIL reference tensors', () => {
  const cfg = referenceConfig();
  for (const exact of [false, true]) {
    it(`meets the targets on every image (${exact ? 'exact Pillow resampler everywhere' : 'default: libvips for downscales'})`, async () => {
      const rows: string[] = [];
      let worstDown = { mean: 0, p99: 0 };
      let worstUp = 0;
      expect(REF.images.length).toBeGreaterThanOrEqual(10);
      for (const im of REF.images) {
        const got = await preprocessImage(readFileSync(join(DIR, im.image)), cfg, LIMITS, { exact });
        const want = tensor(im.tensor);
        expect(got.length).toBe(3 * 224 * 224);
        expect(want.length).toBe(3 * 224 * 224);
        const s = stats(got, want);
        const downscaled = Math.min(...im.source_size) > 224;
        rows.push(
          `${im.image.padEnd(18)} ${im.source_size.join('×').padEnd(10)} ${downscaled ? 'down' : 'up  '} mean ${s.mean.toFixed(5)} p99 ${s.p99.toFixed(4)} max ${s.max.toFixed(4)}`,
        );
        if (downscaled) {
          expect(s.mean, im.image).toBeLessThanOrEqual(0.01);
          expect(s.p99, im.image).toBeLessThanOrEqual(0.08);
          worstDown = { mean: Math.max(worstDown.mean, s.mean), p99: Math.max(worstDown.p99, s.p99) };
        } else {
          expect(s.mean, im.image).toBeLessThanOrEqual(0.03);
          worstUp = Math.max(worstUp, s.mean);
        }
        if (exact) {
          // Same decoder, same arithmetic as Pillow and numpy: bit-identical floats.
          expect(s.max, im.image).toBe(0);
        }
      }
      rows.push(
        `worst downscaled: mean ${worstDown.mean.toFixed(5)} p99 ${worstDown.p99.toFixed(4)}; worst upscaled: mean ${worstUp.toFixed(5)}`,
      );
      console.log(`preprocess fixtures (${exact ? 'exact' : 'default'}):\n${rows.join('\n')}`);
    });
  }
});

describe('preprocessImage / preprocessInto', () => {
  it('writes into a batch tensor at an offset without touching the neighbours', async () => {
    const bytes = readFileSync(join(DIR, 'coffee.jpg'));
    const one = await preprocessImage(bytes, CLIP_PREPROCESS, LIMITS);
    const plane = 3 * 224 * 224;
    const batch = new Float32Array(3 * plane).fill(42);
    await preprocessInto(bytes, CLIP_PREPROCESS, LIMITS, batch, plane);
    expect(Buffer.compare(Buffer.from(batch.buffer, plane * 4, plane * 4), Buffer.from(one.buffer))).toBe(0);
    expect(batch.subarray(0, plane).every((v) => v === 42)).toBe(true);
    expect(batch.subarray(2 * plane).every((v) => v === 42)).toBe(true);
    await expect(preprocessInto(bytes, CLIP_PREPROCESS, LIMITS, batch, 2 * plane + 1)).rejects.toThrow(RangeError);
  });

  it('uses the size, crop, mean and std from the config', async () => {
    const white = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer();
    const cfg: PreprocessConfig = {
      ...CLIP_PREPROCESS,
      shortestEdge: 64,
      cropHeight: 32,
      cropWidth: 48,
      mean: [0.5, 0.5, 0.5],
      std: [0.25, 0.5, 1],
    };
    const t = await preprocessImage(white, cfg, LIMITS);
    expect(t.length).toBe(3 * 32 * 48);
    const plane = 32 * 48;
    expect(t[0]).toBeCloseTo(2, 5);
    expect(t[plane]).toBeCloseTo(1, 5);
    expect(t[2 * plane]).toBeCloseTo(0.5, 5);
  });

  it('pads with black when the crop is larger than the resized image (as CLIPImageProcessor does)', async () => {
    const white = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer();
    const cfg: PreprocessConfig = { ...CLIP_PREPROCESS, shortestEdge: 20, cropHeight: 30, cropWidth: 30, mean: [0, 0, 0], std: [1, 1, 1] };
    const t = await preprocessImage(white, cfg, LIMITS);
    // 20×20 centred in 30×30 at offset ceil(10/2) = 5.
    expect(t[0]).toBe(0);
    expect(t[5 * 30 + 5]).toBeCloseTo(1, 5);
    expect(t[24 * 30 + 24]).toBeCloseTo(1, 5);
    expect(t[25 * 30 + 25]).toBe(0);
  });

  it('the default (fast) and exact resamplers agree closely on a 1024×768 photo-like JPEG', async () => {
    const w = 1024;
    const h = 768;
    const raw = Buffer.alloc(w * h * 3);
    let seed = 3;
    for (let i = 0; i < raw.length; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const p = i / 3;
      raw[i] = (((p % w) / 5 + Math.floor(p / w) / 4 + (seed % 50)) | 0) & 255;
    }
    const jpg = await sharp(raw, { raw: { width: w, height: h, channels: 3 } })
      .jpeg({ quality: 90 })
      .toBuffer();
    const fast = await preprocessImage(jpg, CLIP_PREPROCESS, LIMITS);
    const exact = await preprocessImage(jpg, CLIP_PREPROCESS, LIMITS, { exact: true });
    const s = stats(fast, exact);
    expect(s.mean).toBeLessThan(0.01);
    expect(s.p99).toBeLessThan(0.08);
  });

  it('resizes the shortest side and floors the long one', () => {
    expect(resizedSize(1024, 768, 224)).toEqual({ width: 298, height: 224 });
    expect(resizedSize(427, 640, 224)).toEqual({ width: 224, height: 335 });
    expect(resizedSize(60, 40, 224)).toEqual({ width: 336, height: 224 });
  });

  it('rejects bad images with ImageError codes', async () => {
    await expect(preprocessImage(new Uint8Array(0), CLIP_PREPROCESS, LIMITS)).rejects.toMatchObject({ code: 'IMAGE_EMPTY' });
    await expect(preprocessImage(new TextEncoder().encode('hello world'), CLIP_PREPROCESS, LIMITS)).rejects.toBeInstanceOf(ImageError);
  });
});

describe('preprocessor_config.json', () => {
  it('reads the legacy integer form and the newer object form to the same values', () => {
    const legacy = parsePreprocessConfig(
      {
        crop_size: 224,
        do_center_crop: true,
        do_normalize: true,
        do_resize: true,
        image_mean: CLIP_PREPROCESS.mean,
        image_std: CLIP_PREPROCESS.std,
        resample: 3,
        size: 224,
      },
      'legacy.json',
    );
    expect(legacy).toEqual({ ...CLIP_PREPROCESS });
    const bilinear = parsePreprocessConfig(
      {
        ...legacy,
        size: { shortest_edge: 256 },
        crop_size: { height: 240, width: 200 },
        resample: 2,
        image_mean: [0, 0, 0],
        image_std: [1, 1, 1],
      },
      'x.json',
    );
    expect(bilinear).toMatchObject({ shortestEdge: 256, cropHeight: 240, cropWidth: 200, resample: 'bilinear' });
  });

  it('names the file and the field when the config is missing or unusable', () => {
    expect(() => readPreprocessConfig(join(tmp, 'absent'))).toThrow(ModelError);
    expect(() => readPreprocessConfig(join(tmp, 'absent'))).toThrow(/absent\/preprocessor_config\.json is missing/);
    const dir = join(tmp, 'bad');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'preprocessor_config.json'), '{');
    expect(() => readPreprocessConfig(dir)).toThrow(/bad\/preprocessor_config\.json is not valid JSON/);
    writeFileSync(
      join(dir, 'preprocessor_config.json'),
      JSON.stringify({ size: 224, crop_size: 224, image_mean: [1, 2], image_std: [1, 1, 1] }),
    );
    expect(() => readPreprocessConfig(dir)).toThrow(/image_mean must be 3 numbers/);
    writeFileSync(
      join(dir, 'preprocessor_config.json'),
      JSON.stringify({ size: 224, crop_size: 224, image_mean: [0, 0, 0], image_std: [1, 1, 1], resample: 1 }),
    );
    expect(() => readPreprocessConfig(dir)).toThrow(/resample 1 \(lanczos\) is not supported/);
    try {
      readPreprocessConfig(join(tmp, 'absent'));
    } catch (e) {
      expect((e as ModelError).hint).toMatch(/models fetch/);
      expect((e as ModelError).code).toBe('MODEL_FILE_MISSING');
    }
  });
});
