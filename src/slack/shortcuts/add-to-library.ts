/**
 * Message shortcut "Add to creative library": the message's images go into the library with
 * its text as their caption and its permalink as their source; the person hears the result.
 */
import type { AllMiddlewareArgs, MessageShortcut, SlackShortcutMiddlewareArgs } from '@slack/bolt';
import { describeError } from '../../errors.ts';
import type { Library } from '../../library/types.ts';
import type { WorkQueue } from '../../rounds/work.ts';
import { IMAGE_TYPES_TEXT } from '../../vocabulary.ts';
import { errorMessage } from '../blocks/ephemeral.ts';
import { esc } from '../blocks/kit.ts';
import { notesMessage } from '../blocks/round.ts';
import { downloadFile, type FileSettings, refuseFile, resolveFile, type SlackFile } from '../files.ts';
import { fromSlack } from '../text.ts';
import type { SlackThread } from '../thread.ts';

export interface AddToLibraryDeps {
  library: () => Promise<Pick<Library, 'add'>>;
  thread: Pick<SlackThread, 'tell' | 'permalink'>;
  work: Pick<WorkQueue, 'track'>;
  files: FileSettings;
}

/** Ingests the images of one message; returns the mrkdwn lines to tell the person. */
export async function addMessageImages(
  deps: AddToLibraryDeps,
  p: { channel: string; message: { text?: string; ts?: string; files?: SlackFile[] } },
): Promise<{ added: number; lines: string[] } | { error: string }> {
  // Slack Connect files arrive as stubs: their type is known only after files.info.
  const described = await Promise.all(
    (p.message.files ?? []).map((f) => resolveFile(f, deps.files).catch((e: unknown) => ({ ...f, problem: describeError(e) }))),
  );
  const unreadable = described.flatMap((f) => ('problem' in f ? [`${f.name ?? f.id ?? 'a file'}: ${f.problem}`] : []));
  const files = described.filter((f) => !('problem' in f) && f.mimetype?.startsWith('image/'));
  if (!files.length && unreadable.length) return { error: esc(unreadable.join('; ')) };
  if (!files.length)
    return { error: `That message has no images. Use *Add to creative library* on a message with ${IMAGE_TYPES_TEXT} images.` };
  const items: { image: Uint8Array; fileName: string }[] = [];
  const skipped: string[] = [...unreadable];
  for (const f of files) {
    const name = f.name ?? f.id ?? 'image';
    const refused = refuseFile(f, deps.files.maxBytes);
    if (refused) {
      skipped.push(`${name}: ${refused}`);
      continue;
    }
    try {
      items.push({ image: await downloadFile(f, deps.files), fileName: name });
    } catch (e) {
      skipped.push(`${name}: could not be downloaded (${describeError(e)})`);
    }
  }
  let added = 0;
  if (items.length) {
    const permalink = (await deps.thread.permalink(p.channel, String(p.message.ts))) ?? `${p.channel}/${p.message.ts}`;
    try {
      const lib = await deps.library();
      // The caption as people wrote it: the message text arrives in Slack's wire form.
      const caption = fromSlack(p.message.text ?? '');
      const r = await lib.add(items.map((i) => ({ ...i, caption, source: `slack:${permalink}`, tags: ['slack'] })));
      added = r.ingested + r.updated;
      for (const f of r.failed) skipped.push(`${f.path}: ${f.reason}`);
    } catch (e) {
      return { error: `The creative library could not take the images: ${esc(describeError(e))}` };
    }
  }
  const lines = [
    added
      ? `:books: Added ${added} image${added === 1 ? '' : 's'} to the creative library.`
      : ':warning: Nothing was added to the creative library.',
    ...skipped.map((s) => `• ${esc(s)}`),
  ];
  return { added, lines };
}

export function makeAddToLibraryShortcut(deps: AddToLibraryDeps) {
  return async ({ ack, shortcut }: SlackShortcutMiddlewareArgs<MessageShortcut> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    const message = shortcut.message as { text?: string; ts?: string; files?: SlackFile[] };
    const who = { user: shortcut.user.id, channel: shortcut.channel.id };
    deps.work.track(async () => {
      const r = await addMessageImages(deps, {
        channel: shortcut.channel.id,
        message: { ...message, ts: message.ts ?? shortcut.message_ts },
      });
      await deps.thread.tell(who, 'error' in r ? errorMessage(r.error) : notesMessage(r.lines));
    }, 'add to library');
  };
}
