import { describe, expect, it } from 'vitest';
import type { VoteOutcome } from '../../../../src/rounds/service.ts';
import type { Notice, Recipient } from '../../../../src/rounds/view.ts';
import { makeVoteAction } from '../../../../src/slack/actions/vote.ts';

function fakeFlow(voteMs: number, log: string[], fail?: Error) {
  return {
    rounds: {
      buttonVote: async (variantId: string, user: string) => {
        await new Promise((r) => setTimeout(r, voteMs));
        if (fail) throw fail;
        log.push(`stored ${user}→${variantId}`);
        return { kind: 'voted' } as unknown as VoteOutcome;
      },
    },
    runner: {
      voted: async () => {
        log.push('after');
      },
    },
    view: {
      tell: async (to: Recipient, n: Notice) => {
        log.push(`tell ${to.user}: ${n.kind}${'detail' in n ? ` ${n.detail}` : ''}`);
      },
    },
  };
}

const args = (log: string[], ackFails = false) =>
  ({
    ack: async () => {
      log.push('ack');
      if (ackFails) throw new Error('ERR_HTTP_HEADERS_SENT');
    },
    body: { user: { id: 'U1' }, channel: { id: 'C1' } },
    action: { value: 'v1' },
  }) as never;

describe('Vote button', () => {
  it('stores the vote before acknowledging the click, so an acked vote is never lost', async () => {
    const log: string[] = [];
    await makeVoteAction(fakeFlow(20, log))(args(log));
    expect(log).toEqual(['stored U1→v1', 'ack', 'after']);
  });

  it('acks anyway when storing takes longer than Slack waits, and still stores the vote', async () => {
    const log: string[] = [];
    await makeVoteAction({ ...fakeFlow(150, log), ackWithinMs: 30 })(args(log));
    expect(log).toEqual(['ack', 'stored U1→v1', 'after']);
  });

  it('still refreshes after an ack that came too late for the receiver', async () => {
    const log: string[] = [];
    await makeVoteAction(fakeFlow(5, log))(args(log, true));
    expect(log).toEqual(['stored U1→v1', 'ack', 'after']);
  });

  it('tells the voter privately when the vote could not be stored', async () => {
    const log: string[] = [];
    await makeVoteAction(fakeFlow(5, log, new Error('could not record the vote; please click again')))(args(log));
    expect(log[0]).toBe('ack');
    expect(log[1]).toBe('tell U1: vote_failed could not record the vote; please click again');
    expect(log).toHaveLength(2);
  });
});
