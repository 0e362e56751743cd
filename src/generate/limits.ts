/**
 * Fitting copy into a channel's limits after generation. What the limits are (per channel,
 * with COPY_LIMITS overrides) is vocabulary: `src/vocabulary.ts`.
 */

/** Cuts at the last word boundary that fits (with "…"); CJK text (no spaces) at a character. */
export function trimToLimit(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  const room = chars.slice(0, max - 1).join('');
  const cut = room.search(/\s\S*$/u);
  const base = cut > max * 0.4 ? room.slice(0, cut) : room;
  return `${base.replace(/[\s,.;:!?–—-]+$/u, '')}…`;
}
