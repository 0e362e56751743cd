/**
 * Keeps the sandbox's workspace (messages, reactions, ephemeral answers, files) under
 * DATA_DIR, so a restart shows the same channel and the bot's resumed rounds find their
 * messages again — as in Slack, where a bot restart loses nothing. Written a moment after
 * each change, atomically; file bytes once each (files never change after upload).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeError } from '../errors.ts';
import { type Logger, silentLogger } from '../log.ts';
import type { FakeEphemeral, FakeFile, FakeMessage, FakeSlack } from './web-api.ts';

interface Snapshot {
  version: 1;
  messages: FakeMessage[];
  ephemerals: FakeEphemeral[];
  files: Omit<FakeFile, 'bytes'>[];
}

const SAFE_ID = /^[A-Z0-9]{1,40}$/;

function snapshotPath(dir: string): string {
  return join(dir, 'workspace.json');
}

/** The counter inside FakeSlack's ids (`F0` + base 36), so new ids can be made not to collide. */
function idSeq(id: string): number {
  const m = /^[A-Z]0([0-9A-Z]{8})$/.exec(id);
  return m ? Number.parseInt(m[1], 36) : 0;
}

/**
 * Loads a saved workspace into `slack` (before the bot starts). Returns how many messages came
 * back; a missing or unreadable snapshot leaves the workspace empty and says why in the log.
 */
export function restoreWorkspace(slack: FakeSlack, dir: string, logger: Logger = silentLogger): number {
  const path = snapshotPath(dir);
  if (!existsSync(path)) return 0;
  let snap: Snapshot;
  try {
    snap = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
    if (snap.version !== 1 || !Array.isArray(snap.messages)) throw new Error('not a version 1 snapshot');
  } catch (e) {
    logger.warn('sandbox: the saved workspace could not be read; starting with an empty one', { path, error: describeError(e) });
    return 0;
  }
  let maxSeq = 0;
  for (const f of snap.files ?? []) {
    if (!SAFE_ID.test(f.id)) continue;
    const bytesPath = join(dir, 'files', f.id);
    const bytes = existsSync(bytesPath) ? readFileSync(bytesPath) : undefined;
    slack.files.set(f.id, { ...f, bytes, completed: f.completed && !!bytes });
    maxSeq = Math.max(maxSeq, idSeq(f.id));
  }
  let restored = 0;
  for (const m of snap.messages) {
    // DMs are made on first use, so a restored one is made again.
    if (!slack.channels.has(m.channel) && m.channel.startsWith('D') && slack.users.has(`U${m.channel.slice(1)}`))
      slack.dmChannel(`U${m.channel.slice(1)}`);
    if (!slack.channels.has(m.channel)) continue;
    slack.messages.set(`${m.channel}/${m.ts}`, { ...m, files: m.files ?? [], reactions: m.reactions ?? [] });
    restored += 1;
  }
  for (const e of snap.ephemerals ?? []) slack.ephemerals.push(e);
  // New file ids continue after the restored ones: FakeSlack counts up from one shared sequence,
  // which trigger ids expose ("<ms>.<seq>.<hex>").
  for (let n = 0; n < maxSeq; ) n = Number(slack.triggerId(slack.botUserId).split('.')[1]);
  logger.info('sandbox: restored the workspace', { messages: restored, files: snap.files?.length ?? 0 });
  return restored;
}

/** Saves the workspace a moment after each change; `flush()` writes now (on close). */
export function persistWorkspace(slack: FakeSlack, dir: string, logger: Logger = silentLogger): { flush(): void; stop(): void } {
  mkdirSync(join(dir, 'files'), { recursive: true });
  const written = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    try {
      const files: Omit<FakeFile, 'bytes'>[] = [];
      for (const f of slack.files.values()) {
        if (!SAFE_ID.test(f.id)) continue;
        const { bytes, ...meta } = f;
        if (bytes && !written.has(f.id)) {
          const p = join(dir, 'files', f.id);
          if (!existsSync(p)) writeFileSync(p, bytes);
          written.add(f.id);
        }
        files.push(meta);
      }
      const snap: Snapshot = { version: 1, messages: [...slack.messages.values()], ephemerals: [...slack.ephemerals], files };
      const tmp = `${snapshotPath(dir)}.tmp-${process.pid}`;
      writeFileSync(tmp, JSON.stringify(snap));
      renameSync(tmp, snapshotPath(dir));
    } catch (e) {
      logger.warn('sandbox: could not save the workspace', { dir, error: describeError(e) });
    }
  };
  const onChange = () => {
    timer ??= setTimeout(flush, 300);
  };
  slack.on('change', onChange);
  return {
    flush,
    stop() {
      slack.off('change', onChange);
      if (timer) flush();
    },
  };
}
