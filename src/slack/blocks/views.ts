/** Modals (brief form, copy editor) and the App Home. */

import { MAX_AUDIENCE_CHARS, MAX_AUDIENCES } from '../../generate/audiences.ts';
import { CHANNELS, type ChannelName, FORMATS, type FormatName, IMAGE_EXTENSIONS } from '../../vocabulary.ts';
import { ACTION, CALLBACK } from './ids.ts';
import { type Block, button, context, esc, LIMITS, plain, section, truncate, type View } from './kit.ts';

function option(text: string, value: string) {
  return { text: plain(text, LIMITS.optionText), value };
}

function textInput(
  block_id: string,
  label: string,
  p: { multiline?: boolean; optional?: boolean; max?: number; initial?: string; placeholder?: string } = {},
): Block {
  return {
    type: 'input',
    block_id,
    optional: !!p.optional,
    label: plain(label, LIMITS.inputLabel),
    element: {
      type: 'plain_text_input',
      action_id: 'value',
      multiline: !!p.multiline,
      ...(p.max ? { max_length: p.max } : {}),
      ...(p.initial !== undefined ? { initial_value: truncate(p.initial, p.max ?? 3000) } : {}),
      ...(p.placeholder ? { placeholder: plain(p.placeholder, 150) } : {}),
    },
  };
}

export const BRIEF_BLOCKS = {
  product: 'product',
  audience: 'audience',
  tone: 'tone',
  offer: 'offer',
  channel: 'ad_channel',
  formats: 'formats',
  brand: 'brand',
  variants: 'variants',
  reference: 'reference',
  approvers: 'approvers',
  quorum: 'quorum',
  audiences: 'audiences',
  locales: 'locales',
} as const;

export function briefModal(p: {
  channelId: string;
  /** The channel's name as the command gave it: the allow-list may name channels, and it tells a DM apart. */
  channelName?: string;
  brands: string[];
  defaults: { channel: ChannelName; formats: FormatName[]; variants: number; brand?: string };
  maxVariants: number;
  maxChars: number;
}): View {
  const brandOptions = [option('No brand kit', '-'), ...p.brands.slice(0, 99).map((b) => option(b, b))];
  const variantOptions = Array.from({ length: p.maxVariants }, (_, i) => option(String(i + 1), String(i + 1)));
  const initialBrand = brandOptions.find((o) => o.value === (p.defaults.brand ?? '-')) ?? brandOptions[0];
  return {
    type: 'modal',
    callback_id: CALLBACK.briefModal,
    title: plain('New ad brief', LIMITS.modalTitle),
    submit: plain('Make variants', LIMITS.modalButton),
    close: plain('Cancel', LIMITS.modalButton),
    private_metadata: JSON.stringify({ channel: p.channelId, ...(p.channelName ? { channelName: p.channelName.slice(0, 100) } : {}) }),
    blocks: [
      textInput(BRIEF_BLOCKS.product, 'Product', {
        multiline: true,
        max: Math.min(p.maxChars, 3000),
        placeholder: 'Cold brew concentrate, 1 litre',
      }),
      textInput(BRIEF_BLOCKS.audience, 'Audience', { optional: true, max: 300, placeholder: 'Night-shift nurses' }),
      textInput(BRIEF_BLOCKS.tone, 'Tone', { optional: true, max: 200, placeholder: 'Warm, a little playful' }),
      textInput(BRIEF_BLOCKS.offer, 'Offer', { optional: true, max: 200, placeholder: '20% off the first box' }),
      context('The audience and tone guide the copy; they are not written into the ads.'),
      {
        type: 'input',
        block_id: BRIEF_BLOCKS.channel,
        label: plain('Ad channel'),
        element: {
          type: 'static_select',
          action_id: 'value',
          options: CHANNELS.map((c) => option(c, c)),
          initial_option: option(p.defaults.channel, p.defaults.channel),
        },
      },
      {
        type: 'input',
        block_id: BRIEF_BLOCKS.formats,
        label: plain('Formats'),
        element: {
          type: 'checkboxes',
          action_id: 'value',
          options: FORMATS.map((f) => option(f, f)),
          initial_options: p.defaults.formats.map((f) => option(f, f)),
        },
      },
      {
        type: 'input',
        block_id: BRIEF_BLOCKS.brand,
        label: plain('Brand kit'),
        element: { type: 'static_select', action_id: 'value', options: brandOptions, initial_option: initialBrand },
      },
      {
        type: 'input',
        block_id: BRIEF_BLOCKS.audiences,
        optional: true,
        label: plain('Audience segments'),
        hint: plain(
          `Separate with ";" (up to ${MAX_AUDIENCES}): variants are written and ranked for each, the number of variants is then per segment, and each segment gets its own winner.`,
        ),
        element: {
          type: 'plain_text_input',
          action_id: 'value',
          max_length: MAX_AUDIENCES * (MAX_AUDIENCE_CHARS + 2),
          placeholder: plain('students; parents of toddlers', 150),
        },
      },
      {
        type: 'input',
        block_id: BRIEF_BLOCKS.variants,
        label: plain('Number of variants'),
        element: {
          type: 'static_select',
          action_id: 'value',
          options: variantOptions,
          initial_option: option(
            String(Math.min(p.defaults.variants, p.maxVariants)),
            String(Math.min(p.defaults.variants, p.maxVariants)),
          ),
        },
      },
      textInput(BRIEF_BLOCKS.locales, 'Locales', {
        optional: true,
        max: 100,
        placeholder: 'de, fr, zh-CN — copy for each market, one vote per variant',
      }),
      textInput(BRIEF_BLOCKS.approvers, 'Approvers', {
        optional: true,
        max: 500,
        placeholder: '@alice, @bob — who must approve the winner',
      }),
      {
        type: 'input',
        block_id: BRIEF_BLOCKS.quorum,
        optional: true,
        label: plain('Approvals needed'),
        hint: plain('How many approvers must approve the leading variant to close the round (default: all of them).'),
        element: { type: 'number_input', action_id: 'value', is_decimal_allowed: false, min_value: '1', max_value: '20' },
      },
      {
        type: 'input',
        block_id: BRIEF_BLOCKS.reference,
        optional: true,
        label: plain('Reference image'),
        element: { type: 'file_input', action_id: 'value', filetypes: [...IMAGE_EXTENSIONS], max_files: 1 },
      },
    ],
  };
}

export const EDIT_BLOCKS = { headline: 'headline', body: 'body', cta: 'cta' } as const;

export function editCopyModal(p: { variantId: string; label: string; headline: string; body: string; cta: string }): View {
  return {
    type: 'modal',
    callback_id: CALLBACK.editCopy,
    title: plain(`Edit copy · ${p.label}`, LIMITS.modalTitle),
    submit: plain('Re-render', LIMITS.modalButton),
    close: plain('Cancel', LIMITS.modalButton),
    private_metadata: JSON.stringify({ variantId: p.variantId }),
    blocks: [
      textInput(EDIT_BLOCKS.headline, 'Headline', { max: 150, initial: p.headline }),
      textInput(EDIT_BLOCKS.body, 'Primary text', { multiline: true, max: 1000, initial: p.body }),
      textInput(EDIT_BLOCKS.cta, 'Call to action', { max: 40, initial: p.cta }),
      context('The image is kept; every format is re-rendered with the new copy. Votes stay.'),
    ],
  };
}

export interface HomeRound {
  brief: string;
  round: number;
  status: string;
  permalink: string | null;
  votes: number;
}

export interface HomeWinner {
  brief: string;
  headline: string;
  label: string;
  permalink: string | null;
  votes: number;
}

/** Escaped text that links to `url` when there is one (App Home entries lead to their threads). */
function linked(text: string, url: string | null): string {
  return url ? `<${url.replace(/[<>|]/g, encodeURIComponent)}|${esc(text)}>` : esc(text);
}

export function homeView(p: { user: string; open: HomeRound[]; winners: HomeWinner[]; synthetic?: boolean }): View {
  const blocks: Block[] = [{ type: 'header', text: plain('adcreative', LIMITS.headerText) }];
  blocks.push(section(`Hi <@${p.user}>. Type \`/adcreative &lt;brief&gt;\` in a channel to start a round, or \`/adcreative help\`.`));
  if (p.synthetic) blocks.push(context(':warning: A synthetic CLIP model is loaded: similarity scores are meaningless.'));
  blocks.push({ type: 'divider' }, section('*Your open rounds*'));
  if (!p.open.length) blocks.push(context('None right now.'));
  for (const r of p.open.slice(0, 20)) {
    blocks.push(
      section(
        `*${linked(truncate(r.brief, 200), r.permalink)}*\nRound ${r.round} · ${r.status} · ${r.votes} vote${r.votes === 1 ? '' : 's'}`,
        r.permalink
          ? { accessory: button({ text: 'Open thread', action_id: ACTION.homeOpenThread, url: r.permalink, value: 'open' }) }
          : {},
      ),
    );
  }
  blocks.push({ type: 'divider' }, section('*Recent winners*'));
  if (!p.winners.length) blocks.push(context('No winners yet.'));
  for (const w of p.winners.slice(0, 20)) {
    blocks.push(
      section(
        `*${linked(truncate(w.headline || '(no headline)', 150), w.permalink)}* (variant ${w.label}, ${w.votes} vote${w.votes === 1 ? '' : 's'})\n${esc(truncate(w.brief, 200))}`,
        w.permalink
          ? { accessory: button({ text: 'Open thread', action_id: ACTION.homeOpenThread, url: w.permalink, value: 'open' }) }
          : {},
      ),
    );
  }
  return { type: 'home', blocks };
}
