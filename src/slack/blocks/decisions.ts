/**
 * What happens after the vote, as Slack shows it: the approval line and the Approve button on
 * the tally, the approval record in the thread, Export and Results on a closed round, and the
 * results message. Pure functions of plain data, like the other builders.
 */

import type { ApprovalState } from '../../rounds/approvals.ts';
import { SHORT_HASH, shortHash } from '../../rounds/approvals.ts';
import type { Notice, RoundNote } from '../../rounds/view.ts';
import { ACTION } from './ids.ts';
import { type Block, button, context, esc, type Message, section, truncate } from './kit.ts';

const people = (ids: string[]) => ids.map((u) => `<@${u}>`).join(', ');

/** The Approve button's value: the variant and the exact content it was drawn with. */
export function approveValue(variantId: string, hash: string): string {
  return `${variantId}:${hash}`;
}

export function parseApproveValue(value: string): { variantId: string; hash: string } | undefined {
  const i = value.lastIndexOf(':');
  if (i <= 0 || i === value.length - 1) return undefined;
  return { variantId: value.slice(0, i), hash: value.slice(i + 1) };
}

/**
 * The tally's approval part: who must approve and how many, who approved the leader's current
 * content, and (while voting is open and a variant leads) the Approve button for that content.
 */
export function approvalBlocks(a: ApprovalState, open: boolean): { blocks: Block[]; button?: Record<string, unknown> } {
  const need = `${a.quorum} of ${a.approvers.length} approver${a.approvers.length === 1 ? '' : 's'} (${people(a.approvers)})`;
  let line: string;
  if (!a.leader) line = `:lock: *Approval:* ${need} must approve the leading variant; no variant leads yet.`;
  else {
    const got = a.approvedBy.length ? `approved by ${people(a.approvedBy)}` : 'not approved yet';
    line = `:lock: *Approval:* ${need} · variant ${a.leader.label} (content \`${shortHash(a.leader.hash)}\`) ${got} — ${a.approvedBy.length}/${a.quorum}`;
  }
  const blocks: Block[] = [section(line, { block_id: 'tally-approval' })];
  if (open && a.leader) {
    blocks.push(
      context(
        `*Approve ${a.leader.label}* records who approved this exact content (copy and images, \`${shortHash(a.leader.hash)}\`) and when; editing the variant voids approvals. ${a.quorum} approval${a.quorum === 1 ? '' : 's'} close the round.`,
      ),
    );
    return {
      blocks,
      button: button({
        text: `Approve ${a.leader.label}`,
        action_id: ACTION.approve,
        value: approveValue(a.leader.variantId, a.leader.hash),
        style: 'primary',
      }),
    };
  }
  return { blocks };
}

const PLATFORM_NAMES: Record<string, string> = { 'google-ads': 'Google Ads', meta: 'Meta', linkedin: 'LinkedIn', tiktok: 'TikTok' };
const num = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** The closed tally's buttons: Export the winner, and Results once it was exported. */
export function afterVoteActions(roundId: string, exported: boolean): Block {
  const elements = [
    button({
      text: exported ? 'Export again' : 'Export winner',
      action_id: ACTION.exportWinner,
      value: roundId,
      ...(exported ? {} : { style: 'primary' as const }),
    }),
  ];
  if (exported) elements.push(button({ text: 'Results', action_id: ACTION.showResults, value: roundId, style: 'primary' }));
  return { type: 'actions', block_id: 'tally-after-vote', elements };
}

/** Which locales an export holds as ads of their own, and which not and why. */
function localesLine(l: { exported: string[]; notExported: { locale: string; why: string }[] }): string {
  const yes = l.exported.length
    ? `translated ads exported in ${l.exported.map((x) => `*${esc(x)}*`).join(', ')}`
    : 'no translated ads exported';
  const no = l.notExported.map((x) => `*${esc(x.locale)}*: ${esc(truncate(x.why, 200))}`).join('; ');
  return `:globe_with_meridians: Locales: ${yes}${no ? `; not exported — ${no}` : ''}.`;
}

/** Thread notes about approvals, exports and results; undefined for other notes. */
export function approvalNoteText(n: RoundNote): string | undefined {
  switch (n.kind) {
    case 'exported': {
      const lines = [
        `:package: <@${n.by}> exported ${n.ads.map((a) => `${a.label}${a.role === 'winner' ? ' (winner)' : ''} as \`${a.adKey}\``).join(', ')}. Every text and image was read back and checked against the platforms' published limits (${n.checked.ads} ads, ${n.checked.images} images, 0 violations); ads are paused.`,
        ...n.platforms.map(
          (p) =>
            `• ${PLATFORM_NAMES[p.platform] ?? p.platform}: ${p.included} of ${p.total}${p.left.length ? ` — ${p.left.map((l) => `${l.label}: ${esc(truncate(l.why, 200))}`).join('; ')}` : ''}`,
        ),
        ...(n.locales ? [localesLine(n.locales)] : []),
        ...n.notes.slice(0, 4).map((x) => `_${esc(truncate(x, 300))}_`),
        'When the ads have run, import the platforms’ reports with `adcreative results import FILE`, then press *Results*.',
      ];
      return lines.join('\n');
    }
    case 'export_failed':
      return `:warning: The export could not be made: ${esc(truncate(n.detail, 1500))}`;
    case 'results': {
      const lines = ['*Results of the exported ads* (from the imported reports):'];
      for (const r of n.rows) {
        const ctr = r.impressions > 0 ? pct(r.clicks / r.impressions) : '—';
        const cvr = r.clicks > 0 ? pct(r.conversions / r.clicks) : '—';
        lines.push(
          `${r.role === 'winner' ? ':trophy: ' : '• '}*${r.label}*${r.role === 'winner' ? ' (winner)' : ''} \`${r.adKey}\` — ${num(r.impressions)} impressions · ${num(r.clicks)} clicks · CTR ${ctr} · ${num(r.conversions)} conversions (${cvr}) · ${r.platforms.map((p) => PLATFORM_NAMES[p === 'google' ? 'google-ads' : p] ?? p).join(' + ')}`,
        );
      }
      if (n.waiting.length) lines.push(`No figures yet for ${n.waiting.map((w) => `${w.label} (\`${w.adKey}\`)`).join(', ')}.`);
      return lines.join('\n');
    }
    case 'approved':
      return `:white_check_mark: <@${n.user}> approved variant ${n.label} — content \`${shortHash(n.hash)}\` (copy and images) — ${n.count} of ${n.quorum} approval${n.quorum === 1 ? '' : 's'}.`;
    case 'approvals_voided':
      return `:warning: Variant ${n.label} was edited by <@${n.by}> (new content \`${shortHash(n.hash)}\`), so the approval${n.users.length === 1 ? '' : 's'} of ${people(n.users)} no longer count${n.users.length === 1 ? 's' : ''}; approve the new version again.`;
    default:
      return undefined;
  }
}

/** Answers to one approver; undefined for notices that are not about approvals. */
export function approvalNotice(n: Notice): Message | undefined {
  const say = (text: string): Message => ({ text, blocks: [section(text)] });
  switch (n.kind) {
    case 'approve_refused':
      switch (n.reason) {
        case 'closed':
          return say(`:warning: Round ${n.round} is closed; approvals are no longer taken.`);
        case 'no_approvers':
          return say(`:warning: Round ${n.round} names no approvers, so there is nothing to approve.`);
        case 'not_approver':
          return say(
            `:warning: Only the approvers of round ${n.round} can approve${n.approvers?.length ? ` (${people(n.approvers)})` : ''}.`,
          );
        case 'not_leader':
          return say(
            `:warning: Variant ${n.label} no longer leads${n.leader ? `; variant ${n.leader} does` : ''}. Nothing was approved: look at the tally again and approve what leads now.`,
          );
        case 'changed':
          return say(
            `:warning: Variant ${n.label} changed since that button was drawn, so your approval was not recorded. Look at the new version and approve it again.`,
          );
      }
      return undefined;
    case 'approval_duplicate':
      return say(`You already approved variant ${n.label} in this exact version (\`${n.hash.slice(0, SHORT_HASH)}\`).`);
    case 'export_refused':
      return say(
        {
          not_closed: `:warning: Round ${n.round} is still open: close it (or let its approvers approve) before exporting.`,
          no_winner: `:warning: Round ${n.round} closed without a winner, so there is nothing to export.`,
          images_missing: `:warning: The winner's images of round ${n.round} are no longer available, so it cannot be exported.`,
          busy: `Round ${n.round} is being exported right now; the zip will appear in the thread.`,
        }[n.reason],
      );
    case 'results_none':
      return say(
        n.exported
          ? `No results for round ${n.round} yet. Download the ads' report from Meta Ads Manager or Google Ads (CSV) and run \`adcreative results import FILE\`.`
          : `Round ${n.round} has not been exported yet: press *Export winner* first.`,
      );
    default:
      return undefined;
  }
}

/** How a quorum close reads in the result line. */
export function quorumCloser(approvedBy: string[] | undefined): string {
  return approvedBy?.length ? `by the approvals of ${people(approvedBy)}` : 'by its approvers';
}
