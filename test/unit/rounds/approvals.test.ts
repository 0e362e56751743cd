import { describe, expect, it } from 'vitest';
import { approvalOptions, approvalState, contentHash, parseApprovers, parseQuorum } from '../../../src/rounds/approvals.ts';
import { parseCommand } from '../../../src/rounds/brief.ts';
import type { Approval } from '../../../src/rounds/types.ts';

const png = (n: number) => new Uint8Array([0x89, 0x50, 0x4e, 0x47, n]);
const copy = { headline: 'Trail-ready', body: 'Packs that last.', cta: 'Shop now' };

describe('content hash', () => {
  it('is the same for the same copy and pixels, whatever order the formats came in', () => {
    const a = contentHash(copy, { square: png(1), story: png(2) });
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(contentHash({ ...copy }, { story: png(2), square: png(1) })).toBe(a);
  });

  it('changes with any character of the copy or any byte of any image', () => {
    const a = contentHash(copy, { square: png(1), story: png(2) });
    expect(contentHash({ ...copy, cta: 'Shop now!' }, { square: png(1), story: png(2) })).not.toBe(a);
    expect(contentHash(copy, { square: png(1), story: png(3) })).not.toBe(a);
    expect(contentHash(copy, { square: png(1) })).not.toBe(a);
    // Copy fields cannot trade text without changing the hash.
    expect(contentHash({ headline: 'ab', body: 'c', cta: '' }, {})).not.toBe(contentHash({ headline: 'a', body: 'bc', cta: '' }, {}));
  });
});

describe('approvers and quorum', () => {
  it('reads mentions, user ids and @names, once each', () => {
    expect(parseApprovers('<@U0ALICE|alice>, <@U0BOB> U0CAROL12 @U0EVE123 @dana @Dana')).toEqual({
      ids: ['U0ALICE', 'U0BOB', 'U0CAROL12', 'U0EVE123'],
      names: ['dana'],
    });
  });

  it('refuses what is not a person, with the expected form', () => {
    expect(() => parseApprovers('alice,bob')).toThrow(/@mentions separated by commas.*"alice"/);
    expect(() => parseApprovers(' , ')).toThrow(/at least one @mention/);
    expect(() => parseQuorum('two')).toThrow(/whole number from 1 to 20; got "two"/);
  });

  it('defaults the quorum to every approver and refuses a quorum above the approvers', () => {
    expect(approvalOptions(['U1', 'U2', 'U1'], undefined)).toEqual({ approvers: ['U1', 'U2'], quorum: 2 });
    expect(approvalOptions(['U1', 'U2', 'U3'], 2)).toEqual({ approvers: ['U1', 'U2', 'U3'], quorum: 2 });
    expect(() => approvalOptions(['U1'], 2)).toThrow(/more approvals than there are approvers \(1\)/);
    expect(() => approvalOptions([], 1)).toThrow(/--quorum needs approvers/);
    expect(approvalOptions(undefined, undefined)).toEqual({});
  });

  it('parses --approvers and --quorum in a brief; names wait for Slack to resolve them', () => {
    const d = { variants: 3, maxVariants: 6, formats: ['square' as const], channel: 'meta' as const, maxChars: 500, brands: [] };
    const p = parseCommand('Oat milk for runners --approvers <@U0ALICE>,@bob --quorum 2', d);
    expect(p).toMatchObject({
      kind: 'brief',
      brief: 'Oat milk for runners',
      options: { approvers: ['U0ALICE'], quorum: 2 },
      approverNames: ['bob'],
    });
    expect(() => parseCommand('Oat milk for runners --approvers <@U0ALICE> --quorum 3', d)).toThrow(
      /more approvals than there are approvers/,
    );
    expect(parseCommand('Oat milk for runners', d)).toMatchObject({ options: { variants: 3 } });
    expect((parseCommand('Oat milk for runners', d) as { options: object }).options).not.toHaveProperty('approvers');
  });
});

describe('approval state', () => {
  const at = new Date('2026-01-01T00:00:00Z');
  const ap = (user: string, hash: string, voided = false, variantId = 'v-B'): Approval => ({
    roundId: 'r',
    variantId,
    user,
    hash,
    at,
    voidedAt: voided ? at : null,
    voidedReason: voided ? 'edited' : null,
  });

  it('counts only live approvals of the leader’s current content by named approvers', () => {
    const leader = { variantId: 'v-B', label: 'B', hash: 'h2' };
    const s = approvalState({ approvers: ['U1', 'U2', 'U3'], quorum: 2 }, leader, [
      ap('U1', 'h1', true), // approved the earlier content: voided
      ap('U1', 'h2'),
      ap('U9', 'h2'), // not an approver
      ap('U2', 'h2', false, 'v-A'), // another variant
    ]);
    expect(s).toMatchObject({ quorum: 2, approvedBy: ['U1'], met: false });
    expect(approvalState({ approvers: ['U1', 'U2'], quorum: 2 }, leader, [ap('U1', 'h2'), ap('U2', 'h2')])?.met).toBe(true);
    expect(approvalState({}, leader, [])).toBeUndefined();
  });
});
