/** Small real images for tests, drawn through src/image (tests do not import sharp themselves). */
import { drawDemoCreative } from '../../src/image/demo-art.ts';

export function testImage(
  seed: number,
  size: [number, number] = [96, 96],
  encoding: 'jpeg' | 'png' | 'webp' = 'jpeg',
): Promise<Uint8Array> {
  return drawDemoCreative({
    width: size[0],
    height: size[1],
    palette: ['#1F6F50', '#F2C14E', '#FFFFFF'],
    brand: 'TEST',
    headline: `Test creative ${seed}`,
    cta: 'Go',
    motif: seed % 5,
    seed,
    encoding,
  });
}
