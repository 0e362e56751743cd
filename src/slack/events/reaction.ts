/**
 * The vote reaction on a variant message is a vote; removing it takes the vote back only
 * if it is still that person's vote.
 */
import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { RoundFlow } from '../flow.ts';

export function makeReactionEvents(deps: { flow: RoundFlow; botUserId: string }) {
  const matches = (name: string) => {
    const want = deps.flow.settings.voteReaction;
    // Skin tones arrive as "+1::skin-tone-3"; they are the same vote.
    return name === want || name.split('::')[0] === want;
  };
  const added = async ({ event }: SlackEventMiddlewareArgs<'reaction_added'> & AllMiddlewareArgs): Promise<void> => {
    if (!matches(event.reaction) || event.user === deps.botUserId || event.item.type !== 'message') return;
    const outcome = await deps.flow.rounds.reactionAdded(event.item.channel, event.item.ts, event.user);
    if (outcome) await deps.flow.afterVote(outcome, event.user, event.item.channel);
  };
  const removed = async ({ event }: SlackEventMiddlewareArgs<'reaction_removed'> & AllMiddlewareArgs): Promise<void> => {
    if (!matches(event.reaction) || event.user === deps.botUserId || event.item.type !== 'message') return;
    const outcome = await deps.flow.rounds.reactionRemoved(event.item.channel, event.item.ts, event.user);
    if (outcome && outcome.kind !== 'closed') await deps.flow.afterVote(outcome, event.user, event.item.channel);
  };
  return { added, removed };
}
