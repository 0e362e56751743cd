/**
 * Replies in a round's thread are feedback; one that mentions the bot starts the next round at
 * once. The bot ignores its own messages, other bots, edits and deletions, joins and other
 * system subtypes, top-level messages and threads that are not rounds. A reply also sent to the
 * channel (thread_broadcast) or one with a file attached (file_share) is still a person's reply.
 */
import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { RoundRunner } from '../../rounds/runner.ts';
import { fromSlack, mentions, withoutMention } from '../text.ts';
import type { SlackThread } from '../thread.ts';

const HUMAN_SUBTYPES = new Set(['thread_broadcast', 'file_share']);

export function makeMessageEvent(deps: {
  runner: Pick<RoundRunner, 'feedback' | 'work'>;
  thread: Pick<SlackThread, 'react'>;
  botUserId: string;
}) {
  return async ({ event }: SlackEventMiddlewareArgs<'message'> & AllMiddlewareArgs): Promise<void> => {
    const e = event as { subtype?: string; bot_id?: string; user?: string; thread_ts?: string; ts: string; text?: string; channel: string };
    if ((e.subtype && !HUMAN_SUBTYPES.has(e.subtype)) || e.bot_id || !e.user || e.user === deps.botUserId) return;
    if (!e.thread_ts || e.thread_ts === e.ts) return;
    const raw = e.text ?? '';
    const p = { channel: e.channel, threadTs: e.thread_ts, ts: e.ts, user: e.user };
    deps.runner.work.track(async () => {
      // Decoded once, here: message events carry &, < and > as entities and mentions as markup.
      const text = fromSlack(withoutMention(raw, deps.botUserId));
      const outcome = await deps.runner.feedback({ ...p, text, mentioned: mentions(raw, deps.botUserId) });
      // 👀 says "kept for the next round".
      if (outcome === 'noted') await deps.thread.react(p.channel, p.ts, 'eyes').catch(() => {});
    }, 'feedback');
  };
}
