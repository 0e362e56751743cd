/**
 * What the Slack adapter makes of a round, through the real Bolt receiver and the stand-in:
 * a failed round's parent says so, Close round asks first, App Home entries link to their
 * threads, and a round embeds its brief once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tinyPng } from '../../helpers/png.ts';
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

describe('where the bot cannot post, and files it cannot see', () => {
  it('tells a public channel, a private one and a DM between people apart, and shows channel mentions as mentions', async () => {
    const note = async (channel: string, text: string, expected: RegExp) => {
      await h.d.slashCommand({ user: 'U0ALICE', channel, text });
      return h.slack.waitFor(() => h.slack.ephemeralsFor('U0ALICE').find((e) => expected.test(e.text)), 5000, `note for ${channel}`);
    };
    const pub = await note('C0RANDOM', 'shoes for runners', /not in <#C0RANDOM> yet/);
    expect(pub.text).toContain('`/invite @adcreative`');
    // A private channel the bot is not in is invisible to it (channel_not_found), as in Slack.
    const priv = await note('G0SECRET', 'shoes for runners', /not in <#G0SECRET>/);
    expect(priv.text).toContain('A member of the channel can invite me');
    h.slack.addChannel({ id: 'D0ALICEBOB', name: 'alice-bob', isPrivate: true, isIm: true, members: ['U0ALICE', 'U0BOB'] });
    const dm = await note('D0ALICEBOB', 'shoes for runners', /direct message between people/);
    expect(dm.text).not.toContain('/invite');
  });

  it('the allow-list refusal names the allowed channels as channel mentions', async () => {
    await h.close();
    h = await harness({ slackSettings: { channelAllowlist: ['C0GENERAL', '#ads'] } });
    await h.d.slashCommand({ user: 'U0ALICE', channel: 'C0RANDOM', text: 'shoes for runners' });
    const note = await h.slack.waitFor(
      () => h.slack.ephemeralsFor('U0ALICE').find((e) => e.text.includes('not accepted')),
      5000,
      'refusal',
    );
    expect(JSON.stringify(note.blocks)).toContain('Use one of: <#C0GENERAL>, #ads.');
  });

  it('a channel allowed by its name takes briefs from the form too; elsewhere the form does not open', async () => {
    await h.close();
    h = await harness({ slackSettings: { channelAllowlist: ['#ads'] } });
    const ads = h.slack.addChannel({ id: 'C0ADS', name: 'ads', isPrivate: false, members: ['U0ALICE', h.slack.botUserId] });
    await h.d.slashCommand({ user: 'U0ALICE', channel: ads.id, text: '' });
    const view = await h.slack.waitFor(() => [...h.slack.views.values()].find((v) => v.user === 'U0ALICE'), 5000, 'modal');
    await h.d.viewSubmission({
      user: 'U0ALICE',
      view,
      values: {
        product: { value: { type: 'plain_text_input', value: 'Rain jackets for cyclists' } },
        formats: { value: { type: 'checkboxes', selected_options: [{ value: 'square' }] } },
        variants: { value: { type: 'static_select', selected_option: { value: '2' } } },
      },
    });
    const parent = await h.slack.waitFor(() => h.slack.channelMessages(ads.id).at(-1), 5000, 'parent in #ads');
    await h.slack.waitFor(() => tallyMessage(h.slack, ads.id, parent.ts), 10_000, 'tally in #ads');
    expect(h.slack.ephemeralsFor('U0ALICE').filter((e) => e.text.includes('not accepted'))).toEqual([]);

    await h.d.slashCommand({ user: 'U0BOB', channel: C, text: '' });
    await h.slack.waitFor(() => h.slack.ephemeralsFor('U0BOB').find((e) => e.text.includes('not accepted')), 5000, 'refusal');
    expect([...h.slack.views.values()].filter((v) => v.user === 'U0BOB')).toEqual([]);
  });

  it('Add to creative library: a Slack Connect stub is read with files.info; a file the app cannot see is named, not ingested', async () => {
    const before = h.lib.items.length;
    const partner = h.slack.postAsUser({
      user: 'U0BOB',
      channel: C,
      text: 'Partner ad &amp; more',
      files: [{ name: 'partner.png', bytes: tinyPng(6, 6, [20, 90, 200]) }],
      connect: true,
    });
    await h.d.messageAction({ user: 'U0BOB', channel: C, message: partner, callback_id: 'add_to_library' });
    const added = await h.slack.waitFor(() => h.slack.ephemeralsFor('U0BOB').find((e) => e.text.includes('Added 1 image')), 5000, 'added');
    expect(added).toBeDefined();
    expect(h.lib.items.length).toBe(before + 1);
    // The caption is what Bob typed: "Partner ad &amp; more" (decoded once, not twice).
    expect(h.lib.items.at(-1)?.caption).toBe('Partner ad &amp; more');

    // A message in a channel the app is not in: Slack's file host answers its sign-in page.
    const hidden = h.slack.postAsUser({
      user: 'U0BOB',
      channel: 'C0RANDOM',
      text: 'secret ad',
      files: [{ name: 'hidden.png', bytes: tinyPng(4, 4, [1, 1, 1]) }],
    });
    await h.d.messageAction({ user: 'U0BOB', channel: 'C0RANDOM', message: hidden, callback_id: 'add_to_library' });
    const refused = await h.slack.waitFor(
      () =>
        [...h.slack.ephemeralsFor('U0BOB'), ...h.slack.channelMessages(h.slack.dmChannel('U0BOB').id)].find((e) =>
          e.text.includes('hidden.png'),
        ),
      5000,
      'named refusal',
    );
    expect(refused.text).toMatch(/sign-in page.*app cannot see it/);
    expect(h.lib.items.length).toBe(before + 1);

    // A redirect off Slack's hosts: the token does not follow it.
    h.slack.downloadRedirect = () => 'http://attacker.example/steal.png';
    const moved = h.slack.postAsUser({
      user: 'U0BOB',
      channel: C,
      text: 'moved',
      files: [{ name: 'moved.png', bytes: tinyPng(4, 4, [2, 2, 2]) }],
    });
    await h.d.messageAction({ user: 'U0BOB', channel: C, message: moved, callback_id: 'add_to_library' });
    const away = await h.slack.waitFor(
      () => h.slack.ephemeralsFor('U0BOB').find((e) => e.text.includes('moved.png')),
      5000,
      'redirect refusal',
    );
    expect(away.text).toContain('redirects to a host that is not Slack');
  });
});

describe('images Slack is slow to share', () => {
  it('a variant whose image is not shared in time says so, and the image is attached when it is', async () => {
    await h.close();
    h = await harness({
      pace: {
        slack: { updatesPerMinute: 6000, updateBurst: 200, postsPerSecond: 100, postBurst: 100 },
        bot: { shareWaitMs: 150, lateAttachMs: 5000 },
        processingMs: 600,
      },
    });
    await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'Slow lamps --variants 2' });
    const parent = await h.slack.waitFor(() => h.slack.channelMessages(C).at(-1), 5000, 'parent');
    await h.slack.waitFor(() => tallyMessage(h.slack, C, parent.ts), 10_000, 'tally');
    const first = h.slack.thread(C, parent.ts).filter((m) => m.text.startsWith('Variant '));
    expect(first).toHaveLength(2);
    for (const m of first) expect(JSON.stringify(m.blocks)).toContain('The image is being attached');
    // Votes by reaction work meanwhile: the variant's message is known.
    const round = await h.rounds.latestInThread(C, parent.ts);
    const withImages = await h.slack.waitFor(
      () => {
        const ms = h.slack.thread(C, parent.ts).filter((m) => m.text.startsWith('Variant '));
        return ms.every((m) => JSON.stringify(m.blocks).includes('"slack_file"')) ? ms : undefined;
      },
      10_000,
      'images attached later',
    );
    for (const m of withImages) expect(JSON.stringify(m.blocks)).not.toContain('being attached');
    // The database learns the attached file too (edits re-render with it).
    for (let i = 0; i < 100; i++) {
      const variants = await h.rounds.variants(round?.id as string);
      if (variants.every((v) => v.fileId && h.slack.files.get(v.fileId)?.shares?.length)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('the attached files never reached the database');
  });
});
