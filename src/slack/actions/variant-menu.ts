/** The overflow on a variant: Download all formats, Edit copy (a modal), More like this. */
import type { AllMiddlewareArgs, BlockAction, OverflowAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { describeError } from '../../errors.ts';
import type { RoundRunner } from '../../rounds/runner.ts';
import type { RoundService } from '../../rounds/service.ts';
import { errorMessage, noticeMessage } from '../blocks/ephemeral.ts';
import { MENU } from '../blocks/ids.ts';
import { editCopyModal } from '../blocks/views.ts';
import type { SlackThread } from '../thread.ts';

export function makeVariantMenuAction(deps: {
  rounds: Pick<RoundService, 'variant'>;
  runner: Pick<RoundRunner, 'download' | 'moreLikeThis' | 'work' | 'editRefusalFor'>;
  thread: Pick<SlackThread, 'openView' | 'tell'>;
}) {
  return async ({
    ack,
    body,
    action,
    logger,
  }: SlackActionMiddlewareArgs<BlockAction<OverflowAction>> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    const [verb, variantId] = (action.selected_option?.value ?? '').split(':', 2);
    if (!variantId) return;
    const user = body.user.id;
    const channel = body.channel?.id ?? body.container?.channel_id;
    if (verb === MENU.edit) {
      const variant = await deps.rounds.variant(variantId);
      if (!variant) return;
      const refused = await deps.runner.editRefusalFor(variantId, user);
      if (refused) return deps.thread.tell({ user, channel }, noticeMessage(refused));
      // trigger_id is valid for 3 s: open the modal before anything slow.
      try {
        await deps.thread.openView(
          body.trigger_id,
          editCopyModal({ variantId, label: variant.label, headline: variant.headline, body: variant.body, cta: variant.cta }),
        );
      } catch (e) {
        logger.warn(`views.open failed: ${describeError(e)}`);
        await deps.thread.tell({ user, channel }, errorMessage('The copy editor could not be opened; try again.'));
      }
      return;
    }
    if (verb === MENU.download) deps.runner.work.track(deps.runner.download({ variantId, user, channel }), 'download formats');
    else if (verb === MENU.more) deps.runner.work.track(deps.runner.moreLikeThis({ variantId, user }), 'more like this');
  };
}
