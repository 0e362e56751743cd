/** The Vote button on a variant: vote, move, or (clicked again) take back. */
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { RoundFlow } from '../flow.ts';

export function makeVoteAction(deps: { flow: RoundFlow }) {
  return async ({ ack, body, action }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    const variantId = action.value;
    if (!variantId) return;
    const channel = body.channel?.id ?? body.container?.channel_id;
    const outcome = await deps.flow.rounds.buttonVote(variantId, body.user.id);
    await deps.flow.afterVote(outcome, body.user.id, channel);
  };
}
