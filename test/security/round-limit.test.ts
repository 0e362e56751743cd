/**
 * Issue 14: the per-person limit counted only first rounds, so five @mentions after the limit made
 * six rounds. Every round a person starts counts against that person, whatever its number; the
 * brief's author is not charged for a next round someone else asked for.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RoundService } from '../../src/rounds/service.ts';
import { openSqliteStore, type SqliteRoundStore } from '../../src/rounds/sqlite.ts';
import type { RoundOptions } from '../../src/rounds/types.ts';
import { type Harness, harness, tallyMessage } from '../integration/slack/harness.ts';

const options: RoundOptions = { variants: 1, formats: ['square'], channel: 'meta', anonymous: false, hideTally: false };
const C = 'C0GENERAL';
let dir: string | undefined;
let store: SqliteRoundStore | undefined;
let h: Harness | undefined;

afterEach(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  await h?.close();
  store = undefined;
  dir = undefined;
  h = undefined;
});

describe('the per-person round limit', () => {
  it('counts next rounds against whoever starts them', async () => {
    dir = mkdtempSync(join(tmpdir(), 'adc-limit-'));
    store = await openSqliteStore(join(dir, 'state.sqlite'));
    const rounds = new RoundService({
      store,
      settings: {
        ratePerHour: 2,
        dailyImageCap: 1000,
        monthlyUsdCap: 0,
        autoCloseMinutes: 0,
        reminderMinutes: 0,
        doubleClickMs: 0,
        pricing: { estimate: (n: number) => ({ usd: 0, textCalls: 1, imageCalls: n }) },
      },
    });
    const first = await rounds.createRound({ channel: 'C1', threadTs: '1.1', number: 1, brief: 'b', author: 'UALICE', options });
    await rounds.open(first.id, { costUsd: 0, textCalls: 0, imageCalls: 0, offline: true, synthetic: true });
    // Bob asks for a next round in Alice's thread: Bob's, not Alice's.
    const bobs = await rounds.startNext({ channel: 'C1', threadTs: '1.1', user: 'UBOB' });
    expect(bobs.kind).toBe('started');
    if (bobs.kind === 'started')
      await rounds.open(bobs.round.id, { costUsd: 0, textCalls: 0, imageCalls: 0, offline: true, synthetic: true });
    // Alice's second round: her limit of 2 is reached with it.
    const alices = await rounds.startNext({ channel: 'C1', threadTs: '1.1', user: 'UALICE' });
    expect(alices.kind).toBe('started');
    if (alices.kind === 'started')
      await rounds.open(alices.round.id, { costUsd: 0, textCalls: 0, imageCalls: 0, offline: true, synthetic: true });
    for (let i = 0; i < 5; i++) {
      expect(await rounds.startNext({ channel: 'C1', threadTs: '1.1', user: 'UALICE' })).toMatchObject({
        kind: 'refused',
        code: 'RATE_LIMITED',
        detail: 'rate limit: 2 rounds per hour per person',
      });
    }
    await expect(
      rounds.createRound({ channel: 'C1', threadTs: '2.1', number: 1, brief: 'b', author: 'UALICE', options }),
    ).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    });
    expect((await store.latestRoundInThread('C1', '1.1'))?.number).toBe(3);
  });

  it('five mentions after the limit make no more rounds, and the author is told why', async () => {
    h = await harness({ settings: { ratePerHour: 2 } });
    const hh = h;
    await hh.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'Oat milk for climbers --variants 2' });
    const parent = await hh.slack.waitFor(() => hh.slack.channelMessages(C).at(-1), 5000, 'parent');
    await hh.slack.waitFor(() => tallyMessage(hh.slack, C, parent.ts, 1), 10_000, 'round 1');
    const mention = async (text: string) =>
      hh.d.messageEvent(
        hh.slack.postAsUser({ user: 'U0ALICE', channel: C, text: `<@${hh.slack.botUserId}> ${text}`, thread_ts: parent.ts }),
      );
    await mention('warmer colours');
    await hh.slack.waitFor(() => tallyMessage(hh.slack, C, parent.ts, 2), 10_000, 'round 2');
    for (let i = 0; i < 5; i++) await mention(`again ${i}`);
    await hh.slack.waitFor(
      () => hh.slack.ephemeralsFor('U0ALICE').filter((e) => e.text.includes('limit of rounds per hour')).length >= 5 || undefined,
      10_000,
      'five refusals',
    );
    expect((await hh.store.latestRoundInThread(C, parent.ts))?.number).toBe(2);
    expect(hh.gen.requests).toHaveLength(2);
  });
});
