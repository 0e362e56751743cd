/**
 * Whole rounds replayed against the strict stand-in at Slack's own pace: what Slack documents
 * about images, text, rate limits and files, checked on everything the bot sent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeThumbnail } from '../../../src/image/thumbnail.ts';
import type { FakeMessage, FakeSlack } from '../../../src/sandbox/web-api.ts';
import { fakeLibrary } from '../../helpers/fakes.ts';
import { tinyPng } from '../../helpers/png.ts';
import { type Harness, harness, tallyMessage, variantMessages } from './harness.ts';

const C = 'C0GENERAL';
let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

type Block = {
  type: string;
  block_id?: string;
  slack_file?: { id: string };
  accessory?: { slack_file?: { id: string } };
  elements?: { action_id: string; value?: string }[];
};

const blocksOf = (m: FakeMessage | undefined) => (m?.blocks ?? []) as Block[];
const text = (m: FakeMessage | undefined) => JSON.stringify(m?.blocks ?? []);

/** Every image a message shows, as the file Slack has for it. */
function imagesOf(slack: FakeSlack, m: FakeMessage) {
  return blocksOf(m)
    .flatMap((b) => [b.slack_file?.id, b.accessory?.slack_file?.id])
    .filter((id): id is string => !!id)
    .map((id) => slack.files.get(id));
}

/** Each image shown was a PNG/JPEG/GIF already shared in that thread before the message that shows it. */
function expectSharedBefore(slack: FakeSlack, m: FakeMessage) {
  const files = imagesOf(slack, m);
  for (const f of files) {
    expect(f?.mimetype).toMatch(/^image\/(png|jpeg|gif)$/);
    const share = f?.shares?.find((s) => s.channel === m.channel);
    expect(share, `file ${f?.id} shared in ${m.channel}`).toBeDefined();
    expect(Number(share?.ts)).toBeLessThan(Number(m.ts));
  }
  return files;
}

function vote(m: FakeMessage): string {
  const v = blocksOf(m)
    .flatMap((b) => b.elements ?? [])
    .find((e) => e.action_id === 'vote')?.value;
  if (!v) throw new Error('no vote button');
  return v;
}

const special = (slack: FakeSlack) => slack.notifications.filter((n) => n.mention.startsWith('!'));

/** A harness at Slack's own pace whose library holds one past creative with a WebP thumbnail (image blocks do not show WebP). */
async function slackPaced(): Promise<Harness> {
  const lib = fakeLibrary([{ headline: 'Crispy & golden', brand: 'acme' }]);
  lib.items[0].image = (await makeThumbnail(tinyPng(32, 32, [200, 150, 40]), { maxBytes: 1e6, maxPixels: 1e6 })).webp;
  return harness({ pace: 'slack', lib });
}

const closeValue = (tally: FakeMessage) =>
  blocksOf(tally)
    .flatMap((b) => b.elements ?? [])
    .find((e) => e.action_id === 'close_round')?.value;

/**
 * The rest of a whole round, whatever brief started it: inspiration and variants shown with
 * images shared before use; votes by button, by reaction alias with a skin tone, and a moved vote;
 * a reply that mentions the bot starts round 2 with that feedback; votes; the author closes.
 * Ends with exact tallies on the messages people see, the winner's files before the library note,
 * nothing refused by the stand-in, and nobody pinged by a special mention.
 */
async function playWholeRound(h: Harness, parent: FakeMessage, author: string): Promise<void> {
  const { slack, d } = h;
  await slack.waitFor(() => tallyMessage(slack, C, parent.ts), 30_000, 'tally');
  const thread = slack.thread(C, parent.ts);
  const inspiration = thread.find((m) => m.text === 'Inspiration for round 1') as FakeMessage;
  expect(expectSharedBefore(slack, inspiration)).toHaveLength(1);
  expect(text(inspiration)).toContain('Crispy &amp; golden');
  const variants = variantMessages(slack, C, parent.ts).map((v) => v.message);
  expect(variants.length).toBeGreaterThanOrEqual(2);
  for (const v of variants) {
    const [file] = expectSharedBefore(slack, v);
    // The alt text reached Slack as alt_txt.
    expect(file?.altText).toMatch(/^Variant [A-Z] ad image/);
  }

  // Votes: Bob by button; Carol by reaction, with an alias and a skin tone; Ada moves her vote.
  const [A, B] = variants;
  await d.blockAction({ user: 'U0BOB', channel: C, message: A, action: { action_id: 'vote', value: vote(A) } });
  slack.reactAsUser({ user: 'U0CAROL', channel: C, ts: B.ts, name: 'thumbsup::skin-tone-2' });
  await d.reactionAdded({ user: 'U0CAROL', channel: C, ts: B.ts, reaction: 'thumbsup::skin-tone-2' });
  await d.blockAction({ user: 'U0ADMIN', channel: C, message: A, action: { action_id: 'vote', value: vote(A) } });
  await d.blockAction({ user: 'U0ADMIN', channel: C, message: B, action: { action_id: 'vote', value: vote(B) } });
  await slack.waitFor(() => /`A` [█░]+ \*1\*.*\\n`B` [█░]+ \*2\*/.test(text(tallyMessage(slack, C, parent.ts))), 20_000, 'tally A1 B2');

  // Feedback with the characters people type, mentioning the bot: round 2 at once.
  const reply = slack.postAsUser({ user: 'U0BOB', channel: C, text: `<@${slack.botUserId}> warmer & <bolder>`, thread_ts: parent.ts });
  await d.messageEvent(reply);
  await slack.waitFor(() => tallyMessage(slack, C, parent.ts, 2), 40_000, 'round 2');
  expect(h.gen.requests.at(-1)?.feedback).toEqual(['warmer & <bolder>']);
  const v2 = variantMessages(slack, C, parent.ts, 2).map((v) => v.message);
  for (const v of v2) expectSharedBefore(slack, v);
  const last = v2[v2.length - 1];
  await d.blockAction({ user: 'U0CAROL', channel: C, message: last, action: { action_id: 'vote', value: vote(last) } });
  await d.blockAction({ user: 'U0BOB', channel: C, message: last, action: { action_id: 'vote', value: vote(last) } });
  await d.blockAction({ user: 'U0ADMIN', channel: C, message: v2[0], action: { action_id: 'vote', value: vote(v2[0]) } });
  const tally2 = tallyMessage(slack, C, parent.ts, 2) as FakeMessage;
  await d.blockAction({ user: author, channel: C, message: tally2, action: { action_id: 'close_round', value: closeValue(tally2) } });
  const note = await slack.waitFor(
    () => slack.thread(C, parent.ts).find((m) => m.text.includes('now in the creative library')),
    30_000,
    'library note',
  );
  // Exact final tallies, on the message people see.
  const winner = String.fromCharCode(64 + v2.length);
  const final = text(tallyMessage(slack, C, parent.ts, 2));
  expect(final).toMatch(/`A` [█░]+ \*1\*/);
  expect(final).toMatch(new RegExp(`\`${winner}\` [█░]+ \\*2\\*`));
  for (let i = 1; i < v2.length - 1; i++) expect(final).toMatch(new RegExp(`\`${String.fromCharCode(65 + i)}\` [█░]+ \\*0\\*`));
  expect(final).toContain(`Winner: variant ${winner}`);
  expect(text(slack.message(C, parent.ts))).toContain(`Winner: variant ${winner}`);
  // The winner's files come before the note that it is in the library.
  const files = slack.thread(C, parent.ts).find((m) => m.subtype === 'file_share' && m.text.includes(`Variant ${winner} in all formats`));
  expect(Number(files?.ts)).toBeLessThan(Number(note.ts));

  // Nothing was refused on the way, no 429 was answered, nobody was pinged by a special mention.
  const refused = slack.calls.filter((c) => !c.ok);
  expect(refused.map((c) => `${c.method}: ${c.error}`)).toEqual([]);
  expect(special(slack)).toEqual([]);
}

describe('a round against the strict stand-in, at Slack’s pace', () => {
  it('slash command as Slack encodes it → images shared before use → votes by button and by reaction alias → feedback → round 2 → close: exact tallies, the brief escaped once', async () => {
    h = await slackPaced();
    await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'Fish & chips <3 --variants 3' });
    const parent = await h.slack.waitFor(() => h?.slack.channelMessages(C).at(-1), 5000, 'parent');
    await playWholeRound(h, parent, 'U0ALICE');
    // Decoded once at the edge, escaped once when shown.
    expect(h.gen.requests[0].brief).toBe('Fish & chips <3');
    const shown = h.slack.message(C, parent.ts);
    expect(text(shown)).toContain('Fish &amp; chips &lt;3');
    expect(text(shown)).not.toContain('&amp;amp;');
    expect(shown?.text).toContain('Fish &amp; chips &lt;3');
  }, 120_000);

  it('the same whole round from the form: the fields stay structured, raw values are not decoded, the brief shows escaped once', async () => {
    h = await slackPaced();
    const { slack, d } = h;
    await d.slashCommand({ user: 'U0BOB', channel: C, text: '' });
    const view = await slack.waitFor(() => [...slack.views.values()].find((v) => v.user === 'U0BOB'), 5000, 'modal');
    await d.viewSubmission({
      user: 'U0BOB',
      view,
      values: {
        product: { value: { type: 'plain_text_input', value: 'Fish & chips <3' } },
        audience: { value: { type: 'plain_text_input', value: 'students on a budget' } },
        tone: { value: { type: 'plain_text_input', value: 'cheeky' } },
        offer: { value: { type: 'plain_text_input', value: '2 for £5' } },
        formats: { value: { type: 'checkboxes', selected_options: [{ value: 'square' }] } },
        variants: { value: { type: 'static_select', selected_option: { value: '2' } } },
      },
    });
    const parent = await slack.waitFor(() => slack.channelMessages(C).at(-1), 5000, 'parent');
    await playWholeRound(h, parent, 'U0BOB');
    expect(h.gen.requests[0]).toMatchObject({
      brief: 'Fish & chips <3. 2 for £5',
      fields: { product: 'Fish & chips <3', audience: 'students on a budget', tone: 'cheeky', offer: '2 for £5' },
    });
    // Round 2 is made from the same structured brief, with the feedback.
    expect(h.gen.requests[1]).toMatchObject({ brief: 'Fish & chips <3. 2 for £5', fields: { audience: 'students on a budget' } });
    const shown = slack.message(C, parent.ts);
    expect(text(shown)).toContain('Fish &amp; chips &lt;3. 2 for £5');
    expect(text(shown)).not.toContain('&amp;amp;');
    expect(text(shown)).toContain('*Audience:* students on a budget');
  }, 120_000);

  it('the same whole round from a brief with <!channel>: it pings nobody, from the first message to the winner', async () => {
    h = await slackPaced();
    // The client made "@channel" into markup: it arrives as <!channel>, and is stored as the words "@channel".
    await h.d.slashCommand({ user: 'U0ALICE', channel: C, text: 'Big sale <!channel> today --variants 2' });
    const parent = await h.slack.waitFor(() => h?.slack.channelMessages(C).at(-1), 5000, 'parent');
    await playWholeRound(h, parent, 'U0ALICE');
    expect(h.gen.requests.map((r) => r.brief)).toEqual(['Big sale @channel today', 'Big sale @channel today']);
    expect(h.slack.message(C, parent.ts)?.text).toContain('Big sale @channel today');
  }, 120_000);

  it('a literal <!here> typed in the form, which the model repeats, pings nobody', async () => {
    h = await harness();
    const { slack, d } = h;
    // A form's value is raw: "<!here>" typed there is text, and the fake model repeats it in its headlines.
    await d.slashCommand({ user: 'U0ALICE', channel: C, text: '' });
    const view = await slack.waitFor(() => [...slack.views.values()].find((v) => v.user === 'U0ALICE'), 5000, 'modal');
    await d.viewSubmission({
      user: 'U0ALICE',
      view,
      values: {
        product: { value: { type: 'plain_text_input', value: 'Flash <!here> sale' } },
        formats: { value: { type: 'checkboxes', selected_options: [{ value: 'square' }] } },
        variants: { value: { type: 'static_select', selected_option: { value: '2' } } },
      },
    });
    const parent = await slack.waitFor(() => slack.channelMessages(C).at(-1), 5000, 'parent');
    await slack.waitFor(() => tallyMessage(slack, C, parent.ts), 20_000, 'tally');
    expect(h.gen.requests[0].brief).toBe('Flash <!here> sale');
    const variants = variantMessages(slack, C, parent.ts).map((v) => v.message);
    expect(variants[0].text).toContain('Flash &lt;!here&gt; sale');
    expect(parent.text).toContain('Flash &lt;!here&gt; sale');
    const A = variants[0];
    await d.blockAction({ user: 'U0BOB', channel: C, message: A, action: { action_id: 'vote', value: vote(A) } });
    const tally = tallyMessage(slack, C, parent.ts) as FakeMessage;
    await d.blockAction({ user: 'U0ALICE', channel: C, message: tally, action: { action_id: 'close_round', value: closeValue(tally) } });
    await slack.waitFor(() => text(slack.message(C, parent.ts)).includes('Winner: variant A'), 10_000, 'winner');
    expect(text(slack.message(C, parent.ts))).toContain('&lt;!here&gt;');
    expect(special(slack)).toEqual([]);
  }, 60_000);
});

describe('limits', () => {
  it('five open rounds under a vote storm share one edit budget, stay under Tier 3 and converge to exact tallies; a 429 is waited out, not looped', async () => {
    // Slack's limits and the bot's budgets, ten times faster on both sides so the test takes seconds.
    h = await harness({
      pace: {
        slack: { updatesPerMinute: 500, updateBurst: 20, postsPerSecond: 10, postBurst: 10 },
        bot: { updatesPerMinute: 500, updateBurst: 10, postsPerSecond: 10, postBurst: 8, tallyUpdateMs: 50 },
        processingMs: 60,
      },
    });
    const { slack, d } = h;
    const channels = ['C0A', 'C0B', 'C0C', 'C0D', 'C0E'];
    const people = Array.from({ length: 20 }, (_, i) => `U2${String(i).padStart(4, '0')}`);
    for (const u of people) slack.addUser({ id: u, name: u.toLowerCase() });
    for (const c of channels)
      slack.addChannel({ id: c, name: c.toLowerCase(), isPrivate: false, members: [slack.botUserId, 'U0ALICE', ...people] });
    await Promise.all(channels.map((c) => d.slashCommand({ user: 'U0ALICE', channel: c, text: `Round in ${c} --variants 3` })));
    const parents = await Promise.all(channels.map((c) => slack.waitFor(() => slack.channelMessages(c).at(-1), 10_000, `parent ${c}`)));
    await Promise.all(parents.map((p) => slack.waitFor(() => tallyMessage(slack, p.channel, p.ts), 60_000, `tally ${p.channel}`)));
    const rounds = parents.map((p) => ({ p, variants: variantMessages(slack, p.channel, p.ts).map((v) => v.message) }));
    // The storm: every person votes in every round, some twice (a move).
    const want = rounds.map(() => [0, 0, 0]);
    await Promise.all(
      rounds.flatMap(({ p, variants }, r) =>
        people.map(async (u, i) => {
          const first = (i + r) % 3;
          await d.blockAction({
            user: u,
            channel: p.channel,
            message: variants[first],
            action: { action_id: 'vote', value: vote(variants[first]) },
          });
          let last = first;
          if (i % 4 === 0) {
            last = (first + 1) % 3;
            await d.blockAction({
              user: u,
              channel: p.channel,
              message: variants[last],
              action: { action_id: 'vote', value: vote(variants[last]) },
            });
          }
          want[r][last] += 1;
        }),
      ),
    );
    for (const [r, { p }] of rounds.entries()) {
      await slack.waitFor(
        () =>
          ['A', 'B', 'C'].every((l, i) =>
            new RegExp(`\`${l}\` [█░]+ \\*${want[r][i]}\\*`).test(text(tallyMessage(slack, p.channel, p.ts))),
          ),
        30_000,
        `exact tally in ${p.channel}: ${want[r].join(',')}`,
      );
    }
    // The shared budget kept every edit under Tier 3: Slack never had to say 429.
    expect(slack.callsTo('chat.update').filter((c) => c.error === 'ratelimited')).toEqual([]);
    // Then Slack says 429 to three edits in a row: the bot waits the second it asks for each time.
    slack.failNext('chat.update', 'ratelimited', { retryAfter: 1, times: 3 });
    const before = slack.callsTo('chat.update').length;
    const extra = rounds[0];
    await d.blockAction({
      user: 'U0ALICE',
      channel: extra.p.channel,
      message: extra.variants[0],
      action: { action_id: 'vote', value: vote(extra.variants[0]) },
    });
    want[0][0] += 1;
    await slack.waitFor(
      () => new RegExp(`\`A\` [█░]+ \\*${want[0][0]}\\*`).test(text(tallyMessage(slack, extra.p.channel, extra.p.ts))),
      30_000,
      'the tally after three 429s',
    );
    const after = slack.callsTo('chat.update').slice(before);
    expect(after.map((c) => c.error ?? 'ok')).toEqual(['ratelimited', 'ratelimited', 'ratelimited', 'ok']);
    for (let i = 1; i < after.length; i++) expect(after[i].at - after[i - 1].at).toBeGreaterThanOrEqual(900);
    const updates = slack.callsTo('chat.update');
    expect(updates.length).toBeLessThan(people.length * rounds.length);
  }, 120_000);

  it('a tally with hundreds of voters keeps every variant row and counts the voters it cannot name', async () => {
    const { tallyMessage: build } = await import('../../../src/slack/blocks/round.ts');
    const voters = (n: number, p: string) => Array.from({ length: n }, (_, i) => `U${p}${String(i).padStart(8, '0')}`);
    const m = build({
      roundId: 'r',
      round: 1,
      status: 'open',
      anonymous: false,
      hideTally: false,
      total: 600,
      pendingFeedback: 0,
      entries: ['A', 'B', 'C', 'D'].map((label, i) => ({ label, votes: 150, voters: voters(150, String(i)), probBest: 0.25 })),
    });
    const bars = (m.blocks.find((b) => b.block_id === 'tally-bars') as unknown as { text: { text: string } }).text.text;
    expect(bars.length).toBeLessThanOrEqual(3000);
    for (const l of ['A', 'B', 'C', 'D']) expect(bars).toMatch(new RegExp(`\`${l}\` [█░]+ \\*150\\*.* and \\d+ more`));
  });
});
