/** Message shortcut "Add to creative library": ingests the message's images, confirms ephemerally. */
import type { AllMiddlewareArgs, MessageShortcut, SlackShortcutMiddlewareArgs } from '@slack/bolt';
import type { RoundFlow } from '../flow.ts';

export function makeAddToLibraryShortcut(deps: { flow: RoundFlow; botToken: string }) {
  return async ({ ack, shortcut }: SlackShortcutMiddlewareArgs<MessageShortcut> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    const message = shortcut.message as {
      text?: string;
      ts?: string;
      files?: { id?: string; name?: string; mimetype?: string; size?: number; url_private_download?: string; url_private?: string }[];
    };
    deps.flow.track(
      deps.flow.addToLibrary({
        user: shortcut.user.id,
        channel: shortcut.channel.id,
        message: { ...message, ts: message.ts ?? shortcut.message_ts },
        botToken: deps.botToken,
      }),
      'add to library',
    );
  };
}
