/**
 * Composition and studio drafts in the worker thread give what `composeAd` and `renderStudioArt` give
 * on the calling thread, errors
 * keep their codes, and the caller's bytes are left alone by the transfer.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ImageError } from '../../../src/errors.ts';
import { loadBrand } from '../../../src/generate/brands.ts';
import { type ComposeStyle, composeAd } from '../../../src/image/compose.ts';
import { createImageWorker } from '../../../src/image/pool.ts';
import { renderStudioArt } from '../../../src/image/studio-art.ts';

const fonts = new Set(['dejavu sans', 'dejavu serif', 'dejavu sans condensed']);
const k = loadBrand('brands', 'fernleaf', { fonts });
const style: ComposeStyle = { colors: k.colors, fonts: k.fonts, logo: k.logo };
const scene = Buffer.from(
  `<svg xmlns="http://www.w3.org/2000/svg" width="600" height="600"><rect width="600" height="600" fill="#F9E7B0"/><circle cx="300" cy="480" r="160" fill="#1F6F50"/></svg>`,
);

const composer = createImageWorker();
afterAll(() => composer.close());

describe('image work in a worker thread', () => {
  it('gives the same ad, byte for byte, as composing on this thread', async () => {
    const input = {
      visual: Buffer.from(scene),
      format: 'story' as const,
      headline: 'Trails that start at your door',
      cta: 'Shop now',
      style,
      offline: true,
    };
    const [here, there] = await Promise.all([composeAd(input), composer.compose(input)]);
    expect(Buffer.compare(there.png, here.png)).toBe(0);
    const { png: _a, ...restHere } = here;
    const { png: _b, ...restThere } = there;
    expect(restThere).toEqual(restHere);
    // The transfer works on a copy: the caller's visual is intact.
    expect(input.visual.equals(scene)).toBe(true);
  });

  it('draws the same studio draft as on this thread, photo included', async () => {
    const input = { palette: ['#1F6F50', '#F2B33D', '#FFFFFF'], concept: 'trail run at sunrise', seed: 42, photo: Buffer.from(scene) };
    const [here, there] = await Promise.all([renderStudioArt(input), composer.studioArt(input)]);
    expect(Buffer.compare(there, here)).toBe(0);
    expect(input.photo.equals(scene)).toBe(true);
  });

  it('rejects with the same typed error and code', async () => {
    const e = await composer.compose({ visual: scene, format: 'square', headline: '  ', cta: 'Go', style }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ImageError);
    expect((e as ImageError).code).toBe('COPY_EMPTY');
    const bad = await composer
      .compose({ visual: Buffer.from('not an image'), format: 'square', headline: 'Hi', cta: 'Go', style })
      .catch((x: unknown) => x);
    expect((bad as ImageError).code).toBe('IMAGE_CORRUPT');
    // Still usable afterwards.
    const ok = await composer.compose({ visual: scene, format: 'landscape', headline: 'Hi there', cta: 'Go', style });
    expect([ok.width, ok.height]).toEqual([1200, 628]);
  });
});
