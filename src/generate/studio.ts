/**
 * The offline studio: visuals drafted with sharp from the brand palette, the visual concept
 * and the retrieved creatives' imagery. No network, no key; always labelled offline drafts.
 */
import { createImageWorker, type ImageWorker } from '../image/pool.ts';
import type { StudioArtInput } from '../image/studio-art.ts';
import type { ImageProvider } from './images.ts';

export function createStudioImages(
  opts: {
    size?: number;
    /** Draws a draft; default: `renderStudioArt` in a worker thread, off the bot's event loop. */
    render?: (input: StudioArtInput) => Promise<Buffer>;
  } = {},
): ImageProvider {
  let worker: ImageWorker | undefined;
  const renderStudioArt =
    opts.render ??
    ((input: StudioArtInput) => {
      worker ??= createImageWorker();
      return worker.studioArt(input);
    });
  return {
    offline: true,
    name: 'studio',
    async draw(job) {
      const b = job.brand;
      const imagery = job.edit ? [job.edit, ...job.imagery] : job.imagery;
      return new Uint8Array(
        await renderStudioArt({
          palette: [b.colors.primary, b.colors.accent, b.colors.text],
          concept: `${job.concept} ${job.feedback.join(' ')}`,
          seed: job.seed,
          imagery,
          size: opts.size,
        }),
      );
    },
  };
}
