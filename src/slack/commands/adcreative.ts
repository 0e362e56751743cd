/**
 * `/adcreative`: acks at once (Slack allows 3 s), then does the slow work in the background.
 * Parsing mistakes are answered in the ack itself, so the person sees them immediately.
 */
import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { describeError } from '../../errors.ts';
import { type BriefDefaults, parseCommand } from '../../rounds/brief.ts';
import type { RoundRunner } from '../../rounds/runner.ts';
import type { Access } from '../access.ts';
import { resolveApprovers } from '../approvers.ts';
import { allowlistMessage, errorMessage, helpMessage, plainError, statsMessage } from '../blocks/ephemeral.ts';
import { briefModal } from '../blocks/views.ts';
import { fromSlack } from '../text.ts';
import type { SlackThread } from '../thread.ts';

export function makeAdcreativeCommand(deps: {
  runner: Pick<RoundRunner, 'start' | 'work' | 'rounds'>;
  thread: Pick<SlackThread, 'tell' | 'openView' | 'userIdsByName'>;
  access: Pick<Access, 'channelAllowed' | 'settings'>;
  defaults: () => BriefDefaults;
  voteReaction: string;
  learningSummary?: () => Promise<string[]>;
}) {
  return async ({ command, ack, logger }: SlackCommandMiddlewareArgs & AllMiddlewareArgs): Promise<void> => {
    const defaults = deps.defaults();
    let parsed: ReturnType<typeof parseCommand>;
    try {
      // Decoded once, here: Slack sends the text with &, < and > as entities.
      parsed = parseCommand(fromSlack(command.text ?? ''), defaults);
    } catch (e) {
      const m = plainError(describeError(e));
      await ack({ response_type: 'ephemeral', text: m.text, blocks: m.blocks });
      return;
    }
    if (parsed.kind === 'help') {
      const m = helpMessage({
        brands: defaults.brands,
        maxVariants: defaults.maxVariants,
        maxChars: defaults.maxChars,
        voteReaction: deps.voteReaction,
      });
      await ack({ response_type: 'ephemeral', text: m.text, blocks: m.blocks });
      return;
    }
    await ack();
    const who = { user: command.user_id, channel: command.channel_id, replyUrl: command.response_url };
    if (parsed.kind === 'stats') {
      const learning = await deps.learningSummary?.().catch((e: unknown) => [`Learning figures unavailable: ${describeError(e)}`]);
      await deps.thread.tell(who, statsMessage({ ...(await deps.runner.rounds.usage()), learning }));
      return;
    }
    const allowed = deps.access.channelAllowed(command.channel_id, command.channel_name);
    if (parsed.kind === 'modal') {
      // Nobody fills in a form whose brief would be refused here.
      if (!allowed) return deps.thread.tell(who, allowlistMessage(deps.access.settings.channelAllowlist));
      try {
        await deps.thread.openView(
          command.trigger_id,
          briefModal({
            channelId: command.channel_id,
            channelName: command.channel_name,
            brands: defaults.brands,
            defaults: { channel: defaults.channel, formats: defaults.formats, variants: defaults.variants, brand: defaults.brand },
            maxVariants: defaults.maxVariants,
            maxChars: defaults.maxChars,
          }),
        );
      } catch (e) {
        logger.warn(`views.open failed: ${describeError(e)}`);
        await deps.thread.tell(
          who,
          errorMessage('The brief form could not be opened. Type the brief after the command instead: `/adcreative &lt;brief&gt;`.'),
        );
      }
      return;
    }
    if (!allowed) {
      await deps.thread.tell(who, allowlistMessage(deps.access.settings.channelAllowlist));
      return;
    }
    const { brief, options, approverNames } = parsed;
    deps.runner.work.track(async () => {
      const refused = await resolveApprovers(deps.thread, options, approverNames ?? []);
      if (refused) return deps.thread.tell(who, plainError(refused));
      await deps.runner.start({
        user: command.user_id,
        channel: command.channel_id,
        channelName: command.channel_name,
        brief,
        options,
        replyTo: who,
      });
    }, 'brief');
  };
}
