/** App Home: the person's open rounds and the workspace's recent winners, each a link to its thread. */
import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { RoundService } from '../../rounds/service.ts';
import { homeView } from '../blocks/views.ts';
import type { SlackThread } from '../thread.ts';

export function makeAppHomeEvent(deps: {
  rounds: Pick<RoundService, 'home'>;
  thread: Pick<SlackThread, 'publishHome'>;
  synthetic: boolean;
}) {
  return async ({ event }: SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs): Promise<void> => {
    if (event.tab && event.tab !== 'home') return;
    const h = await deps.rounds.home(event.user);
    await deps.thread.publishHome(
      event.user,
      homeView({
        user: event.user,
        open: h.open.map(({ round: r, votes }) => ({
          brief: r.brief,
          round: r.number,
          status: r.status === 'open' ? 'voting open' : 'being made',
          permalink: r.permalink,
          votes,
        })),
        winners: h.winners.map(({ round: r, variant: v, votes }) => ({
          brief: r.brief,
          headline: v?.headline ?? '',
          label: v?.label ?? '?',
          permalink: r.permalink,
          votes,
        })),
        synthetic: deps.synthetic,
      }),
    );
  };
}
