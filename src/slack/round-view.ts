/**
 * How a round looks in Slack: the `RoundView` the runner talks to, drawn with the Block Kit
 * builders in blocks/ and sent through thread.ts. The parent message carries the brief and
 * a live status line; the thread holds inspiration, variants, notes and the tally.
 */
import { describeError, NetworkError } from '../errors.ts';
import { squareThumbnail } from '../image/thumbnail.ts';
import type { Logger } from '../log.ts';
import type { Round, VariantRecord } from '../rounds/types.ts';
import type {
  ArchiveToShare,
  CostFacts,
  Failure,
  FilesCaption,
  FileToShare,
  InspirationShown,
  Notice,
  PostedVariant,
  Recipient,
  RoundNote,
  RoundView,
  StatusLine,
  TallySnapshot,
  VariantToShow,
} from '../rounds/view.ts';
import { audienceHeadingMessage, audienceHeadings } from './blocks/audiences.ts';
import { cannotPostKind, notInChannelMessage, noticeMessage } from './blocks/ephemeral.ts';
import { esc } from './blocks/kit.ts';
import {
  costLine,
  failedRoundMessage,
  failureText,
  inspirationMessage,
  notesMessage,
  noteText,
  parentMessage,
  resultText,
  statusText,
  variantAlt,
  variantMessage,
} from './blocks/round.ts';
import type { TallyBoard } from './tally-board.ts';
import { type SlackThread, slackError, type Uploaded } from './thread.ts';

export interface RoundViewSettings {
  voteReaction: string;
  /** A synthetic CLIP model is loaded: every parent says so. */
  synthetic: boolean;
  /** The parent's status line is edited at most this often. */
  statusGapMs?: number;
  /** How long a variant posted without its image waits for Slack to show the image shared. */
  lateAttachMs?: number;
  logger?: Logger;
}

export class SlackRoundView implements RoundView {
  constructor(
    private readonly thread: SlackThread,
    private readonly board: TallyBoard,
    private readonly s: RoundViewSettings,
  ) {}

  private parent(round: Round, status: string, cost: CostFacts, winner?: string) {
    return parentMessage({
      brief: round.brief,
      author: round.author,
      options: round.options,
      round: round.number,
      status,
      cost: costLine(cost),
      winner,
      synthetic: this.s.synthetic,
    });
  }

  /** Every status change of a thread's parent goes through one coalesced edit, so the last one wins. */
  private setParent(round: Round, status: string, cost: CostFacts, winner?: string): Promise<void> {
    if (round.threadTs.startsWith('pending:')) return Promise.resolve();
    return this.thread.edit(
      `parent:${round.channel}/${round.threadTs}`,
      async () => ({ channel: round.channel, ts: round.threadTs, message: this.parent(round, status, cost, winner) }),
      { gapMs: this.s.statusGapMs ?? 1000 },
    );
  }

  async openThread(round: Round, cost: CostFacts): ReturnType<RoundView['openThread']> {
    try {
      const threadTs = await this.thread.post(round.channel, this.parent(round, statusText({ stage: 'retrieving' }), cost));
      return { ok: true as const, threadTs, permalink: await this.thread.permalink(round.channel, threadTs) };
    } catch (e) {
      const err = slackError(e);
      const reason: 'not_in_channel' | 'channel_not_found' | 'other' =
        err === 'not_in_channel' || err === 'channel_not_found' ? err : 'other';
      return { ok: false as const, reason, detail: err ?? describeError(e) };
    }
  }

  status(round: Round, line: StatusLine, cost: CostFacts): Promise<void> {
    return this.setParent(round, statusText(line), cost);
  }

  async inspiration(round: Round, shown: InspirationShown): Promise<void> {
    // Slack shows png, jpg and gif in image blocks (docs.slack.dev/reference/block-kit/composition-objects/slack-file-object):
    // the library's WebP thumbnails become PNG, letterboxed, since Slack crops an accessory image to a square.
    const withImage = shown.items.flatMap((h, i) => (h.thumbnail ? [{ h, i, thumbnail: h.thumbnail }] : []));
    const fileIds = new Map<number, string>();
    let missing = withImage.length;
    if (withImage.length) {
      try {
        const uploads = await Promise.all(
          withImage.map(async ({ h, i, thumbnail }) => {
            return {
              bytes: await squareThumbnail(thumbnail),
              filename: `inspiration-${round.number}-${i + 1}.png`,
              title: h.headline || `Past creative ${i + 1}`,
              alt: `Past creative: ${h.headline}`,
            };
          }),
        );
        const up = await this.thread.uploadToThread(
          round.channel,
          round.threadTs,
          uploads,
          `Round ${round.number}: the closest past creatives in the library`,
        );
        for (const [k, u] of up.entries()) if (u.shareTs) fileIds.set(withImage[k].i, u.id);
        missing = withImage.length - fileIds.size;
        // Files Slack did not show shared in time are not referenced, so they are not left behind either.
        await this.thread.deleteFiles(up.filter((u) => !u.shareTs).map((u) => u.id));
      } catch (e) {
        this.s.logger?.warn('inspiration images could not be uploaded', { error: slackError(e) ?? describeError(e) });
      }
    }
    await this.thread.post(
      round.channel,
      inspirationMessage({
        round: round.number,
        state: shown.state,
        detail: shown.detail,
        note: shown.note,
        synthetic: this.s.synthetic,
        missingImages: missing,
        hits: shown.items.map((h, i) => ({ ...h, fileId: fileIds.get(i) })),
      }),
      round.threadTs,
    );
  }

  private variantMessageFor(round: Round, v: VariantRecord, fileId: string | null, image?: 'pending' | 'failed') {
    return variantMessage({
      round: round.number,
      variant: v,
      fileId,
      voteReaction: this.s.voteReaction,
      anonymous: round.options.anonymous,
      image,
    });
  }

  async variants(round: Round, items: VariantToShow[], posted: (id: string, where: PostedVariant) => Promise<void>): Promise<void> {
    if (!items.length) return;
    const edit = items.every((x) => x.replace);
    const labels = items.map((x) => x.variant.label).join(', ');
    let up: Uploaded[] = [];
    try {
      up = await this.thread.uploadToThread(
        round.channel,
        round.threadTs,
        items.map((x) => ({
          bytes: x.image,
          filename: `round-${round.number}-variant-${x.variant.label}${x.replace ? '-edited' : ''}.png`,
          title: `Variant ${x.variant.label} · round ${round.number}`,
          alt: variantAlt(x.variant),
        })),
        edit ? `Variant ${labels} of round ${round.number}, re-rendered with the edited copy` : `Round ${round.number}: variants ${labels}`,
      );
    } catch (e) {
      // Edited copy: nothing changes until its image can be shown (the runner keeps the old copy).
      if (edit) throw e;
      this.s.logger?.warn('variant images could not be uploaded', { error: slackError(e) ?? describeError(e) });
    }
    const headings = edit ? new Map<string, { audience: string; labels: string[] }>() : audienceHeadings(items);
    for (const [i, x] of items.entries()) {
      const file = up[i];
      // Variants come grouped by audience: each group opens with its audience.
      const heading = headings.get(x.variant.id);
      if (heading) await this.thread.post(round.channel, audienceHeadingMessage({ ...heading, round: round.number }), round.threadTs);
      if (x.replace) {
        if (!file?.shareTs) {
          if (file) await this.thread.deleteFiles([file.id]);
          throw new NetworkError(
            'SLACK_FILE_NOT_SHARED',
            `the re-rendered image of variant ${x.variant.label} did not show in Slack in time`,
          );
        }
        await this.thread.update(round.channel, x.replace.messageTs, this.variantMessageFor(round, x.variant, file.id));
        await posted(x.variant.id, { messageTs: x.replace.messageTs, fileId: file.id });
        continue;
      }
      if (file?.shareTs) {
        const messageTs = await this.thread.post(round.channel, this.variantMessageFor(round, x.variant, file.id), round.threadTs);
        await posted(x.variant.id, { messageTs, fileId: file.id });
        continue;
      }
      // Never silently without its image: the message says the image is coming, and it is attached when Slack shows it shared.
      const messageTs = await this.thread.post(round.channel, this.variantMessageFor(round, x.variant, null, 'pending'), round.threadTs);
      await posted(x.variant.id, { messageTs, fileId: null });
      this.thread.later(this.attachLater(round, x, messageTs, file, posted));
    }
  }

  /** The image of a variant posted without it: shown once Slack shares it (uploaded again if the upload failed). */
  private async attachLater(
    round: Round,
    x: VariantToShow,
    messageTs: string,
    file: Uploaded | undefined,
    posted: (id: string, where: PostedVariant) => Promise<void>,
  ): Promise<void> {
    let id = file?.id;
    let shared = false;
    if (id) shared = !!(await this.thread.sharedIn(id, round.channel, round.threadTs, this.s.lateAttachMs ?? 30_000));
    else {
      const again = await this.thread
        .uploadToThread(
          round.channel,
          round.threadTs,
          [
            {
              bytes: x.image,
              filename: `round-${round.number}-variant-${x.variant.label}.png`,
              title: `Variant ${x.variant.label}`,
              alt: variantAlt(x.variant),
            },
          ],
          `Variant ${x.variant.label} of round ${round.number}`,
        )
        .catch(() => []);
      id = again[0]?.id;
      shared = !!again[0]?.shareTs;
    }
    if (id && shared) {
      await this.thread.update(round.channel, messageTs, this.variantMessageFor(round, x.variant, id));
      await posted(x.variant.id, { messageTs, fileId: id });
      return;
    }
    if (id) await this.thread.deleteFiles([id]);
    await this.thread.update(round.channel, messageTs, this.variantMessageFor(round, x.variant, null, 'failed'));
  }

  async notes(round: Round, notes: RoundNote[]): Promise<void> {
    await this.thread.post(round.channel, notesMessage(notes.map(noteText)), round.threadTs);
  }

  async tally(roundId: string, read: () => Promise<TallySnapshot>, opts: { post?: boolean; now?: boolean } = {}) {
    if (opts.post) return this.board.post(await read());
    await this.board.update(roundId, read, opts);
    return undefined;
  }

  async failed(round: Round, failure: Failure, cost: CostFacts): Promise<void> {
    const text = failureText(round.number, failure);
    if (round.threadTs.startsWith('pending:')) return;
    await this.thread.post(round.channel, failedRoundMessage({ roundId: round.id, headline: text.thread }), round.threadTs);
    await this.setParent(round, statusText({ stage: 'failed', why: text.status }), cost);
  }

  async closed(read: () => Promise<TallySnapshot>): Promise<void> {
    const s = await read();
    const r = s.round;
    await this.board.update(r.id, read, { now: true });
    const winner = s.result?.winner ? resultText(s.result) : undefined;
    await this.setParent(
      r,
      statusText({ stage: 'closed', winner: s.result?.winner?.label }),
      { usd: r.costUsd, textCalls: r.textCalls, imageCalls: r.imageCalls, offline: r.offline },
      winner,
    );
  }

  /** Shares files in the thread and returns once Slack shows them there, so what is said next comes after them. */
  async files(round: Round, files: FileToShare[], caption: FilesCaption): Promise<void> {
    const winner = caption.kind === 'winner';
    const up = await this.thread.uploadToThread(
      round.channel,
      round.threadTs,
      files.map((f) => ({
        bytes: f.bytes,
        filename: `${winner ? 'winner-' : ''}round-${caption.round}-${caption.label}-${f.format}.png`,
        title: `${winner ? 'Winner' : 'Variant'} ${caption.label} · ${f.format}`,
      })),
      winner
        ? `:trophy: Variant ${caption.label} in all formats${caption.audience ? ` — the winner for ${esc(caption.audience)}` : ''}`
        : `Variant ${caption.label} (round ${caption.round}) in all formats, for <@${caption.for}>`,
    );
    if (up.some((u) => !u.shareTs)) this.s.logger?.warn('files not shown as shared in time', { round: round.id });
  }

  async archive(round: Round, file: ArchiveToShare, comment: string): Promise<void> {
    await this.thread.uploadToThread(
      round.channel,
      round.threadTs,
      [{ bytes: file.bytes, filename: file.filename, title: file.title }],
      comment,
    );
  }

  async tell(to: Recipient, notice: Notice): Promise<void> {
    if (notice.kind === 'cannot_post' && notice.reason !== 'other') {
      const message = notInChannelMessage({
        channelId: notice.channel,
        kind: cannotPostKind({ channel: notice.channel, channelName: notice.channelName, reason: notice.reason }),
        botName: await this.thread.botName(),
      });
      // Not ephemerally in the conversation the bot cannot post in: the command's reply address, or a DM.
      return this.thread.tell({ user: to.user, replyUrl: to.replyUrl }, message);
    }
    await this.thread.tell(to, noticeMessage(notice));
  }

  flush(): Promise<void> {
    return this.thread.flush();
  }
}
