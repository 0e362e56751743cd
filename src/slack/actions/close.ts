/** Close round (after Slack's confirmation dialog): the brief's author or an admin; others get an ephemeral refusal. */
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { RoundRunner } from '../../rounds/runner.ts';

export function makeCloseAction(deps: { runner: Pick<RoundRunner, 'close' | 'work'> }) {
  return async ({ ack, body, action }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    if (!action.value) return;
    const channel = body.channel?.id ?? body.container?.channel_id;
    deps.runner.work.track(deps.runner.close({ roundId: action.value, user: body.user.id, channel, from: { channel } }), 'close');
  };
}
