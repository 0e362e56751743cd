/** Close round: the brief's author or an admin; others get an ephemeral refusal. */
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { RoundFlow } from '../flow.ts';

export function makeCloseAction(deps: { flow: RoundFlow }) {
  return async ({ ack, body, action }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    if (!action.value) return;
    const channel = body.channel?.id ?? body.container?.channel_id;
    deps.flow.track(deps.flow.requestClose({ roundId: action.value, user: body.user.id, channel }), 'close');
  };
}
