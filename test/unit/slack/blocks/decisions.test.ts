import { describe, expect, it } from 'vitest';
import { approvalNotice, approveValue, parseApproveValue } from '../../../../src/slack/blocks/decisions.ts';
import { checkMessage } from '../../../../src/slack/blocks/kit.ts';
import { notesMessage, noteText, resultText, tallyMessage } from '../../../../src/slack/blocks/round.ts';

const huge = 'Ω<&>'.repeat(3000);
const approvers = Array.from({ length: 20 }, (_, i) => `U${String(i).padStart(9, '0')}`);
const tally = (status: 'open' | 'closed', extra: Partial<Parameters<typeof tallyMessage>[0]> = {}) =>
  tallyMessage({
    roundId: 'r'.repeat(36),
    round: 2,
    status,
    anonymous: false,
    hideTally: false,
    total: 3,
    entries: [{ label: 'B', votes: 3, voters: ['U1', 'U2', 'U3'], probBest: 0.9 }],
    pendingFeedback: 0,
    ...extra,
  });
const buttons = (m: ReturnType<typeof tallyMessage>) =>
  m.blocks.flatMap((b) =>
    ((b.elements as { action_id?: string; value?: string; text?: { text: string } }[] | undefined) ?? []).filter((e) => e.action_id),
  );

describe('after-the-vote blocks', () => {
  it('an open tally with approvers shows who approved and an Approve button carrying the exact content', () => {
    const hash = 'f'.repeat(64);
    const m = tally('open', {
      approval: { approvers, quorum: 2, leader: { variantId: 'round-B', label: 'B', hash }, approvedBy: [approvers[0]], met: false },
    });
    expect(checkMessage(m)).toEqual([]);
    const text = JSON.stringify(m.blocks);
    expect(text).toContain('2 of 20 approvers');
    expect(text).toContain(`approved by <@${approvers[0]}>`);
    expect(text).toContain('— 1/2');
    const approve = buttons(m).find((b) => b.action_id === 'approve_variant');
    expect(approve?.text?.text).toBe('Approve B');
    expect(parseApproveValue(approve?.value as string)).toEqual({ variantId: 'round-B', hash });
    expect(parseApproveValue(approveValue('a-b:c', 'h'))).toEqual({ variantId: 'a-b:c', hash: 'h' });
    expect(parseApproveValue('nohash')).toBeUndefined();
  });

  it('a closed tally offers Export, then Results once exported; an open one neither', () => {
    expect(buttons(tally('closed', { afterVote: { exported: false } })).map((b) => b.text?.text)).toEqual(['Export winner']);
    expect(buttons(tally('closed', { afterVote: { exported: true } })).map((b) => b.text?.text)).toEqual(['Export again', 'Results']);
    expect(buttons(tally('open')).map((b) => b.action_id)).not.toContain('export_winner');
    expect(
      resultText({ by: 'quorum', approvedBy: ['U1', 'U2'], winner: { label: 'B', headline: 'H', votes: 3, total: 3 }, tie: null }),
    ).toMatch(/Closed by the approvals of <@U1>, <@U2>\./);
  });

  it('export, results and approval notes stay inside Slack limits with extreme input', () => {
    const notes = [
      noteText({ kind: 'approved', label: 'B', user: 'U1', hash: 'a'.repeat(64), count: 1, quorum: 2 }),
      noteText({ kind: 'approvals_voided', label: 'B', users: approvers, by: 'U9', hash: 'b'.repeat(64) }),
      noteText({
        kind: 'exported',
        by: 'U1',
        ads: Array.from({ length: 10 }, (_, i) => ({
          label: String.fromCharCode(65 + i),
          adKey: `adc-${'0'.repeat(12)}`,
          role: 'sibling' as const,
        })),
        platforms: ['google-ads', 'meta', 'linkedin', 'tiktok'].map((p) => ({
          platform: p,
          included: 0,
          total: 10,
          left: Array.from({ length: 10 }, () => ({ label: 'A', why: huge })),
        })),
        checked: { ads: 40, images: 44 },
        notes: [huge, huge],
        // Every locale --locales takes, each left out for some variants with a long reason.
        locales: {
          exported: ['de', 'fr', 'it', 'ja', 'zh-CN', 'ar'],
          notExported: ['de', 'fr', 'it', 'ja', 'zh-CN', 'ar'].map((locale) => ({ locale, why: huge })),
        },
      }),
      noteText({ kind: 'export_failed', detail: huge }),
      noteText({
        kind: 'results',
        rows: Array.from({ length: 10 }, (_, i) => ({
          label: 'A',
          adKey: `adc-${'1'.repeat(12)}`,
          role: i ? ('sibling' as const) : ('winner' as const),
          impressions: 1_234_567,
          clicks: 23_456,
          conversions: 789.5,
          platforms: ['meta', 'google'],
          importedAt: new Date(),
        })),
        waiting: [],
      }),
    ];
    for (const n of notes) expect(checkMessage(notesMessage([n]))).toEqual([]);
    expect(notes[1]).toContain('no longer count');
    expect(notes[4]).toContain('1,234,567 impressions · 23,456 clicks · CTR 1.90% · 790 conversions');
    expect(notes[2]).not.toContain('<&>'.slice(0, 2));
    expect(notes[2]).toMatch(/Locales: translated ads exported in \*de\*, \*fr\*/);
  });

  it('tells an approver why an approval did not count', () => {
    const t = (n: Parameters<typeof approvalNotice>[0]) => approvalNotice(n)?.text;
    expect(t({ kind: 'approve_refused', reason: 'not_leader', label: 'B', round: 1, leader: 'A' })).toMatch(
      /B no longer leads; variant A does/,
    );
    expect(t({ kind: 'approve_refused', reason: 'changed', label: 'B', round: 1 })).toMatch(/changed since that button was drawn/);
    expect(t({ kind: 'export_refused', round: 1, reason: 'not_closed' })).toMatch(/still open/);
    expect(t({ kind: 'results_none', round: 1, exported: true })).toMatch(/adcreative results import FILE/);
  });
});
