/** "Export winner" and "Results" on a closed round's tally: ack, then the exporter does the work. */
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { RoundExporter } from '../../export/round-export.ts';
import type { RoundRunner } from '../../rounds/runner.ts';

export function makeAfterVoteActions(deps: {
  exporter: Pick<RoundExporter, 'exportWinner' | 'results'>;
  runner: Pick<RoundRunner, 'work'>;
}) {
  const handler =
    (what: 'exportWinner' | 'results') =>
    async ({ ack, body, action }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs): Promise<void> => {
      await ack();
      if (!action.value) return;
      const channel = body.channel?.id ?? body.container?.channel_id;
      deps.runner.work.track(
        deps.exporter[what]({ roundId: action.value, user: body.user.id, channel }),
        what === 'results' ? 'results' : 'export',
      );
    };
  return { exportWinner: handler('exportWinner'), results: handler('results') };
}
