/**
 * The vote reaction on a variant message is a vote; removing it takes the vote back only
 * if it is still that person's vote.
 */
import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { RoundRunner } from '../../rounds/runner.ts';
import type { RoundService } from '../../rounds/service.ts';
import { sameEmoji } from '../emoji.ts';

export function makeReactionEvents(deps: {
  rounds: Pick<RoundService, 'reactionAdded' | 'reactionRemoved'>;
  runner: Pick<RoundRunner, 'voted'>;
  voteReaction: string;
  botUserId: string;
}) {
  // Aliases and skin tones ("+1::skin-tone-3") are the same vote.
  const matches = (name: string) => sameEmoji(name, deps.voteReaction);
  const added = async ({ event }: SlackEventMiddlewareArgs<'reaction_added'> & AllMiddlewareArgs): Promise<void> => {
    if (!matches(event.reaction) || event.user === deps.botUserId || event.item.type !== 'message') return;
    const outcome = await deps.rounds.reactionAdded(event.item.channel, event.item.ts, event.user);
    if (outcome) await deps.runner.voted(outcome, { user: event.user, channel: event.item.channel });
  };
  const removed = async ({ event }: SlackEventMiddlewareArgs<'reaction_removed'> & AllMiddlewareArgs): Promise<void> => {
    if (!matches(event.reaction) || event.user === deps.botUserId || event.item.type !== 'message') return;
    const outcome = await deps.rounds.reactionRemoved(event.item.channel, event.item.ts, event.user);
    if (outcome && outcome.kind !== 'closed') await deps.runner.voted(outcome, { user: event.user, channel: event.item.channel });
  };
  return { added, removed };
}
