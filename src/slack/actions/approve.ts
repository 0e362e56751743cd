/**
 * "Approve <label>" on the tally: an approver approves the leading variant's exact content.
 * Like a vote, it is stored before the ack (Slack never resends an acknowledged click).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { RoundRunner } from '../../rounds/runner.ts';
import { parseApproveValue } from '../blocks/decisions.ts';
import { VOTE_ACK_WITHIN_MS } from './vote.ts';

export function makeApproveAction(deps: { runner: Pick<RoundRunner, 'approve' | 'work'>; ackWithinMs?: number }) {
  const ackWithin = deps.ackWithinMs ?? VOTE_ACK_WITHIN_MS;
  return async ({ ack, body, action }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs): Promise<void> => {
    const target = parseApproveValue(action.value ?? '');
    if (!target) {
      await ack();
      return;
    }
    const channel = body.channel?.id ?? body.container?.channel_id;
    const approval = deps.runner.approve({ ...target, user: body.user.id, channel });
    const cap = new AbortController();
    await Promise.race([approval.catch(() => undefined), sleep(ackWithin, undefined, { signal: cap.signal }).catch(() => undefined)]);
    cap.abort();
    await ack().catch(() => undefined);
    deps.runner.work.track(approval, 'approve');
  };
}
