/**
 * Block Kit JSON → HTML for the sandbox page. Pure: no I/O, no DOM. Everything that comes
 * from the bot is escaped; anything this renderer does not know becomes a visible
 * placeholder, so a new block type in the bot shows up as "unsupported" rather than as a
 * blank space or a crash.
 *
 * Interactive elements carry data attributes (`data-kind`, `data-action-id`,
 * `data-block-id`, `data-value`) that the page reads to build Slack-shaped payloads;
 * the renderer itself decides nothing.
 */

export interface RenderContext {
  /** Turns a `slack_file` reference (id or url) into a URL the page can load. */
  fileUrl?(ref: { id?: string; url?: string }): string | undefined;
  /** Display name for a user id (mentions). */
  userName?(id: string): string | undefined;
  /** Display name for a channel id (links like <#C123>). */
  channelName?(id: string): string | undefined;
  /** Turns an external image URL into one the page may load (e.g. a proxy); undefined keeps it. */
  imageUrl?(url: string): string | undefined;
}

type Json = Record<string, unknown>;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** The shortcodes the bot and people commonly use; others stay as `:name:`. */
export const EMOJI: Record<string, string> = {
  '+1': '👍',
  thumbsup: '👍',
  '-1': '👎',
  thumbsdown: '👎',
  eyes: '👀',
  fire: '🔥',
  heart: '❤️',
  tada: '🎉',
  trophy: '🏆',
  star: '⭐',
  star2: '🌟',
  sparkles: '✨',
  rocket: '🚀',
  warning: '⚠️',
  x: '❌',
  white_check_mark: '✅',
  heavy_check_mark: '✔️',
  ballot_box_with_check: '☑️',
  ballot_box_with_ballot: '🗳️',
  hourglass: '⌛',
  hourglass_flowing_sand: '⏳',
  lock: '🔒',
  unlock: '🔓',
  art: '🎨',
  frame_with_picture: '🖼️',
  pencil: '📝',
  memo: '📝',
  pencil2: '✏️',
  bar_chart: '📊',
  chart_with_upwards_trend: '📈',
  mag: '🔍',
  bulb: '💡',
  speech_balloon: '💬',
  books: '📚',
  robot_face: '🤖',
  medal: '🏅',
  first_place_medal: '🥇',
  second_place_medal: '🥈',
  third_place_medal: '🥉',
  crown: '👑',
  clap: '👏',
  raised_hands: '🙌',
  ok_hand: '👌',
  wave: '👋',
  thinking_face: '🤔',
  smile: '😄',
  slightly_smiling_face: '🙂',
  joy: '😂',
  heart_eyes: '😍',
  no_entry: '⛔',
  no_entry_sign: '🚫',
  information_source: 'ℹ️',
  question: '❓',
  exclamation: '❗',
  arrows_counterclockwise: '🔄',
  repeat: '🔁',
  recycle: '♻️',
  gear: '⚙️',
  wrench: '🔧',
  package: '📦',
  moneybag: '💰',
  dollar: '💵',
  money_with_wings: '💸',
  clock3: '🕒',
  alarm_clock: '⏰',
  stopwatch: '⏱️',
  bell: '🔔',
  inbox_tray: '📥',
  outbox_tray: '📤',
  arrow_down: '⬇️',
  arrow_up: '⬆️',
  arrow_right: '➡️',
  link: '🔗',
  paperclip: '📎',
  pushpin: '📌',
  dart: '🎯',
  zap: '⚡',
  sunglasses: '😎',
  test_tube: '🧪',
  construction: '🚧',
  large_green_circle: '🟢',
  large_yellow_circle: '🟡',
  red_circle: '🔴',
  white_circle: '⚪',
  black_circle: '⚫',
  large_blue_circle: '🔵',
  green_heart: '💚',
  blue_heart: '💙',
  purple_heart: '💜',
  '100': '💯',
  muscle: '💪',
  pray: '🙏',
  point_right: '👉',
  point_up: '☝️',
  busts_in_silhouette: '👥',
  bust_in_silhouette: '👤',
  ghost: '👻',
  shrug: '🤷',
  one: '1️⃣',
  two: '2️⃣',
  three: '3️⃣',
  four: '4️⃣',
  five: '5️⃣',
  a: '🅰️',
  b: '🅱️',
};

/** `:name:` → emoji where known; unknown names stay as written. Input must already be escaped. */
export function emojify(escaped: string): string {
  return escaped.replace(/:([a-z0-9_+-]+):/g, (m, name: string) => EMOJI[name] ?? m);
}

/** Slack escapes &, < and > in message text; undo that before escaping for HTML. */
function unslack(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function safeHref(url: string): string | undefined {
  const u = url.trim();
  return /^(https?:|mailto:)/i.test(u) ? u : undefined;
}

function renderControl(inner: string, ctx: RenderContext): string {
  const [target, label] = splitOnce(inner, '|');
  const shown = label !== undefined ? unslack(label) : undefined;
  if (target.startsWith('@')) {
    const id = target.slice(1);
    const name = shown ?? ctx.userName?.(id) ?? id;
    return `<span class="bk-mention" data-user="${escapeHtml(id)}">@${escapeHtml(name)}</span>`;
  }
  if (target.startsWith('#')) {
    const id = target.slice(1);
    const name = shown ?? ctx.channelName?.(id) ?? id;
    return `<span class="bk-mention">#${escapeHtml(name)}</span>`;
  }
  if (target.startsWith('!')) {
    const cmd = target.slice(1);
    if (cmd.startsWith('date^')) return escapeHtml(slackDate(cmd) ?? shown ?? cmd);
    if (cmd.startsWith('subteam^')) return `<span class="bk-mention">@${escapeHtml(shown ?? cmd.slice(8))}</span>`;
    return `<span class="bk-mention">@${escapeHtml(shown ?? cmd)}</span>`;
  }
  const href = safeHref(unslack(target));
  const text = escapeHtml(shown ?? unslack(target));
  return href ? `<a href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer">${text}</a>` : text;
}

/** `<!date^1700000000^{date_short_pretty} at {time}|fallback>` → "2023-11-14 22:13 UTC". */
function slackDate(cmd: string): string | undefined {
  const epoch = Number(cmd.split('^')[1]);
  if (!Number.isFinite(epoch) || epoch <= 0) return undefined;
  return `${new Date(epoch * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

// Inline formatting on already-escaped text. Slack requires the markers to sit at word
// boundaries, so "2*3*4" or snake_case_names stay as they are.
const BOUND_L = '(^|[\\s(\\[{"\'“‘>~_*])';
const BOUND_R = '(?=$|[\\s)\\]}.,!?:;"\'”’<~_*-])';
const INLINE: [RegExp, string][] = [
  [new RegExp(`${BOUND_L}\\*(?!\\s)([^*\\n]+?)\\*${BOUND_R}`, 'g'), '$1<b>$2</b>'],
  [new RegExp(`${BOUND_L}_(?!\\s)([^_\\n]+?)_${BOUND_R}`, 'g'), '$1<i>$2</i>'],
  [new RegExp(`${BOUND_L}~(?!\\s)([^~\\n]+?)~${BOUND_R}`, 'g'), '$1<s>$2</s>'],
];

function formatInline(escaped: string): string {
  let s = escaped;
  // Twice, so nested markers (*_bold italic_*) both apply.
  for (let pass = 0; pass < 2; pass++) for (const [re, rep] of INLINE) s = s.replace(re, rep);
  return s;
}

/**
 * Slack mrkdwn subset → HTML: *bold*, _italic_, ~strike~, `code`, ```pre```, > quotes,
 * <url|text> links, <@U…> mentions, <#C…> channels, <!here>, :emoji:, newlines.
 */
export function renderMrkdwn(text: unknown, ctx: RenderContext = {}): string {
  const src = String(text ?? '');
  // Code first: its contents are shown verbatim (no formatting, no emoji, no links).
  const slots: string[] = [];
  const hold = (html: string) => {
    slots.push(html);
    return `\u0000${slots.length - 1}\u0000`;
  };
  let s = src.replace(/```([\s\S]*?)```/g, (_m, code: string) => hold(`<pre class="bk-pre">${escapeHtml(unslack(code))}</pre>`));
  s = s.replace(/`([^`\n]+)`/g, (_m, code: string) => hold(`<code>${escapeHtml(unslack(code))}</code>`));
  s = s.replace(/<([^<>\n]+)>/g, (_m, inner: string) => hold(renderControl(inner, ctx)));
  const lines = s.split('\n').map((line) => {
    const quote = /^(&gt;|>)\s?/.exec(line);
    const body = quote ? line.slice(quote[0].length) : line;
    const html = formatInline(emojify(escapeHtml(unslack(body))));
    return quote ? `<span class="bk-quote">${html}</span>` : html;
  });
  const joined = lines.join('<br>');
  return joined.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => slots[Number(i)]);
}

/** A text object (plain_text or mrkdwn) → HTML. */
export function renderText(obj: unknown, ctx: RenderContext = {}): string {
  if (typeof obj === 'string') return escapeHtml(obj);
  if (!isObj(obj)) return '';
  if (obj.type === 'mrkdwn') return renderMrkdwn(obj.text, ctx);
  const plain = escapeHtml(obj.text);
  return obj.emoji === false ? plain : emojify(plain);
}

/** Plain text of a text object, for option labels and alt text. */
export function textOf(obj: unknown): string {
  if (typeof obj === 'string') return obj;
  if (isObj(obj)) return String(obj.text ?? '');
  return '';
}

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function attr(name: string, v: unknown): string {
  return v === undefined || v === null ? '' : ` ${name}="${escapeHtml(v)}"`;
}

/** A visible stand-in for something the renderer does not know. */
export function placeholder(what: string, type: unknown): string {
  return `<div class="bk-unknown" data-unknown="${escapeHtml(type)}">Unsupported ${escapeHtml(what)}: <code>${escapeHtml(type ?? '(no type)')}</code></div>`;
}

function imageSrc(el: Json, ctx: RenderContext): string | undefined {
  if (typeof el.image_url === 'string') return ctx.imageUrl?.(el.image_url) ?? el.image_url;
  if (isObj(el.slack_file)) {
    const ref = { id: el.slack_file.id as string | undefined, url: el.slack_file.url as string | undefined };
    return ctx.fileUrl?.(ref) ?? ref.url;
  }
  return undefined;
}

function renderImg(el: Json, ctx: RenderContext, cls: string): string {
  const src = imageSrc(el, ctx);
  const alt = escapeHtml(el.alt_text);
  if (!src) return `<span class="${cls} bk-missing" title="${alt}">image not found</span>`;
  return `<img class="${cls}" src="${escapeHtml(src)}" alt="${alt}" title="${alt}" loading="lazy">`;
}

function confirmAttr(el: Json): string {
  if (!isObj(el.confirm)) return '';
  const c = el.confirm;
  const msg = [textOf(c.title), textOf(c.text)].filter(Boolean).join('\n\n');
  return attr('data-confirm', msg || 'Are you sure?');
}

function optionValue(o: unknown): string {
  return isObj(o) ? String(o.value ?? '') : '';
}

function renderOptions(options: unknown[], selected: Set<string>): string {
  return options
    .map((o) => {
      if (!isObj(o)) return '';
      const v = optionValue(o);
      return `<option value="${escapeHtml(v)}"${selected.has(v) ? ' selected' : ''}>${escapeHtml(textOf(o.text))}</option>`;
    })
    .join('');
}

function renderOptionGroups(el: Json, selected: Set<string>): string {
  if (Array.isArray(el.option_groups)) {
    return el.option_groups
      .map((g) =>
        isObj(g) ? `<optgroup label="${escapeHtml(textOf(g.label))}">${renderOptions(arr(g.options), selected)}</optgroup>` : '',
      )
      .join('');
  }
  return renderOptions(arr(el.options), selected);
}

function initialValues(el: Json): Set<string> {
  const out = new Set<string>();
  if (isObj(el.initial_option)) out.add(optionValue(el.initial_option));
  for (const o of arr(el.initial_options)) out.add(optionValue(o));
  return out;
}

function common(el: Json, blockId: string): string {
  return `${attr('data-action-id', el.action_id)}${attr('data-block-id', blockId)}`;
}

/** An interactive element in a section accessory or an actions block. */
function renderActionElement(el: unknown, blockId: string, ctx: RenderContext): string {
  if (!isObj(el)) return placeholder('element', undefined);
  switch (el.type) {
    case 'button': {
      const style = el.style === 'primary' || el.style === 'danger' ? ` bk-${el.style}` : '';
      if (typeof el.url === 'string' && safeHref(el.url)) {
        return `<a class="bk-button${style}" href="${escapeHtml(el.url)}" target="_blank" rel="noopener noreferrer" data-kind="button"${common(el, blockId)}${attr('data-value', el.value)}>${renderText(el.text, ctx)}</a>`;
      }
      return `<button type="button" class="bk-button${style}" data-kind="button"${common(el, blockId)}${attr('data-value', el.value)}${confirmAttr(el)}>${renderText(el.text, ctx)}</button>`;
    }
    case 'overflow':
      return `<select class="bk-overflow" data-kind="overflow" aria-label="More actions"${common(el, blockId)}${confirmAttr(el)}><option value="" selected>⋯</option>${renderOptions(arr(el.options), new Set())}</select>`;
    case 'static_select': {
      const sel = initialValues(el);
      const ph = el.placeholder
        ? `<option value=""${sel.size ? '' : ' selected'} disabled>${escapeHtml(textOf(el.placeholder))}</option>`
        : '';
      return `<select class="bk-select" data-kind="static_select"${common(el, blockId)}${confirmAttr(el)}>${ph}${renderOptionGroups(el, sel)}</select>`;
    }
    case 'image':
      return renderImg(el, ctx, 'bk-accessory-image');
    default:
      return placeholder('element', el.type);
  }
}

function renderField(f: unknown, ctx: RenderContext): string {
  return `<div class="bk-field">${renderText(f, ctx)}</div>`;
}

/** A form control inside an input block (modals). */
function renderInputElement(el: unknown, blockId: string, ctx: RenderContext): string {
  if (!isObj(el)) return placeholder('input element', undefined);
  const base = `${common(el, blockId)}${attr('data-kind', el.type)}`;
  const ph = attr('placeholder', el.placeholder ? textOf(el.placeholder) : undefined);
  switch (el.type) {
    case 'plain_text_input': {
      const len = `${attr('maxlength', el.max_length)}${attr('minlength', el.min_length)}`;
      if (el.multiline) return `<textarea class="bk-input" rows="4"${base}${ph}${len}>${escapeHtml(el.initial_value)}</textarea>`;
      return `<input class="bk-input" type="text"${base}${ph}${len}${attr('value', el.initial_value)}>`;
    }
    case 'number_input':
      return `<input class="bk-input" type="number"${base}${ph}${attr('min', el.min_value)}${attr('max', el.max_value)}${attr('step', el.is_decimal_allowed ? 'any' : '1')}${attr('value', el.initial_value)}>`;
    case 'url_text_input':
      return `<input class="bk-input" type="url"${base}${ph}${attr('value', el.initial_value)}>`;
    case 'email_text_input':
      return `<input class="bk-input" type="email"${base}${ph}${attr('value', el.initial_value)}>`;
    case 'static_select': {
      const sel = initialValues(el);
      const first = `<option value=""${sel.size ? '' : ' selected'}>${escapeHtml(el.placeholder ? textOf(el.placeholder) : 'Choose…')}</option>`;
      return `<select class="bk-select"${base}>${first}${renderOptionGroups(el, sel)}</select>`;
    }
    case 'multi_static_select': {
      const sel = initialValues(el);
      return `<select class="bk-select" multiple${base}${attr('data-max', el.max_selected_items)}>${renderOptionGroups(el, sel)}</select>`;
    }
    case 'checkboxes':
    case 'radio_buttons': {
      const sel = initialValues(el);
      const type = el.type === 'checkboxes' ? 'checkbox' : 'radio';
      const items = arr(el.options)
        .map((o, i) => {
          if (!isObj(o)) return '';
          const v = optionValue(o);
          const desc = o.description ? `<span class="bk-desc">${renderText(o.description, ctx)}</span>` : '';
          return `<label class="bk-check"><input type="${type}" name="${escapeHtml(`${blockId}:${String(el.action_id)}`)}" value="${escapeHtml(v)}" data-index="${i}"${sel.has(v) ? ' checked' : ''}> ${renderText(o.text, ctx)}${desc}</label>`;
        })
        .join('');
      return `<div class="bk-checks"${base}>${items}</div>`;
    }
    case 'file_input': {
      const types = arr(el.filetypes).map((t) => `.${String(t)}`);
      return `<input class="bk-input" type="file"${base}${types.length ? attr('accept', types.join(',')) : ''}${Number(el.max_files ?? 1) > 1 ? ' multiple' : ''}>`;
    }
    case 'datepicker':
      return `<input class="bk-input" type="date"${base}${attr('value', el.initial_date)}>`;
    default:
      return placeholder('input element', el.type);
  }
}

function renderRichText(block: Json, ctx: RenderContext): string {
  const inline = (els: unknown[]): string =>
    els
      .map((e) => {
        if (!isObj(e)) return '';
        let html: string;
        if (e.type === 'text') html = escapeHtml(e.text).replace(/\n/g, '<br>');
        else if (e.type === 'user') html = renderControl(`@${String(e.user_id)}`, ctx);
        else if (e.type === 'channel') html = renderControl(`#${String(e.channel_id)}`, ctx);
        else if (e.type === 'link') html = renderControl(`${String(e.url)}${e.text ? `|${String(e.text)}` : ''}`, ctx);
        else if (e.type === 'emoji') html = EMOJI[String(e.name)] ?? `:${escapeHtml(e.name)}:`;
        else if (e.type === 'broadcast') html = `<span class="bk-mention">@${escapeHtml(e.range)}</span>`;
        else return placeholder('rich text element', e.type);
        const st = isObj(e.style) ? e.style : {};
        if (st.code) html = `<code>${html}</code>`;
        if (st.bold) html = `<b>${html}</b>`;
        if (st.italic) html = `<i>${html}</i>`;
        if (st.strike) html = `<s>${html}</s>`;
        return html;
      })
      .join('');
  const section = (el: unknown): string => {
    if (!isObj(el)) return '';
    switch (el.type) {
      case 'rich_text_section':
        return `<div>${inline(arr(el.elements))}</div>`;
      case 'rich_text_preformatted':
        return `<pre class="bk-pre">${inline(arr(el.elements))}</pre>`;
      case 'rich_text_quote':
        return `<div class="bk-quote">${inline(arr(el.elements))}</div>`;
      case 'rich_text_list': {
        const tag = el.style === 'ordered' ? 'ol' : 'ul';
        return `<${tag}>${arr(el.elements)
          .map((s) => `<li>${section(s)}</li>`)
          .join('')}</${tag}>`;
      }
      default:
        return placeholder('rich text part', el.type);
    }
  };
  return `<div class="bk-rich">${arr(block.elements).map(section).join('')}</div>`;
}

/** One block → HTML. Never throws: a broken block becomes a placeholder. */
export function renderBlock(block: unknown, ctx: RenderContext = {}): string {
  if (!isObj(block)) return placeholder('block', undefined);
  try {
    return renderBlockUnsafe(block, ctx);
  } catch (e) {
    return `<div class="bk-unknown">Could not render a <code>${escapeHtml(block.type)}</code> block: ${escapeHtml(e instanceof Error ? e.message : String(e))}</div>`;
  }
}

function renderBlockUnsafe(block: Json, ctx: RenderContext): string {
  const blockId = typeof block.block_id === 'string' ? block.block_id : '';
  const bid = attr('data-block-id', blockId || undefined);
  switch (block.type) {
    case 'header':
      return `<div class="bk-block bk-header"${bid}>${renderText(block.text, ctx)}</div>`;
    case 'divider':
      return `<hr class="bk-block bk-divider"${bid}>`;
    case 'section': {
      const text = block.text ? `<div class="bk-text">${renderText(block.text, ctx)}</div>` : '';
      const fields = Array.isArray(block.fields)
        ? `<div class="bk-fields">${block.fields.map((f) => renderField(f, ctx)).join('')}</div>`
        : '';
      const acc = block.accessory ? `<div class="bk-accessory">${renderActionElement(block.accessory, blockId, ctx)}</div>` : '';
      return `<div class="bk-block bk-section"${bid}><div class="bk-section-main">${text}${fields}</div>${acc}</div>`;
    }
    case 'image': {
      const title = block.title ? `<div class="bk-image-title">${renderText(block.title, ctx)}</div>` : '';
      return `<figure class="bk-block bk-image-block"${bid}>${title}${renderImg(block, ctx, 'bk-image')}</figure>`;
    }
    case 'context': {
      const els = arr(block.elements)
        .map((el) => {
          if (isObj(el) && el.type === 'image') return renderImg(el, ctx, 'bk-context-image');
          if (isObj(el) && (el.type === 'mrkdwn' || el.type === 'plain_text')) return `<span>${renderText(el, ctx)}</span>`;
          return placeholder('context element', isObj(el) ? el.type : undefined);
        })
        .join('');
      return `<div class="bk-block bk-context"${bid}>${els}</div>`;
    }
    case 'actions': {
      const els = arr(block.elements)
        .map((el) => renderActionElement(el, blockId, ctx))
        .join('');
      return `<div class="bk-block bk-actions"${bid}>${els}</div>`;
    }
    case 'input': {
      const optional = block.optional ? ' <span class="bk-optional">(optional)</span>' : '';
      const hint = block.hint ? `<div class="bk-hint">${renderText(block.hint, ctx)}</div>` : '';
      const el = isObj(block.element) ? block.element : {};
      return `<div class="bk-block bk-input-block"${bid}${attr('data-optional', block.optional ? '1' : undefined)}><label class="bk-label">${renderText(block.label, ctx)}${optional}</label>${renderInputElement(el, blockId, ctx)}${hint}<div class="bk-error" hidden></div></div>`;
    }
    case 'rich_text':
      return `<div class="bk-block"${bid}>${renderRichText(block, ctx)}</div>`;
    case 'file':
      return `<div class="bk-block bk-file"${bid}>📎 file <code>${escapeHtml(block.external_id)}</code></div>`;
    default:
      return placeholder('block', block.type);
  }
}

export function renderBlocks(blocks: unknown, ctx: RenderContext = {}): string {
  if (!Array.isArray(blocks)) return '';
  return blocks.map((b) => renderBlock(b, ctx)).join('');
}

/** A modal view → the inner HTML of the page's dialog (title, blocks, buttons). */
export function renderModal(view: unknown, ctx: RenderContext = {}): string {
  if (!isObj(view)) return placeholder('view', undefined);
  if (view.type !== 'modal') return placeholder('view', view.type);
  const title = `<div class="bk-modal-title">${renderText(view.title, ctx)}</div>`;
  const body = `<div class="bk-modal-body">${renderBlocks(view.blocks, ctx)}</div>`;
  const close = `<button type="button" class="bk-button" data-kind="view-close">${view.close ? renderText(view.close, ctx) : 'Cancel'}</button>`;
  const submit = view.submit
    ? `<button type="submit" class="bk-button bk-primary" data-kind="view-submit">${renderText(view.submit, ctx)}</button>`
    : '';
  return `${title}${body}<div class="bk-modal-buttons">${close}${submit}</div>`;
}
