/**
 * A creative's audience segment lives in its tags as `audience:<segment>` (lower case, single
 * spaces). A tag rather than a column: tables written before audiences existed need no schema
 * change to open, search, or be filtered by audience (their rows simply have no such tag).
 */

export const AUDIENCE_TAG_PREFIX = 'audience:';

/** One spelling per segment: "Parents  of Toddlers " and "parents of toddlers" are the same audience. */
export function normaliseAudience(audience: string): string {
  return audience.replace(/\s+/g, ' ').trim().toLowerCase();
}

export function audienceTag(audience: string): string {
  return `${AUDIENCE_TAG_PREFIX}${normaliseAudience(audience)}`;
}

/** The segment a creative's tags name, if any. */
export function audienceOf(tags: readonly string[]): string | undefined {
  const tag = tags.find((t) => t.startsWith(AUDIENCE_TAG_PREFIX));
  return tag ? tag.slice(AUDIENCE_TAG_PREFIX.length) : undefined;
}
