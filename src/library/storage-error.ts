/**
 * LanceDB reports a failed write with the Rust error chain (`lance error: LanceError(IO):
 * Read-only file system (os error 30) at path "…/data/.tmpXYZ", …/object_store.rs:800:21 Caused
 * by: …`). Whoever sees it — a person in Slack whose winner could not be stored, an operator
 * reading the log — needs one sentence naming the library's folder and what to do.
 */
import { diskProblem } from '../disk.ts';
import { AdError, LibraryError } from '../errors.ts';

/** `e` as the error a library write should surface: a disk problem in words, anything else unchanged. */
export function libraryStorageError(e: unknown, uri: string): unknown {
  if (e instanceof AdError) return e;
  const problem = diskProblem(e);
  if (!problem) return e;
  return new LibraryError('LIBRARY_NOT_WRITABLE', `the creative library at ${uri} cannot be written: ${problem}`, {
    cause: e,
    hint: 'free space there, fix the mount or its permissions, or point LANCEDB_URI at a writable folder',
  });
}
