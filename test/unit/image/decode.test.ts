import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ImageError } from '../../../src/errors.ts';
import { decodeRgb, probe, sniffFormat } from '../../../src/image/decode.ts';
import { samplePhotoJpeg } from '../../../src/image/sample.ts';

const LIMITS = { maxPixels: 40_000_000, maxBytes: 25 * 1024 * 1024 };

async function solid(w: number, h: number, rgb: [number, number, number], format: 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff' | 'avif') {
  const img = sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  return new Uint8Array(await img.toFormat(format).toBuffer());
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid PNG header claiming w × h pixels, with almost no pixel data: a decompression bomb's shape. */
function pngHeader(w: number, h: number): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return new Uint8Array(
    Buffer.concat([
      Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'),
      chunk('IHDR', ihdr),
      chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  );
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    expect(e).toBeInstanceOf(ImageError);
    return `${(e as ImageError).code}: ${(e as Error).message}`;
  }
}

describe('sniffFormat', () => {
  it('names supported formats and common things that are not images', async () => {
    for (const f of ['png', 'jpeg', 'webp', 'gif', 'tiff', 'avif'] as const) expect(sniffFormat(await solid(8, 8, [1, 2, 3], f))).toBe(f);
    expect(sniffFormat(new TextEncoder().encode('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBe('SVG');
    expect(sniffFormat(new TextEncoder().encode('%PDF-1.7 ...'))).toBe('PDF');
    expect(sniffFormat(new TextEncoder().encode('Dear team, here is the brief.'))).toBe('text');
    expect(sniffFormat(new TextEncoder().encode('<!DOCTYPE html><html></html>'))).toBe('HTML');
  });
});

describe('probe and decodeRgb', () => {
  it('decodes every supported format to 3-channel RGB of the right size', async () => {
    for (const f of ['png', 'jpeg', 'webp', 'gif', 'tiff', 'avif'] as const) {
      const img = await decodeRgb(await solid(40, 30, [200, 100, 50], f), LIMITS);
      expect([img.width, img.height, img.channels, img.data.length]).toEqual([40, 30, 3, 40 * 30 * 3]);
      const [r, g, b] = img.data;
      // Lossy formats shift colours a little; the pixel is still the one we drew.
      expect(Math.abs(r - 200) + Math.abs(g - 100) + Math.abs(b - 50)).toBeLessThan(f === 'gif' ? 40 : 16);
    }
  });

  it('applies EXIF orientation (the displayed size and pixels)', async () => {
    // Left half red, right half blue, stored with orientation 6 (display rotated 90° clockwise).
    const raw = Buffer.alloc(60 * 20 * 3);
    for (let y = 0; y < 20; y++) for (let x = 0; x < 60; x++) raw.set(x < 30 ? [255, 0, 0] : [0, 0, 255], (y * 60 + x) * 3);
    const jpg = await sharp(raw, { raw: { width: 60, height: 20, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const info = await probe(jpg, LIMITS);
    expect([info.width, info.height, info.orientation]).toEqual([20, 60, 6]);
    const img = await decodeRgb(jpg, LIMITS);
    expect([img.width, img.height]).toEqual([20, 60]);
    // After rotating clockwise, the left (red) half of the stored image is on top.
    expect(img.data[(5 * 20 + 10) * 3]).toBeGreaterThan(200);
    expect(img.data[(55 * 20 + 10) * 3 + 2]).toBeGreaterThan(200);
  });

  it('flattens transparency onto white', async () => {
    const png = await sharp({ create: { width: 4, height: 4, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } })
      .png()
      .toBuffer();
    const img = await decodeRgb(png, LIMITS);
    expect(Array.from(img.data.slice(0, 3))).toEqual([255, 255, 255]);
    const half = await sharp({ create: { width: 4, height: 4, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0.5 } } })
      .png()
      .toBuffer();
    const h = await decodeRgb(half, LIMITS);
    expect(Math.abs(h.data[0] - 127)).toBeLessThanOrEqual(1);
  });

  it('expands greyscale and 16-bit PNGs to 8-bit RGB', async () => {
    const grey = await sharp({ create: { width: 5, height: 5, channels: 3, background: { r: 90, g: 90, b: 90 } } })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    expect((await probe(grey, LIMITS)).space).toBe('b-w');
    expect(Array.from((await decodeRgb(grey, LIMITS)).data.slice(0, 3))).toEqual([90, 90, 90]);
    const deep = await sharp({ create: { width: 5, height: 5, channels: 3, background: { r: 200, g: 10, b: 128 } } })
      .toColourspace('rgb16')
      .png()
      .toBuffer();
    const d = await decodeRgb(deep, LIMITS);
    expect(d.data.length).toBe(75);
    expect(Array.from(d.data.slice(0, 3))).toEqual([200, 10, 128]);
  });

  it('converts CMYK through its profile, close to the RGB source', async () => {
    const raw = Buffer.alloc(64 * 64 * 3);
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) raw.set([60 + x * 2, 60 + y * 2, 128], (y * 64 + x) * 3);
    const rgb = await sharp(raw, { raw: { width: 64, height: 64, channels: 3 } })
      .png()
      .toBuffer();
    const cmyk = await sharp(rgb).toColourspace('cmyk').withIccProfile('cmyk').jpeg({ quality: 98 }).toBuffer();
    expect((await probe(cmyk, LIMITS)).space).toBe('cmyk');
    const back = await decodeRgb(cmyk, LIMITS);
    let sum = 0;
    for (let i = 0; i < raw.length; i++) sum += Math.abs(back.data[i] - raw[i]);
    // Channels read as RGB (or the K channel dropped) land tens of levels away; through the profile it is close.
    expect(sum / raw.length).toBeLessThan(8);
  });

  it('takes the first frame of an animated GIF', async () => {
    const frames = Buffer.alloc(10 * 20 * 4);
    for (let i = 0; i < 10 * 10; i++) frames.set([255, 0, 0, 255], i * 4);
    for (let i = 10 * 10; i < 10 * 20; i++) frames.set([0, 0, 255, 255], i * 4);
    const gif = await sharp(frames, { raw: { width: 10, height: 20, channels: 4, pageHeight: 10 } })
      .gif()
      .toBuffer();
    const info = await probe(gif, LIMITS);
    expect([info.width, info.height, info.pages]).toEqual([10, 10, 2]);
    const img = await decodeRgb(gif, LIMITS);
    expect([img.width, img.height]).toEqual([10, 10]);
    expect(img.data[0]).toBeGreaterThan(200);
    expect(img.data[2]).toBeLessThan(50);
  });
});

describe('rejections', () => {
  it('IMAGE_EMPTY for no bytes', async () => {
    expect(await code(decodeRgb(new Uint8Array(0), LIMITS))).toMatch(/^IMAGE_EMPTY: .*empty/);
  });

  it('IMAGE_NOT_AN_IMAGE for random bytes, a text file, a PDF and an SVG, naming what it saw and what is supported', async () => {
    let seed = 7;
    const noise = new Uint8Array(4096).map(() => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return 128 + (seed % 128);
    });
    expect(await code(decodeRgb(noise, LIMITS))).toMatch(/^IMAGE_NOT_AN_IMAGE: .*unknown data.*JPEG, PNG, WebP, GIF, AVIF, TIFF/);
    expect(
      await code(decodeRgb(new TextEncoder().encode('Summer sale brief\nheadline: 50% off\n'), LIMITS, { source: 'brief.txt' })),
    ).toMatch(/^IMAGE_NOT_AN_IMAGE: brief\.txt: .*text/);
    expect(await code(decodeRgb(new TextEncoder().encode('%PDF-1.4\n%...'), LIMITS))).toMatch(/IMAGE_NOT_AN_IMAGE: .*PDF/);
    // sharp could render SVG, but it is refused on purpose (see sniff/checkBytes).
    const svg = new TextEncoder().encode(
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
    );
    expect(await code(decodeRgb(svg, LIMITS))).toMatch(/IMAGE_NOT_AN_IMAGE: .*SVG/);
  });

  it('IMAGE_CORRUPT for a truncated JPEG and a PNG with a broken body', async () => {
    const raw = Buffer.alloc(200 * 200 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 31) & 255;
    const jpg = await sharp(raw, { raw: { width: 200, height: 200, channels: 3 } })
      .jpeg()
      .toBuffer();
    expect(await code(decodeRgb(jpg.subarray(0, Math.floor(jpg.length / 2)), LIMITS, { source: 'cut.jpg' }))).toMatch(
      /^IMAGE_CORRUPT: cut\.jpg: .*JPEG/,
    );
    const png = await sharp(raw, { raw: { width: 200, height: 200, channels: 3 } })
      .png()
      .toBuffer();
    const broken = Buffer.from(png);
    for (let i = 100; i < broken.length - 20; i += 7) broken[i] ^= 0x5a;
    expect(await code(decodeRgb(broken, LIMITS))).toMatch(/^IMAGE_CORRUPT: /);
    // Only the JPEG signature: nothing decodable after it.
    expect(await code(decodeRgb(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0]), LIMITS))).toMatch(/^IMAGE_CORRUPT: /);
  });

  it('IMAGE_TOO_LARGE from the header alone for a huge-dimension PNG (decompression bomb), and for too many bytes', async () => {
    const bomb = pngHeader(100_000, 100_000);
    expect(bomb.length).toBeLessThan(100);
    expect(await code(probe(bomb, LIMITS))).toMatch(/^IMAGE_TOO_LARGE: .*100000×100000 = 10,000,000,000 pixels; the limit is 40,000,000/);
    expect(await code(decodeRgb(bomb, LIMITS))).toMatch(/^IMAGE_TOO_LARGE/);
    const small = await solid(100, 100, [1, 2, 3], 'png');
    expect(await code(decodeRgb(small, { maxPixels: 9_999, maxBytes: 1e9 }))).toMatch(/^IMAGE_TOO_LARGE: .*10,000 pixels/);
    expect(await code(decodeRgb(small, { maxPixels: 1e9, maxBytes: 100 }))).toMatch(
      /^IMAGE_TOO_LARGE: .*bytes; the limit is 100 bytes \(IMAGE_MAX_BYTES\)/,
    );
  });
});

describe('samplePhotoJpeg', () => {
  it('makes a decodable, seeded, photo-like JPEG of the asked size', async () => {
    const a = await samplePhotoJpeg(320, 240, 5);
    const b = await samplePhotoJpeg(320, 240, 5);
    const c = await samplePhotoJpeg(320, 240, 6);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
    const info = await probe(a, LIMITS);
    expect([info.format, info.width, info.height]).toEqual(['jpeg', 320, 240]);
    // Texture like a photograph: far from a flat colour's few hundred bytes.
    expect(a.length).toBeGreaterThan(10_000);
  });
});
