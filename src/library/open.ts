/**
 * Opens the creative library at a LanceDB URI.
 * (Contract placeholder: the library work replaces this body.)
 */
import type { Encoder } from '../clip/types.ts';
import { LibraryError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Library } from './types.ts';

export async function openLibrary(_opts: { uri: string; encoder: Encoder; logger?: Logger }): Promise<Library> {
  throw new LibraryError('LIBRARY_UNAVAILABLE', 'the creative library is not wired in this build yet');
}
