/**
 * `/adcreative` text → a command. The single words `help` and `stats` are commands, nothing
 * is the modal, anything else is a brief with optional inline options:
 *   --variants N  --formats a,b  --brand NAME  --channel NAME  --anonymous  --hide-tally
 *   --approvers @alice,@bob  --quorum N   (approvals.ts)
 *   --audiences "students; parents"   (generate/audiences.ts: --variants is then per audience)
 *   --locales de,fr,zh-CN   (copy per locale: generate/locales.ts)
 * Options may appear anywhere; `--x=v` works too. Slack's clients turn "--" into "—" on
 * some keyboards, so an em or en dash counts as "--".
 */
import { InputError } from '../errors.ts';
import { audienceOptions } from '../generate/audiences.ts';
import { parseLocales } from '../generate/locales.ts';
import { CHANNELS, type ChannelName, charCount, FORMATS, type FormatName, isChannel, splitFormats } from '../vocabulary.ts';
import { approvalOptions, parseApprovers, parseQuorum } from './approvals.ts';
import type { RoundOptions } from './types.ts';

export interface BriefDefaults {
  variants: number;
  maxVariants: number;
  formats: FormatName[];
  channel: ChannelName;
  brand?: string;
  maxChars: number;
  /** Brand kits that exist (brands/<name>.json). */
  brands: string[];
}

export type ParsedCommand =
  | { kind: 'help' }
  | { kind: 'stats' }
  | { kind: 'modal' }
  /** `approverNames`: approvers typed as @names, which only Slack can turn into user ids. */
  | { kind: 'brief'; brief: string; options: RoundOptions; approverNames?: string[] };

const VALUE_OPTIONS = ['variants', 'formats', 'brand', 'channel', 'approvers', 'quorum', 'audiences', 'locales'] as const;
const FLAG_OPTIONS = ['anonymous', 'hide-tally'] as const;

export const USAGE = `/adcreative <brief> [--variants N] [--formats ${FORMATS.join(',')}] [--brand NAME] [--channel ${CHANNELS.join('|')}] [--anonymous] [--hide-tally] [--approvers @a,@b] [--quorum N] [--locales de,fr,zh-CN] [--audiences "students; parents" (then --variants N is per audience)]`;

function input(code: string, message: string): InputError {
  return new InputError(code, message);
}

export function parseVariants(raw: string, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < 1 || n > max)
    throw input('BAD_VARIANTS', `--variants must be a whole number from 1 to ${max}; got "${raw}".`);
  return n;
}

export function parseFormats(raw: string): FormatName[] {
  const { formats, unknown } = splitFormats(raw);
  if (!formats.length || unknown.length) {
    throw input(
      'BAD_FORMATS',
      `--formats takes a comma-separated list of ${FORMATS.join(', ')}; "${unknown[0] ?? raw}" is not one of them.`,
    );
  }
  return formats;
}

export function parseChannel(raw: string): ChannelName {
  const v = raw.trim().toLowerCase();
  if (!isChannel(v)) throw input('BAD_CHANNEL', `--channel must be one of ${CHANNELS.join(', ')}; got "${raw}".`);
  return v;
}

export function parseBrand(raw: string, brands: string[]): string {
  const v = raw.trim().toLowerCase();
  if (!brands.includes(v)) {
    throw input(
      'UNKNOWN_BRAND',
      `There is no brand kit called "${raw}". Brands: ${brands.length ? brands.join(', ') : '(none installed)'}.`,
    );
  }
  return v;
}

export function checkBriefText(brief: string, maxChars: number): string {
  const b = brief.replace(/\s+/g, ' ').trim();
  if (!b)
    throw input(
      'BRIEF_EMPTY',
      `The brief is empty. Describe the product and the audience, e.g. \`/adcreative cold brew for night-shift nurses --variants 3\`.`,
    );
  const n = charCount(b);
  if (n > maxChars) throw input('BRIEF_TOO_LONG', `The brief is ${n} characters; the limit is ${maxChars}. Shorten it and try again.`);
  return b;
}

/** Splits on whitespace but keeps "quoted values" together. */
function tokens(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|“([^”]*)”|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

export function parseCommand(text: string, d: BriefDefaults): ParsedCommand {
  const normalised = text.replace(/[\u2014\u2013](?=[a-z])/gi, '--').trim();
  const lower = normalised.toLowerCase();
  if (lower === '') return { kind: 'modal' };
  if (lower === 'help' || lower === '--help') return { kind: 'help' };
  if (lower === 'stats') return { kind: 'stats' };

  const words: string[] = [];
  const values: Partial<Record<(typeof VALUE_OPTIONS)[number], string>> = {};
  const flags = new Set<string>();
  const toks = tokens(normalised);
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    if (!t.startsWith('--') || t === '--') {
      words.push(t);
      continue;
    }
    const [rawName, inline] = t.slice(2).split(/=(.*)/s, 2);
    const name = rawName.toLowerCase();
    if ((FLAG_OPTIONS as readonly string[]).includes(name)) {
      flags.add(name);
      continue;
    }
    if ((VALUE_OPTIONS as readonly string[]).includes(name)) {
      const value = inline ?? toks[i + 1];
      if (value === undefined || (inline === undefined && value.startsWith('--')))
        throw input('MISSING_VALUE', `--${name} needs a value. Usage: ${USAGE}`);
      if (inline === undefined) i++;
      values[name as (typeof VALUE_OPTIONS)[number]] = value;
      continue;
    }
    throw input(
      'UNKNOWN_OPTION',
      `Unknown option --${rawName}. Options: ${[...VALUE_OPTIONS, ...FLAG_OPTIONS].map((o) => `--${o}`).join(', ')}.`,
    );
  }
  const brief = checkBriefText(words.join(' '), d.maxChars);
  const people = values.approvers !== undefined ? parseApprovers(values.approvers) : { ids: [], names: [] };
  const quorum = values.quorum !== undefined ? parseQuorum(values.quorum) : undefined;
  // Checked with the names counted as people, so a quorum too high is refused before any lookup.
  const approval = approvalOptions([...people.ids, ...people.names.map((n) => `@${n}`)], quorum);
  const options: RoundOptions = {
    variants: values.variants !== undefined ? parseVariants(values.variants, d.maxVariants) : Math.min(d.variants, d.maxVariants),
    formats: values.formats !== undefined ? parseFormats(values.formats) : [...d.formats],
    channel: values.channel !== undefined ? parseChannel(values.channel) : d.channel,
    brand: values.brand !== undefined ? parseBrand(values.brand, d.brands) : d.brand,
    anonymous: flags.has('anonymous'),
    hideTally: flags.has('hide-tally'),
  };
  if (values.audiences !== undefined) {
    const segments = audienceOptions({
      raw: values.audiences,
      variants: options.variants,
      given: values.variants !== undefined,
      max: d.maxVariants,
    });
    options.variants = segments.variants;
    options.audiences = segments.audiences;
  }
  if (values.locales !== undefined) options.locales = parseLocales(values.locales).map((l) => l.tag);
  if (approval.approvers) {
    options.approvers = people.ids;
    options.quorum = approval.quorum;
  }
  return { kind: 'brief', brief, options, ...(people.names.length ? { approverNames: people.names } : {}) };
}
