/**
 * Opens the learning loop's sources from the configuration: the creative library (pairs,
 * metrics, re-projection) and the round store (votes, rounds). The one place that knows
 * which concrete stores back the seams in `sources.ts`.
 */
import type { Config } from '../config.ts';
import { LibraryError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { LearningSources } from './sources.ts';

export async function openLearningSources(_cfg: Config, _opts: { logger?: Logger } = {}): Promise<LearningSources> {
  // Wired to the library and the round store once they are in this build.
  throw new LibraryError(
    'LIBRARY_UNAVAILABLE',
    'the creative library and the round store are not wired into the learning loop in this build yet',
  );
}
