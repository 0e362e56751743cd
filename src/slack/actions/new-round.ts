/** "New round with feedback (n)" on the tally, and "Try again" under a round that could not be made. */
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { errorMessage } from '../blocks/ephemeral.ts';
import type { RoundFlow } from '../flow.ts';

export function makeNewRoundAction(deps: { flow: Pick<RoundFlow, 'rounds' | 'nextRound' | 'track' | 'ephemeral'> }) {
  return async ({ ack, body, action }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    if (!action.value) return;
    const round = await deps.flow.rounds.store.getRound(action.value);
    if (!round) return;
    // A button of an older round must not close the round people are voting on now.
    const latest = await deps.flow.rounds.store.latestRoundInThread(round.channel, round.threadTs);
    if (latest && latest.id !== round.id) {
      await deps.flow.ephemeral(
        round.channel,
        body.user.id,
        errorMessage(
          `That button belongs to round ${round.number}; round ${latest.number} is the latest in this thread. Use its buttons, or mention me.`,
        ),
        round.threadTs,
      );
      return;
    }
    deps.flow.track(deps.flow.nextRound({ channel: round.channel, threadTs: round.threadTs, user: body.user.id }), 'new round');
  };
}
