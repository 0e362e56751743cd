/**
 * Local disk trouble in words a person can act on: a full disk, a read-only mount, missing
 * permission. One list of causes for Node's errors (`code: 'ENOSPC'`) and for the errors native
 * libraries pass up as text (LanceDB: `… No space left on device (os error 28) …`), and the write
 * probe that /readyz runs on DATA_DIR and the library's folder.
 *
 * Ground floor: Node built-ins and errors.ts only.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AdError } from './errors.ts';

interface Cause {
  code: string;
  /** Linux errno (macOS uses the same numbers for these, except EDQUOT: 69). */
  errnos: number[];
  text: RegExp;
  say: string;
}

const CAUSES: Cause[] = [
  { code: 'ENOSPC', errnos: [28], text: /no space left on device/i, say: 'the disk is full' },
  { code: 'EDQUOT', errnos: [122, 69], text: /disk quota exceeded/i, say: 'the disk quota is used up' },
  { code: 'EROFS', errnos: [30], text: /read-only file system/i, say: 'the file system is mounted read-only' },
  { code: 'EACCES', errnos: [13], text: /permission denied/i, say: 'this process may not write there (permission denied)' },
  { code: 'EPERM', errnos: [1], text: /operation not permitted/i, say: 'this process may not write there (operation not permitted)' },
  { code: 'EIO', errnos: [5], text: /input\/output error/i, say: 'the disk reported an input/output error' },
];

/** What is wrong with the disk, as a phrase ("the disk is full"), when `e` is a disk error; else undefined. */
export function diskProblem(e: unknown): string | undefined {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string') {
    const byCode = CAUSES.find((c) => c.code === code);
    if (byCode) return byCode.say;
  }
  const text = e instanceof Error ? e.message : typeof e === 'string' ? e : '';
  const errno = /\(os error (\d+)\)/.exec(text);
  if (errno) {
    const byErrno = CAUSES.find((c) => c.errnos.includes(Number(errno[1])));
    if (byErrno) return byErrno.say;
  }
  return CAUSES.find((c) => c.text.test(text))?.say;
}

/**
 * Creates, writes, syncs and removes a small file in `dir` (made if missing), so a full disk shows
 * here rather than in the next round: with delayed allocation a write may only fail at sync.
 * Throws `DISK_NOT_WRITABLE` naming `what` and the folder.
 */
export async function probeWritable(dir: string, what: string): Promise<void> {
  const file = join(dir, `.adcreative-write-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true });
    const fh = await open(file, 'w');
    try {
      await fh.write(randomBytes(512));
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    await unlink(file).catch(() => undefined);
    const why = diskProblem(e) ?? (e instanceof Error ? e.message : String(e));
    throw new AdError('DISK_NOT_WRITABLE', `${what} ${dir} cannot be written: ${why}`, { cause: e });
  }
  await unlink(file).catch(() => undefined);
}
