import { describe, expect, it } from 'vitest';
import { makeVoteAction } from '../../../../src/slack/actions/vote.ts';
import type { RoundFlow } from '../../../../src/slack/flow.ts';

function fakeFlow(voteMs: number, log: string[]) {
  return {
    rounds: {
      buttonVote: async (variantId: string, user: string) => {
        await new Promise((r) => setTimeout(r, voteMs));
        log.push(`stored ${user}→${variantId}`);
        return { kind: 'voted' };
      },
    },
    afterVote: async () => {
      log.push('after');
    },
  } as unknown as RoundFlow;
}

const args = (log: string[]) =>
  ({
    ack: async () => {
      log.push('ack');
    },
    body: { user: { id: 'U1' }, channel: { id: 'C1' } },
    action: { value: 'v1' },
  }) as never;

describe('Vote button', () => {
  it('stores the vote before acknowledging the click, so an acked vote is never lost', async () => {
    const log: string[] = [];
    await makeVoteAction({ flow: fakeFlow(20, log) })(args(log));
    expect(log).toEqual(['stored U1→v1', 'ack', 'after']);
  });

  it('acks anyway when storing takes longer than Slack waits, and still stores the vote', async () => {
    const log: string[] = [];
    await makeVoteAction({ flow: fakeFlow(150, log), ackWithinMs: 30 })(args(log));
    expect(log).toEqual(['ack', 'stored U1→v1', 'after']);
  });
});
