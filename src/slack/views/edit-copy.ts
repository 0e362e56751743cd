/** "Edit copy" modal submitted: re-renders every format with the new copy, same image. */
import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import type { RoundRunner } from '../../rounds/runner.ts';
import { EDIT_BLOCKS } from '../blocks/views.ts';

export function makeEditCopySubmission(deps: { runner: Pick<RoundRunner, 'editCopy' | 'work'> }) {
  return async ({ ack, view, body }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs): Promise<void> => {
    const v = view.state.values;
    const copy = {
      headline: (v[EDIT_BLOCKS.headline]?.value?.value ?? '').trim(),
      body: (v[EDIT_BLOCKS.body]?.value?.value ?? '').trim(),
      cta: (v[EDIT_BLOCKS.cta]?.value?.value ?? '').trim(),
    };
    const errors: Record<string, string> = {};
    if (!copy.headline) errors[EDIT_BLOCKS.headline] = 'The headline cannot be empty.';
    if (!copy.cta) errors[EDIT_BLOCKS.cta] = 'The call to action cannot be empty.';
    if (Object.keys(errors).length) {
      await ack({ response_action: 'errors', errors });
      return;
    }
    await ack();
    let variantId = '';
    try {
      variantId = String(JSON.parse(view.private_metadata || '{}').variantId ?? '');
    } catch {
      return;
    }
    deps.runner.work.track(deps.runner.editCopy({ variantId, user: body.user.id, copy }), 'edit copy');
  };
}
