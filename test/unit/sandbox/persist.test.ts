import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.ts';
import { persistWorkspace, restoreWorkspace } from '../../../src/sandbox/persist.ts';
import { FakeSlack } from '../../../src/sandbox/web-api.ts';
import { tinyPng } from '../../helpers/png.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'adc-persist-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the saved workspace', () => {
  it('comes back after a restart: messages, threads, reactions, ephemeral answers and file bytes', () => {
    const before = new FakeSlack();
    const saver = persistWorkspace(before, dir);
    const png = Buffer.from(tinyPng(4, 4, [1, 2, 3]));
    const parent = before.postAsUser({ user: 'U0ALICE', channel: 'C0GENERAL', text: 'brief', files: [{ name: 'a.png', bytes: png }] });
    before.postAsUser({ user: 'U0BOB', channel: 'C0GENERAL', text: 'reply', thread_ts: parent.ts });
    before.reactAsUser({ user: 'U0CAROL', channel: 'C0GENERAL', ts: parent.ts, name: '+1' });
    before.ephemerals.push({ channel: 'C0GENERAL', user: 'U0BOB', ts: '1.000001', text: 'only bob', via: 'test' });
    saver.stop();

    const after = new FakeSlack();
    expect(restoreWorkspace(after, dir)).toBe(2);
    expect(after.thread('C0GENERAL', parent.ts).map((m) => m.text)).toEqual(['brief', 'reply']);
    expect(after.message('C0GENERAL', parent.ts)?.reactions).toEqual([{ name: '+1', users: ['U0CAROL'] }]);
    expect(after.ephemeralsFor('U0BOB').map((e) => e.text)).toEqual(['only bob']);
    const fileId = parent.files[0];
    expect(after.fileBytes(fileId)?.equals(png)).toBe(true);

    // New ids do not collide with restored ones.
    const next = after.postAsUser({ user: 'U0ALICE', channel: 'C0GENERAL', text: 'again', files: [{ name: 'b.png', bytes: png }] });
    expect(next.files[0]).not.toBe(fileId);
    expect(after.fileBytes(fileId)?.equals(png)).toBe(true);
  });

  it('starts empty, saying why, when the snapshot is unreadable', () => {
    writeFileSync(join(dir, 'workspace.json'), '{not json');
    const lines: string[] = [];
    const slack = new FakeSlack();
    expect(restoreWorkspace(slack, dir, createLogger({ write: (l) => lines.push(l) }))).toBe(0);
    expect(slack.messages.size).toBe(0);
    expect(lines.join('\n')).toMatch(/saved workspace could not be read/);
  });

  it('starts empty without a snapshot', () => {
    expect(restoreWorkspace(new FakeSlack(), dir)).toBe(0);
  });
});
