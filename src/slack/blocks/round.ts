/**
 * The messages of a round: the parent (brief + live status), the inspiration, one message
 * per variant, the tally and the notes in the thread. Pure functions of plain data.
 */
import { belowMinimum, brandScoreLine } from '../../generate/brand-score.ts';
import { preferenceUncertain } from '../../rank/score.ts';
import type { ApprovalState } from '../../rounds/approvals.ts';
import { wholePercents } from '../../rounds/tally.ts';
import type { RoundOptions, VariantLocale, VariantScoresRecord } from '../../rounds/types.ts';
import type { CloseResult, Failure, RoundNote, SegmentStanding, StatusLine } from '../../rounds/view.ts';
import { audienceLine, segmentLeadersBlock } from './audiences.ts';
import { afterVoteActions, approvalBlocks, approvalNoteText, quorumCloser } from './decisions.ts';
import { ACTION, MENU } from './ids.ts';
import { type Block, button, context, esc, LIMITS, type Message, md, plain, section, truncate, truncateMrkdwn } from './kit.ts';
import { localeBlocks } from './locales.ts';

export interface ParentView {
  brief: string;
  author: string;
  options: RoundOptions;
  round: number;
  status: string;
  cost?: string;
  winner?: string;
  synthetic?: boolean;
}

function optionSummary(o: RoundOptions): string {
  const parts = [
    `${o.variants} variant${o.variants === 1 ? '' : 's'}${o.audiences?.length ? ' per audience' : ''}`,
    o.formats.join(', '),
    o.channel,
  ];
  if (o.audiences?.length) parts.push(`audiences: ${o.audiences.map((a) => esc(truncate(a, 80))).join('; ')}`);
  if (o.brand) parts.push(`brand ${esc(o.brand)}`);
  if (o.anonymous) parts.push('anonymous votes');
  if (o.hideTally) parts.push('tally hidden until close');
  if (o.locales?.length) parts.push(`locales ${esc(o.locales.join(', '))}`);
  return parts.join(' · ');
}

/** The form's audience and tone, shown to the team (they guide the copy, and are not in the ads). */
function fieldsSummary(o: RoundOptions): string | undefined {
  const f = o.fields;
  const parts = [f?.audience && `*Audience:* ${esc(truncate(f.audience, 300))}`, f?.tone && `*Tone:* ${esc(truncate(f.tone, 200))}`];
  const shown = parts.filter(Boolean);
  return shown.length ? shown.join(' · ') : undefined;
}

export function parentMessage(p: ParentView): Message {
  const fields = fieldsSummary(p.options);
  const blocks: Block[] = [
    section(`*Brief* from <@${p.author}>:\n>${esc(truncate(p.brief, 2500)).replace(/\n/g, '\n>')}`),
    ...(fields ? [context(fields)] : []),
    context(optionSummary(p.options)),
    section(`*Round ${p.round}:* ${p.status}`, { block_id: 'status' }),
  ];
  if (p.winner) blocks.push(section(p.winner, { block_id: 'winner' }));
  const notes: string[] = [];
  if (p.cost) notes.push(p.cost);
  if (p.synthetic) notes.push(':warning: synthetic CLIP model: similarity scores are meaningless');
  if (notes.length) blocks.push(context(...notes));
  // The notification text carries the brief escaped too: a brief that says <!channel> pings nobody.
  return {
    text: truncateMrkdwn(`Brief from <@${p.author}>: ${esc(truncate(p.brief, 2900))} — round ${p.round}: ${p.status}`, 3000),
    blocks,
  };
}

export interface InspirationHit {
  headline: string;
  channel: string;
  brand: string;
  ctr: number;
  similarity: number;
  fileId?: string;
  demo: boolean;
}

export function inspirationMessage(p: {
  round: number;
  hits: InspirationHit[];
  state: 'ok' | 'empty' | 'unavailable';
  detail?: string;
  /** How the brief was searched with ("translated from zh: …"). */
  note?: string;
  synthetic?: boolean;
  /** How many of the hits' images could not be attached. */
  missingImages?: number;
}): Message {
  const blocks: Block[] = [section(`*Inspiration for round ${p.round}* — the closest past creatives`)];
  if (p.state === 'empty') {
    blocks.push(
      section(
        'The creative library is empty, so there is nothing to learn from yet. Fill it with `npm run -s adcreative -- library demo` (demo creatives) or `npm run -s adcreative -- ingest &lt;folder&gt;` (your own ads), or use *Add to creative library* on a message with images.',
      ),
    );
  } else if (p.state === 'unavailable') {
    blocks.push(
      section(
        `The creative library could not be searched${p.detail ? ` (${esc(truncate(p.detail, 300))})` : ''}; the variants are made without inspiration.`,
      ),
    );
  } else {
    for (const h of p.hits.slice(0, 10)) {
      const text = `*${esc(truncate(h.headline || '(no headline)', 150))}*\n${esc(h.channel || 'any channel')}${h.brand ? ` · ${esc(h.brand)}` : ''} · CTR ${(h.ctr * 100).toFixed(2)}% · similarity ${h.similarity.toFixed(2)}${h.demo ? ' · _demo_' : ''}`;
      blocks.push(
        section(
          text,
          h.fileId
            ? {
                accessory: {
                  type: 'image',
                  slack_file: { id: h.fileId },
                  alt_text: truncate(`Past creative: ${h.headline}`, LIMITS.altText),
                },
              }
            : {},
        ),
      );
    }
  }
  if (p.note && p.state !== 'unavailable') blocks.push(context(`Searched with: ${esc(truncate(p.note, 300))}`));
  if (p.missingImages) blocks.push(context(`:warning: ${p.missingImages} image${p.missingImages === 1 ? '' : 's'} could not be attached.`));
  if (p.synthetic) blocks.push(context(':warning: CLIP is running a synthetic model: these similarities are meaningless.'));
  return { text: `Inspiration for round ${p.round}`, blocks };
}

export interface VariantView {
  id: string;
  label: string;
  headline: string;
  body: string;
  cta: string;
  concept: string;
  reason: string;
  scores: VariantScoresRecord;
  offline: boolean;
  flags: string[];
  audience?: string;
  /** Copy per locale (`--locales`), shown side by side. */
  locales?: VariantLocale[];
}

export function variantAlt(v: VariantView): string {
  return truncate(`Variant ${v.label} ad image: ${v.concept || v.headline}. Headline "${v.headline}", button "${v.cta}".`, LIMITS.altText);
}

const ordinal = (p: number): string => {
  const n = Math.max(0, Math.min(100, Math.round(p * 100)));
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
};

/**
 * The preference score arrives as a percentile / 100 against the team's past creatives
 * (learn/taste.ts) with its 80 % interval, and null when the model knows nothing yet (no
 * priors, too few votes). A wide interval reads "uncertain" rather than a number to trust.
 */
export function preferenceText(p: number | null, range?: { low?: number | null; high?: number | null }): string {
  if (p === null) return 'preference: insufficient data';
  const low = range?.low;
  const high = range?.high;
  if (typeof low !== 'number' || typeof high !== 'number') return `preference ${ordinal(p)} percentile`;
  if (preferenceUncertain({ preferenceLow: low, preferenceHigh: high }))
    return `preference uncertain (${ordinal(low)}–${ordinal(high)} percentile)`;
  return `preference ${ordinal(p)} percentile (${ordinal(low)}–${ordinal(high)})`;
}

/**
 * A variant's flag as mrkdwn: the generator's notes are plain text (they may quote the model's
 * copy) and are escaped; the one flag the bot writes with a person in it ("copy edited by
 * <@U…>", rounds/service.ts) shows that person as a mention.
 */
export function flagText(flag: string): string {
  const edited = /^copy edited by <@([UW][A-Z0-9]+)>$/.exec(flag);
  return edited ? `copy edited by <@${edited[1]}>` : esc(flag);
}

export function variantMessage(p: {
  round: number;
  variant: VariantView;
  fileId: string | null;
  voteReaction: string;
  /** Anonymous rounds: Slack shows who reacted, so the hint says so. */
  anonymous?: boolean;
  /** Without a file: the image is still being attached, or could not be. */
  image?: 'pending' | 'failed';
}): Message {
  const v = p.variant;
  const s = v.scores;
  const blocks: Block[] = [
    section(`*Variant ${v.label}* · round ${p.round}\n*${esc(truncate(v.headline, 300))}*`, { block_id: `head-${v.label}` }),
  ];
  if (p.fileId) blocks.push({ type: 'image', block_id: `img-${v.label}`, slack_file: { id: p.fileId }, alt_text: variantAlt(v) });
  else
    blocks.push(
      context(
        p.image === 'failed'
          ? ':warning: The image could not be attached here; *Download all formats* in the menu has every format.'
          : ':hourglass_flowing_sand: The image is being attached; it appears here in a moment.',
      ),
    );
  blocks.push(section(`${esc(truncate(v.body, 2000))}\n*CTA:* ${esc(truncate(v.cta, 200))}`, { block_id: `copy-${v.label}` }));
  blocks.push(...localeBlocks(v));
  const scoreText = `relevance ${s.relevance.toFixed(2)} · novelty ${s.novelty.toFixed(2)} · diversity ${s.diversity.toFixed(2)} · ${preferenceText(s.preference, { low: s.preferenceLow, high: s.preferenceHigh })} · total ${s.total.toFixed(2)}`;
  const notes = [scoreText];
  if (v.audience) notes.unshift(audienceLine(v.audience));
  // The brand score and each failed rule by name; older rounds stored none.
  if (s.brand) notes.push(`${belowMinimum(s.brand) ? ':warning: ' : ''}${esc(truncate(brandScoreLine(s.brand), 1000))}`);
  if (v.reason) notes.push(esc(truncate(v.reason, 500)));
  if (v.offline) notes.push(':construction: offline draft (made without OpenAI)');
  // Escaped per flag (one may hold a mention): the cut keeps every entity and mention whole.
  if (v.flags.length) notes.push(truncateMrkdwn(v.flags.map(flagText).join('; '), 500));
  blocks.push(context(...notes));
  blocks.push({
    type: 'actions',
    block_id: `act-${v.label}`,
    elements: [
      button({ text: `Vote ${v.label}`, action_id: ACTION.vote, value: v.id, style: 'primary' }),
      {
        type: 'overflow',
        action_id: ACTION.variantMenu,
        options: [
          { text: plain('Download all formats', LIMITS.optionText), value: `${MENU.download}:${v.id}` },
          { text: plain('Edit copy', LIMITS.optionText), value: `${MENU.edit}:${v.id}` },
          { text: plain('More like this', LIMITS.optionText), value: `${MENU.more}:${v.id}` },
        ],
      },
    ],
  });
  // With audiences a person votes once in each segment (the votes table's key), so the rule names it.
  const perPerson = v.audience ? 'one vote per person for this audience' : 'one vote per person';
  blocks.push(
    context(
      p.anonymous
        ? `Click *Vote ${v.label}* — ${perPerson}, anonymous; click again to take it back. A :${p.voteReaction}: reaction counts too, but Slack shows who reacted.`
        : `Click *Vote ${v.label}* or react with :${p.voteReaction}: — ${perPerson}; click again to take it back.`,
    ),
  );
  return { text: truncateMrkdwn(`Variant ${v.label}: ${esc(truncate(v.headline, 2900))}`, 3000), blocks };
}

export interface TallyEntryView {
  label: string;
  votes: number;
  voters: string[];
  probBest: number;
}

export interface TallyView {
  roundId: string;
  round: number;
  status: 'open' | 'closed' | 'superseded' | 'generating' | 'failed';
  anonymous: boolean;
  hideTally: boolean;
  total: number;
  entries: TallyEntryView[];
  pendingFeedback: number;
  cost?: string;
  closesAt?: Date | null;
  /** Filled once closed. */
  result?: string;
  /** Rounds with approvers. */
  approval?: ApprovalState;
  /** A closed round with a winner: Export (and Results once exported). */
  afterVote?: { exported: boolean };
  /** Rounds with audience segments: each segment's leader. */
  segments?: SegmentStanding[];
}

export function bar(fraction: number, width = 12): string {
  const n = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `${'█'.repeat(n)}${'░'.repeat(width - n)}`;
}

/** " <@U1> <@U2> and 40 more" in at most `room` characters ("" when nobody voted or nothing fits). */
export function voterList(voters: string[], room: number): string {
  if (!voters.length || room <= 0) return '';
  const out: string[] = [];
  let used = 0;
  for (const [i, u] of voters.entries()) {
    const mention = ` <@${u}>`;
    const rest = voters.length - i - 1;
    const tail = rest ? ` and ${rest} more`.length : 0;
    if (used + mention.length + tail > room) break;
    out.push(mention);
    used += mention.length;
  }
  const more = voters.length - out.length;
  const text = `${out.join('')}${more ? `${out.length ? ' and' : ''} ${more} ${out.length ? 'more' : `voter${more === 1 ? '' : 's'}`}` : ''}`;
  return text.length <= room ? text : '';
}

export function tallyMessage(t: TallyView): Message {
  const blocks: Block[] = [];
  const open = t.status === 'open';
  const hidden = open && t.hideTally;
  blocks.push(
    section(`*Tally · round ${t.round}* — ${t.total} vote${t.total === 1 ? '' : 's'}${open ? '' : ' · voting closed'}`, {
      block_id: 'tally-head',
    }),
  );
  if (hidden) {
    blocks.push(section('Counts are hidden until the round closes.'));
  } else {
    const max = Math.max(1, ...t.entries.map((e) => e.votes));
    const percent = wholePercents(t.entries.map((e) => e.probBest));
    const heads = t.entries.map((e, i) => `\`${e.label}\` ${bar(e.votes / max)} *${e.votes}* · ${percent[i]}% chance best`);
    // Every variant keeps its row: the voters' names share what room is left, the rest are counted.
    let room = LIMITS.sectionText - heads.reduce((n, h) => n + h.length + 1, 0);
    const lines = heads.map((h, i) => {
      const voters = t.anonymous ? [] : t.entries[i].voters;
      const who = voterList(voters, Math.floor(room / (heads.length - i)));
      room -= who.length;
      return `${h}${who}`;
    });
    blocks.push(section(lines.join('\n'), { block_id: 'tally-bars' }));
  }
  const segments = hidden ? undefined : segmentLeadersBlock(t.segments ?? [], t.status === 'closed');
  if (segments) blocks.push(segments);
  if (t.result) blocks.push(section(t.result, { block_id: 'tally-result' }));
  const approval = t.approval ? approvalBlocks(t.approval, open) : undefined;
  if (approval) blocks.push(...approval.blocks);
  const notes: string[] = [];
  if (open && t.closesAt)
    notes.push(
      `Voting closes <!date^${Math.floor(t.closesAt.getTime() / 1000)}^{date_short_pretty} at {time}|${t.closesAt.toISOString()}>`,
    );
  if (t.anonymous) notes.push('Anonymous votes');
  if (t.cost) notes.push(t.cost);
  if (t.status === 'superseded') notes.push('A new round started in this thread; this one no longer takes votes.');
  if (notes.length) blocks.push(context(...notes));
  if (t.status === 'closed' && t.afterVote) blocks.push(afterVoteActions(t.roundId, t.afterVote.exported));
  if (open) {
    const elements = [
      button({
        text: 'Close round',
        action_id: ACTION.closeRound,
        value: t.roundId,
        style: 'danger',
        // Closing ends voting for everyone and stores the winner: asked once more, as Slack's clients do.
        confirm: {
          title: 'Close this round?',
          text: `Voting on round ${t.round} ends for everyone and the leading variant is stored as the winner.`,
          confirm: 'Close round',
          deny: 'Keep voting',
        },
      }),
    ];
    if (approval?.button) elements.unshift(approval.button);
    if (t.pendingFeedback > 0)
      elements.push(
        button({ text: `New round with feedback (${t.pendingFeedback})`, action_id: ACTION.newRound, value: t.roundId, style: 'primary' }),
      );
    blocks.push({ type: 'actions', block_id: 'tally-actions', elements });
    blocks.push(
      context('Reply in this thread with feedback ("warmer colours", "shorter headline"); mention me to start the next round at once.'),
    );
  }
  return { text: `Tally for round ${t.round}: ${t.total} votes`, blocks };
}

/**
 * A round that could not be made, with a one-click retry: the same as mentioning the bot in the
 * thread (a new round from the brief and the feedback so far), for people who do not know that.
 */
export function failedRoundMessage(p: { roundId: string; headline: string }): Message {
  const text = `:warning: ${esc(truncate(p.headline, LIMITS.sectionText - 20))}`;
  return {
    text: `${text}\nTry again, or mention me in this thread.`,
    blocks: [
      section(text),
      { type: 'actions', elements: [button({ text: 'Try again', action_id: ACTION.newRound, value: p.roundId, style: 'primary' })] },
      context('Or mention me in this thread; add feedback first if something should change.'),
    ],
  };
}

export function notesMessage(lines: string[]): Message {
  const text = truncateMrkdwn(lines.join('\n'), LIMITS.sectionText);
  return { text, blocks: [section(text)] };
}

export function formatUsd(usd: number): string {
  return usd < 0.01 && usd > 0 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

export function costLine(p: { usd: number; textCalls: number; imageCalls: number; offline: boolean; estimate?: boolean }): string {
  if (p.offline && p.usd === 0) return 'Cost: $0.00 (offline drafts, no API calls)';
  return `${p.estimate ? 'Estimated cost' : 'Cost'}: ${formatUsd(p.usd)} (${p.textCalls} text call${p.textCalls === 1 ? '' : 's'}, ${p.imageCalls} image${p.imageCalls === 1 ? '' : 's'})`;
}

const PROGRESS_ICON = { writing: ':pencil2:', drawing: ':art:', composing: ':frame_with_picture:', ranking: ':bar_chart:' } as const;

/** The parent's status line. */
export function statusText(line: StatusLine): string {
  switch (line.stage) {
    case 'retrieving':
      return ':mag: retrieving similar creatives…';
    case 'queued':
      return `:hourglass_flowing_sand: queued — ${line.ahead} round${line.ahead === 1 ? '' : 's'} ahead`;
    case 'writing':
    case 'drawing':
    case 'composing':
    case 'ranking':
      return `${PROGRESS_ICON[line.stage]} ${line.stage}${line.total > 1 ? ` ${line.done}/${line.total}` : ''}…`;
    case 'posting':
      return ':outbox_tray: posting variants…';
    case 'ready':
      return `:ballot_box_with_ballot: ready — ${line.variants} variant${line.variants === 1 ? '' : 's'} in the thread; vote!`;
    case 'failed':
      return `:x: failed — ${esc(truncate(line.why, 300))}`;
    case 'closed':
      return line.winner ? `closed — winner ${line.winner}` : 'closed — no votes';
  }
}

/** One line of why a round could not be made (the thread's message and the parent's status). */
export function failureText(round: number, f: Failure): { thread: string; status: string } {
  switch (f.kind) {
    case 'restarted':
      return { thread: `The bot restarted while round ${round} was being generated.`, status: 'the bot restarted while it was being made' };
    case 'generation':
      return { thread: `Round ${round} could not be made: ${f.why}`, status: f.why };
    case 'no_variants':
      return { thread: `Round ${round}: no variant could be made (${truncate(f.why, 1500)}).`, status: 'no variants could be made' };
    case 'stopped':
      return { thread: `Round ${round} stopped: ${f.why}`, status: f.why };
  }
}

/** " for <audience>" (tagged with it, in the library), or nothing without segments. */
const forAudience = (a: string | undefined): string => (a ? ` for ${esc(truncate(a, 120))}` : '');

/** A note in the thread, as one mrkdwn line (people's and the model's words escaped). */
export function noteText(n: RoundNote): string {
  switch (n.kind) {
    case 'partial':
      return `:warning: Some of this round could not be made; it goes on with ${n.made} variant${n.made === 1 ? '' : 's'}:\n${n.failures
        .map((f) => `• ${f.label ? `${f.label}: ` : ''}${f.stage} — ${esc(truncate(f.message, 300))}`)
        .join('\n')}`;
    case 'offline':
      return ':construction: These are *offline drafts* made by the studio without OpenAI (no OPENAI_API_KEY, or IMAGE_PROVIDER=studio).';
    case 'synthetic':
      return ':warning: CLIP is running a *synthetic model*: relevance and novelty scores are meaningless until the real model is installed.';
    case 'next':
      return `:arrows_counterclockwise: *Round ${n.number}* started by <@${n.by}> with ${n.feedback} piece${n.feedback === 1 ? '' : 's'} of feedback${n.leader ? ` and variant ${n.leader} as the leader` : ''}.`;
    case 'reminder':
      return `:alarm_clock: Voting on round ${n.number} closes in about ${n.minutes} minute${n.minutes === 1 ? '' : 's'}. <@${n.author}>, close it yourself any time.`;
    case 'stored':
      return `:books: Variant ${n.label} is now in the creative library${n.audience ? `, tagged${forAudience(n.audience)}` : ''}, with this brief and the votes.`;
    case 'store_failed':
      return `:warning: The winner${forAudience(n.audience)} could not be stored in the creative library: ${esc(truncate(n.detail, 500))}`;
    case 'winner_images_missing':
      return `:warning: The images of variant ${n.label} are missing, so the winner${forAudience(n.audience)} could not be uploaded or stored.`;
    case 'copy_edited':
      return `:pencil2: <@${n.by}> edited the copy of variant ${n.label}. The ${n.votesReset} vote${n.votesReset === 1 ? '' : 's'} it had ${n.votesReset === 1 ? 'was' : 'were'} for the old copy and ${n.votesReset === 1 ? 'was' : 'were'} taken back: vote again on what it says now.`;
    case 'approved':
    case 'approvals_voided':
    case 'exported':
    case 'export_failed':
    case 'results':
      return approvalNoteText(n) as string;
  }
}

/** How voting ended, for the tally and the parent. */
export function resultText(r: CloseResult): string {
  const by = r.by === 'auto' ? 'automatically' : r.by === 'quorum' ? quorumCloser(r.approvedBy) : `by <@${r.by}>`;
  if (!r.winner) return `Round closed ${by} with no votes, so no winner was stored.`;
  const w = r.winner;
  const tie = r.tie
    ? ` It was a tie between ${r.tie.labels.join(', ')} (${r.tie.votes} vote${r.tie.votes === 1 ? '' : 's'} each), broken by ${r.tie.brokenBy === 'preference' ? 'predicted preference' : 'the earlier variant'}.`
    : '';
  return `:trophy: *Winner: variant ${w.label}* — “${esc(truncate(w.headline, 200))}” — ${w.votes} of ${w.total} vote${w.total === 1 ? '' : 's'}. Closed ${by}.${tie}`;
}

export { md };
