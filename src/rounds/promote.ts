/**
 * A round's winner goes back into the creative library with its provenance (the brief, the
 * round, the votes, who closed it, where the thread is), so later briefs find it as
 * inspiration and the ranking learns from it.
 */
import { LibraryError, RoundError } from '../errors.ts';
import type { Library, NewCreative } from '../library/types.ts';
import type { FormatName } from '../vocabulary.ts';
import type { VariantAssets } from './assets.ts';
import type { CloseOutcome } from './service.ts';

/** The provenance stored with a promoted winner (JSON in the library's `provenance` column). */
export interface WinnerProvenance {
  brief: string;
  round: number;
  roundId: string;
  variant: string;
  votes: Record<string, number>;
  total: number;
  tie: boolean;
  closedBy: string | null;
  channel: string;
  thread: string;
}

/** The formats a variant has images for, in the order the bot made them. */
export function formatsOf(assets: Pick<VariantAssets, 'images'>): FormatName[] {
  return (Object.keys(assets.images) as FormatName[]).filter((f) => assets.images[f]);
}

/** The library row for a closed round's winner (its square image when it has one). */
export function winnerCreative(o: CloseOutcome, assets: VariantAssets): NewCreative {
  const { round, winner, tally: t, decision } = o;
  if (!winner) throw new RoundError('NO_WINNER', 'a round without a winner has nothing to promote');
  const formats = formatsOf(assets);
  const main = formats.includes('square') ? 'square' : formats[0];
  const provenance: WinnerProvenance = {
    brief: round.brief,
    round: round.number,
    roundId: round.id,
    variant: winner.label,
    votes: Object.fromEntries(t.entries.map((e) => [e.label, e.votes])),
    total: t.total,
    tie: decision.tie,
    closedBy: round.closedBy,
    channel: round.channel,
    thread: round.threadTs,
  };
  return {
    image: (main ? assets.images[main] : undefined) ?? assets.preview,
    fileName: `winner-${round.id}-${winner.label}.png`,
    source: `winner:${round.id}`,
    brand: round.options.brand ?? '',
    channel: round.options.channel,
    format: main ?? 'square',
    headline: winner.headline,
    body: winner.body,
    cta: winner.cta,
    caption: `${winner.headline}. ${winner.body}`,
    tags: ['winner'],
    provenance: JSON.stringify(provenance),
  };
}

/**
 * Adds the winner to the library; returns its creative id. Throws when the library refused it,
 * with the library's reason.
 */
export async function promoteWinner(o: CloseOutcome, assets: VariantAssets, library: Pick<Library, 'add'>): Promise<string> {
  const added = await library.add([winnerCreative(o, assets)]);
  if (added.failed.length) throw new LibraryError('WINNER_REFUSED', added.failed.map((f) => f.reason).join('; '));
  const id = added.ids[0];
  if (!id) throw new LibraryError('WINNER_REFUSED', 'the library stored nothing');
  return id;
}
