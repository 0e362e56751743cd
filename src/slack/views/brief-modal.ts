/**
 * The brief form. Field mistakes go back in the ack as `response_action: errors` (the form
 * stays open); the round itself starts after the ack, and messages reach the person by DM.
 */
import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { describeError, InputError, isAdError } from '../../errors.ts';
import { audienceOptions } from '../../generate/audiences.ts';
import { parseLocales } from '../../generate/locales.ts';
import type { BriefFields } from '../../generate/types.ts';
import { probe } from '../../image/decode.ts';
import { approvalOptions, parseApprovers, parseQuorum } from '../../rounds/approvals.ts';
import { type BriefDefaults, checkBriefText } from '../../rounds/brief.ts';
import type { RoundRunner } from '../../rounds/runner.ts';
import type { RoundOptions } from '../../rounds/types.ts';
import type { ChannelName, FormatName } from '../../vocabulary.ts';
import type { Access } from '../access.ts';
import { resolveApprovers } from '../approvers.ts';
import { allowlistMessage, errorMessage } from '../blocks/ephemeral.ts';
import { esc, truncate } from '../blocks/kit.ts';
import { BRIEF_BLOCKS } from '../blocks/views.ts';
import { downloadFile, type FileSettings, refuseFile, type SlackFile } from '../files.ts';
import type { SlackThread } from '../thread.ts';

type Values = ViewSubmitAction['view']['state']['values'];

export function briefFromForm(
  values: Values,
  d: BriefDefaults,
): {
  brief?: string;
  options?: {
    channel: ChannelName;
    formats: FormatName[];
    brand?: string;
    variants: number;
    fields: BriefFields;
    approvers?: string[];
    quorum?: number;
    audiences?: string[];
    locales?: string[];
  };
  /** Approvers typed as @names, for Slack to resolve. */
  approverNames?: string[];
  errors: Record<string, string>;
} {
  const errors: Record<string, string> = {};
  // plain_text_input values arrive as typed (no entities): used as they are.
  const text = (b: string) => (values[b]?.value?.value ?? '').replace(/\s+/g, ' ').trim();
  const product = text(BRIEF_BLOCKS.product);
  const offer = text(BRIEF_BLOCKS.offer);
  const fields: BriefFields = { product };
  for (const [k, v] of [
    ['audience', text(BRIEF_BLOCKS.audience)],
    ['tone', text(BRIEF_BLOCKS.tone)],
    ['offer', offer],
  ] as const)
    if (v) fields[k] = v;
  // The words people see are the product and the offer; the form's labels never become copy, and
  // the audience and tone travel as fields that guide the copywriter without being printed.
  let brief: string | undefined;
  try {
    if (!product) throw new InputError('BRIEF_EMPTY', 'Describe the product.');
    brief = checkBriefText(offer ? `${product.replace(/[.!]+$/, '')}. ${offer}` : product, d.maxChars);
  } catch (e) {
    errors[BRIEF_BLOCKS.product] = describeError(e).slice(0, 150);
  }
  const formats = (values[BRIEF_BLOCKS.formats]?.value?.selected_options ?? []).map((o) => o.value as FormatName);
  if (!formats.length) errors[BRIEF_BLOCKS.formats] = 'Pick at least one format.';
  const channel = (values[BRIEF_BLOCKS.channel]?.value?.selected_option?.value ?? d.channel) as ChannelName;
  const brandRaw = values[BRIEF_BLOCKS.brand]?.value?.selected_option?.value;
  const brand = !brandRaw || brandRaw === '-' ? undefined : brandRaw;
  if (brand && !d.brands.includes(brand)) errors[BRIEF_BLOCKS.brand] = `Unknown brand. Brands: ${d.brands.join(', ')}`.slice(0, 150);
  const variants = Number(values[BRIEF_BLOCKS.variants]?.value?.selected_option?.value ?? d.variants);
  if (!Number.isInteger(variants) || variants < 1 || variants > d.maxVariants)
    errors[BRIEF_BLOCKS.variants] = `Pick 1 to ${d.maxVariants}.`;
  // The number the form offered (its initial option) counts as not chosen, as a slash command
  // without --variants: with segments it is lowered to fit, not refused.
  const offered = Math.min(d.variants, d.maxVariants);
  const segments = audiencesFromForm(text(BRIEF_BLOCKS.audiences), variants, variants !== offered, d.maxVariants);
  if (segments.error) errors[BRIEF_BLOCKS.audiences] = segments.error;
  let approval: { approvers?: string[]; quorum?: number } = {};
  let approverNames: string[] | undefined;
  try {
    const raw = text(BRIEF_BLOCKS.approvers);
    const quorumRaw = values[BRIEF_BLOCKS.quorum]?.value?.value?.trim();
    const quorum = quorumRaw ? parseQuorum(quorumRaw) : undefined;
    const people = raw ? parseApprovers(raw) : { ids: [], names: [] };
    const checked = approvalOptions([...people.ids, ...people.names.map((n) => `@${n}`)], quorum);
    if (checked.approvers) approval = { approvers: people.ids, quorum: checked.quorum };
    if (people.names.length) approverNames = people.names;
  } catch (e) {
    const msg = describeError(e)
      .replace(/--approvers/g, 'Approvers')
      .replace(/--quorum/g, 'Approvals needed')
      .slice(0, 150);
    errors[isAdError(e) && e.code === 'BAD_QUORUM' ? BRIEF_BLOCKS.quorum : BRIEF_BLOCKS.approvers] = msg;
  }
  let locales: string[] | undefined;
  try {
    const raw = text(BRIEF_BLOCKS.locales);
    if (raw) locales = parseLocales(raw).map((l) => l.tag);
  } catch (e) {
    errors[BRIEF_BLOCKS.locales] = describeError(e)
      .replace(/--locales/g, 'Locales')
      .slice(0, 150);
  }
  return {
    brief,
    options: Object.keys(errors).length
      ? undefined
      : { channel, formats, brand, variants, fields, ...approval, ...segments.options, ...(locales ? { locales } : {}) },
    approverNames,
    errors,
  };
}

/** The form's audience segments and variants per segment (generate/audiences.ts), or what is wrong, in Slack's 150 characters. */
function audiencesFromForm(
  raw: string,
  variants: number,
  given: boolean,
  max: number,
): { options?: { audiences: string[]; variants: number }; error?: string } {
  if (!raw) return {};
  try {
    return {
      options: audienceOptions({ raw, variants, given, max, names: { audiences: 'Audience segments', variants: 'Number of variants' } }),
    };
  } catch (e) {
    return { error: truncate(describeError(e), 150) };
  }
}

export function makeBriefModalSubmission(deps: {
  runner: Pick<RoundRunner, 'start' | 'work'>;
  thread: Pick<SlackThread, 'tell' | 'userIdsByName'>;
  access: Pick<Access, 'channelAllowed' | 'settings'>;
  defaults: () => BriefDefaults;
  files: FileSettings;
}) {
  return async ({ ack, view, body }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs): Promise<void> => {
    const d = deps.defaults();
    const form = briefFromForm(view.state.values, d);
    const file = view.state.values[BRIEF_BLOCKS.reference]?.value?.files?.[0] as SlackFile | undefined;
    const refused = file ? refuseFile(file, deps.files.maxBytes) : undefined;
    if (refused) form.errors[BRIEF_BLOCKS.reference] = `The image cannot be used: ${refused}.`.slice(0, 150);
    if (Object.keys(form.errors).length || !form.brief || !form.options) {
      await ack({ response_action: 'errors', errors: form.errors });
      return;
    }
    await ack();
    const user = body.user.id;
    let channel = '';
    let channelName: string | undefined;
    try {
      const meta = JSON.parse(view.private_metadata || '{}') as { channel?: unknown; channelName?: unknown };
      channel = String(meta.channel ?? '');
      channelName = typeof meta.channelName === 'string' ? meta.channelName : undefined;
    } catch {
      channel = '';
    }
    const { brief } = form;
    if (!deps.access.channelAllowed(channel, channelName)) {
      await deps.thread.tell({ user }, allowlistMessage(deps.access.settings.channelAllowlist));
      return;
    }
    deps.runner.work.track(async () => {
      const options: RoundOptions = { ...form.options, anonymous: false, hideTally: false } as RoundOptions;
      const refused = await resolveApprovers(deps.thread, options, form.approverNames ?? []);
      if (refused) return deps.thread.tell({ user }, errorMessage(esc(refused)));
      let referenceImage: Uint8Array | undefined;
      if (file) {
        try {
          const bytes = await downloadFile(file, deps.files);
          // A corrupt or oversized file would otherwise be dropped quietly further on, and the
          // person would think the round followed their reference: IMAGE_MAX_PIXELS, as everywhere.
          await probe(bytes, { maxBytes: deps.files.maxBytes, maxPixels: deps.files.maxPixels }, file.name);
          referenceImage = bytes;
        } catch (e) {
          await deps.thread.tell(
            { user },
            errorMessage(`The reference image could not be used: ${esc(describeError(e))}. The round goes on without it.`),
          );
        }
      }
      // The form has no reply address: the author hears about a refusal in the app's DM.
      await deps.runner.start({
        user,
        channel,
        channelName,
        brief,
        options,
        referenceImage,
        replyTo: { user },
      });
    }, 'brief from form');
  };
}
