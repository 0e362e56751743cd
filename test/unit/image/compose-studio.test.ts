import { describe, expect, it } from 'vitest';
import { imageDifference } from '../../../src/image/compose.ts';
import { motifFor, renderStudioArt } from '../../../src/image/studio-art.ts';
import { mulberry32 } from '../../../src/random.ts';

const palette = ['#4B2E2B', '#C08552', '#FFF8F0'];

describe('offline studio drafts', () => {
  it('are deterministic for a seed and differ between seeds', async () => {
    const a = await renderStudioArt({ palette, concept: 'morning coffee ritual', seed: 1, size: 128 });
    const b = await renderStudioArt({ palette, concept: 'morning coffee ritual', seed: 1, size: 128 });
    const c = await renderStudioArt({ palette, concept: 'morning coffee ritual', seed: 2, size: 128 });
    expect(Buffer.compare(a, b)).toBe(0);
    expect((await imageDifference(a, c)).mean).toBeGreaterThan(5);
  });

  it('weave in the imagery they are given, and survive an unreadable one', async () => {
    const stripes = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="32" height="64" fill="#000"/><rect x="32" width="32" height="64" fill="#fff"/></svg>',
    );
    const plain = await renderStudioArt({ palette, concept: 'x', seed: 3, size: 128 });
    const woven = await renderStudioArt({ palette, concept: 'x', seed: 3, size: 128, imagery: [stripes] });
    expect((await imageDifference(plain, woven)).mean).toBeGreaterThan(1);
    const broken = await renderStudioArt({ palette, concept: 'x', seed: 3, size: 128, imagery: [Buffer.from('nope')] });
    expect(Buffer.compare(broken, plain)).toBe(0);
  });

  it('choose shapes from the concept’s words', () => {
    const r = mulberry32(1);
    expect(motifFor('a summit trail at dawn', r)).toBe('peaks');
    expect(motifFor('fresh organic greens', r)).toBe('leaves');
    expect(motifFor('city commute on an electric bike', r)).toBe('bands');
  });
});
