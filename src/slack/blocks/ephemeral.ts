/** Short messages to one person: help, stats, refusals, failures, and what the runner tells people. */
import { MAX_AUDIENCES } from '../../generate/audiences.ts';
import { USAGE } from '../../rounds/brief.ts';
import type { Usage } from '../../rounds/types.ts';
import type { Notice } from '../../rounds/view.ts';
import { CHANNELS, FORMATS } from '../../vocabulary.ts';
import { approvalNotice } from './decisions.ts';
import { context, esc, type Message, section, truncate, truncateMrkdwn } from './kit.ts';
import { formatUsd, notesMessage } from './round.ts';

export function helpMessage(p: { brands: string[]; maxVariants: number; maxChars: number; voteReaction: string }): Message {
  const lines = [
    '*adcreative* turns a brief into ad variants your team votes on.',
    `\`${esc(USAGE)}\``,
    '• `/adcreative` alone opens a form (product, audience, tone, channel, formats, brand, reference image).',
    '• `/adcreative stats` shows this month’s spend against the cap.',
    `• Options: --variants 1-${p.maxVariants}; --formats ${FORMATS.join(', ')}; --channel ${CHANNELS.join(', ')}; --brand ${p.brands.length ? p.brands.join(', ') : '(no brand kits installed)'}; --anonymous hides who voted; --hide-tally shows counts only at close.`,
    `• --audiences "students; parents of toddlers" writes and ranks variants for each audience (up to ${MAX_AUDIENCES}); --variants is then per audience, and the round's total stays within ${p.maxVariants}. Each audience gets its own winner.`,
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
  const learning = p.learning?.length ? [section(truncateMrkdwn(`*Learning*\n${p.learning.join('\n')}`, 2900))] : [];
  return {
    text: [...lines, ...(p.learning ?? [])].join('\n'),
    blocks: [
      section(lines.join('\n')),
      ...learning,
      context('Costs are the usage OpenAI reported for each answered request, priced with the price table (OPENAI_PRICES).'),
    ],
  };
}

/**
 * A refusal or failure, to one person. `mrkdwn` is written by the bot: its own mentions (`<@U…>`,
 * `<#C…>`) render, and any words from a person, the model or an error must already be escaped
 * with `esc` (see `plainError`). The fallback text is the same string, so it carries no live
 * mention that someone else wrote.
 */
export function errorMessage(mrkdwn: string, hint?: string): Message {
  const text = truncateMrkdwn(`:warning: ${mrkdwn}${hint ? `\n${hint}` : ''}`, 2900);
  return { text, blocks: [section(text)] };
}

/** An error message whose text is plain (an exception's message, a parser's complaint quoting the input). */
export function plainError(text: string): Message {
  return errorMessage(esc(text));
}

/**
 * Why the bot could not post the round where the brief was typed, and what to do, by the kind of
 * conversation: a public channel needs an invite; a private one (which the bot cannot tell from a
 * conversation hidden from it) an invite from a member; a direct message between people (or a
 * group one) cannot have the bot in it at all.
 */
export function notInChannelMessage(p: { channelId: string; kind: 'public' | 'dm' | 'group_dm' | 'hidden'; botName?: string }): Message {
  const who = p.botName ? `@${esc(p.botName)}` : 'the app';
  const invite = `\`/invite ${who}\``;
  let text: string;
  switch (p.kind) {
    case 'dm':
    case 'group_dm':
      text = `:wave: I cannot post in a ${p.kind === 'dm' ? 'direct message between people' : 'group direct message'}, so the round has nowhere to go. Send the brief in a channel I am in, or in your direct message with me (my App Home → Messages).`;
      break;
    case 'hidden':
      text = `:wave: I am not in <#${p.channelId}> (a private channel, or one I cannot see), so I cannot post the round there. A member of the channel can invite me with ${invite} (or the channel's details → Integrations → Add apps); then send the brief again.`;
      break;
    default:
      text = `:wave: I am not in <#${p.channelId}> yet, so I cannot post the round there. Invite me with ${invite} in that channel, or open the channel's details → Integrations → Add apps. Then send the brief again.`;
  }
  return { text, blocks: [section(text)] };
}

/**
 * What kind of conversation the bot could not post in, from what Slack already said: the
 * `channel_name` of the command ("directmessage", "mpdm-…") and the error of `chat.postMessage`.
 * Without `chat:write.public`, a public channel the bot is not in answers `not_in_channel`; a
 * private channel it is not in, or someone else's DM, is invisible to it and answers
 * `channel_not_found` (docs.slack.dev/reference/methods/chat.postMessage, errors). Asking
 * `conversations.info` instead would need channels:read and groups:read, which the app does not
 * hold, and which it would need for nothing else.
 */
export function cannotPostKind(p: {
  channel: string;
  channelName?: string;
  reason: 'not_in_channel' | 'channel_not_found';
}): 'public' | 'hidden' | 'dm' | 'group_dm' {
  if (p.channelName === 'directmessage' || p.channel.startsWith('D')) return 'dm';
  if (p.channelName?.startsWith('mpdm-')) return 'group_dm';
  return p.reason === 'not_in_channel' ? 'public' : 'hidden';
}

/** Briefs are taken only in some channels: which. */
export function allowlistMessage(allowed: string[]): Message {
  return errorMessage(
    `Briefs are not accepted in this channel. Use one of: ${allowed.map((c) => (/^[CG][A-Z0-9]+$/.test(c) ? `<#${c}>` : `#${esc(c.replace(/^#/, ''))}`)).join(', ')}.`,
  );
}

/** A refusal by the rate limit or a cap, in words that say what to do. */
export function limitText(code: string, detail: string): string {
  if (code === 'RATE_LIMITED')
    return `You have reached the limit of rounds per hour, new briefs and next rounds together (${detail.replace(/^rate limit: /, '')}). Try again later.`;
  if (code === 'DAILY_IMAGE_CAP') return `The workspace has reached today's image cap: ${detail}. It resets at midnight UTC.`;
  if (code === 'SPEND_CAP')
    return `The workspace has reached its spending limit: ${detail}. It resets on the 1st (UTC); an admin can raise MONTHLY_SPEND_CAP_USD.`;
  return detail;
}

/** What the runner tells one person, as a message. `botName` is what people type after /invite. */
export function noticeMessage(n: Notice, ctx: { botName?: string } = {}): Message {
  switch (n.kind) {
    case 'restarting':
      return errorMessage('The bot is restarting; send the brief again in a minute.');
    case 'refused':
      return errorMessage(esc(limitText(n.code, n.detail)));
    case 'cannot_post':
      if (n.reason === 'other') return errorMessage(`I could not post in this channel (${esc(n.detail ?? 'unknown error')}).`);
      return notInChannelMessage({
        channelId: n.channel,
        kind: cannotPostKind({ channel: n.channel, channelName: n.channelName, reason: n.reason }),
        botName: ctx.botName,
      });
    case 'still_generating':
      return errorMessage(`Round ${n.round} is still being made; your feedback is kept for the next round.`);
    case 'voting_closed':
      return errorMessage(`Voting on round ${n.round} is closed.`);
    case 'double_click':
      return notesMessage([
        `Your vote for variant ${n.label} still counts: two clicks this close together count as one. To take it back, wait a moment and click Vote again.`,
      ]);
    case 'your_vote':
      if (n.audience) {
        const who = esc(truncate(n.audience, 200));
        return notesMessage([
          n.retracted
            ? `You took back your vote for variant ${n.label} (for ${who}); your votes in other audiences stand.`
            : `Your vote for ${who}: variant ${n.label}. You have one vote in each audience.`,
        ]);
      }
      return notesMessage([n.retracted ? `You took back your vote for variant ${n.label}.` : `Your vote: variant ${n.label}.`]);
    case 'vote_failed':
      return errorMessage(`Your vote was not recorded: ${esc(n.detail)}`);
    case 'close_refused':
      return errorMessage(`Only <@${n.author}> (who wrote the brief) or a workspace admin can close this round.`);
    case 'already_closed':
      return errorMessage(`Round ${n.round} is already closed.`);
    case 'edit_closed':
      return errorMessage(`Round ${n.round} is closed; its variants can no longer be edited.`);
    case 'edit_refused':
      return errorMessage(
        `Only <@${n.author}> (who wrote the brief) or a workspace admin can edit a variant's copy. To suggest other words, reply in the thread: replies are feedback for the next round.`,
      );
    case 'images_missing':
      return errorMessage(
        n.purpose === 'edit'
          ? `The image of variant ${n.label} is no longer available, so it cannot be re-rendered.`
          : `The images of variant ${n.label} are no longer available.`,
      );
    case 'rerender_failed':
      return errorMessage(`Variant ${n.label} could not be re-rendered: ${esc(n.detail)}`);
    case 'stale_button':
      return errorMessage(
        `That button belongs to round ${n.round}; round ${n.latest} is the latest in this thread. Use its buttons, or mention me.`,
      );
    case 'approve_refused':
    case 'approval_duplicate':
    case 'export_refused':
    case 'results_none':
      return approvalNotice(n) as Message;
    case 'more_noted':
      return notesMessage([
        `:memo: Noted: more like variant ${n.label} is feedback for the next round. Voting on round ${n.round} stays open: only <@${n.author}> (who wrote the brief) or a workspace admin can end it with *More like this*. The tally's *New round with feedback* button, or a reply that mentions me, starts the next round with it.`,
      ]);
  }
}
