/**
 * A `RoundView` that shows nothing and remembers everything it was asked to show, in order,
 * so round rules can be tested without any Slack. Message ids are made up (`T1`, `M1`, …);
 * tally reads happen at once (no coalescing) so each call records the state it saw.
 */
import type { Round, VariantRecord } from '../../src/rounds/types.ts';
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
} from '../../src/rounds/view.ts';

export type Shown =
  | { kind: 'openThread'; round: Round; cost: CostFacts }
  | { kind: 'status'; round: Round; line: StatusLine; cost: CostFacts }
  | { kind: 'inspiration'; round: Round; shown: InspirationShown }
  | { kind: 'variant'; round: Round; variant: VariantRecord; image: Uint8Array; replace?: PostedVariant; posted: PostedVariant }
  | { kind: 'notes'; round: Round; notes: RoundNote[] }
  | { kind: 'tally'; roundId: string; snapshot: TallySnapshot; post: boolean }
  | { kind: 'failed'; round: Round; failure: Failure }
  | { kind: 'closed'; snapshot: TallySnapshot }
  | { kind: 'files'; round: Round; files: FileToShare[]; caption: FilesCaption }
  | { kind: 'archive'; round: Round; file: ArchiveToShare; comment: string }
  | { kind: 'tell'; to: Recipient; notice: Notice };

export interface RecordingView extends RoundView {
  shown: Shown[];
  /** Everything of one kind, in order. */
  of<K extends Shown['kind']>(kind: K): Extract<Shown, { kind: K }>[];
  /** What `openThread` answers next (default: a new thread). */
  refuseThread?: { reason: 'not_in_channel' | 'channel_not_found' | 'other'; detail: string };
  /** Showing a variant in place of an earlier one fails with this (the image never showed). */
  failReplace?: Error;
}

export function recordingView(): RecordingView {
  let n = 0;
  let threads = 0;
  const shown: Shown[] = [];
  const v: RecordingView = {
    shown,
    of: (kind) => shown.filter((s) => s.kind === kind) as never,
    async openThread(round, cost) {
      shown.push({ kind: 'openThread', round, cost });
      if (v.refuseThread) return { ok: false, ...v.refuseThread };
      threads += 1;
      return { ok: true, threadTs: `T${threads}`, permalink: `https://example.test/T${threads}` };
    },
    async status(round, line, cost) {
      shown.push({ kind: 'status', round, line, cost });
    },
    async inspiration(round, s) {
      shown.push({ kind: 'inspiration', round, shown: s });
    },
    async variants(round, items, onPosted) {
      for (const { variant, image, replace } of items) {
        if (replace && v.failReplace) throw v.failReplace;
        n += 1;
        const posted = { messageTs: replace?.messageTs ?? `M${n}`, fileId: `F${n}` };
        shown.push({ kind: 'variant', round, variant, image, replace, posted });
        await onPosted(variant.id, posted);
      }
    },
    async notes(round, notes) {
      shown.push({ kind: 'notes', round, notes });
    },
    async tally(roundId, read, opts = {}) {
      const snapshot = await read();
      shown.push({ kind: 'tally', roundId, snapshot, post: !!opts.post });
      if (opts.post) {
        n += 1;
        return `TALLY${n}`;
      }
      return undefined;
    },
    async failed(round, failure) {
      shown.push({ kind: 'failed', round, failure });
    },
    async closed(read) {
      shown.push({ kind: 'closed', snapshot: await read() });
    },
    async files(round, files, caption) {
      shown.push({ kind: 'files', round, files, caption });
    },
    async archive(round, file, comment) {
      shown.push({ kind: 'archive', round, file, comment });
    },
    async tell(to, notice) {
      shown.push({ kind: 'tell', to, notice });
    },
    async flush() {},
  };
  return v;
}
