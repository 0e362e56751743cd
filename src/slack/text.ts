/**
 * Text that comes from Slack, made plain once, at the edge, by where it came from.
 *
 * Slash-command text and message events arrive in Slack's wire form: `&`, `<` and `>` typed by a
 * person are the entities `&amp;` `&lt;` `&gt;`, and mentions, channels and links are markup in
 * angle brackets (docs.slack.dev/messaging/formatting-message-text#escaping,
 * docs.slack.dev/interactivity/implementing-slash-commands#app_command_handling). Modal
 * `plain_text_input` values arrive as typed (docs.slack.dev/reference/interaction-payloads/view-interactions-payload#view_submission):
 * they are not decoded. What the bot stores and hands to the copywriter is plain text; the
 * Block Kit builders escape it exactly once when they render it (blocks/kit.ts `esc`).
 */

/** One piece of markup, as people would read it. */
function readable(inner: string): string {
  const [target, label] = splitOnce(inner, '|');
  if (target.startsWith('@')) return label ? `@${label.replace(/^@/, '')}` : target;
  if (target.startsWith('#')) return label ? `#${label.replace(/^#/, '')}` : target;
  if (target.startsWith('!')) {
    // <!here>, <!channel>, <!everyone>, <!subteam^ID|@team>, <!date^…|fallback>
    if (label) return label;
    return `@${target.slice(1).split('^')[0]}`;
  }
  const url = target.replace(/^mailto:/, '');
  if (!label || label === url || label === target) return url;
  return `${label} (${url})`;
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

/**
 * Slack's wire text (a command's `text`, a message event's `text`) as plain text: markup made
 * readable ("<@U1|ana>" → "@ana", "<https://x|site>" → "site (https://x)"), then the three
 * entities decoded. Once: "&amp;lt;" becomes "&lt;", as the person typed it.
 */
export function fromSlack(wire: string): string {
  return wire
    .replace(/<([^<>]*)>/g, (_, inner: string) => readable(inner))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Whether `wire` mentions this user (`<@U…>`, or `<@U…|name>` when the app asks Slack to escape names). */
export function mentions(wire: string, userId: string): boolean {
  return new RegExp(`<@${userId}(?:\\|[^>]*)?>`).test(wire);
}

/** `wire` without the mentions of this user. */
export function withoutMention(wire: string, userId: string): string {
  return wire.replace(new RegExp(`<@${userId}(?:\\|[^>]*)?>`, 'g'), ' ');
}
