/**
 * Issue 14, vote integrity: copy is edited only by the brief's author or an admin, and votes cast
 * before an edit (for copy nobody sees any more) are taken back with a note in the thread; Vote,
 * Close and New round count only from the round's own channel.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeMessage } from '../../src/sandbox/web-api.ts';
import { type Harness, harness, tallyMessage, variantMessages } from '../integration/slack/harness.ts';

const C = 'C0GENERAL';
const ELSEWHERE = 'C0RANDOM';
let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

function element(m: FakeMessage, actionId: string) {
  for (const b of m.blocks as { type: string; elements?: { action_id: string; value?: string; options?: { value: string }[] }[] }[]) {
    const e = b.elements?.find((x) => x.action_id === actionId);
    if (e) return e;
  }
  throw new Error(`no ${actionId}`);
}

async function openRound(text: string) {
  await h.d.slashCommand({ user: 'U0ALICE', channel: C, text });
  const parent = await h.slack.waitFor(() => h.slack.channelMessages(C).find((m) => m.text.includes(text.split(' --')[0])), 5000, 'parent');
  const tally = await h.slack.waitFor(() => tallyMessage(h.slack, C, parent.ts), 10_000, 'tally');
  const round = await h.store.latestRoundInThread(C, parent.ts);
  if (!round) throw new Error('no round');
  return { parent, tally, round, variants: variantMessages(h.slack, C, parent.ts).map((v) => v.message) };
}

/** Picks "Edit copy" in a variant's menu as `user`; returns the menu value (edit:<variant id>). */
async function openEditor(user: string, variant: FakeMessage): Promise<string> {
  const edit = element(variant, 'variant_menu').options?.find((o) => o.value.startsWith('edit:'))?.value as string;
  await h.d.blockAction({
    user,
    channel: C,
    message: variant,
    action: { action_id: 'variant_menu', type: 'overflow', selected_option: { value: edit } },
  });
  return edit;
}

const copy = (headline: string) => ({
  headline: { value: { type: 'plain_text_input', value: headline } },
  body: { value: { type: 'plain_text_input', value: 'Body' } },
  cta: { value: { type: 'plain_text_input', value: 'Go' } },
});

describe('editing copy', () => {
  it('is refused to anyone but the author or an admin, at the menu and at a forged submission', async () => {
    const { variants } = await openRound('Bike lights --variants 2');
    const A = variants[0];
    const edit = await openEditor('U0BOB', A);
    await h.slack.waitFor(() => h.slack.ephemeralsFor('U0BOB').find((e) => e.text.includes('can edit a variant')), 5000, 'refusal');
    expect([...h.slack.views.values()].filter((v) => v.view.callback_id === 'edit_copy')).toEqual([]);

    // A submission Bob makes up (or an editor opened before the rule): no edit.
    const variantId = edit.slice('edit:'.length);
    await h.d.viewSubmission({
      user: 'U0BOB',
      view: { type: 'modal', callback_id: 'edit_copy', private_metadata: JSON.stringify({ variantId }) },
      values: copy('Hijacked headline'),
    });
    await h.slack.waitFor(
      () => (h.slack.ephemeralsFor('U0BOB').filter((e) => e.text.includes('can edit a variant')).length === 2 ? true : undefined),
      5000,
      'second refusal',
    );
    expect(h.gen.rerenders).toEqual([]);
    expect(h.slack.message(C, A.ts)?.text).not.toContain('Hijacked');
  });

  it("takes back the votes cast before the author's edit and says so in the thread", async () => {
    const { parent, round, variants } = await openRound('Rain jackets --variants 2');
    const [A, B] = variants;
    for (const user of ['U0CAROL', 'U0DAN'])
      await h.d.blockAction({ user, channel: C, message: A, action: { action_id: 'vote', value: element(A, 'vote').value } });
    await h.d.blockAction({ user: 'U0ERIN', channel: C, message: B, action: { action_id: 'vote', value: element(B, 'vote').value } });
    expect((await h.rounds.votes(round.id)).map((v) => v.user).sort()).toEqual(['U0CAROL', 'U0DAN', 'U0ERIN']);

    await openEditor('U0ALICE', A);
    const view = await h.slack.waitFor(() => [...h.slack.views.values()].find((v) => v.view.callback_id === 'edit_copy'), 5000, 'editor');
    await h.d.viewSubmission({ user: 'U0ALICE', view, values: copy('Stay dry, ride on') });
    const note = await h.slack.waitFor(
      () => h.slack.thread(C, parent.ts).find((m) => m.text.includes('edited the copy of variant A')),
      5000,
      'note',
    );
    expect(note.text).toContain('The 2 votes it had were for the old copy and were taken back');
    expect(h.slack.message(C, A.ts)?.text).toContain('Stay dry, ride on');
    // Only B's vote is left; the tally shows it.
    expect((await h.rounds.votes(round.id)).map((v) => v.user)).toEqual(['U0ERIN']);
    await h.slack.waitFor(() => (tallyMessage(h.slack, C, parent.ts)?.text.includes('1 vote') ? true : undefined), 5000, 'tally');
  });
});

describe('clicks name their round; the payload says where they came from', () => {
  it('a Vote, Close or New round from another channel than the round’s does nothing', async () => {
    const { parent, round, variants, tally } = await openRound('Thermos for hikers --variants 2');
    const A = variants[0];
    await h.d.blockAction({
      user: 'U0BOB',
      channel: ELSEWHERE,
      message: { ...A, channel: ELSEWHERE },
      action: { action_id: 'vote', value: element(A, 'vote').value },
    });
    await h.d.blockAction({
      user: 'U0ALICE',
      channel: ELSEWHERE,
      message: { ...tally, channel: ELSEWHERE },
      action: { action_id: 'close_round', value: round.id },
    });
    await h.d.blockAction({
      user: 'U0ALICE',
      channel: ELSEWHERE,
      message: { ...tally, channel: ELSEWHERE },
      action: { action_id: 'new_round', value: round.id },
    });
    // The same clicks from the round's channel do count, so the forged ones had every chance to.
    await h.d.blockAction({ user: 'U0CAROL', channel: C, message: A, action: { action_id: 'vote', value: element(A, 'vote').value } });
    await h.bot.runner.work.idle();
    expect((await h.rounds.votes(round.id)).map((v) => v.user)).toEqual(['U0CAROL']);
    const now = await h.store.latestRoundInThread(C, parent.ts);
    expect(now).toMatchObject({ id: round.id, status: 'open' });
  });
});
