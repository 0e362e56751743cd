import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { probe } from '../../../src/image/decode.ts';
import { toModelInput } from '../../../src/image/model-input.ts';
import { testImage } from '../../helpers/images.ts';
import { tinyPng } from '../../helpers/png.ts';

const GPT = { squarePng: false, maxBytes: 50 * 1024 * 1024 };
const DALLE2 = { squarePng: true, maxBytes: 4 * 1024 * 1024 };
const limits = { maxBytes: 1e9, maxPixels: 1e9 };

describe('images prepared for an image model', () => {
  it('sends a PNG, JPEG or WebP within the limits as it is', async () => {
    const png = tinyPng(40, 30, [1, 2, 3]);
    expect(await toModelInput(png, GPT)).toEqual({ bytes: png, type: 'image/png', ext: 'png' });
    const jpeg = await testImage(1, [64, 48], 'jpeg');
    expect(await toModelInput(jpeg, GPT)).toMatchObject({ bytes: jpeg, type: 'image/jpeg', ext: 'jpg' });
  });

  it('rasterises an SVG logo to PNG', async () => {
    const out = await toModelInput(new Uint8Array(readFileSync('brands/logos/acme.svg')), GPT, 'logo');
    expect(out.type).toBe('image/png');
    expect((await probe(out.bytes, limits)).format).toBe('png');
  });

  it('makes a square PNG for dall-e-2, whatever it was given', async () => {
    const out = await toModelInput(await testImage(2, [120, 60], 'jpeg'), DALLE2);
    const info = await probe(out.bytes, limits);
    expect(info).toMatchObject({ format: 'png', width: 120, height: 120 });
  });

  it('shrinks what is larger than the model looks at, and refuses what cannot be read', async () => {
    const big = await testImage(3, [3000, 1000], 'jpeg');
    const out = await toModelInput(big, GPT);
    const info = await probe(out.bytes, limits);
    expect(Math.max(info.width, info.height)).toBe(2048);
    await expect(toModelInput(new TextEncoder().encode('not an image at all'), GPT, 'the reference image')).rejects.toMatchObject({
      code: 'IMAGE_CORRUPT',
      message: expect.stringMatching(/^the reference image: could not be prepared for the image model/),
    });
  });
});
