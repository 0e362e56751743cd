/**
 * `/adcreative`: acks at once (Slack allows 3 s), then does the slow work in the background.
 * Parsing mistakes are answered in the ack itself, so the person sees them immediately.
 */
import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { describeError } from '../../errors.ts';
import { type BriefDefaults, parseCommand } from '../../rounds/brief.ts';
import { errorMessage, helpMessage, statsMessage } from '../blocks/ephemeral.ts';
import { briefModal } from '../blocks/views.ts';
import type { RoundFlow } from '../flow.ts';

export function makeAdcreativeCommand(deps: { flow: RoundFlow; defaults: () => BriefDefaults; learningSummary?: () => Promise<string[]> }) {
  return async ({ command, ack, respond, client, logger }: SlackCommandMiddlewareArgs & AllMiddlewareArgs): Promise<void> => {
    const defaults = deps.defaults();
    let parsed: ReturnType<typeof parseCommand>;
    try {
      parsed = parseCommand(command.text ?? '', defaults);
    } catch (e) {
      const m = errorMessage(describeError(e));
      await ack({ response_type: 'ephemeral', text: m.text, blocks: m.blocks });
      return;
    }
    if (parsed.kind === 'help') {
      const m = helpMessage({
        brands: defaults.brands,
        maxVariants: defaults.maxVariants,
        maxChars: defaults.maxChars,
        voteReaction: deps.flow.settings.voteReaction,
      });
      await ack({ response_type: 'ephemeral', text: m.text, blocks: m.blocks });
      return;
    }
    await ack();
    if (parsed.kind === 'stats') {
      const learning = await deps.learningSummary?.().catch((e: unknown) => [`Learning figures unavailable: ${describeError(e)}`]);
      const m = statsMessage({ ...(await deps.flow.rounds.usage()), learning });
      await respond({ response_type: 'ephemeral', text: m.text, blocks: m.blocks });
      return;
    }
    if (parsed.kind === 'modal') {
      try {
        await client.views.open({
          trigger_id: command.trigger_id,
          view: briefModal({
            channelId: command.channel_id,
            brands: defaults.brands,
            defaults: { channel: defaults.channel, formats: defaults.formats, variants: defaults.variants, brand: defaults.brand },
            maxVariants: defaults.maxVariants,
            maxChars: defaults.maxChars,
          }) as never,
        });
      } catch (e) {
        logger.warn(`views.open failed: ${describeError(e)}`);
        const m = errorMessage('The brief form could not be opened. Type the brief after the command instead: `/adcreative <brief>`.');
        await respond({ response_type: 'ephemeral', text: m.text, blocks: m.blocks });
      }
      return;
    }
    deps.flow.track(
      () =>
        deps.flow.startBrief({
          user: command.user_id,
          channel: command.channel_id,
          channelName: command.channel_name,
          brief: parsed.brief,
          options: parsed.options,
          notify: async (m) => {
            await respond({ response_type: 'ephemeral', text: m.text, blocks: m.blocks });
          },
        }),
      'brief',
    );
  };
}
