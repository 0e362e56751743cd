/** The overflow on a variant: Download all formats, Edit copy (a modal), More like this. */
import type { AllMiddlewareArgs, BlockAction, OverflowAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { describeError } from '../../errors.ts';
import { errorMessage } from '../blocks/ephemeral.ts';
import { MENU } from '../blocks/ids.ts';
import { truncate } from '../blocks/kit.ts';
import { editCopyModal } from '../blocks/views.ts';
import type { RoundFlow } from '../flow.ts';

export function makeVariantMenuAction(deps: { flow: RoundFlow }) {
  return async ({
    ack,
    body,
    action,
    client,
    logger,
  }: SlackActionMiddlewareArgs<BlockAction<OverflowAction>> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    const [verb, variantId] = (action.selected_option?.value ?? '').split(':', 2);
    if (!variantId) return;
    const user = body.user.id;
    const channel = body.channel?.id ?? body.container?.channel_id;
    const variant = await deps.flow.rounds.store.getVariant(variantId);
    if (!variant) return;
    if (verb === MENU.edit) {
      // trigger_id is valid for 3 s: open the modal before anything slow.
      try {
        await client.views.open({
          trigger_id: body.trigger_id,
          view: editCopyModal({
            variantId,
            label: variant.label,
            headline: variant.headline,
            body: variant.body,
            cta: variant.cta,
          }) as never,
        });
      } catch (e) {
        logger.warn(`views.open failed: ${describeError(e)}`);
        await deps.flow.ephemeral(channel, user, errorMessage('The copy editor could not be opened; try again.'));
      }
      return;
    }
    if (verb === MENU.download) {
      deps.flow.track(deps.flow.downloadFormats({ variantId, user, channel }), 'download formats');
      return;
    }
    if (verb === MENU.more) {
      const round = await deps.flow.rounds.mustRound(variant.roundId);
      deps.flow.track(
        deps.flow.nextRound({
          channel: round.channel,
          threadTs: round.threadTs,
          user,
          leaderId: variant.id,
          extraFeedback: `More like variant ${variant.label}: "${truncate(variant.headline, 200)}"`,
        }),
        'more like this',
      );
    }
  };
}
