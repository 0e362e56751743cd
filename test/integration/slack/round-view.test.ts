/**
 * What the Slack adapter makes of a round, through the real Bolt receiver and the stand-in:
 * a failed round's parent says so, Close round asks first, App Home entries link to their
 * threads, and a round embeds its brief once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, harness, tallyMessage } from './harness.ts';

const C = 'C0GENERAL';
let h: Harness;

beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

describe('the round in Slack', () => {
  it('a round that could not be made shows the failure on its parent, not the last progress step', async () => {
    h.gen.throwNext = new Error('the image model answered 500 three times');
    await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'Pens for architects --variants 2' });
    const parent = await h.slack.waitFor(() => h.slack.channelMessages(C).at(-1), 5000, 'parent');
    const failed = await h.slack.waitFor(
      () => {
        const p = h.slack.message(C, parent.ts);
        return p && JSON.stringify(p.blocks).includes('failed') ? p : undefined;
      },
      5000,
      'parent shows the failure',
    );
    expect(JSON.stringify(failed.blocks)).toContain('500 three times');
    expect(JSON.stringify(failed.blocks)).not.toMatch(/composing|drawing|writing/);
  });

  it('Close round asks for confirmation; App Home entries link to their threads; the brief is embedded once per round', async () => {
    await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'Garden gloves --variants 2' });
    const parent = await h.slack.waitFor(() => h.slack.channelMessages(C).at(-1), 5000, 'parent');
    const tally = await h.slack.waitFor(() => tallyMessage(h.slack, C, parent.ts), 10_000, 'tally');
    const close = (tally.blocks as { elements?: { action_id: string; confirm?: { title: { text: string } } }[] }[])
      .flatMap((b) => b.elements ?? [])
      .find((e) => e.action_id === 'close_round');
    expect(close?.confirm?.title.text).toBe('Close this round?');
    expect(h.encoder.calls.texts).toBe(1);

    await h.d.appHomeOpened('U0ALICE');
    const home = await h.slack.waitFor(() => h.slack.homes.get('U0ALICE'), 5000, 'home');
    const permalink = `${h.slack.baseUrl}/archives/${C}/p${parent.ts.replace('.', '')}`;
    expect(JSON.stringify(home.view.blocks)).toContain(`<${permalink}|Garden gloves>`);
  });
});
