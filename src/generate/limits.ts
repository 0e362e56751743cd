/**
 * Copy limits per channel (characters). The keys are the channel names the Slack `--channel`
 * option and the CLI accept. COPY_LIMITS overrides entries ("meta.headline=40,google.body=80").
 */
import { ConfigError } from '../errors.ts';
import type { ChannelName } from './types.ts';

export const CHANNELS = ['meta', 'google', 'linkedin', 'tiktok'] as const satisfies readonly ChannelName[];

export interface FieldLimit {
  max: number;
  /** What the channel calls the field, for messages ("primary text", "description"). */
  label: string;
}

export interface ChannelLimits {
  headline: FieldLimit;
  body: FieldLimit;
  cta: FieldLimit;
}

export const DEFAULT_LIMITS: Record<ChannelName, ChannelLimits> = {
  meta: { headline: { max: 27, label: 'headline' }, body: { max: 125, label: 'primary text' }, cta: { max: 20, label: 'CTA' } },
  google: { headline: { max: 30, label: 'headline' }, body: { max: 90, label: 'description' }, cta: { max: 20, label: 'CTA' } },
  linkedin: { headline: { max: 70, label: 'headline' }, body: { max: 150, label: 'intro text' }, cta: { max: 20, label: 'CTA' } },
  // TikTok has one ad text (100); the headline drawn on the creative shares that limit.
  tiktok: { headline: { max: 100, label: 'ad text' }, body: { max: 100, label: 'ad text' }, cta: { max: 20, label: 'CTA' } },
};

export function isChannel(s: string): s is ChannelName {
  return (CHANNELS as readonly string[]).includes(s);
}

/** Parses "meta.headline=40,google.body=80" (the COPY_LIMITS setting). */
export function parseLimitOverrides(
  raw: string,
  name = 'COPY_LIMITS',
): Partial<Record<ChannelName, Partial<Record<keyof ChannelLimits, number>>>> {
  const out: Partial<Record<ChannelName, Partial<Record<keyof ChannelLimits, number>>>> = {};
  for (const part of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([a-z]+)\.(headline|body|cta)=(\d{1,4})$/.exec(part);
    if (!m || !isChannel(m[1]) || Number(m[3]) < 1) {
      throw new ConfigError(
        `${name} must be comma-separated channel.field=chars entries (channels: ${CHANNELS.join(', ')}; fields: headline, body, cta); got ${JSON.stringify(part)}`,
      );
    }
    const ch = m[1] as ChannelName;
    out[ch] = { ...out[ch], [m[2]]: Number(m[3]) };
  }
  return out;
}

export function limitsFor(channel: ChannelName, overrides: ReturnType<typeof parseLimitOverrides> = {}): ChannelLimits {
  const base = DEFAULT_LIMITS[channel];
  const o = overrides[channel] ?? {};
  return {
    headline: { ...base.headline, max: o.headline ?? base.headline.max },
    body: { ...base.body, max: o.body ?? base.body.max },
    cta: { ...base.cta, max: o.cta ?? base.cta.max },
  };
}

/** Cuts at the last word boundary that fits (with "…"); CJK text (no spaces) at a character. */
export function trimToLimit(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  const room = chars.slice(0, max - 1).join('');
  const cut = room.search(/\s\S*$/u);
  const base = cut > max * 0.4 ? room.slice(0, cut) : room;
  return `${base.replace(/[\s,.;:!?–—-]+$/u, '')}…`;
}

export function length(text: string): number {
  return Array.from(text).length;
}
