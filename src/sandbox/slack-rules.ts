/**
 * Rules Slack documents for what an app sends and receives, enforced by the stand-in
 * (web-api.ts, web-api-files.ts, deliver.ts). Each names the page it comes from. When the
 * documentation leaves a case open, the stand-in refuses: a bot that passes here must not
 * depend on Slack being lenient.
 */

/** What a block may be checked against: the files of the workspace, for `slack_file` references. */
export interface FileLookup {
  /** Why the file cannot be shown in a block, or undefined when it can. */
  slackFileProblem(ref: { id?: string; url?: string }): string | undefined;
}

/** Every `slack_file` reference in blocks: image blocks, and image elements in sections and contexts. */
function slackFiles(b: Record<string, unknown>): { ref: unknown; where: string }[] {
  const out: { ref: unknown; where: string }[] = [];
  if (b.type === 'image' && b.slack_file !== undefined) out.push({ ref: b.slack_file, where: 'slack_file' });
  const acc = b.accessory as Record<string, unknown> | undefined;
  if (acc?.type === 'image' && acc.slack_file !== undefined) out.push({ ref: acc.slack_file, where: 'accessory/slack_file' });
  if (b.type === 'context' && Array.isArray(b.elements)) {
    for (const [j, el] of (b.elements as Record<string, unknown>[]).entries())
      if (el?.type === 'image' && el.slack_file !== undefined) out.push({ ref: el.slack_file, where: `elements/${j}/slack_file` });
  }
  return out;
}

/**
 * Slack's own checks on blocks, enough to catch what a real workspace refuses. With `files`,
 * `slack_file` references are checked too: docs.slack.dev/reference/block-kit/composition-objects/slack-file-object
 * ("must be an image", "either the URL or ID", "only png, jpg, jpeg, and gif", "the user posting
 * these blocks must have access to this file").
 */
export function checkBlocks(blocks: unknown, max = 50, files?: FileLookup): string | undefined {
  if (!Array.isArray(blocks)) return 'blocks must be an array';
  // docs.slack.dev/reference/block-kit/blocks: up to 50 blocks in a message, 100 in a modal or Home tab.
  if (blocks.length > max) return `no more than ${max} items allowed [json-pointer:/blocks]`;
  const ids = new Set<string>();
  for (const [i, b] of blocks.entries()) {
    if (!b || typeof b !== 'object' || typeof (b as { type?: unknown }).type !== 'string')
      return `missing block type [json-pointer:/blocks/${i}]`;
    const block = b as Record<string, unknown>;
    const id = block.block_id;
    if (typeof id === 'string') {
      // docs.slack.dev/reference/block-kit/blocks: block_id at most 255 characters, unique in a message.
      if (id.length > 255) return `block_id too long [json-pointer:/blocks/${i}/block_id]`;
      if (ids.has(id)) return `duplicate block_id ${id} [json-pointer:/blocks/${i}]`;
      ids.add(id);
    }
    const text = block.text as { text?: unknown } | undefined;
    // docs.slack.dev/reference/block-kit/blocks/section-block: text at most 3000 characters.
    if (text && typeof text.text === 'string' && block.type === 'section' && text.text.length > 3000) {
      return `must be less than 3001 characters [json-pointer:/blocks/${i}/text/text]`;
    }
    if (block.type === 'section') {
      // docs.slack.dev/reference/block-kit/blocks/section-block: text or fields; at most 10 fields of
      // at most 2000 characters each.
      const fields = block.fields;
      if (!text && !Array.isArray(fields)) return `must provide either text or fields [json-pointer:/blocks/${i}]`;
      if (Array.isArray(fields)) {
        if (fields.length > 10) return `no more than 10 items allowed [json-pointer:/blocks/${i}/fields]`;
        for (const [j, f] of fields.entries()) {
          const t = (f as { text?: unknown } | null)?.text;
          if (typeof t !== 'string') return `missing text [json-pointer:/blocks/${i}/fields/${j}]`;
          if (t.length > 2000) return `must be less than 2001 characters [json-pointer:/blocks/${i}/fields/${j}/text]`;
        }
      }
    }
    if (block.type === 'image') {
      // docs.slack.dev/reference/block-kit/blocks/image-block: image_url or slack_file, and alt_text (≤ 2000).
      if (!block.image_url && !block.slack_file) return `image needs image_url or slack_file [json-pointer:/blocks/${i}]`;
      if (typeof block.alt_text !== 'string' || block.alt_text.length > 2000) return `missing alt_text [json-pointer:/blocks/${i}]`;
    }
    for (const { ref, where } of slackFiles(block)) {
      const r = ref as { id?: unknown; url?: unknown } | undefined;
      const hasId = typeof r?.id === 'string' && r.id !== '';
      const hasUrl = typeof r?.url === 'string' && r.url !== '';
      if (hasId === hasUrl) return `slack_file needs exactly one of id and url [json-pointer:/blocks/${i}/${where}]`;
      const problem = files?.slackFileProblem({ id: hasId ? String(r?.id) : undefined, url: hasUrl ? String(r?.url) : undefined });
      if (problem) return `invalid slack file: ${problem} [json-pointer:/blocks/${i}/${where}]`;
    }
    const elements = block.elements;
    if (Array.isArray(elements)) {
      for (const [j, el] of elements.entries()) {
        const value = (el as { value?: unknown }).value;
        // docs.slack.dev/reference/block-kit/block-elements/button-element: value at most 2000 characters.
        if (typeof value === 'string' && value.length > 2000) return `value too long [json-pointer:/blocks/${i}/elements/${j}/value]`;
      }
    }
  }
  return undefined;
}

/**
 * block_ids an update may not use: the ones the message already has. Slack: "block_id should be
 * unique for each message and each iteration of a message. If a message is updated, use a new
 * block_id" (docs.slack.dev/reference/block-kit/blocks). Slack may only render the old block; the
 * stand-in refuses, so a bot that re-sends old ids is caught.
 */
export function reusedBlockId(previous: unknown[] | undefined, next: unknown[]): string | undefined {
  const old = new Set((previous ?? []).map((b) => (b as { block_id?: unknown }).block_id).filter((x) => typeof x === 'string'));
  for (const b of next) {
    const id = (b as { block_id?: unknown }).block_id;
    if (typeof id === 'string' && old.has(id)) return id;
  }
  return undefined;
}

/**
 * The bot scopes an app installed from the project's `manifest.yml` holds. The stand-in grants
 * these and no more, so a method the manifest does not cover fails here as it would in a real
 * workspace (test/unit/sandbox/scopes.test.ts keeps the two lists equal).
 */
export const INSTALLED_BOT_SCOPES: readonly string[] = [
  'commands',
  'chat:write',
  'files:write',
  'files:read',
  'reactions:read',
  'reactions:write',
  'channels:history',
  'groups:history',
  'users:read',
];

/** A conversation's scope family: public channel, private channel, direct message, group DM. */
export function conversationScope(kind: 'read' | 'history', ch: { isPrivate: boolean; isIm?: boolean; isMpim?: boolean }): string {
  const family = ch.isIm ? 'im' : ch.isMpim ? 'mpim' : ch.isPrivate ? 'groups' : 'channels';
  return `${family}:${kind}`;
}

/**
 * The bot scope each Web API method of the stand-in needs, from the method's page
 * (docs.slack.dev/reference/methods/<method>, "Required scopes"): `null` where the page names
 * none, `'conversation'` where it depends on the kind of conversation (the handler checks it with
 * `conversationScope`). A method missing here is refused: the stand-in does not guess.
 */
export const METHOD_SCOPES: Readonly<Record<string, string | null | 'conversation'>> = {
  'api.test': null,
  'auth.test': null,
  // An app-level token's method: connections:write on the app token, not a bot scope.
  'apps.connections.open': null,
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'chat.getPermalink': null,
  'reactions.add': 'reactions:write',
  'reactions.remove': 'reactions:write',
  'users.info': 'users:read',
  'users.list': 'users:read',
  // channels:read, groups:read, im:read or mpim:read, by the conversation's kind.
  'conversations.info': 'conversation',
  // channels:history, groups:history, im:history or mpim:history, by the conversation's kind.
  'conversations.replies': 'conversation',
  'views.open': null,
  'views.push': null,
  'views.update': null,
  'views.publish': null,
  'files.getUploadURLExternal': 'files:write',
  'files.completeUploadExternal': 'files:write',
  'files.info': 'files:read',
  'files.delete': 'files:write',
};

/** Image types an image block shows (the slack file object page): others make the whole message invalid. */
export const BLOCK_IMAGE_TYPES = new Set(['png', 'jpg', 'jpeg', 'gif']);

/**
 * What a person types, as Slack hands it to apps: `&`, `<` and `>` as entities (docs.slack.dev/messaging/formatting-message-text#escaping;
 * slash-command text and message events arrive this way). Mentions, channels and links the
 * client made into markup (`<@U…>`, `<#C…>`, `<!here>`, `<https://…>`) stay markup.
 */
export function asTyped(typed: string): string {
  const markup = /<(?:@[UW][A-Z0-9]+|#C[A-Z0-9]+|![a-z]+(?:\^[^<>]*)?|(?:https?|mailto):[^<>\s]+)(?:\|[^<>]*)?>/g;
  const out: string[] = [];
  let at = 0;
  for (let m = markup.exec(typed); m; m = markup.exec(typed)) {
    out.push(escapeEntities(typed.slice(at, m.index)), m[0]);
    at = m.index + m[0].length;
  }
  out.push(escapeEntities(typed.slice(at)));
  return out.join('');
}

function escapeEntities(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Mentions in a message that notify people: `<!channel>`, `<!here>`, `<!everyone>` (everyone in
 * the conversation) and `<@U…>` (one person) (docs.slack.dev/messaging/formatting-message-text#mentioning-users,
 * #special-mentions). Escaped ones (`&lt;!channel&gt;`) are text, not mentions.
 */
export function notifyingMentions(mrkdwn: string): string[] {
  return [...mrkdwn.matchAll(/<(!(?:channel|here|everyone)|@[UW][A-Z0-9]+)(?:\|[^<>]*)?>/g)].map((m) => m[1]);
}

/**
 * Reaction names: Slack stores and reports an emoji by its canonical name whatever alias was
 * typed (`:thumbsup:` is `+1`), with a skin tone as a suffix (`+1::skin-tone-3`)
 * (docs.slack.dev/reference/events/reaction_added; the names are iamcal/emoji-data's, which
 * Slack uses). The aliases of the emoji people use to vote:
 */
const REACTION_ALIASES: Record<string, string> = {
  thumbsup: '+1',
  thumbsdown: '-1',
  heart: 'heart',
  red_heart: 'heart',
  star: 'star',
  fire: 'fire',
  flame: 'fire',
  tada: 'tada',
  party_popper: 'tada',
  white_check_mark: 'white_check_mark',
  raised_hands: 'raised_hands',
  clap: 'clap',
  ok_hand: 'ok_hand',
  heart_eyes: 'heart_eyes',
  '100': '100',
  hundred_points: '100',
  trophy: 'trophy',
  rocket: 'rocket',
  eyes: 'eyes',
};

/** The name Slack reports for a reaction typed as `name` (an alias, perhaps with a skin tone). */
export function canonicalReaction(name: string): string {
  const [base, ...rest] = name.replace(/^:|:$/g, '').split('::');
  const canonical = REACTION_ALIASES[base] ?? base;
  return [canonical, ...rest].join('::');
}

/**
 * What Slack's file host answers for a file the token may not see: not an error, but its
 * sign-in page, as HTML with status 200 (the bot's `files:read` covers files shared where it is
 * a member: docs.slack.dev/messaging/working-with-files#authenticating).
 */
export const SIGN_IN_PAGE =
  '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Slack</title></head><body><h1>Sign in to Slack</h1><p>Enter your workspace’s Slack URL.</p></body></html>';

/**
 * One rate-limit bucket: `burst` calls at once, then `perMinute` a minute. Slack answers a call
 * past it with HTTP 429 and `Retry-After` in seconds (docs.slack.dev/apis/web-api/rate-limits).
 */
export class RateLimit {
  private tokens: number;
  private at = Date.now();

  constructor(
    private readonly perMinute: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Takes one call; returns the seconds to wait instead when there is none left. */
  take(): number | undefined {
    const now = Date.now();
    const perMs = this.perMinute / 60_000;
    this.tokens = Math.min(this.burst, this.tokens + (now - this.at) * perMs);
    this.at = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / perMs / 1000));
  }
}

/**
 * The limits the stand-in keeps by default (docs.slack.dev/apis/web-api/rate-limits): `chat.update`
 * is Tier 3 ("50+ per minute") per app per workspace; `chat.postMessage` is special, about one
 * message a second per channel, allowing short bursts.
 */
export const SLACK_LIMITS = { updatesPerMinute: 50, updateBurst: 20, postsPerSecond: 1, postBurst: 10 };
