/** "New round with feedback (n)" on the tally, and "Try again" under a round that could not be made. */
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { RoundRunner } from '../../rounds/runner.ts';

export function makeNewRoundAction(deps: { runner: Pick<RoundRunner, 'retry' | 'work'> }) {
  return async ({ ack, body, action }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    if (!action.value) return;
    const channel = body.channel?.id ?? body.container?.channel_id;
    deps.runner.work.track(deps.runner.retry({ roundId: action.value, user: body.user.id, from: { channel } }), 'new round');
  };
}
