/** The Vote button on a variant: vote, move, or (clicked again) take back. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { RoundFlow } from '../flow.ts';

/** Slack wants the ack within 3 s; a vote slower than this is acked first and stored after. */
export const VOTE_ACK_WITHIN_MS = 2000;

export function makeVoteAction(deps: { flow: RoundFlow; ackWithinMs?: number }) {
  const ackWithin = deps.ackWithinMs ?? VOTE_ACK_WITHIN_MS;
  return async ({ ack, body, action }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs): Promise<void> => {
    const variantId = action.value;
    if (!variantId) {
      await ack();
      return;
    }
    const channel = body.channel?.id ?? body.container?.channel_id;
    // Stored before the ack: Slack never resends an acknowledged click, so a crash between an early
    // ack and the write would lose a vote the voter saw go through. Unacked, Slack shows the voter
    // an error instead, and they click again.
    const vote = deps.flow.rounds.buttonVote(variantId, body.user.id);
    const cap = new AbortController();
    await Promise.race([vote.catch(() => undefined), sleep(ackWithin, undefined, { signal: cap.signal }).catch(() => undefined)]);
    cap.abort();
    await ack();
    const outcome = await vote;
    await deps.flow.afterVote(outcome, body.user.id, channel);
  };
}
