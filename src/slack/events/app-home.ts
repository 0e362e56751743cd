/** App Home: the person's open rounds and recent winners. */
import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { RoundFlow } from '../flow.ts';

export function makeAppHomeEvent(deps: { flow: RoundFlow }) {
  return async ({ event }: SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs): Promise<void> => {
    if (event.tab && event.tab !== 'home') return;
    await deps.flow.publishHome(event.user);
  };
}
