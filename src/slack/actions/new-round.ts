/** "New round with feedback (n)" on the tally. */
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { RoundFlow } from '../flow.ts';

export function makeNewRoundAction(deps: { flow: RoundFlow }) {
  return async ({ ack, body, action }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    if (!action.value) return;
    const round = await deps.flow.rounds.store.getRound(action.value);
    if (!round) return;
    deps.flow.track(deps.flow.nextRound({ channel: round.channel, threadTs: round.threadTs, user: body.user.id }), 'new round');
  };
}
