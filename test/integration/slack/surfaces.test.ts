import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeMessage } from '../../../src/sandbox/web-api.ts';
import { tinyPng } from '../../helpers/png.ts';
import { type Harness, harness, tallyMessage, variantMessages } from './harness.ts';

const C = 'C0GENERAL';
let h: Harness;

beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
});

async function openRound(text: string, user = 'U0ALICE') {
  await h.d.slashCommand({ user, channel: C, text });
  const brief = text.split(' --')[0];
  const parent = await h.slack.waitFor(() => h.slack.channelMessages(C).find((m) => m.text.includes(brief)), 5000, 'parent');
  await h.slack.waitFor(() => tallyMessage(h.slack, C, parent.ts), 10_000, 'tally');
  return { parent, variants: variantMessages(h.slack, C, parent.ts).map((v) => v.message) };
}

function element(m: FakeMessage, actionId: string) {
  for (const b of m.blocks as {
    type: string;
    block_id?: string;
    elements?: { action_id: string; value?: string; options?: { value: string }[] }[];
  }[]) {
    const e = b.elements?.find((x) => x.action_id === actionId);
    if (e) return e;
  }
  throw new Error(`no ${actionId}`);
}

describe('the other surfaces', () => {
  it('the brief form: field errors keep it open; a valid form starts a round', async () => {
    await h.d.slashCommand({ user: 'U0BOB', channel: C, text: '' });
    const view = await h.slack.waitFor(() => [...h.slack.views.values()].find((v) => v.user === 'U0BOB'), 5000, 'modal');
    expect(view.view.callback_id).toBe('brief_modal');
    const bad = await h.d.viewSubmission({
      user: 'U0BOB',
      view,
      values: {
        product: { value: { type: 'plain_text_input', value: '' } },
        formats: { value: { type: 'checkboxes', selected_options: [] } },
      },
    });
    expect(bad.json).toMatchObject({
      response_action: 'errors',
      errors: { product: expect.any(String), formats: 'Pick at least one format.' },
    });
    const ok = await h.d.viewSubmission({
      user: 'U0BOB',
      view,
      values: {
        product: { value: { type: 'plain_text_input', value: 'Cold brew concentrate' } },
        audience: { value: { type: 'plain_text_input', value: 'night-shift nurses' } },
        tone: { value: { type: 'plain_text_input', value: null } },
        ad_channel: { value: { type: 'static_select', selected_option: { value: 'linkedin' } } },
        formats: { value: { type: 'checkboxes', selected_options: [{ value: 'square' }, { value: 'landscape' }] } },
        brand: { value: { type: 'static_select', selected_option: { value: 'northwind' } } },
        variants: { value: { type: 'static_select', selected_option: { value: '2' } } },
        reference: { value: { type: 'file_input', files: [] } },
      },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('');
    const parent = await h.slack.waitFor(
      () => h.slack.channelMessages(C).find((m) => m.text.includes('Cold brew concentrate')),
      5000,
      'parent',
    );
    await h.slack.waitFor(() => tallyMessage(h.slack, C, parent.ts), 10_000, 'tally');
    // The form's labels never become copy: the brief is the product's words; the audience guides
    // the copywriter as a field (it is not printed in the ads), and the team sees it on the parent.
    expect(h.gen.requests[0]).toMatchObject({
      brief: 'Cold brew concentrate',
      fields: { product: 'Cold brew concentrate', audience: 'night-shift nurses' },
      channel: 'linkedin',
      brand: 'northwind',
      count: 2,
      formats: ['square', 'landscape'],
    });
    expect(h.gen.requests[0].brief).not.toMatch(/Product|Audience/);
    expect(JSON.stringify(parent.blocks)).toContain('*Audience:* night-shift nurses');
  });

  it('the brief form: a corrupt reference image is named and the round goes on without it; a good one is used', async () => {
    const formValues = (file: unknown) => ({
      product: { value: { type: 'plain_text_input', value: 'Reflective vests' } },
      formats: { value: { type: 'checkboxes', selected_options: [{ value: 'square' }] } },
      variants: { value: { type: 'static_select', selected_option: { value: '2' } } },
      reference: { value: { type: 'file_input', files: [file] } },
    });
    const corrupt = new Uint8Array([
      0x89,
      0x50,
      0x4e,
      0x47,
      0x0d,
      0x0a,
      0x1a,
      0x0a,
      ...Array.from({ length: 200 }, (_, i) => (i * 37) % 256),
    ]);
    const posted = h.slack.postAsUser({
      user: 'U0BOB',
      channel: C,
      text: 'refs',
      files: [
        { name: 'broken.png', bytes: corrupt },
        { name: 'good.png', bytes: tinyPng(8, 8, [20, 200, 90]) },
      ],
    });
    expect(posted.ts).toBeTruthy();
    // As Slack hands a file_input's files to the app.
    const asInput = (name: string) => {
      const f = [...h.slack.files.values()].find((x) => x.name === name);
      if (!f) throw new Error(`no file ${name}`);
      const url = `${h.slack.baseUrl}/files/${f.id}/download/${name}`;
      return { id: f.id, name, mimetype: 'image/png', size: f.bytes?.length, url_private: url, url_private_download: url };
    };
    const [broken, good] = [asInput('broken.png'), asInput('good.png')];
    for (const [file, brief] of [
      [broken, 'Reflective vests'],
      [good, 'Reflective vests'],
    ] as const) {
      await h.d.slashCommand({ user: 'U0BOB', channel: C, text: '' });
      const view = await h.slack.waitFor(() => [...h.slack.views.values()].filter((v) => v.user === 'U0BOB').at(-1), 5000, 'modal');
      const res = await h.d.viewSubmission({ user: 'U0BOB', view, values: formValues(file) });
      expect(res.status).toBe(200);
      await h.slack.waitFor(
        () => (h.gen.requests.filter((r) => r.brief.includes(brief)).length === (file === broken ? 1 : 2) ? true : undefined),
        10_000,
        'round started',
      );
    }
    const note = h.slack.channelMessages(h.slack.dmChannel('U0BOB').id).find((m) => m.text.includes('reference image could not be used'));
    expect(note?.text).toContain('broken.png');
    expect(note?.text).toContain('goes on without it');
    expect(h.gen.requests[0].referenceImage).toBeUndefined();
    expect(Buffer.from(h.gen.requests[1].referenceImage as Uint8Array).equals(Buffer.from(tinyPng(8, 8, [20, 200, 90])))).toBe(true);
  });

  it('variant menu: edit copy re-renders in place, download uploads every format, more like this starts a round (author) or is kept as feedback (others)', async () => {
    const { parent, variants } = await openRound('Desk lamps --variants 2');
    const A = variants[0];
    const menu = element(A, 'variant_menu');
    const value = (verb: string) => menu.options?.find((o) => o.value.startsWith(`${verb}:`))?.value as string;
    // The brief's author edits (others are refused: test/security/vote-integrity.test.ts).
    await h.d.blockAction({
      user: 'U0ALICE',
      channel: C,
      message: A,
      action: { action_id: 'variant_menu', type: 'overflow', selected_option: { value: value('edit') } },
    });
    const view = await h.slack.waitFor(
      () => [...h.slack.views.values()].find((v) => v.view.callback_id === 'edit_copy'),
      5000,
      'edit modal',
    );
    const empty = await h.d.viewSubmission({
      user: 'U0ALICE',
      view,
      values: {
        headline: { value: { type: 'plain_text_input', value: ' ' } },
        body: { value: { type: 'plain_text_input', value: 'b' } },
        cta: { value: { type: 'plain_text_input', value: 'Go' } },
      },
    });
    expect(empty.json).toMatchObject({ response_action: 'errors', errors: { headline: 'The headline cannot be empty.' } });
    await h.d.viewSubmission({
      user: 'U0ALICE',
      view,
      values: {
        headline: { value: { type: 'plain_text_input', value: 'Brighter nights' } },
        body: { value: { type: 'plain_text_input', value: 'New body' } },
        cta: { value: { type: 'plain_text_input', value: 'Light up' } },
      },
    });
    const edited = await h.slack.waitFor(
      () => (h.slack.message(C, A.ts)?.text.includes('Brighter nights') ? h.slack.message(C, A.ts) : undefined),
      5000,
      'edited variant',
    );
    expect(h.gen.rerenders).toEqual([{ headline: 'Brighter nights', body: 'New body', cta: 'Light up' }]);
    const img = (edited.blocks as { type: string; slack_file?: { id: string } }[]).find((b) => b.type === 'image');
    expect(h.slack.fileBytes(img?.slack_file?.id as string)?.equals(Buffer.from(tinyPng(5, 5, [1, 2, 3])))).toBe(true);

    await h.d.blockAction({
      user: 'U0CAROL',
      channel: C,
      message: A,
      action: { action_id: 'variant_menu', type: 'overflow', selected_option: { value: value('download') } },
    });
    const shared = await h.slack.waitFor(
      () => h.slack.thread(C, parent.ts).find((m) => m.subtype === 'file_share' && m.text.includes('for <@U0CAROL>')),
      10_000,
      'download',
    );
    expect(shared.files).toHaveLength(2);

    // Carol did not write the brief: her "more like this" must not end the round people vote on.
    await h.d.blockAction({
      user: 'U0CAROL',
      channel: C,
      message: A,
      action: { action_id: 'variant_menu', type: 'overflow', selected_option: { value: value('more') } },
    });
    const noted = await h.slack.waitFor(() => h.slack.ephemeralsFor('U0CAROL').find((e) => e.text.includes('Noted')), 5000, 'noted');
    expect(noted.text).toContain('feedback for the next round');
    await h.slack.waitFor(
      () => JSON.stringify(tallyMessage(h.slack, C, parent.ts)?.blocks).includes('New round with feedback (1)'),
      5000,
      'her request offered as feedback',
    );
    expect((await h.rounds.latestInThread(C, parent.ts))?.status).toBe('open');
    expect(h.gen.requests).toHaveLength(1);
    // Alice wrote it: her "more like this" starts round 2 at once, built on that variant.
    await h.d.blockAction({
      user: 'U0ALICE',
      channel: C,
      message: A,
      action: { action_id: 'variant_menu', type: 'overflow', selected_option: { value: value('more') } },
    });
    await h.slack.waitFor(() => tallyMessage(h.slack, C, parent.ts, 2), 10_000, 'round 2');
    expect(h.gen.requests[1].leader?.headline).toBe('Brighter nights');
    expect(h.gen.requests[1].feedback[0]).toContain('More like variant A');
  });

  it('Add to creative library: ingests the images with the text as caption; says when there are none', async () => {
    const before = h.lib.items.length;
    const m = h.slack.postAsUser({
      user: 'U0BOB',
      channel: C,
      text: 'Our best summer ad',
      files: [
        { name: 'summer.png', bytes: tinyPng(6, 6, [250, 120, 0]) },
        { name: 'notes.txt', bytes: new TextEncoder().encode('hello') },
      ],
    });
    const res = await h.d.messageAction({ user: 'U0BOB', channel: C, message: m, callback_id: 'add_to_library' });
    expect(res.status).toBe(200);
    const note = await h.slack.waitFor(
      () => h.slack.ephemeralsFor('U0BOB').find((e) => e.text.includes('creative library')),
      5000,
      'confirmation',
    );
    expect(note.text).toContain('Added 1 image');
    expect(h.lib.items.length).toBe(before + 1);
    expect(h.lib.items.at(-1)).toMatchObject({ caption: 'Our best summer ad', fileName: 'summer.png' });
    expect(Buffer.from(h.lib.items.at(-1)?.image as Uint8Array).equals(Buffer.from(tinyPng(6, 6, [250, 120, 0])))).toBe(true);
    const plain = h.slack.postAsUser({ user: 'U0BOB', channel: C, text: 'no pictures here' });
    await h.d.messageAction({ user: 'U0BOB', channel: C, message: plain, callback_id: 'add_to_library' });
    await h.slack.waitFor(() => h.slack.ephemeralsFor('U0BOB').find((e) => e.text.includes('has no images')), 5000, 'no images');
  });

  it('App Home lists open rounds and winners with links', async () => {
    const { parent } = await openRound('Garden gloves --variants 2', 'U0CAROL');
    await h.d.appHomeOpened('U0CAROL');
    const home = await h.slack.waitFor(() => h.slack.homes.get('U0CAROL'), 5000, 'home');
    const text = JSON.stringify(home.view.blocks);
    expect(text).toContain('Garden gloves');
    expect(text).toContain(`p${parent.ts.replace('.', '')}`);
    expect(text).toContain('No winners yet');
  });

  it('closes by itself after the configured time, with a reminder first; admins may close too', async () => {
    const { parent, variants } = await openRound('Umbrellas --variants 2');
    const round = await h.store.latestRoundInThread(C, parent.ts);
    await h.d.blockAction({
      user: 'U0BOB',
      channel: C,
      message: variants[1],
      action: { action_id: 'vote', value: element(variants[1], 'vote').value },
    });
    await h.store.updateRound(round?.id as string, { closesAt: new Date(Date.now() + 5 * 60_000) });
    await h.bot.timer.tick();
    await h.slack.waitFor(() => h.slack.thread(C, parent.ts).find((m) => m.text.includes('closes in about 5 minutes')), 5000, 'reminder');
    await h.store.updateRound(round?.id as string, { closesAt: new Date(Date.now() - 1000) });
    await h.bot.timer.tick();
    await h.slack.waitFor(
      () => JSON.stringify(tallyMessage(h.slack, C, parent.ts)?.blocks).includes('Closed automatically'),
      5000,
      'auto close',
    );
    expect((await h.store.getRound(round?.id as string))?.closedBy).toBe('auto');

    // Ada is a workspace admin (users.info): she may close Alice's round.
    const two = await openRound('Raincoats --variants 2');
    const tally = tallyMessage(h.slack, C, two.parent.ts) as FakeMessage;
    await h.d.blockAction({
      user: 'U0ADMIN',
      channel: C,
      message: tally,
      action: { action_id: 'close_round', value: element(tally, 'close_round').value },
    });
    await h.slack.waitFor(
      () => JSON.stringify(tallyMessage(h.slack, C, two.parent.ts)?.blocks).includes('no votes, so no winner'),
      5000,
      'admin close',
    );
  });

  it('two quick clicks on "New round" start one round', async () => {
    const { parent } = await openRound('Tents --variants 2');
    const reply = h.slack.postAsUser({ user: 'U0BOB', channel: C, text: 'more orange', thread_ts: parent.ts });
    await h.d.messageEvent(reply);
    const tally = await h.slack.waitFor(
      () => {
        const t = tallyMessage(h.slack, C, parent.ts);
        return JSON.stringify(t?.blocks).includes('New round with feedback (1)') ? t : undefined;
      },
      5000,
      'button',
    );
    const value = element(tally, 'new_round').value;
    await Promise.all([
      h.d.blockAction({ user: 'U0BOB', channel: C, message: tally, action: { action_id: 'new_round', value } }),
      h.d.blockAction({ user: 'U0CAROL', channel: C, message: tally, action: { action_id: 'new_round', value } }),
    ]);
    await h.slack.waitFor(() => tallyMessage(h.slack, C, parent.ts, 2), 10_000, 'round 2');
    await new Promise((r) => setTimeout(r, 300));
    expect((await h.store.roundsInThread(C, parent.ts)).map((r) => r.number)).toEqual([1, 2]);
    expect(h.gen.requests).toHaveLength(2);
    // The later click is silent (it lost the race for the number), or told round 2 is being made or
    // that its button is round 1's.
    for (const e of [...h.slack.ephemeralsFor('U0BOB'), ...h.slack.ephemeralsFor('U0CAROL')])
      expect(e.text).toMatch(/Round 2 is still being made|belongs to round 1; round 2 is the latest/);
  });

  it('refuses briefs past the rate limit with a human message', async () => {
    await h.close();
    h = await harness({ settings: { ratePerHour: 1 } });
    await openRound('First brief');
    await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'Second brief' });
    await h.slack.waitFor(
      () => h.slack.ephemeralsFor('U0ALICE').find((e) => e.text.includes('limit of rounds per hour')),
      5000,
      'rate limit',
    );
    expect(h.slack.channelMessages(C)).toHaveLength(1);
  });
});
