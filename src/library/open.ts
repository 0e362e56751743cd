/**
 * Opens the creative library at a LanceDB URI. Settings not given come from the process
 * configuration (the library group of src/config.ts).
 */
import type { Encoder } from '../clip/types.ts';
import { type Config, config } from '../config.ts';
import type { Logger } from '../log.ts';
import { LanceLibrary, type LibrarySettings } from './lance-library.ts';

export type { LibrarySettings };
export { LanceLibrary };

export function librarySettings(cfg: Config): LibrarySettings {
  return {
    indexMinRows: cfg.libraryIndexMinRows,
    weights: { image: cfg.libraryWeightImage, caption: cfg.libraryWeightCaption, ctr: cfg.libraryWeightCtr },
    ctrPriorStrength: cfg.libraryCtrPriorStrength,
    nearDuplicate: cfg.libraryNearDuplicate,
    optimizeEvery: cfg.libraryOptimizeEvery,
    reindexGrowth: cfg.libraryReindexGrowth,
    imageLimits: { maxBytes: cfg.imageMaxBytes, maxPixels: cfg.imageMaxPixels },
  };
}

export async function openLibrary(opts: {
  uri: string;
  encoder?: Encoder;
  logger?: Logger;
  settings?: Partial<LibrarySettings>;
  /** Open a library embedded with another model anyway (re-embedding does). */
  allowModelMismatch?: boolean;
  /** LanceDB storage options for object storage (`libraryStorageOptions(cfg)`); unset: the process configuration's. */
  storageOptions?: Record<string, string>;
}): Promise<LanceLibrary> {
  const settings = { ...librarySettings(config()), ...opts.settings };
  return LanceLibrary.open({ ...opts, settings });
}
