/**
 * Makes folders unwritable for a test of a full or read-only disk, as far as this machine
 * allows: `chmod a-w` for an ordinary user; for root (whom permissions do not stop) the
 * immutable attribute (`chattr +i`, ext4/xfs/btrfs). Where neither holds (root on a file system
 * without attributes, such as overlayfs), `available` is false and the test says why it skips.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Unwritable {
  available: boolean;
  why?: string;
  restore(): void;
}

function all(dirs: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    out.push(p);
    if (statSync(p).isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
  };
  for (const d of dirs) walk(d);
  return out;
}

function writable(dir: string): boolean {
  const probe = join(dir, `.unwritable-check-${process.pid}`);
  try {
    writeFileSync(probe, 'x');
    rmSync(probe);
    return true;
  } catch {
    return false;
  }
}

/** Makes every folder and file under `dirs` unwritable until `restore()`. */
export function makeUnwritable(dirs: string[]): Unwritable {
  const paths = all(dirs);
  if (process.getuid?.() !== 0) {
    const modes = paths.map((p) => [p, statSync(p).mode & 0o7777] as const);
    for (const [p, m] of modes) chmodSync(p, m & ~0o222);
    const restore = () => {
      for (const [p, m] of modes) chmodSync(p, m);
    };
    return { available: !writable(dirs[0]), why: 'chmod a-w does not stop writes here', restore };
  }
  try {
    execFileSync('chattr', ['+i', ...paths], { stdio: 'pipe' });
  } catch (e) {
    return { available: false, why: `chattr +i failed here (${String(e).split('\n')[0]})`, restore: () => {} };
  }
  const restore = () => execFileSync('chattr', ['-i', ...paths], { stdio: 'pipe' });
  if (writable(dirs[0])) {
    restore();
    return { available: false, why: 'the immutable attribute does not stop writes here', restore: () => {} };
  }
  return { available: true, restore };
}
