/**
 * The round as the team sees it in Slack: posts the parent and the thread, keeps the status
 * line and the tally current, closes and announces. Listeners call it after `ack()`; the
 * domain rules live in `src/rounds/`, the messages in `blocks/`.
 */
import type { WebClient } from '@slack/web-api';
import { describeError, InputError, isAdError } from '../errors.ts';
import {
  type Copy,
  type GeneratedVariant,
  type GenerateResult,
  type Generator,
  type Inspiration,
  inspirationFromHit,
} from '../generate/types.ts';
import type { Library, SearchHit } from '../library/types.ts';
import type { Logger } from '../log.ts';
import type { AssetStore } from '../rounds/assets.ts';
import type { CloseOutcome, RoundService, VoteOutcome } from '../rounds/service.ts';
import type { Round, RoundOptions, VariantRecord } from '../rounds/types.ts';
import { type FormatName, IMAGE_TYPES } from '../vocabulary.ts';
import { errorMessage, notInChannelMessage } from './blocks/ephemeral.ts';
import { checkMessage, esc, type Message, truncate } from './blocks/kit.ts';
import {
  costLine,
  failedRoundMessage,
  inspirationMessage,
  notesMessage,
  parentMessage,
  tallyMessage,
  variantAlt,
  variantMessage,
} from './blocks/round.ts';
import { homeView } from './blocks/views.ts';

/** What rounds need of the creative library. */
export type RoundLibrary = Pick<Library, 'count' | 'search' | 'add'>;

export interface FlowSettings {
  voteReaction: string;
  tallyUpdateMs: number;
  adminUserIds: string[];
  channelAllowlist: string[];
  imageMaxBytes: number;
  priceImageUsd: number;
  priceTextUsd: number;
  inspirationCount: number;
  /** Rounds generated at once; the rest wait in line (generation is CPU- and API-heavy). */
  maxConcurrentRounds: number;
  /** Hosts besides Slack's own that may receive the bot token with a file download (the Web API host in use). */
  fileHosts?: string[];
}

/** Slack's file hosts: the bot token goes with a download only to these (and the configured Web API's host). */
export function trustedFileUrl(url: string, extraHosts: string[] = []): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  const h = u.hostname.toLowerCase();
  const slack = ['slack.com', 'slack-edge.com', 'slack-gov.com'].some((d) => h === d || h.endsWith(`.${d}`));
  return (slack && u.protocol === 'https:') || extraHosts.includes(u.host);
}

export interface FlowDeps {
  client: WebClient;
  rounds: RoundService;
  generator: Generator;
  /** Resolves the library lazily; a rejection means "unavailable" and rounds go on without it. */
  library: () => Promise<RoundLibrary>;
  assets: AssetStore;
  settings: FlowSettings;
  botUserId: string;
  /** True when a synthetic CLIP model is loaded: said in every thread. */
  synthetic: boolean;
  logger: Logger;
}

/** Where to tell one person something when the channel is not usable (response_url, DM). */
export type Notify = (m: Message) => Promise<void>;

interface SlackErrorLike {
  data?: { error?: string };
  code?: string;
}

export function slackError(e: unknown): string | undefined {
  return (e as SlackErrorLike)?.data?.error;
}

export class RoundFlow {
  private readonly d: FlowDeps;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly aborts = new Set<AbortController>();
  private readonly tallyTimers = new Map<string, { timer?: NodeJS.Timeout; running?: Promise<void>; dirty: boolean; last: number }>();
  private readonly adminCache = new Map<string, { admin: boolean; at: number }>();
  private stopping = false;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(deps: FlowDeps) {
    this.d = deps;
  }

  get rounds(): RoundService {
    return this.d.rounds;
  }

  get settings(): FlowSettings {
    return this.d.settings;
  }

  // ------------------------------------------------------------------ lifecycle

  /** Runs slow work after ack, tracked so shutdown can wait for it. */
  track<T>(work: Promise<T> | (() => Promise<T>), what: string): void {
    // A function starts on the next turn, so the ack's bytes leave before any slow work begins.
    const started = typeof work === 'function' ? new Promise<T>((resolve) => setImmediate(() => resolve(work()))) : work;
    const p = started.catch((e: unknown) => this.d.logger.error(`${what} failed`, { error: e }));
    this.inflight.add(p);
    p.finally(() => this.inflight.delete(p));
  }

  get busy(): number {
    return this.inflight.size;
  }

  /**
   * Stops taking new work, lets in-flight work finish for `graceMs`, aborts generation that
   * is still running after that, and writes pending tallies.
   */
  async drain(graceMs: number): Promise<void> {
    this.stopping = true;
    const all = () => Promise.allSettled([...this.inflight]);
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    if ((await Promise.race([all().then(() => 'done' as const), timeout])) === 'timeout') {
      for (const a of this.aborts) a.abort(new Error('shutting down'));
      await Promise.race([all(), new Promise((r) => setTimeout(r, 5000).unref())]);
    }
    await this.flushTallies();
  }

  /** After a restart: rounds cut off mid-generation are marked failed; open rounds' tallies are recomputed. */
  async resume(): Promise<void> {
    for (const r of await this.d.rounds.store.roundsWithStatus(['generating'])) {
      // Replicas: a round another live replica is generating is not ours to fail.
      if (!(await this.d.rounds.claim(r.id))) continue;
      await this.d.rounds.fail(r.id, 'the bot restarted while this round was being generated');
      if (r.threadTs.startsWith('pending:')) continue;
      await this.post(
        r.channel,
        failedRoundMessage({ roundId: r.id, headline: `The bot restarted while round ${r.number} was being generated.` }),
        r.threadTs,
      ).catch(() => {});
      await this.updateParent(r, 'failed (bot restarted)').catch(() => {});
    }
    for (const r of await this.d.rounds.store.roundsWithStatus(['open'])) this.scheduleTally(r.id);
  }

  // ------------------------------------------------------------------ Slack helpers

  async post(channel: string, m: Message, threadTs?: string): Promise<string> {
    this.check(m, 'chat.postMessage');
    const r = await this.d.client.chat.postMessage({
      channel,
      text: m.text,
      blocks: m.blocks,
      ...(threadTs ? { thread_ts: threadTs } : {}),
      unfurl_links: false,
      unfurl_media: false,
    });
    return String(r.ts);
  }

  async update(channel: string, ts: string, m: Message): Promise<void> {
    this.check(m, 'chat.update');
    await this.d.client.chat.update({ channel, ts, text: m.text, blocks: m.blocks });
  }

  async ephemeral(channel: string, user: string, m: Message, threadTs?: string): Promise<void> {
    try {
      await this.d.client.chat.postEphemeral({
        channel,
        user,
        text: m.text,
        blocks: m.blocks,
        ...(threadTs ? { thread_ts: threadTs } : {}),
      });
    } catch (e) {
      // Not in the channel (or it is a DM we cannot reach): tell them in the app's DM instead.
      this.d.logger.warn('ephemeral failed; sending a DM', { error: slackError(e) ?? describeError(e) });
      await this.d.client.chat.postMessage({ channel: user, text: m.text, blocks: m.blocks }).catch(() => {});
    }
  }

  private check(m: Message, where: string): void {
    const problems = checkMessage(m);
    if (problems.length) this.d.logger.warn('message breaks Block Kit limits', { where, problems });
  }

  /** Uploads bytes without sharing them anywhere; returns the file id for image blocks. */
  async uploadPrivate(bytes: Uint8Array, filename: string, alt: string): Promise<string | null> {
    try {
      const r = (await this.d.client.files.uploadV2({ file: Buffer.from(bytes), filename, alt_text: truncate(alt, 1000) })) as unknown as {
        files?: { files?: { id?: string }[] }[];
      };
      return r.files?.[0]?.files?.[0]?.id ?? null;
    } catch (e) {
      this.d.logger.warn('upload failed', { filename, error: slackError(e) ?? describeError(e) });
      return null;
    }
  }

  /** Uploads files into a thread, as one message. */
  async uploadToThread(
    channel: string,
    threadTs: string,
    files: { bytes: Uint8Array; filename: string; title: string }[],
    comment: string,
  ): Promise<void> {
    await this.d.client.files.uploadV2({
      channel_id: channel,
      thread_ts: threadTs,
      initial_comment: comment,
      file_uploads: files.map((f) => ({ file: Buffer.from(f.bytes), filename: f.filename, title: f.title })),
    });
  }

  async isAdmin(user: string): Promise<boolean> {
    if (this.d.settings.adminUserIds.includes(user)) return true;
    const hit = this.adminCache.get(user);
    if (hit && Date.now() - hit.at < 10 * 60_000) return hit.admin;
    try {
      const r = await this.d.client.users.info({ user });
      const u = r.user as { is_admin?: boolean; is_owner?: boolean; is_primary_owner?: boolean } | undefined;
      const admin = !!(u?.is_admin || u?.is_owner || u?.is_primary_owner);
      this.adminCache.set(user, { admin, at: Date.now() });
      return admin;
    } catch {
      return false;
    }
  }

  channelAllowed(channelId: string, channelName?: string): boolean {
    const list = this.d.settings.channelAllowlist;
    if (!list.length) return true;
    return list.some((c) => c === channelId || c.replace(/^#/, '') === channelName);
  }

  // ------------------------------------------------------------------ starting rounds

  /**
   * A new brief: creates round 1 (rate limit and caps apply), posts the parent and works in
   * its thread. `notify` reaches the author when the channel cannot be used.
   */
  async startBrief(p: {
    user: string;
    channel: string;
    channelName?: string;
    brief: string;
    options: RoundOptions;
    notify: Notify;
    referenceImage?: Uint8Array;
  }): Promise<void> {
    if (this.stopping) return p.notify(errorMessage('The bot is restarting; send the brief again in a minute.'));
    if (!this.channelAllowed(p.channel, p.channelName)) {
      return p.notify(
        errorMessage(
          `Briefs are not accepted in this channel. Use one of: ${this.d.settings.channelAllowlist.map((c) => (c.startsWith('C') || c.startsWith('G') ? `<#${c}>` : `#${c.replace(/^#/, '')}`)).join(', ')}.`,
        ),
      );
    }
    let round: Round;
    try {
      round = await this.d.rounds.createRound({
        channel: p.channel,
        threadTs: `pending:${Date.now()}:${Math.random()}`,
        number: 1,
        brief: p.brief,
        author: p.user,
        options: p.options,
      });
    } catch (e) {
      return p.notify(errorMessage(limitText(e)));
    }
    const estimate = this.d.rounds.estimateCost(p.options, false);
    let threadTs: string;
    try {
      threadTs = await this.post(
        p.channel,
        parentMessage({
          brief: p.brief,
          author: p.user,
          options: p.options,
          round: 1,
          status: ':mag: retrieving similar creatives…',
          cost: costLine({ ...estimate, offline: false, estimate: true }),
          synthetic: this.d.synthetic,
        }),
      );
    } catch (e) {
      await this.d.rounds.fail(round.id, `could not post: ${slackError(e) ?? describeError(e)}`);
      const err = slackError(e);
      if (err === 'not_in_channel' || err === 'channel_not_found') {
        // The name people type after /invite; auth.test is cheap and this path is rare.
        const botName = await this.d.client.auth
          .test()
          .then((r) => (r.user ? String(r.user) : undefined))
          .catch(() => undefined);
        return p.notify(
          notInChannelMessage({ channelId: p.channel, isPrivate: p.channel.startsWith('G') || err === 'channel_not_found', botName }),
        );
      }
      return p.notify(errorMessage(`I could not post in this channel (${err ?? describeError(e)}).`));
    }
    await this.d.rounds.store.updateRound(round.id, { threadTs });
    round = { ...round, threadTs };
    try {
      const link = await this.d.client.chat.getPermalink({ channel: p.channel, message_ts: threadTs });
      if (link.permalink) await this.d.rounds.store.updateRound(round.id, { permalink: String(link.permalink) });
    } catch {
      // A missing permalink only costs the App Home its link.
    }
    await this.runRound(round, { feedback: [], referenceImage: p.referenceImage });
  }

  /**
   * The next round in a thread: the previous one stops taking votes; the new one is
   * conditioned on the brief, all feedback so far and the current leader.
   */
  async nextRound(p: { channel: string; threadTs: string; user: string; extraFeedback?: string; leaderId?: string }): Promise<void> {
    const prev = await this.d.rounds.store.latestRoundInThread(p.channel, p.threadTs);
    if (!prev) return;
    if (prev.status === 'generating') {
      await this.ephemeral(
        p.channel,
        p.user,
        errorMessage(`Round ${prev.number} is still being made; your feedback is kept for the next round.`),
        p.threadTs,
      );
      return;
    }
    if (this.stopping) return;
    let leader: VariantRecord | undefined;
    if (p.leaderId) leader = await this.d.rounds.store.getVariant(p.leaderId);
    if (!leader && (prev.status === 'open' || prev.status === 'superseded' || prev.status === 'closed'))
      leader = await this.d.rounds.leader(prev.id);
    let round: Round;
    try {
      round = await this.d.rounds.createRound({
        channel: p.channel,
        threadTs: p.threadTs,
        number: prev.number + 1,
        brief: prev.brief,
        author: prev.author,
        options: prev.options,
      });
    } catch (e) {
      if (isAdError(e) && e.code === 'ROUND_EXISTS') return;
      await this.ephemeral(p.channel, p.user, errorMessage(limitText(e)), p.threadTs);
      return;
    }
    if (prev.status === 'open' && (await this.d.rounds.supersede(prev.id))) await this.refreshTally(prev.id);
    if (p.extraFeedback) {
      await this.d.rounds.addFeedback({
        channel: p.channel,
        threadTs: p.threadTs,
        messageTs: `action:${round.id}`,
        user: p.user,
        text: p.extraFeedback,
      });
    }
    const pending = await this.d.rounds.pendingFeedback(p.channel, p.threadTs);
    await this.d.rounds.store.markFeedbackUsed(
      pending.map((f) => f.id),
      round.id,
    );
    const all = await this.d.rounds.allFeedback(p.channel, p.threadTs);
    let leaderCopy: (Copy & { image?: Uint8Array }) | undefined;
    if (leader) {
      const assets = await this.d.assets.load(leader.roundId, leader.id).catch(() => undefined);
      leaderCopy = { headline: leader.headline, body: leader.body, cta: leader.cta, image: assets?.visual };
    }
    await this.post(
      p.channel,
      notesMessage([
        `:arrows_counterclockwise: *Round ${round.number}* started by <@${p.user}> with ${all.length} piece${all.length === 1 ? '' : 's'} of feedback${leader ? ` and variant ${leader.label} as the leader` : ''}.`,
      ]),
      p.threadTs,
    ).catch(() => {});
    await this.runRound(round, { feedback: all.map((f) => f.text), leader: leaderCopy });
  }

  private async updateParent(round: Round, status: string, winner?: string): Promise<void> {
    const r = await this.d.rounds.mustRound(round.id);
    const cost =
      r.status === 'generating'
        ? costLine({ ...this.d.rounds.estimateCost(r.options, false), offline: false, estimate: true })
        : costLine({ usd: r.costUsd, textCalls: r.textCalls, imageCalls: r.imageCalls, offline: r.offline });
    await this.update(
      r.channel,
      r.threadTs,
      parentMessage({
        brief: r.brief,
        author: r.author,
        options: r.options,
        round: r.number,
        status,
        cost,
        winner,
        synthetic: this.d.synthetic,
      }),
    );
  }

  /** Edits the parent's status line at most once a second; the last status always lands. */
  private statusWriter(round: Round): { set(s: string): void; flush(): Promise<void> } {
    let latest: string | undefined;
    let written: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    let chain: Promise<void> = Promise.resolve();
    const write = () => {
      timer = undefined;
      const s = latest;
      if (s === undefined || s === written) return chain;
      written = s;
      chain = chain.then(() =>
        this.updateParent(round, s).catch((e: unknown) =>
          this.d.logger.warn('status update failed', { error: slackError(e) ?? describeError(e) }),
        ),
      );
      return chain;
    };
    return {
      set: (s) => {
        latest = s;
        if (!timer) timer = setTimeout(write, 1000);
      },
      flush: async () => {
        if (timer) clearTimeout(timer);
        await write();
      },
    };
  }

  private async inspiration(round: Round): Promise<{ list: Inspiration[]; message: Message }> {
    let hits: SearchHit[] = [];
    let state: 'ok' | 'empty' | 'unavailable' = 'ok';
    let detail: string | undefined;
    try {
      const lib = await this.d.library();
      if ((await lib.count()) === 0) state = 'empty';
      else {
        hits = await lib.search({
          text: round.brief,
          k: this.d.settings.inspirationCount,
          filters: round.options.brand ? { brand: round.options.brand } : undefined,
        });
        if (!hits.length && round.options.brand) hits = await lib.search({ text: round.brief, k: this.d.settings.inspirationCount });
        if (!hits.length) state = 'empty';
      }
    } catch (e) {
      state = 'unavailable';
      detail = describeError(e);
      this.d.logger.warn('library search failed', { error: e });
    }
    const fileIds = await Promise.all(
      hits.map((h, i) =>
        h.thumbnail?.length
          ? this.uploadPrivate(h.thumbnail, `inspiration-${round.number}-${i + 1}.webp`, `Past creative: ${h.headline}`)
          : Promise.resolve(null),
      ),
    );
    const message = inspirationMessage({
      round: round.number,
      state,
      detail,
      synthetic: this.d.synthetic,
      hits: hits.map((h, i) => ({
        headline: h.headline,
        channel: h.channel,
        brand: h.brand,
        ctr: h.ctr.smoothed,
        similarity: h.scores.fused,
        demo: h.demo,
        fileId: fileIds[i] ?? undefined,
      })),
    });
    const list = hits.map(inspirationFromHit);
    return { list, message };
  }

  /** Waits for a generation slot; tells the thread its place in line while it waits. */
  private async slot(status: { set(s: string): void }): Promise<() => void> {
    const release = () => {
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    };
    if (this.running < Math.max(1, this.d.settings.maxConcurrentRounds)) {
      this.running += 1;
      return release;
    }
    const ahead = this.waiting.length + 1;
    status.set(`:hourglass_flowing_sand: queued — ${ahead} round${ahead === 1 ? '' : 's'} ahead`);
    await new Promise<void>((r) => this.waiting.push(r));
    return release;
  }

  private async runRound(
    round: Round,
    ctx: { feedback: string[]; leader?: Copy & { image?: Uint8Array }; referenceImage?: Uint8Array },
  ): Promise<void> {
    const status = this.statusWriter(round);
    const abort = new AbortController();
    this.aborts.add(abort);
    const release = await this.slot(status);
    try {
      if (abort.signal.aborted || this.stopping) throw new Error('the bot is shutting down');
      if (round.number > 1) status.set(':mag: retrieving similar creatives…');
      const insp = await this.inspiration(round);
      await this.post(round.channel, insp.message, round.threadTs).catch((e: unknown) =>
        this.d.logger.warn('inspiration post failed', { error: slackError(e) ?? describeError(e) }),
      );
      status.set(':pencil2: writing copy…');
      let result: GenerateResult;
      try {
        result = await this.d.generator.generate({
          brief: round.brief,
          brand: round.options.brand,
          channel: round.options.channel,
          formats: round.options.formats,
          count: round.options.variants,
          inspiration: insp.list,
          feedback: ctx.feedback,
          leader: ctx.leader,
          referenceImage: ctx.referenceImage,
          signal: abort.signal,
          onProgress: (pr) => {
            const icon = { writing: ':pencil2:', drawing: ':art:', composing: ':frame_with_picture:', ranking: ':bar_chart:' }[pr.stage];
            status.set(`${icon} ${pr.stage} ${pr.total > 1 ? `${pr.done}/${pr.total}` : ''}…`.replace(' …', '…'));
          },
        });
      } catch (e) {
        const why = e instanceof InputError ? e.message : `generation failed: ${describeError(e)}`;
        await this.d.rounds.fail(round.id, why);
        await status.flush();
        await this.updateParent(round, `:x: failed — ${esc(truncate(why, 300))}`).catch(() => {});
        await this.post(
          round.channel,
          failedRoundMessage({ roundId: round.id, headline: `Round ${round.number} could not be made: ${why}` }),
          round.threadTs,
        ).catch(() => {});
        return;
      }
      const usd =
        result.cost.usd > 0
          ? result.cost.usd
          : result.offline
            ? 0
            : result.cost.textCalls * this.d.settings.priceTextUsd + result.cost.imageCalls * this.d.settings.priceImageUsd;
      const facts = { costUsd: usd, textCalls: result.cost.textCalls, imageCalls: result.cost.imageCalls };
      if (!result.variants.length) {
        const why =
          result.failures.map((f) => `${f.label ? `${f.label}: ` : ''}${f.stage} — ${f.message}`).join('; ') || 'no variants came back';
        await this.d.rounds.fail(round.id, why, facts);
        await status.flush();
        await this.updateParent(round, ':x: failed — no variants could be made').catch(() => {});
        await this.post(
          round.channel,
          failedRoundMessage({ roundId: round.id, headline: `Round ${round.number}: no variant could be made (${truncate(why, 1500)}).` }),
          round.threadTs,
        ).catch(() => {});
        return;
      }
      status.set(':outbox_tray: posting variants…');
      const records = await this.saveVariants(round, result.variants);
      for (const [i, v] of result.variants.entries()) await this.postVariant(round, records[i], v.preview);
      const notes: string[] = [];
      if (result.failures.length) {
        notes.push(
          `:warning: Some of this round could not be made; it goes on with ${result.variants.length} variant${result.variants.length === 1 ? '' : 's'}:\n${result.failures
            .map((f) => `• ${f.label ? `${f.label}: ` : ''}${f.stage} — ${esc(truncate(f.message, 300))}`)
            .join('\n')}`,
        );
      }
      if (result.offline)
        notes.push(
          ':construction: These are *offline drafts* made by the studio without OpenAI (no OPENAI_API_KEY, or IMAGE_PROVIDER=studio).',
        );
      if (this.d.synthetic)
        notes.push(
          ':warning: CLIP is running a *synthetic model*: relevance and novelty scores are meaningless until the real model is installed.',
        );
      if (notes.length) await this.post(round.channel, notesMessage(notes), round.threadTs).catch(() => {});
      const opened = await this.d.rounds.open(round.id, { ...facts, offline: result.offline, synthetic: this.d.synthetic });
      const tallyTs = await this.post(round.channel, await this.tallyMessageFor(opened), round.threadTs);
      await this.d.rounds.store.updateRound(round.id, { tallyTs });
      status.set(
        `:ballot_box_with_ballot: ready — ${result.variants.length} variant${result.variants.length === 1 ? '' : 's'} in the thread; vote!`,
      );
      await status.flush();
    } catch (e) {
      this.d.logger.error('round failed', { round: round.id, error: e });
      await this.d.rounds.fail(round.id, describeError(e));
      await status.flush().catch(() => {});
      await this.post(round.channel, errorMessage(`Round ${round.number} stopped: ${describeError(e)}`), round.threadTs).catch(() => {});
    } finally {
      this.aborts.delete(abort);
      release();
    }
  }

  private async saveVariants(round: Round, variants: GeneratedVariant[]): Promise<VariantRecord[]> {
    const records: VariantRecord[] = variants.map((v, i) => ({
      id: `${round.id}-${v.label || String.fromCharCode(65 + i)}`,
      roundId: round.id,
      label: v.label || String.fromCharCode(65 + i),
      position: i,
      headline: v.headline,
      body: v.body,
      cta: v.cta,
      concept: v.concept,
      reason: v.reason,
      scores: v.scores,
      offline: v.offline,
      flags: v.flags,
      formats: (Object.keys(v.images) as FormatName[]).filter((f) => v.images[f]),
      messageTs: null,
      fileId: null,
    }));
    for (const [i, v] of variants.entries()) {
      await this.d.assets.save(round.id, records[i].id, {
        images: v.images,
        preview: v.preview,
        visual: v.visual,
        imageEmbedding: v.imageEmbedding,
      });
    }
    await this.d.rounds.store.insertVariants(records);
    return records;
  }

  private async postVariant(round: Round, v: VariantRecord, preview: Uint8Array): Promise<void> {
    const fileId = await this.uploadPrivate(preview, `round-${round.number}-variant-${v.label}.png`, variantAlt(v));
    let ts: string | undefined;
    // A freshly uploaded file can take a moment before blocks may reference it.
    for (let attempt = 0; attempt < 3 && fileId && !ts; attempt++) {
      try {
        ts = await this.post(
          round.channel,
          variantMessage({
            round: round.number,
            variant: v,
            fileId,
            voteReaction: this.d.settings.voteReaction,
            anonymous: round.options.anonymous,
          }),
          round.threadTs,
        );
      } catch (e) {
        if (slackError(e) !== 'invalid_blocks') throw e;
        await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
      }
    }
    if (!ts)
      ts = await this.post(
        round.channel,
        variantMessage({
          round: round.number,
          variant: v,
          fileId: null,
          voteReaction: this.d.settings.voteReaction,
          anonymous: round.options.anonymous,
        }),
        round.threadTs,
      );
    await this.d.rounds.store.updateVariant(v.id, { messageTs: ts, fileId });
  }

  // ------------------------------------------------------------------ tally

  async tallyMessageFor(round: Round, result?: string): Promise<Message> {
    const t = await this.d.rounds.tally(round.id);
    const pending = round.status === 'open' ? (await this.d.rounds.pendingFeedback(round.channel, round.threadTs)).length : 0;
    return tallyMessage({
      roundId: round.id,
      round: round.number,
      status: t.round.status,
      anonymous: round.options.anonymous,
      hideTally: round.options.hideTally,
      total: t.tally.total,
      entries: t.tally.entries,
      pendingFeedback: pending,
      cost: costLine({ usd: t.round.costUsd, textCalls: t.round.textCalls, imageCalls: t.round.imageCalls, offline: t.round.offline }),
      closesAt: t.round.closesAt,
      result,
    });
  }

  private async refreshTally(roundId: string, result?: string): Promise<void> {
    const round = await this.d.rounds.mustRound(roundId);
    if (!round.tallyTs) return;
    await this.update(round.channel, round.tallyTs, await this.tallyMessageFor(round, result));
  }

  /** Coalesces tally edits: at most one chat.update per round per TALLY_UPDATE_MS, and the last state always lands. */
  scheduleTally(roundId: string): void {
    let s = this.tallyTimers.get(roundId);
    if (!s) {
      s = { dirty: false, last: 0 };
      this.tallyTimers.set(roundId, s);
    }
    s.dirty = true;
    if (s.timer || s.running) return;
    const state = s;
    const delay = Math.max(0, state.last + this.d.settings.tallyUpdateMs - Date.now());
    state.timer = setTimeout(() => {
      state.timer = undefined;
      state.dirty = false;
      state.running = this.refreshTally(roundId)
        .catch((e: unknown) => this.d.logger.warn('tally update failed', { round: roundId, error: slackError(e) ?? describeError(e) }))
        .finally(() => {
          state.last = Date.now();
          state.running = undefined;
          if (state.dirty) this.scheduleTally(roundId);
          else this.tallyTimers.delete(roundId);
        });
    }, delay);
  }

  async flushTallies(): Promise<void> {
    const pending = [...this.tallyTimers.entries()];
    for (const [id, s] of pending) {
      if (s.timer) clearTimeout(s.timer);
      s.timer = undefined;
      if (s.running) await s.running;
      if (s.dirty) await this.refreshTally(id).catch(() => {});
      this.tallyTimers.delete(id);
    }
  }

  // ------------------------------------------------------------------ votes

  async afterVote(outcome: VoteOutcome, user: string, channel: string): Promise<void> {
    if (outcome.kind === 'closed') {
      await this.ephemeral(channel, user, errorMessage(`Voting on round ${outcome.round.number} is closed.`), outcome.round.threadTs);
      return;
    }
    if (outcome.kind === 'ignored') {
      // A second click this soon reads as a double click; say so, or a quick retraction looks lost.
      if (outcome.reason === 'double_click') {
        const text = `Your vote for variant ${outcome.variant.label} still counts: two clicks this close together count as one. To take it back, wait a moment and click Vote again.`;
        await this.ephemeral(channel, user, notesMessage([text]), outcome.round.threadTs);
      }
      return;
    }
    this.scheduleTally(outcome.round.id);
    // With counts or names hidden, people cannot see their own vote: tell them privately.
    if (outcome.round.options.hideTally || outcome.round.options.anonymous) {
      const text =
        outcome.kind === 'retracted'
          ? `You took back your vote for variant ${outcome.variant.label}.`
          : `Your vote: variant ${outcome.variant.label}.`;
      await this.ephemeral(channel, user, notesMessage([text]), outcome.round.threadTs);
    }
  }

  // ------------------------------------------------------------------ feedback

  /** A human reply in a thread. Returns false when the thread is not a round. */
  async feedback(p: { channel: string; threadTs: string; ts: string; user: string; text: string }): Promise<boolean> {
    const latest = await this.d.rounds.store.latestRoundInThread(p.channel, p.threadTs);
    if (!latest) return false;
    const mention = `<@${this.d.botUserId}>`;
    const text = p.text.split(mention).join('').replace(/\s+/g, ' ').trim();
    const mentioned = p.text.includes(mention);
    if (text) {
      const fresh = await this.d.rounds.addFeedback({
        channel: p.channel,
        threadTs: p.threadTs,
        messageTs: p.ts,
        user: p.user,
        text: truncate(text, 2000),
      });
      if (!fresh) return true;
      await this.d.client.reactions.add({ channel: p.channel, timestamp: p.ts, name: 'eyes' }).catch(() => {});
    }
    if (mentioned) await this.nextRound({ channel: p.channel, threadTs: p.threadTs, user: p.user });
    else if (latest.status === 'open') this.scheduleTally(latest.id);
    return true;
  }

  // ------------------------------------------------------------------ close

  async requestClose(p: { roundId: string; user: string; channel: string }): Promise<void> {
    const round = await this.d.rounds.store.getRound(p.roundId);
    if (!round) return;
    if (!this.d.rounds.mayClose(round, p.user, await this.isAdmin(p.user))) {
      await this.ephemeral(
        p.channel,
        p.user,
        errorMessage(`Only <@${round.author}> (who wrote the brief) or a workspace admin can close this round.`),
        round.threadTs,
      );
      return;
    }
    if (round.status !== 'open') {
      await this.ephemeral(p.channel, p.user, errorMessage(`Round ${round.number} is already closed.`), round.threadTs);
      return;
    }
    const outcome = await this.d.rounds.close(round.id, p.user);
    if (outcome) await this.announce(outcome);
  }

  async autoClose(round: Round): Promise<void> {
    const outcome = await this.d.rounds.close(round.id, 'auto');
    if (outcome) await this.announce(outcome);
  }

  async remind(round: Round): Promise<void> {
    const mins = round.closesAt ? Math.max(1, Math.round((round.closesAt.getTime() - Date.now()) / 60_000)) : 0;
    await this.post(
      round.channel,
      notesMessage([
        `:alarm_clock: Voting on round ${round.number} closes in about ${mins} minute${mins === 1 ? '' : 's'}. <@${round.author}>, close it yourself any time.`,
      ]),
      round.threadTs,
    );
  }

  private async announce(o: CloseOutcome): Promise<void> {
    const { round, winner, decision, tally: t } = o;
    const by = round.closedBy === 'auto' ? 'automatically' : `by <@${round.closedBy}>`;
    let result: string;
    let parentWinner: string | undefined;
    if (!winner) {
      result = `Round closed ${by} with no votes, so no winner was stored.`;
    } else {
      const tie = decision.tie
        ? ` It was a tie between ${decision.tiedLabels.join(', ')} (${decision.votes} vote${decision.votes === 1 ? '' : 's'} each), broken by ${decision.brokenBy === 'preference' ? 'predicted preference' : 'the earlier variant'}.`
        : '';
      result = `:trophy: *Winner: variant ${winner.label}* — “${esc(truncate(winner.headline, 200))}” — ${decision.votes} of ${t.total} vote${t.total === 1 ? '' : 's'}. Closed ${by}.${tie}`;
      parentWinner = result;
    }
    await this.refreshTally(round.id, result).catch((e: unknown) =>
      this.d.logger.warn('final tally failed', { error: slackError(e) ?? describeError(e) }),
    );
    await this.updateParent(round, winner ? `closed — winner ${winner.label}` : 'closed — no votes', parentWinner).catch(() => {});
    if (!winner) return;
    const assets = await this.d.assets.load(round.id, winner.id).catch(() => undefined);
    if (!assets) {
      await this.post(
        round.channel,
        errorMessage(`The images of variant ${winner.label} are missing, so the winner could not be uploaded or stored.`),
        round.threadTs,
      ).catch(() => {});
      return;
    }
    const formats = (Object.keys(assets.images) as FormatName[]).filter((f) => assets.images[f]);
    try {
      await this.uploadToThread(
        round.channel,
        round.threadTs,
        formats.map((f) => ({
          bytes: assets.images[f] as Uint8Array,
          filename: `winner-round-${round.number}-${winner.label}-${f}.png`,
          title: `Winner ${winner.label} · ${f}`,
        })),
        `:trophy: Variant ${winner.label} in all formats`,
      );
    } catch (e) {
      this.d.logger.warn('winner upload failed', { error: slackError(e) ?? describeError(e) });
    }
    const counts = Object.fromEntries(t.entries.map((e) => [e.label, e.votes]));
    const provenance = JSON.stringify({
      brief: round.brief,
      round: round.number,
      roundId: round.id,
      variant: winner.label,
      votes: counts,
      total: t.total,
      tie: decision.tie,
      closedBy: round.closedBy,
      channel: round.channel,
      thread: round.threadTs,
    });
    try {
      const lib = await this.d.library();
      const main = formats.includes('square') ? 'square' : formats[0];
      const added = await lib.add([
        {
          image: (main ? assets.images[main] : assets.preview) ?? assets.preview,
          fileName: `winner-${round.id}-${winner.label}.png`,
          source: `winner:${round.id}`,
          brand: round.options.brand ?? '',
          channel: round.options.channel,
          format: main ?? 'square',
          headline: winner.headline,
          body: winner.body,
          cta: winner.cta,
          caption: `${winner.headline}. ${winner.body}`,
          tags: ['winner'],
          provenance,
        },
      ]);
      const id = added.ids[0];
      if (id) await this.d.rounds.store.updateRound(round.id, { winnerCreativeId: id });
      if (added.failed.length) throw new Error(added.failed.map((f) => f.reason).join('; '));
      await this.post(
        round.channel,
        notesMessage([`:books: Variant ${winner.label} is now in the creative library, with this brief and the votes.`]),
        round.threadTs,
      ).catch(() => {});
    } catch (e) {
      await this.post(
        round.channel,
        errorMessage(`The winner could not be stored in the creative library: ${describeError(e)}`),
        round.threadTs,
      ).catch(() => {});
    }
  }

  // ------------------------------------------------------------------ variant menu

  async downloadFormats(p: { variantId: string; user: string; channel: string }): Promise<void> {
    const v = await this.d.rounds.store.getVariant(p.variantId);
    if (!v) return;
    const round = await this.d.rounds.mustRound(v.roundId);
    const assets = await this.d.assets.load(v.roundId, v.id);
    if (!assets) {
      await this.ephemeral(p.channel, p.user, errorMessage(`The images of variant ${v.label} are no longer available.`), round.threadTs);
      return;
    }
    const formats = (Object.keys(assets.images) as FormatName[]).filter((f) => assets.images[f]);
    await this.uploadToThread(
      round.channel,
      round.threadTs,
      formats.map((f) => ({
        bytes: assets.images[f] as Uint8Array,
        filename: `round-${round.number}-${v.label}-${f}.png`,
        title: `Variant ${v.label} · ${f}`,
      })),
      `Variant ${v.label} (round ${round.number}) in all formats, for <@${p.user}>`,
    );
  }

  async editCopy(p: { variantId: string; user: string; copy: Copy }): Promise<void> {
    const v = await this.d.rounds.store.getVariant(p.variantId);
    if (!v) return;
    const round = await this.d.rounds.mustRound(v.roundId);
    if (round.status !== 'open') {
      await this.ephemeral(
        round.channel,
        p.user,
        errorMessage(`Round ${round.number} is closed; its variants can no longer be edited.`),
        round.threadTs,
      );
      return;
    }
    const assets = await this.d.assets.load(v.roundId, v.id);
    if (!assets) {
      await this.ephemeral(
        round.channel,
        p.user,
        errorMessage(`The image of variant ${v.label} is no longer available, so it cannot be re-rendered.`),
        round.threadTs,
      );
      return;
    }
    const generated: GeneratedVariant = {
      id: v.id,
      label: v.label,
      headline: v.headline,
      body: v.body,
      cta: v.cta,
      concept: v.concept,
      images: assets.images,
      preview: assets.preview,
      visual: assets.visual,
      imageEmbedding: assets.imageEmbedding,
      scores: v.scores,
      reason: v.reason,
      offline: v.offline,
      flags: v.flags,
    };
    let next: GeneratedVariant;
    try {
      next = await this.d.generator.rerender(generated, p.copy, {
        brand: round.options.brand,
        formats: v.formats.length ? v.formats : round.options.formats,
      });
    } catch (e) {
      await this.ephemeral(
        round.channel,
        p.user,
        errorMessage(`Variant ${v.label} could not be re-rendered: ${describeError(e)}`),
        round.threadTs,
      );
      return;
    }
    await this.d.assets.save(round.id, v.id, {
      images: next.images,
      preview: next.preview,
      visual: next.visual,
      imageEmbedding: next.imageEmbedding,
    });
    const updated: VariantRecord = {
      ...v,
      headline: next.headline,
      body: next.body,
      cta: next.cta,
      flags: [...next.flags, `copy edited by <@${p.user}>`],
    };
    const fileId = await this.uploadPrivate(next.preview, `round-${round.number}-variant-${v.label}-edit.png`, variantAlt(updated));
    await this.d.rounds.store.updateVariant(v.id, {
      headline: updated.headline,
      body: updated.body,
      cta: updated.cta,
      flags: updated.flags,
      fileId: fileId ?? v.fileId,
    });
    if (v.messageTs)
      await this.update(
        round.channel,
        v.messageTs,
        variantMessage({
          round: round.number,
          variant: updated,
          fileId: fileId ?? v.fileId,
          voteReaction: this.d.settings.voteReaction,
          anonymous: round.options.anonymous,
        }),
      );
  }

  // ------------------------------------------------------------------ library shortcut

  /** "Add to creative library" on a message: ingests its images with the message text as caption. */
  async addToLibrary(p: {
    user: string;
    channel: string;
    message: {
      text?: string;
      ts?: string;
      files?: { id?: string; name?: string; mimetype?: string; size?: number; url_private_download?: string; url_private?: string }[];
    };
    botToken: string;
  }): Promise<void> {
    const files = (p.message.files ?? []).filter((f) => f.mimetype?.startsWith('image/'));
    if (!files.length) {
      await this.ephemeral(
        p.channel,
        p.user,
        errorMessage('That message has no images. Use *Add to creative library* on a message with PNG, JPEG, WebP or GIF images.'),
      );
      return;
    }
    const items: { image: Uint8Array; fileName: string }[] = [];
    const skipped: string[] = [];
    for (const f of files) {
      const name = f.name ?? f.id ?? 'image';
      if (!IMAGE_TYPES.has(f.mimetype ?? '')) {
        skipped.push(`${name}: ${f.mimetype} is not supported (PNG, JPEG, WebP or GIF)`);
        continue;
      }
      if ((f.size ?? 0) > this.d.settings.imageMaxBytes) {
        skipped.push(
          `${name}: ${(Number(f.size) / 1048576).toFixed(1)} MB is over the ${(this.d.settings.imageMaxBytes / 1048576).toFixed(0)} MB limit`,
        );
        continue;
      }
      try {
        items.push({ image: await this.download(f.url_private_download ?? f.url_private ?? '', p.botToken), fileName: name });
      } catch (e) {
        skipped.push(`${name}: could not be downloaded (${describeError(e)})`);
      }
    }
    let added = 0;
    if (items.length) {
      let permalink = '';
      try {
        permalink = String(
          (await this.d.client.chat.getPermalink({ channel: p.channel, message_ts: String(p.message.ts) })).permalink ?? '',
        );
      } catch {
        permalink = `${p.channel}/${p.message.ts}`;
      }
      try {
        const lib = await this.d.library();
        const r = await lib.add(items.map((i) => ({ ...i, caption: p.message.text ?? '', source: `slack:${permalink}`, tags: ['slack'] })));
        added = r.ingested + r.updated;
        for (const f of r.failed) skipped.push(`${f.path}: ${f.reason}`);
      } catch (e) {
        await this.ephemeral(p.channel, p.user, errorMessage(`The creative library could not take the images: ${describeError(e)}`));
        return;
      }
    }
    const lines = [
      added
        ? `:books: Added ${added} image${added === 1 ? '' : 's'} to the creative library.`
        : ':warning: Nothing was added to the creative library.',
    ];
    if (skipped.length) lines.push(...skipped.map((s) => `• ${s}`));
    await this.ephemeral(p.channel, p.user, notesMessage(lines));
  }

  /** Downloads a Slack file (url_private) with the bot token. */
  async download(url: string, botToken: string): Promise<Uint8Array> {
    if (!url) throw new InputError('FILE_NO_URL', 'the file has no download URL');
    if (!trustedFileUrl(url, this.d.settings.fileHosts))
      throw new InputError(
        'FILE_UNTRUSTED_HOST',
        `the file's download address is not on a Slack host (${URL.canParse(url) ? new URL(url).host : 'invalid URL'})`,
      );
    const res = await fetch(url, { headers: { Authorization: `Bearer ${botToken}` } });
    if (!res.ok) throw new InputError('FILE_DOWNLOAD', `HTTP ${res.status}`);
    const len = Number(res.headers.get('content-length') ?? 0);
    if (len > this.d.settings.imageMaxBytes)
      throw new InputError('FILE_TOO_LARGE', `the file is over ${(this.d.settings.imageMaxBytes / 1048576).toFixed(0)} MB`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (bytes.length > this.d.settings.imageMaxBytes)
      throw new InputError('FILE_TOO_LARGE', `the file is over ${(this.d.settings.imageMaxBytes / 1048576).toFixed(0)} MB`);
    return bytes;
  }

  // ------------------------------------------------------------------ App Home

  async publishHome(user: string): Promise<void> {
    const store = this.d.rounds.store;
    const mine = await store.roundsByAuthor(user, ['generating', 'open'], 20);
    const open = await Promise.all(
      mine.map(async (r) => ({
        brief: r.brief,
        round: r.number,
        status: r.status === 'open' ? 'voting open' : 'being made',
        permalink: r.permalink,
        votes: (await store.listVotes(r.id)).length,
      })),
    );
    const wins = await store.recentWinners(10);
    const winners = await Promise.all(
      wins.map(async (r) => {
        const v = r.winnerVariantId ? await store.getVariant(r.winnerVariantId) : undefined;
        const votes = (await store.listVotes(r.id)).filter((x) => x.variantId === r.winnerVariantId).length;
        return { brief: r.brief, headline: v?.headline ?? '', label: v?.label ?? '?', permalink: r.permalink, votes };
      }),
    );
    await this.d.client.views.publish({ user_id: user, view: homeView({ user, open, winners, synthetic: this.d.synthetic }) as never });
  }
}

function limitText(e: unknown): string {
  if (isAdError(e)) {
    if (e.code === 'RATE_LIMITED')
      return `You have reached the limit of briefs per hour (${e.message.replace(/^rate limit: /, '')}). Try again later.`;
    if (e.code === 'DAILY_IMAGE_CAP') return `The workspace has reached today's image cap: ${e.message}. It resets at midnight UTC.`;
    if (e.code === 'SPEND_CAP')
      return `The workspace has reached its spending limit: ${e.message}. It resets on the 1st (UTC); an admin can raise MONTHLY_SPEND_CAP_USD.`;
    return `The workspace has reached this month's ${e.message.replace(/ reached.*/, '')}. Ask an admin to raise MONTHLY_SPEND_CAP_USD.`;
  }
  return describeError(e);
}
