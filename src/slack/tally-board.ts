/**
 * The tally message of each round: posted once when voting opens, then rewritten as votes and
 * feedback come in, at most once per TALLY_UPDATE_MS per round (coalesced; the last state
 * always lands) and under the workspace's shared edit budget (thread.ts).
 */
import type { TallySnapshot } from '../rounds/view.ts';
import type { Message } from './blocks/kit.ts';
import { costLine, resultText, tallyMessage } from './blocks/round.ts';
import type { SlackThread } from './thread.ts';

export function tallyView(s: TallySnapshot): Message {
  const r = s.round;
  return tallyMessage({
    roundId: r.id,
    round: r.number,
    status: r.status,
    anonymous: r.options.anonymous,
    hideTally: r.options.hideTally,
    total: s.total,
    entries: s.entries,
    pendingFeedback: s.pendingFeedback,
    cost: costLine({ usd: r.costUsd, textCalls: r.textCalls, imageCalls: r.imageCalls, offline: r.offline }),
    closesAt: r.closesAt,
    result: s.result ? resultText(s.result) : undefined,
    approval: s.approval,
    afterVote: s.afterVote,
    segments: s.segments,
  });
}

export class TallyBoard {
  constructor(
    private readonly thread: Pick<SlackThread, 'post' | 'edit'>,
    private readonly opts: { gapMs: number },
  ) {}

  /** Shows the tally for the first time, in the round's thread; returns its message id. */
  async post(s: TallySnapshot): Promise<string> {
    return this.thread.post(s.round.channel, tallyView(s), s.round.threadTs);
  }

  /** Rewrites a shown tally from `read()` (nothing before it was first shown). */
  update(roundId: string, read: () => Promise<TallySnapshot>, opts: { now?: boolean } = {}): Promise<void> {
    return this.thread.edit(
      `tally:${roundId}`,
      async () => {
        const s = await read();
        if (!s.round.tallyTs) return undefined;
        return { channel: s.round.channel, ts: s.round.tallyTs, message: tallyView(s) };
      },
      { gapMs: this.opts.gapMs, now: opts.now },
    );
  }
}
