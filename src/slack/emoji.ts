/**
 * Reaction names as Slack reports them: by the emoji's canonical name whatever alias someone
 * used (`:thumbsup:` arrives as `+1`), and with a skin tone as a suffix (`+1::skin-tone-3`)
 * (docs.slack.dev/reference/events/reaction_added; Slack's names are iamcal/emoji-data's). The
 * configured vote reaction may be written either way and still matches.
 */

/** Aliases of the emoji people use to vote, by canonical name. */
const ALIASES: Record<string, string[]> = {
  '+1': ['thumbsup'],
  '-1': ['thumbsdown'],
  heart: ['red_heart'],
  fire: ['flame'],
  tada: ['party_popper'],
  '100': ['hundred_points'],
};

const CANONICAL = new Map<string, string>(Object.entries(ALIASES).flatMap(([name, aliases]) => aliases.map((a) => [a, name])));

/** The canonical name of a reaction, without colons or skin tone. */
export function canonicalEmoji(name: string): string {
  const base = name.replace(/^:|:$/g, '').split('::')[0].toLowerCase();
  return CANONICAL.get(base) ?? base;
}

/** Whether a reaction Slack reported is the configured one (any alias, any skin tone). */
export function sameEmoji(reported: string, configured: string): boolean {
  return canonicalEmoji(reported) === canonicalEmoji(configured);
}
