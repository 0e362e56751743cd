/**
 * Replies in a round's thread are feedback. The bot ignores its own messages, other bots,
 * edits and deletions, joins and other system subtypes, top-level messages and threads that
 * are not rounds. A reply also sent to the channel (thread_broadcast) or one with a file
 * attached (file_share) is still a person's reply, so it counts.
 */
import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { RoundFlow } from '../flow.ts';

const HUMAN_SUBTYPES = new Set(['thread_broadcast', 'file_share']);

export function makeMessageEvent(deps: { flow: RoundFlow; botUserId: string }) {
  return async ({ event }: SlackEventMiddlewareArgs<'message'> & AllMiddlewareArgs): Promise<void> => {
    const e = event as { subtype?: string; bot_id?: string; user?: string; thread_ts?: string; ts: string; text?: string; channel: string };
    if ((e.subtype && !HUMAN_SUBTYPES.has(e.subtype)) || e.bot_id || !e.user || e.user === deps.botUserId) return;
    if (!e.thread_ts || e.thread_ts === e.ts) return;
    deps.flow.track(
      deps.flow.feedback({ channel: e.channel, threadTs: e.thread_ts, ts: e.ts, user: e.user, text: e.text ?? '' }),
      'feedback',
    );
  };
}
