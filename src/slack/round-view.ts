/**
 * How a round looks in Slack: the `RoundView` the runner talks to, drawn with the Block Kit
 * builders in blocks/ and sent through thread.ts. The parent message carries the brief and
 * a live status line; the thread holds inspiration, variants, notes and the tally.
 */
import { describeError } from '../errors.ts';
import { squareThumbnail } from '../image/thumbnail.ts';
import type { Round, VariantRecord } from '../rounds/types.ts';
import type {
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
} from '../rounds/view.ts';
import { noticeMessage } from './blocks/ephemeral.ts';
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
import { type SlackThread, slackError } from './thread.ts';

export interface RoundViewSettings {
  voteReaction: string;
  /** A synthetic CLIP model is loaded: every parent says so. */
  synthetic: boolean;
  /** The parent's status line is edited at most this often. */
  statusGapMs?: number;
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
    const fileIds = await Promise.all(
      shown.items.map((h, i) =>
        h.thumbnail
          ? // Letterboxed: Slack crops an accessory image to a square, which cut portrait and landscape creatives.
            squareThumbnail(h.thumbnail)
              .then((png) => this.thread.uploadPrivate(png, `inspiration-${round.number}-${i + 1}.png`, `Past creative: ${h.headline}`))
              .catch(() => null)
          : null,
      ),
    );
    await this.thread.post(
      round.channel,
      inspirationMessage({
        round: round.number,
        state: shown.state,
        detail: shown.detail,
        synthetic: this.s.synthetic,
        hits: shown.items.map((h, i) => ({ ...h, fileId: fileIds[i] ?? undefined })),
      }),
      round.threadTs,
    );
  }

  async variant(round: Round, v: VariantRecord, image: Uint8Array, replace?: PostedVariant): Promise<PostedVariant> {
    const name = `round-${round.number}-variant-${v.label}${replace ? '-edit' : ''}.png`;
    const fileId = (await this.thread.uploadPrivate(image, name, variantAlt(v))) ?? replace?.fileId ?? null;
    const message = (id: string | null) =>
      variantMessage({
        round: round.number,
        variant: v,
        fileId: id,
        voteReaction: this.s.voteReaction,
        anonymous: round.options.anonymous,
      });
    if (replace) {
      await this.thread.update(round.channel, replace.messageTs, message(fileId));
      return { messageTs: replace.messageTs, fileId };
    }
    // A freshly uploaded file can take a moment before blocks may reference it.
    for (let attempt = 0; attempt < 3 && fileId; attempt++) {
      try {
        return { messageTs: await this.thread.post(round.channel, message(fileId), round.threadTs), fileId };
      } catch (e) {
        if (slackError(e) !== 'invalid_blocks') throw e;
        await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
      }
    }
    return { messageTs: await this.thread.post(round.channel, message(null), round.threadTs), fileId: null };
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

  async files(round: Round, files: FileToShare[], caption: FilesCaption): Promise<void> {
    const winner = caption.kind === 'winner';
    await this.thread.uploadToThread(
      round.channel,
      round.threadTs,
      files.map((f) => ({
        bytes: f.bytes,
        filename: `${winner ? 'winner-' : ''}round-${caption.round}-${caption.label}-${f.format}.png`,
        title: `${winner ? 'Winner' : 'Variant'} ${caption.label} · ${f.format}`,
      })),
      winner
        ? `:trophy: Variant ${caption.label} in all formats`
        : `Variant ${caption.label} (round ${caption.round}) in all formats, for <@${caption.for}>`,
    );
  }

  async tell(to: Recipient, notice: Notice): Promise<void> {
    const botName = notice.kind === 'cannot_post' ? await this.thread.botName() : undefined;
    await this.thread.tell(to, noticeMessage(notice, { botName }));
  }

  flush(): Promise<void> {
    return this.thread.flush();
  }
}
