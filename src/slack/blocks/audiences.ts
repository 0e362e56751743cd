/**
 * Audience segments in the thread: a heading before each segment's variants, the segment on
 * each variant, and each segment's leader on the tally. Pure functions of plain data.
 */
import type { SegmentStanding } from '../../rounds/view.ts';
import { type Block, context, esc, LIMITS, type Message, section, truncate, truncateMrkdwn } from './kit.ts';

/**
 * The line before a segment's variants: they are written and ranked for this audience. A person
 * has one vote in each audience (the votes table's key, migration 6): the line says so, so nobody
 * holds back from backing a leader in each, or expects a second vote in one audience to add up.
 */
export function audienceHeadingMessage(p: { audience: string; labels: string[]; round: number }): Message {
  const who = esc(truncate(p.audience, 200));
  const variants = `variant${p.labels.length === 1 ? '' : 's'} ${p.labels.join(', ')}`;
  return {
    text: truncateMrkdwn(`For ${who}: ${variants} of round ${p.round}`, 3000),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: truncate(`For ${p.audience}`, LIMITS.headerText), emoji: false } },
      context(
        `Round ${p.round} · ${variants}, written and ranked for this audience. Each person has one vote in each audience: a vote here replaces only your vote for this audience, and this audience's leader is decided by the votes given to its variants.`,
      ),
    ],
  };
}

/** The segment a variant was made for, as a context line on its message. */
export function audienceLine(audience: string): string {
  return `:busts_in_silhouette: For *${esc(truncate(audience, 200))}*`;
}

/** Each segment's leader (or winner, once closed), one line per segment. */
export function segmentLeadersBlock(segments: SegmentStanding[], closed: boolean): Block | undefined {
  if (!segments.length) return undefined;
  const lines = segments.map((s) => {
    const who = esc(truncate(s.audience, 120));
    if (!s.leader) return `• *${who}* (${s.labels.join(', ')}): no votes yet`;
    const l = s.leader;
    const tie = l.tie ? ' (tie broken)' : '';
    return `• *${who}*: variant ${l.label}${tie} — “${esc(truncate(l.headline, 120))}” — ${l.votes} of ${s.votes} vote${s.votes === 1 ? '' : 's'}`;
  });
  const head = closed ? ':trophy: *Winner per audience*' : '*Leading per audience*';
  return section(truncateMrkdwn(`${head}\n${lines.join('\n')}`, LIMITS.sectionText), { block_id: 'tally-segments' });
}

/**
 * Where each audience's heading goes: before the first variant of each run of one audience
 * (variant id → its audience and that run's labels). Empty when no variant has an audience.
 */
export function audienceHeadings(
  items: { variant: { id: string; label: string; audience?: string } }[],
): Map<string, { audience: string; labels: string[] }> {
  const out = new Map<string, { audience: string; labels: string[] }>();
  let current: { audience: string; labels: string[] } | undefined;
  for (const { variant: v } of items) {
    if (!v.audience) {
      current = undefined;
      continue;
    }
    if (current?.audience !== v.audience) {
      current = { audience: v.audience, labels: [] };
      out.set(v.id, current);
    }
    current.labels.push(v.label);
  }
  return out;
}
