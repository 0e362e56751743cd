/** The Vote button on a variant: vote, move, or (clicked again) take back. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { describeError } from '../../errors.ts';
import type { RoundRunner } from '../../rounds/runner.ts';
import type { RoundService } from '../../rounds/service.ts';
import type { RoundView } from '../../rounds/view.ts';

/**
 * How long a click may wait for its vote to be stored before it is acked anyway. Bolt's HTTP
 * receiver answers by itself 2.5 s after the request arrived (app.ts), and this clock starts later,
 * when the listener runs: 1.5 s leaves room for a busy event loop.
 */
export const VOTE_ACK_WITHIN_MS = 1500;

export function makeVoteAction(deps: {
  rounds: Pick<RoundService, 'buttonVote'>;
  runner: Pick<RoundRunner, 'voted'>;
  view: Pick<RoundView, 'tell'>;
  ackWithinMs?: number;
}) {
  const ackWithin = deps.ackWithinMs ?? VOTE_ACK_WITHIN_MS;
  return async ({ ack, body, action }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs): Promise<void> => {
    const variantId = action.value;
    if (!variantId) {
      await ack();
      return;
    }
    const channel = body.channel?.id ?? body.container?.channel_id;
    const user = body.user.id;
    // Stored before the ack: Slack never resends an acknowledged click, so a crash between an early
    // ack and the write would lose a vote the voter saw go through.
    const vote = deps.rounds.buttonVote(variantId, user, { channel });
    const cap = new AbortController();
    await Promise.race([vote.catch(() => undefined), sleep(ackWithin, undefined, { signal: cap.signal }).catch(() => undefined)]);
    cap.abort();
    // Past the receiver's own timeout the response is already sent; the vote still counts, and the
    // tally and the voter's note below must still happen.
    await ack().catch(() => undefined);
    let outcome: Awaited<typeof vote>;
    try {
      outcome = await vote;
    } catch (e) {
      // Acked, so Slack shows nothing by itself: say that the click did not count.
      await deps.view.tell({ user, channel }, { kind: 'vote_failed', detail: describeError(e) });
      return;
    }
    await deps.runner.voted(outcome, { user, channel });
  };
}
