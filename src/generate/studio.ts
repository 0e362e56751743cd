/**
 * The offline studio: visuals drafted with sharp in the brief's palette (its mood, the brand's
 * accent, the team's colour feedback), from the visual concept, with the reference image or a
 * text-free library image shown as a photo. No network, no key; always labelled offline drafts.
 */
import { createImageWorker, type ImageWorker } from '../image/pool.ts';
import type { StudioArtInput } from '../image/studio-art.ts';
import type { ImageProvider } from './images.ts';
import { asksForColour } from './mood.ts';

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
      // "More like this" keeps the leader's picture; feedback about colour gets a picture in the new colours.
      const photo = job.photo ?? (job.edit && !asksForColour(job.feedback) ? job.edit : undefined);
      return new Uint8Array(
        await renderStudioArt({
          palette: job.palette ?? [b.colors.primary, b.colors.accent, b.colors.text],
          concept: `${job.concept} ${job.feedback.join(' ')}`,
          seed: job.seed,
          photo,
          size: opts.size,
        }),
      );
    },
  };
}
