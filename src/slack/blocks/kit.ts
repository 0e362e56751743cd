/**
 * Block Kit types (the subset the bot builds), text helpers and Slack's published limits.
 * `checkMessage` / `checkView` return every limit a payload breaks, so unit tests can prove
 * builders stay inside them and the app can log, not post, a payload Slack would refuse.
 */
export type Text = { type: 'plain_text'; text: string; emoji?: boolean } | { type: 'mrkdwn'; text: string };

export type Block = Record<string, unknown> & { type: string; block_id?: string };

export interface Message {
  /** Notification / fallback text. */
  text: string;
  blocks: Block[];
}

export interface View {
  type: 'modal' | 'home';
  callback_id?: string;
  title?: Text;
  submit?: Text;
  close?: Text;
  private_metadata?: string;
  blocks: Block[];
}

export const LIMITS = {
  messageBlocks: 50,
  viewBlocks: 100,
  messageText: 40_000,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  actionValue: 2000,
  actionId: 255,
  blockId: 255,
  altText: 2000,
  overflowOptions: 5,
  optionText: 75,
  optionValue: 150,
  selectOptions: 100,
  modalTitle: 24,
  modalButton: 24,
  privateMetadata: 3000,
  inputLabel: 2000,
  imageTitle: 2000,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
} as const;

export function plain(text: string, max = 3000): Text {
  return { type: 'plain_text', text: truncate(text, max), emoji: true };
}

export function md(text: string, max: number = LIMITS.sectionText): Text {
  return { type: 'mrkdwn', text: truncateMrkdwn(text, max) };
}

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  return `${s.slice(0, Math.max(0, max - 1))}…`;
}

/**
 * `truncate` for text already in mrkdwn (escaped, with mentions): the cut moves back so it never
 * splits an entity (`&amp;` shown as "&am"), a `<@U…>` mention or link, or a surrogate pair.
 * Prefer truncating plain text before `esc`; this is for text put together from escaped parts.
 */
export function truncateMrkdwn(s: string, max: number): string {
  if (s.length <= max) return s;
  let cut = Math.max(0, max - 1);
  const head = s.slice(0, cut);
  const amp = head.lastIndexOf('&');
  if (amp >= 0 && !head.includes(';', amp)) cut = amp;
  const lt = head.lastIndexOf('<');
  if (lt >= 0 && !head.includes('>', lt)) cut = Math.min(cut, lt);
  const code = s.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  return `${s.slice(0, cut)}…`;
}

export function section(text: string, extra: Record<string, unknown> = {}): Block {
  return { type: 'section', text: md(text), ...extra };
}

export function context(...texts: string[]): Block {
  return { type: 'context', elements: texts.slice(0, LIMITS.contextElements).map((t) => md(t, 3000)) };
}

export function button(p: {
  text: string;
  action_id: string;
  value?: string;
  style?: 'primary' | 'danger';
  url?: string;
  /** A confirmation dialog Slack's clients show before sending the click. */
  confirm?: { title: string; text: string; confirm: string; deny: string };
}): Record<string, unknown> {
  return {
    type: 'button',
    text: plain(p.text, LIMITS.buttonText),
    action_id: p.action_id,
    ...(p.value !== undefined ? { value: p.value } : {}),
    ...(p.style ? { style: p.style } : {}),
    ...(p.url ? { url: p.url } : {}),
    ...(p.confirm
      ? {
          confirm: {
            title: plain(p.confirm.title, LIMITS.confirmTitle),
            text: plain(p.confirm.text, LIMITS.confirmText),
            confirm: plain(p.confirm.confirm, LIMITS.confirmButton),
            deny: plain(p.confirm.deny, LIMITS.confirmButton),
            ...(p.style === 'danger' ? { style: 'danger' } : {}),
          },
        }
      : {}),
  };
}

type Problem = string;

function checkText(t: unknown, max: number, where: string, out: Problem[]) {
  if (!t || typeof t !== 'object') return;
  const s = (t as { text?: unknown }).text;
  if (typeof s !== 'string') out.push(`${where}: text missing`);
  else if (s.length === 0) out.push(`${where}: text is empty`);
  else if (s.length > max) out.push(`${where}: text is ${s.length} characters (limit ${max})`);
}

function checkElement(el: Record<string, unknown>, where: string, out: Problem[]) {
  if (typeof el.action_id === 'string' && el.action_id.length > LIMITS.actionId) out.push(`${where}: action_id too long`);
  if (typeof el.value === 'string' && el.value.length > LIMITS.actionValue)
    out.push(`${where}: value is ${el.value.length} characters (limit ${LIMITS.actionValue})`);
  if (el.type === 'button') checkText(el.text, LIMITS.buttonText, `${where}.text`, out);
  const confirm = el.confirm as Record<string, unknown> | undefined;
  if (confirm) {
    checkText(confirm.title, LIMITS.confirmTitle, `${where}.confirm.title`, out);
    checkText(confirm.text, LIMITS.confirmText, `${where}.confirm.text`, out);
    checkText(confirm.confirm, LIMITS.confirmButton, `${where}.confirm.confirm`, out);
    checkText(confirm.deny, LIMITS.confirmButton, `${where}.confirm.deny`, out);
  }
  if (el.type === 'image' && (typeof el.alt_text !== 'string' || el.alt_text.length > LIMITS.altText))
    out.push(`${where}: alt_text missing or too long`);
  const options = el.options as Record<string, unknown>[] | undefined;
  if (Array.isArray(options)) {
    if (el.type === 'overflow' && (options.length < 1 || options.length > LIMITS.overflowOptions))
      out.push(`${where}: overflow needs 1-${LIMITS.overflowOptions} options`);
    if (options.length > LIMITS.selectOptions) out.push(`${where}: more than ${LIMITS.selectOptions} options`);
    for (const [i, o] of options.entries()) {
      checkText(o.text, LIMITS.optionText, `${where}.options[${i}]`, out);
      if (typeof o.value === 'string' && o.value.length > LIMITS.optionValue) out.push(`${where}.options[${i}]: value too long`);
    }
  }
}

export function checkBlocks(blocks: Block[], maxBlocks: number): Problem[] {
  const out: Problem[] = [];
  if (blocks.length > maxBlocks) out.push(`${blocks.length} blocks (limit ${maxBlocks})`);
  const ids = new Set<string>();
  for (const [i, b] of blocks.entries()) {
    const where = `blocks[${i}] (${b.type})`;
    if (b.block_id !== undefined) {
      if (b.block_id.length > LIMITS.blockId) out.push(`${where}: block_id too long`);
      if (ids.has(b.block_id)) out.push(`${where}: duplicate block_id ${b.block_id}`);
      ids.add(b.block_id);
    }
    if (b.type === 'section') {
      if (b.text) checkText(b.text, LIMITS.sectionText, `${where}.text`, out);
      const fields = b.fields as Text[] | undefined;
      if (fields) {
        if (fields.length > LIMITS.sectionFields) out.push(`${where}: more than ${LIMITS.sectionFields} fields`);
        for (const [j, f] of fields.entries()) checkText(f, LIMITS.fieldText, `${where}.fields[${j}]`, out);
      }
      if (!b.text && !fields) out.push(`${where}: needs text or fields`);
      if (b.accessory) checkElement(b.accessory as Record<string, unknown>, `${where}.accessory`, out);
    } else if (b.type === 'header') {
      checkText(b.text, LIMITS.headerText, `${where}.text`, out);
    } else if (b.type === 'context') {
      const els = b.elements as Record<string, unknown>[];
      if (!Array.isArray(els) || els.length === 0 || els.length > LIMITS.contextElements)
        out.push(`${where}: needs 1-${LIMITS.contextElements} elements`);
      for (const [j, el] of (els ?? []).entries()) {
        if (el.type === 'mrkdwn' || el.type === 'plain_text') checkText(el, 3000, `${where}.elements[${j}]`, out);
        else checkElement(el, `${where}.elements[${j}]`, out);
      }
    } else if (b.type === 'actions') {
      const els = b.elements as Record<string, unknown>[];
      if (!Array.isArray(els) || els.length === 0 || els.length > LIMITS.actionsElements)
        out.push(`${where}: needs 1-${LIMITS.actionsElements} elements`);
      for (const [j, el] of (els ?? []).entries()) checkElement(el, `${where}.elements[${j}]`, out);
    } else if (b.type === 'image') {
      if (!b.image_url && !b.slack_file) out.push(`${where}: needs image_url or slack_file`);
      if (typeof b.alt_text !== 'string' || b.alt_text.length === 0 || b.alt_text.length > LIMITS.altText)
        out.push(`${where}: alt_text missing or too long`);
      if (b.title) checkText(b.title, LIMITS.imageTitle, `${where}.title`, out);
    } else if (b.type === 'input') {
      checkText(b.label, LIMITS.inputLabel, `${where}.label`, out);
      if (b.element) checkElement(b.element as Record<string, unknown>, `${where}.element`, out);
    }
  }
  return out;
}

export function checkMessage(m: Message): Problem[] {
  const out = checkBlocks(m.blocks, LIMITS.messageBlocks);
  if (!m.text) out.push('message: fallback text is empty');
  if (m.text.length > LIMITS.messageText) out.push(`message: text is ${m.text.length} characters (limit ${LIMITS.messageText})`);
  return out;
}

export function checkView(v: View): Problem[] {
  const out = checkBlocks(v.blocks, LIMITS.viewBlocks);
  if (v.type === 'modal') {
    checkText(v.title, LIMITS.modalTitle, 'view.title', out);
    if (v.submit) checkText(v.submit, LIMITS.modalButton, 'view.submit', out);
    if (v.close) checkText(v.close, LIMITS.modalButton, 'view.close', out);
  }
  if (v.private_metadata && v.private_metadata.length > LIMITS.privateMetadata) out.push('view: private_metadata too long');
  return out;
}
