/** Short messages to one person: help, stats, refusals, failures. */
import { USAGE } from '../../rounds/brief.ts';
import type { Usage } from '../../rounds/types.ts';
import { context, esc, type Message, section, truncate } from './kit.ts';
import { formatUsd } from './round.ts';

export function helpMessage(p: { brands: string[]; maxVariants: number; maxChars: number; voteReaction: string }): Message {
  const lines = [
    '*adcreative* turns a brief into ad variants your team votes on.',
    `\`${USAGE}\``,
    '• `/adcreative` alone opens a form (product, audience, tone, channel, formats, brand, reference image).',
    '• `/adcreative stats` shows this month’s spend against the cap.',
    `• Options: --variants 1-${p.maxVariants}; --formats square, portrait, story, landscape; --channel meta, google, linkedin, tiktok; --brand ${p.brands.length ? p.brands.join(', ') : '(no brand kits installed)'}; --anonymous hides who voted; --hide-tally shows counts only at close.`,
    `• Vote with the *Vote* button or a :${p.voteReaction}: reaction. Reply in the thread with feedback; mention me to start the next round.`,
    `• Briefs are limited to ${p.maxChars} characters.`,
  ];
  return { text: 'adcreative help', blocks: [section(lines.join('\n'))] };
}

export function statsMessage(p: { month: Usage; day: Usage; monthlyUsdCap: number; dailyImageCap: number; learning?: string[] }): Message {
  const cap =
    p.monthlyUsdCap > 0
      ? `${formatUsd(p.month.usd)} of ${formatUsd(p.monthlyUsdCap)} (${((p.month.usd / p.monthlyUsdCap) * 100).toFixed(0)}%)`
      : `${formatUsd(p.month.usd)} (no cap)`;
  // Failed rounds (never posted, or stopped mid-generation) are named apart: they may still have spent.
  const posted = p.month.rounds - p.month.failed;
  const failed = p.month.failed > 0 ? ` (+${p.month.failed} failed)` : '';
  const lines = [
    `*This month:* ${cap} · ${posted} round${posted === 1 ? '' : 's'}${failed} · ${p.month.images} image${p.month.images === 1 ? '' : 's'}`,
    `*Today (UTC):* ${p.day.images} of ${p.dailyImageCap} images · ${formatUsd(p.day.usd)}`,
  ];
  const learning = p.learning?.length ? [section(truncate(`*Learning*\n${p.learning.join('\n')}`, 2900))] : [];
  return {
    text: [...lines, ...(p.learning ?? [])].join('\n'),
    blocks: [section(lines.join('\n')), ...learning, context('Costs are estimates from the configured per-call prices.')],
  };
}

export function errorMessage(message: string, hint?: string): Message {
  const text = truncate(`:warning: ${message}${hint ? `\n${hint}` : ''}`, 2900);
  return { text, blocks: [section(esc(text).replace(/&lt;@(U[A-Z0-9]+)&gt;/g, '<@$1>'))] };
}

export function notInChannelMessage(p: { channelId: string; isPrivate?: boolean; botName?: string }): Message {
  const who = p.botName ? `@${p.botName}` : 'the app';
  const text = `:wave: I am not in <#${p.channelId}> yet, so I cannot post the round there. Invite me with \`/invite ${who}\` in that channel${p.isPrivate ? ' (private channels need an invite from a member)' : ''}, or open the channel's details → Integrations → Add apps. Then send the brief again.`;
  return { text, blocks: [section(text)] };
}
