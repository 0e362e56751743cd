/**
 * A round's life, from brief to winner, without Slack: it starts rounds (the first from a
 * brief, the next from feedback), runs them (inspiration → generation → variants → voting),
 * follows votes and feedback, closes and promotes the winner, and picks up after a restart.
 * It decides; the domain rules are RoundService's; everything people see goes through one
 * port, `RoundView` (Slack's is slack/round-view.ts; tests record it).
 */
import type { Encoder } from '../clip/types.ts';
import { diskProblem } from '../disk.ts';
import { describeError, InputError, RoundError } from '../errors.ts';
import { audienceInspiration, forAudiences } from '../generate/audiences.ts';
import { inspire } from '../generate/inspire.ts';
import { localePreview } from '../generate/locale-sheet.ts';
import { costOf, type GenerateCost } from '../generate/pricing.ts';
import type { Translator } from '../generate/translate.ts';
import type { Copy, GeneratedVariant, GenerateResult, Generator } from '../generate/types.ts';
import type { Library } from '../library/types.ts';
import type { Logger } from '../log.ts';
import { contentHash, hasApprovers } from './approvals.ts';
import type { AssetStore } from './assets.ts';
import { hasAudiences, promoteSegmentWinners, segmentLeaderIds, segmentStandings } from './audiences.ts';
import { localesAfterEdit } from './locales.ts';
import { formatsOf, promoteWinner } from './promote.ts';
import { type ApproveOutcome, type CloseOutcome, closeResult, type RoundService, toTallyVariant, type VoteOutcome } from './service.ts';
import type { Round, RoundOptions, VariantRecord } from './types.ts';
import type { CostFacts, Failure, Notice, Recipient, RoundNote, RoundView, StatusLine, TallySnapshot } from './view.ts';
import { WorkQueue } from './work.ts';

/** What rounds need of the creative library. */
export type RoundLibrary = Pick<Library, 'count' | 'search' | 'add'>;

export interface RunnerSettings {
  /** Past creatives shown (and given to the copywriter) per round. */
  inspirationCount: number;
  /** Rounds generated at once; the rest wait in line (generation is CPU- and API-heavy). */
  maxConcurrentRounds: number;
}

export interface RunnerDeps {
  rounds: RoundService;
  generator: Generator;
  /** Resolves the library lazily; a rejection means "unavailable" and rounds go on without it. */
  library: () => Promise<RoundLibrary>;
  /** Embeds the brief once per round (inspiration search and ranking share it). */
  encoder: Pick<Encoder, 'embedTexts'> & Partial<Pick<Encoder, 'info'>>;
  /** Translates a non-English brief for the library search (OpenAI); absent: embedded as written. */
  translator?: Pick<Translator, 'translate'>;
  assets: AssetStore;
  view: RoundView;
  /** Workspace admins may close (and redirect) anyone's round. */
  isAdmin: (user: string) => Promise<boolean>;
  /** True when a synthetic CLIP model is loaded: said in every thread. */
  synthetic: boolean;
  settings: RunnerSettings;
  logger: Logger;
}

type Leader = Copy & { image?: Uint8Array };

export class RoundRunner {
  readonly work: WorkQueue;
  private readonly d: RunnerDeps;

  constructor(deps: RunnerDeps) {
    this.d = deps;
    this.work = new WorkQueue({ maxConcurrent: deps.settings.maxConcurrentRounds, logger: deps.logger });
  }

  get rounds(): RoundService {
    return this.d.rounds;
  }

  // ------------------------------------------------------------------ lifecycle

  /** Shutdown: in-flight rounds get `graceMs` to finish, then pending tallies are written. */
  async drain(graceMs: number): Promise<void> {
    await this.work.drain(graceMs);
    await this.d.view.flush();
  }

  /**
   * After a restart (or when a replica died): rounds cut off mid-generation are marked failed
   * and say so; open rounds' tallies are written again from the votes stored meanwhile.
   */
  async resume(): Promise<void> {
    for (const r of await this.d.rounds.withStatus(['generating'])) {
      // Replicas: a round another live replica is generating is not ours to fail.
      if (!(await this.d.rounds.claim(r.id))) continue;
      await this.fail(r, { kind: 'restarted' }, { notify: !r.threadTs.startsWith('pending:') });
    }
    for (const r of await this.d.rounds.withStatus(['open'])) await this.refreshTally(r.id);
  }

  // ------------------------------------------------------------------ starting rounds

  /** A new brief: round 1 (rate limit and caps apply), its thread, then the round itself. */
  async start(p: {
    user: string;
    channel: string;
    /** The conversation's name as the surface gave it (it tells a DM from a channel). */
    channelName?: string;
    brief: string;
    options: RoundOptions;
    referenceImage?: Uint8Array;
    /** Where the author hears about a refusal (the command's reply address, or a DM). */
    replyTo: Recipient;
  }): Promise<void> {
    if (this.work.stopping) return this.d.view.tell(p.replyTo, { kind: 'restarting' });
    let round: Round;
    try {
      round = await this.d.rounds.createRound({
        channel: p.channel,
        // Replaced by the thread's id once the first message is posted.
        threadTs: `pending:${Date.now()}:${Math.random()}`,
        number: 1,
        brief: p.brief,
        author: p.user,
        options: p.options,
      });
    } catch (e) {
      return this.d.view.tell(p.replyTo, refusal(e));
    }
    const opened = await this.d.view.openThread(round, this.estimate(round));
    if (!opened.ok) {
      await this.d.rounds.fail(round.id, `could not post: ${opened.detail}`);
      this.d.logger.warn('round failed', { round: round.id, why: `could not post: ${opened.detail}` });
      return this.d.view.tell(p.replyTo, {
        kind: 'cannot_post',
        channel: p.channel,
        channelName: p.channelName,
        reason: opened.reason,
        detail: opened.detail,
      });
    }
    round = await this.d.rounds.attachThread(round.id, opened.threadTs, opened.permalink);
    await this.run(round, { feedback: [], referenceImage: p.referenceImage });
  }

  /**
   * The next round in a thread: the previous one stops taking votes; the new one is made from
   * the brief, all feedback so far and the leader.
   */
  async next(p: { channel: string; threadTs: string; user: string; extraFeedback?: string; leaderId?: string }): Promise<void> {
    if (this.work.stopping) return;
    const who: Recipient = { user: p.user, channel: p.channel, threadTs: p.threadTs };
    const n = await this.d.rounds.startNext(p);
    if (n.kind === 'generating') return this.d.view.tell(who, { kind: 'still_generating', round: n.previous.number });
    if (n.kind === 'refused') return this.d.view.tell(who, { kind: 'refused', code: n.code, detail: n.detail });
    if (n.kind !== 'started') return;
    if (n.superseded) await this.refreshTally(n.previous.id, { now: true });
    const asLeader = async (v: VariantRecord): Promise<Leader> => {
      const assets = await this.d.assets.load(v.roundId, v.id).catch(() => undefined);
      return { headline: v.headline, body: v.body, cta: v.cta, image: assets?.visual };
    };
    const leader = n.leader ? await asLeader(n.leader) : undefined;
    let leaders: Map<string, Leader> | undefined;
    if (hasAudiences(n.round.options) && n.previous.status !== 'failed') {
      const prev = await this.d.rounds.tally(n.previous.id);
      const ids = segmentLeaderIds(prev.variants, prev.tally, toTallyVariant, n.leader?.id);
      leaders = new Map();
      for (const [audience, id] of ids) {
        const v = prev.variants.find((x) => x.id === id);
        if (v) leaders.set(audience, await asLeader(v));
      }
      // A variant picked from an older round still leads its own segment.
      if (leader && n.leader?.audience) leaders.set(n.leader.audience, leader);
    }
    await this.d.view
      .notes(n.round, [{ kind: 'next', number: n.round.number, by: p.user, feedback: n.feedback.length, leader: n.leader?.label }])
      .catch((e: unknown) => this.warn('note failed', e));
    await this.run(n.round, { feedback: n.feedback.map((f) => f.text), leader, leaders });
  }

  /**
   * "New round with feedback" on a tally, or "Try again" under a round that failed. A button of
   * an older round must not end the round people are voting on now.
   */
  async retry(p: { roundId: string; user: string; from?: { channel: string | undefined } }): Promise<void> {
    const round = await this.d.rounds.round(p.roundId);
    if (!round || !this.sameChannel(round, p.from)) return;
    const latest = await this.d.rounds.latestInThread(round.channel, round.threadTs);
    if (latest && latest.id !== round.id) {
      return this.d.view.tell(
        { user: p.user, channel: round.channel, threadTs: round.threadTs },
        { kind: 'stale_button', round: round.number, latest: latest.number },
      );
    }
    await this.next({ channel: round.channel, threadTs: round.threadTs, user: p.user });
  }

  /**
   * "More like this" on a variant. The author or an admin gets the next round at once, built on
   * that variant. Anyone else must not end the round people are voting on: their request is
   * kept as feedback, offered with the next round like any reply in the thread.
   */
  async moreLikeThis(p: { variantId: string; user: string }): Promise<void> {
    const v = await this.d.rounds.variant(p.variantId);
    if (!v) return;
    const round = await this.d.rounds.mustRound(v.roundId);
    const ask = `More like variant ${v.label}: "${v.headline.length > 200 ? `${v.headline.slice(0, 199)}…` : v.headline}"`;
    if (this.d.rounds.mayRedirect(round, p.user, await this.d.isAdmin(p.user))) {
      return this.next({ channel: round.channel, threadTs: round.threadTs, user: p.user, leaderId: v.id, extraFeedback: ask });
    }
    await this.d.rounds.addFeedback({
      channel: round.channel,
      threadTs: round.threadTs,
      // One request per person and variant, however often it is clicked.
      messageTs: `more:${v.id}:${p.user}`,
      user: p.user,
      text: ask,
    });
    const latest = await this.d.rounds.latestInThread(round.channel, round.threadTs);
    if (latest?.status === 'open') await this.refreshTally(latest.id);
    await this.d.view.tell(
      { user: p.user, channel: round.channel, threadTs: round.threadTs },
      { kind: 'more_noted', label: v.label, round: round.number, author: round.author },
    );
  }

  // ------------------------------------------------------------------ running a round

  private estimate(round: Pick<Round, 'options'>): CostFacts {
    return { ...this.d.rounds.estimateCost(round.options, false), offline: false, estimate: true };
  }

  private recorded(round: Round): CostFacts {
    return { usd: round.costUsd, textCalls: round.textCalls, imageCalls: round.imageCalls, offline: round.offline };
  }

  private warn(what: string, e: unknown): void {
    this.d.logger.warn(what, { error: describeError(e) });
  }

  /**
   * Marks the round failed and shows it in the thread and on the parent. The message does not
   * wait on the write: what fails a round may also fail the write (a full disk), and a round whose
   * failure cannot be recorded must still not sit at "posting variants…" for the people waiting
   * on it. (Recorded first when it can be, so a quick "Try again" finds the round failed.) A round
   * left "generating" is failed again at the next start (resume), which says so.
   */
  private async fail(round: Round, failure: Failure, opts: { facts?: Parameters<RoundService['fail']>[2]; notify?: boolean } = {}) {
    const why = failure.kind === 'restarted' ? 'the bot restarted while this round was being generated' : failure.why;
    this.d.logger.warn('round failed', { round: round.id, number: round.number, channel: round.channel, why });
    const recorded = await this.d.rounds.fail(round.id, why, opts.facts).then(
      () => true,
      (e: unknown) => {
        this.d.logger.error('could not record that the round failed', { round: round.id, error: describeError(e) });
        return false;
      },
    );
    if (opts.notify === false) return;
    const f = opts.facts;
    const failed: Round = (recorded && (await this.d.rounds.round(round.id).catch(() => undefined))) || {
      ...round,
      status: 'failed',
      error: why,
      costUsd: f?.costUsd ?? round.costUsd,
      textCalls: f?.textCalls ?? round.textCalls,
      imageCalls: f?.imageCalls ?? round.imageCalls,
    };
    await this.d.view.failed(failed, failure, this.recorded(failed)).catch((e: unknown) => this.warn('failure message failed', e));
  }

  /** A failed round's recorded spend: what was billed before the failure, if anything was. */
  private spentFacts(spent: GenerateCost | undefined): Parameters<RoundService['fail']>[2] {
    return spent && { costUsd: this.d.rounds.spentUsd(spent), textCalls: spent.textCalls, imageCalls: spent.imageCalls };
  }

  private async run(
    round: Round,
    ctx: { feedback: string[]; leader?: Leader; leaders?: Map<string, Leader>; referenceImage?: Uint8Array },
  ): Promise<void> {
    const estimate = this.estimate(round);
    const status = (line: StatusLine) =>
      this.d.view.status(round, line, estimate).catch((e: unknown) => this.warn('status update failed', e));
    const slot = await this.work.slot((ahead) => void status({ stage: 'queued', ahead }));
    // What the round has spent so far (the brief's translation, then the whole generation): a
    // failure at any later step still records it, so the monthly cap counts money already gone.
    let spent: GenerateCost | undefined;
    try {
      if (slot.signal.aborted || this.work.stopping) throw new RoundError('SHUTTING_DOWN', 'the bot is shutting down');
      if (round.number > 1) void status({ stage: 'retrieving' });
      let found: Awaited<ReturnType<typeof inspire>>;
      try {
        found = await inspire({
          brief: round.brief,
          brand: round.options.brand,
          k: this.d.settings.inspirationCount,
          encoder: this.d.encoder,
          translator: this.d.translator,
          library: this.d.library,
        });
      } catch (e) {
        // Without the brief's embedding nothing can be ranked (CLIP is down, say): the round cannot
        // be made. A translation made before that was billed: the error carries its cost.
        return await this.fail(round, { kind: 'generation', why: describeError(e) }, { facts: this.spentFacts(costOf(e)) });
      }
      spent = found.query.cost;
      if (found.state === 'unavailable') this.d.logger.warn('library search failed', { error: found.detail });
      await this.d.view
        .inspiration(round, {
          state: found.state,
          detail: found.detail,
          note: found.query.note,
          items: found.hits.map((h) => ({
            headline: h.headline,
            channel: h.channel,
            brand: h.brand,
            ctr: h.ctr.smoothed,
            similarity: h.scores.fused,
            demo: h.demo,
            thumbnail: h.thumbnail?.length ? h.thumbnail : undefined,
          })),
        })
        .catch((e: unknown) => this.warn('inspiration post failed', e));
      void status({ stage: 'writing', done: 0, total: 1 });
      // Audience segments: one generation each, with its own leader and inspiration (generate/audiences.ts).
      const generator = forAudiences(this.d.generator, round.options.audiences, {
        leaders: ctx.leaders,
        inspirationFor: audienceInspiration({
          library: this.d.library,
          embedding: found.embedding,
          brand: round.options.brand,
          k: this.d.settings.inspirationCount,
          general: found.inspiration,
        }),
      });
      let result: GenerateResult;
      try {
        result = await generator.generate({
          brief: round.brief,
          fields: round.options.fields,
          brand: round.options.brand,
          channel: round.options.channel,
          formats: round.options.formats,
          count: round.options.variants,
          ...(round.options.locales?.length ? { locales: round.options.locales } : {}),
          inspiration: found.inspiration,
          briefEmbedding: found.embedding,
          billedBefore: found.query.billed ? [found.query.billed] : undefined,
          ...(found.query.text !== round.brief ? { searchText: found.query.text } : {}),
          feedback: ctx.feedback,
          leader: ctx.leader,
          referenceImage: ctx.referenceImage,
          signal: slot.signal,
          onProgress: (pr) => void status({ stage: pr.stage, done: pr.done, total: pr.total }),
        });
      } catch (e) {
        const why = e instanceof InputError ? e.message : `generation failed: ${describeError(e)}`;
        // Requests answered before the failure (a brief the text model refused) were billed all the
        // same; the generator's cost counts `billedBefore`, and without one the translation still does.
        return await this.fail(round, { kind: 'generation', why }, { facts: this.spentFacts(costOf(e) ?? spent) });
      }
      spent = result.cost;
      const facts = {
        costUsd: this.d.rounds.spentUsd(result.cost),
        textCalls: result.cost.textCalls,
        imageCalls: result.cost.imageCalls,
      };
      if (!result.variants.length) {
        const why =
          result.failures.map((f) => `${f.label ? `${f.label}: ` : ''}${f.stage} — ${f.message}`).join('; ') || 'no variants came back';
        return await this.fail(round, { kind: 'no_variants', why }, { facts });
      }
      void status({ stage: 'posting' });
      const records = await this.d.rounds.recordVariants(
        round,
        result.variants.map((v) => ({ ...v, formats: formatsOf(v) })),
        (record, i) => this.d.assets.save(round.id, record.id, assetsOf(result.variants[i])),
      );
      // Version 1 of each variant's content: what an approval will name.
      for (const [i, v] of result.variants.entries()) await this.d.rounds.recordContent(records[i], contentHash(v, v.images), null);
      await this.d.view.variants(
        round,
        // With locales: the locales' renders side by side (generate/locale-sheet.ts).
        await Promise.all(records.map(async (variant, i) => ({ variant, image: await localePreview(result.variants[i], this.d.logger) }))),
        (id, where) => this.d.rounds.markPosted(id, where),
      );
      const notes: RoundNote[] = [];
      if (result.failures.length) notes.push({ kind: 'partial', made: result.variants.length, failures: result.failures });
      if (result.offline) notes.push({ kind: 'offline' });
      if (this.d.synthetic) notes.push({ kind: 'synthetic' });
      if (notes.length) await this.d.view.notes(round, notes).catch((e: unknown) => this.warn('notes failed', e));
      const opened = await this.d.rounds.open(round.id, { ...facts, offline: result.offline, synthetic: this.d.synthetic });
      const tallyTs = await this.d.view.tally(opened.id, () => this.snapshot(opened.id), { post: true });
      if (tallyTs) await this.d.rounds.setTallyTs(round.id, tallyTs);
      await this.d.view.status(opened, { stage: 'ready', variants: result.variants.length }, this.recorded(opened));
    } catch (e) {
      this.d.logger.error('round failed', { round: round.id, error: e });
      // The read may fail as the write did: then it is still ours to fail.
      const current = await this.d.rounds.round(round.id).catch(() => undefined);
      if (!current || current.status === 'generating') {
        const disk = diskProblem(e);
        await this.fail(
          round,
          { kind: 'stopped', why: disk ? `the bot could not save it: ${disk}` : describeError(e) },
          { facts: this.spentFacts(spent) },
        );
      }
    } finally {
      slot.release();
    }
  }

  // ------------------------------------------------------------------ tally and votes

  /** The tally as it stands (the result included once the round is closed). */
  async snapshot(roundId: string): Promise<TallySnapshot> {
    const t = await this.d.rounds.tally(roundId);
    const pending = t.round.status === 'open' ? (await this.d.rounds.pendingFeedback(t.round.channel, t.round.threadTs)).length : 0;
    const result = closeResult(t.round, t.variants, t.tally);
    let approval: TallySnapshot['approval'];
    if (hasApprovers(t.round.options)) {
      await this.ensureContent(t.round.id, t.variants);
      approval = await this.d.rounds.approvalState(roundId);
      if (result && t.round.closedBy === 'quorum') result.approvedBy = approval?.approvedBy;
    }
    const afterVote =
      t.round.status === 'closed' && t.round.winnerVariantId
        ? { exported: (await this.d.rounds.exportsOf(roundId)).length > 0 }
        : undefined;
    const segments = hasAudiences(t.round.options)
      ? segmentStandings(t.variants, t.tally, toTallyVariant, t.round.status === 'closed' ? t.round.winnerVariantId : undefined)
      : undefined;
    return {
      round: t.round,
      entries: t.tally.entries,
      total: t.tally.total,
      pendingFeedback: pending,
      result,
      approval,
      afterVote,
      segments,
    };
  }

  /** Rewrites a round's tally now (after an export: its Results button). */
  async showTally(roundId: string): Promise<void> {
    await this.refreshTally(roundId, { now: true });
  }

  /** Variants made before content versions were kept get theirs from their stored images. */
  private async ensureContent(roundId: string, variants: VariantRecord[]): Promise<void> {
    const have = await this.d.rounds.currentContent(roundId);
    for (const v of variants) {
      if (have.has(v.id)) continue;
      const assets = await this.d.assets.load(roundId, v.id).catch(() => undefined);
      if (assets) await this.d.rounds.recordContent(v, contentHash(v, assets.images), null);
    }
  }

  private async refreshTally(roundId: string, opts: { now?: boolean } = {}): Promise<void> {
    await this.d.view.tally(roundId, () => this.snapshot(roundId), opts).catch((e: unknown) => this.warn('tally update failed', e));
  }

  /** After a vote was stored (or refused): the tally follows, and the voter hears what they cannot see. */
  async voted(outcome: VoteOutcome, who: Recipient): Promise<void> {
    const where: Recipient = { ...who, threadTs: outcome.round.threadTs };
    if (outcome.kind === 'closed') return this.d.view.tell(where, { kind: 'voting_closed', round: outcome.round.number });
    if (outcome.kind === 'ignored') {
      if (outcome.reason === 'wrong_channel')
        this.d.logger.warn('vote for a round from another channel ignored', { round: outcome.round.id, channel: who.channel });
      // A second click this soon reads as a double click; say so, or a quick retraction looks lost.
      if (outcome.reason === 'double_click') await this.d.view.tell(where, { kind: 'double_click', label: outcome.variant.label });
      return;
    }
    await this.refreshTally(outcome.round.id);
    // With counts or names hidden, people cannot see their own vote: tell them privately.
    if (outcome.round.options.hideTally || outcome.round.options.anonymous) {
      const { label, audience } = outcome.variant;
      await this.d.view.tell(where, {
        kind: 'your_vote',
        label,
        retracted: outcome.kind === 'retracted',
        ...(audience ? { audience } : {}),
      });
    }
  }

  // ------------------------------------------------------------------ feedback

  /**
   * A person's reply in a thread (the bot's mention already taken out). Kept as feedback for
   * the next round; `mentioned` starts that round at once (in the background).
   */
  async feedback(p: {
    channel: string;
    threadTs: string;
    ts: string;
    user: string;
    text: string;
    mentioned: boolean;
  }): Promise<'not_a_round' | 'noted' | 'duplicate' | 'empty'> {
    const latest = await this.d.rounds.latestInThread(p.channel, p.threadTs);
    if (!latest) return 'not_a_round';
    const text = p.text.replace(/\s+/g, ' ').trim();
    let outcome: 'noted' | 'duplicate' | 'empty' = 'empty';
    if (text) {
      const fresh = await this.d.rounds.addFeedback({
        channel: p.channel,
        threadTs: p.threadTs,
        messageTs: p.ts,
        user: p.user,
        text: text.length > 2000 ? `${text.slice(0, 1999)}…` : text,
      });
      // A redelivered reply is not feedback twice, nor a second round.
      if (!fresh) return 'duplicate';
      outcome = 'noted';
    }
    if (p.mentioned) this.work.track(() => this.next({ channel: p.channel, threadTs: p.threadTs, user: p.user }), 'next round');
    else if (latest.status === 'open') await this.refreshTally(latest.id);
    return outcome;
  }

  // ------------------------------------------------------------------ approvals

  /**
   * "Approve" on the leading variant, drawn with content `hash`. Each approval is said in the
   * thread (who, which variant, which content); the approval that completes the quorum closes
   * the round with that variant as the winner.
   */
  async approve(p: { variantId: string; hash: string; user: string; channel?: string }): Promise<ApproveOutcome | undefined> {
    const v = await this.d.rounds.variant(p.variantId);
    if (!v) return undefined;
    const o = await this.d.rounds.approve(p.variantId, p.user, p.hash);
    const who: Recipient = { user: p.user, channel: p.channel ?? o.round.channel, threadTs: o.round.threadTs };
    if (o.kind === 'refused') {
      await this.d.view.tell(who, {
        kind: 'approve_refused',
        reason: o.reason,
        label: o.variant.label,
        round: o.round.number,
        leader: o.leader,
        approvers: o.round.options.approvers,
      });
      return o;
    }
    if (o.kind === 'duplicate') {
      await this.d.view.tell(who, { kind: 'approval_duplicate', label: o.variant.label, hash: o.hash });
      return o;
    }
    await this.d.view
      .notes(o.round, [{ kind: 'approved', label: o.variant.label, user: p.user, hash: o.hash, count: o.count, quorum: o.quorum }])
      .catch((e: unknown) => this.warn('approval note failed', e));
    if (o.met) {
      const closed = await this.d.rounds.close(o.round.id, 'quorum', { winnerId: o.variant.id });
      if (closed) await this.announce(closed);
      else await this.refreshTally(o.round.id, { now: true });
    } else await this.refreshTally(o.round.id);
    return o;
  }

  // ------------------------------------------------------------------ close

  /** A click from another channel than its round's is dropped, and logged: it was forged. */
  private sameChannel(round: Round, from: { channel: string | undefined } | undefined): boolean {
    if (!from || this.d.rounds.clickedIn(round, from.channel)) return true;
    this.d.logger.warn('click for a round from another channel ignored', { round: round.id, channel: from.channel });
    return false;
  }

  /** `from`: where the Close click came from; it must be the round's channel. */
  async close(p: { roundId: string; user: string; channel?: string; from?: { channel: string | undefined } }): Promise<void> {
    const round = await this.d.rounds.round(p.roundId);
    if (!round || !this.sameChannel(round, p.from)) return;
    const who: Recipient = { user: p.user, channel: p.channel ?? round.channel, threadTs: round.threadTs };
    if (!this.d.rounds.mayClose(round, p.user, await this.d.isAdmin(p.user))) {
      return this.d.view.tell(who, { kind: 'close_refused', author: round.author });
    }
    if (round.status !== 'open') return this.d.view.tell(who, { kind: 'already_closed', round: round.number });
    const outcome = await this.d.rounds.close(round.id, p.user);
    if (outcome) await this.announce(outcome);
  }

  async autoClose(round: Round): Promise<void> {
    const outcome = await this.d.rounds.close(round.id, 'auto');
    if (outcome) await this.announce(outcome);
  }

  async remind(round: Round): Promise<void> {
    const minutes = round.closesAt ? Math.max(1, Math.round((round.closesAt.getTime() - Date.now()) / 60_000)) : 0;
    await this.d.view.notes(round, [{ kind: 'reminder', number: round.number, minutes, author: round.author }]);
  }

  /** The result on the tally and the parent; the winner's files in the thread, then into the library. */
  private async announce(o: CloseOutcome): Promise<void> {
    const { round, winner } = o;
    await this.d.view.closed(() => this.snapshot(round.id)).catch((e: unknown) => this.warn('final tally failed', e));
    if (hasAudiences(round.options)) return this.announceSegments(o);
    if (!winner) return;
    const assets = await this.d.assets.load(round.id, winner.id).catch(() => undefined);
    if (!assets) {
      this.d.logger.warn('winner images missing', { round: round.id, variant: winner.id });
      await this.d.view.notes(round, [{ kind: 'winner_images_missing', label: winner.label }]).catch(() => {});
      return;
    }
    await this.d.view
      .files(
        round,
        formatsOf(assets).map((f) => ({ bytes: assets.images[f] as Uint8Array, format: f })),
        { kind: 'winner', label: winner.label, round: round.number },
      )
      .catch((e: unknown) => this.warn('winner upload failed', e));
    let note: RoundNote;
    try {
      const id = await promoteWinner(o, assets, await this.d.library());
      await this.d.rounds.setWinnerCreative(round.id, id);
      note = { kind: 'stored', label: winner.label };
    } catch (e) {
      this.d.logger.warn('winner not stored in the library', { round: round.id, error: describeError(e) });
      note = { kind: 'store_failed', label: winner.label, detail: describeError(e) };
    }
    await this.d.view.notes(round, [note]).catch((e: unknown) => this.warn('note failed', e));
  }

  /** Audience segments: each segment's winner shares its files and goes to the library tagged with its audience. */
  private async announceSegments(o: CloseOutcome): Promise<void> {
    const { round } = o;
    const done = await promoteSegmentWinners(
      o,
      toTallyVariant,
      (v) => this.d.assets.load(round.id, v.id),
      () => this.d.library(),
    );
    const notes: RoundNote[] = [];
    for (const s of done) {
      if (s.kind === 'images_missing') {
        notes.push({ kind: 'winner_images_missing', label: s.label, audience: s.audience });
        continue;
      }
      const files = formatsOf(s.assets).map((f) => ({ bytes: s.assets.images[f] as Uint8Array, format: f }));
      await this.d.view
        .files(round, files, { kind: 'winner', label: s.label, round: round.number, audience: s.audience })
        .catch((e: unknown) => this.warn('winner upload failed', e));
      if (s.kind === 'stored' && o.winner?.label === s.label) await this.d.rounds.setWinnerCreative(round.id, s.creativeId);
      if (s.kind === 'store_failed') this.d.logger.warn('segment winner not stored in the library', { round: round.id, error: s.detail });
      notes.push(
        s.kind === 'stored'
          ? { kind: 'stored', label: s.label, audience: s.audience }
          : { kind: 'store_failed', label: s.label, detail: s.detail, audience: s.audience },
      );
    }
    if (notes.length) await this.d.view.notes(round, notes).catch((e: unknown) => this.warn('note failed', e));
  }

  // ------------------------------------------------------------------ variant menu

  /** "Download all formats": every format of one variant, shared in the round's thread. */
  async download(p: { variantId: string; user: string; channel?: string }): Promise<void> {
    const v = await this.d.rounds.variant(p.variantId);
    if (!v) return;
    const round = await this.d.rounds.mustRound(v.roundId);
    const assets = await this.d.assets.load(v.roundId, v.id);
    if (!assets) {
      return this.d.view.tell(
        { user: p.user, channel: p.channel ?? round.channel, threadTs: round.threadTs },
        { kind: 'images_missing', label: v.label, purpose: 'download' },
      );
    }
    await this.d.view.files(
      round,
      formatsOf(assets).map((f) => ({ bytes: assets.images[f] as Uint8Array, format: f })),
      { kind: 'download', label: v.label, round: round.number, for: p.user },
    );
  }

  /** Why `user` may not edit copy in `round` now; undefined when they may. */
  async editRefusal(round: Round, user: string): Promise<Notice | undefined> {
    if (!this.d.rounds.mayEdit(round)) return { kind: 'edit_closed', round: round.number };
    if (!this.d.rounds.mayEditCopy(round, user, await this.d.isAdmin(user))) return { kind: 'edit_refused', author: round.author };
    return undefined;
  }

  /** The same question before the editor opens, by variant: nobody fills in a form they may not send. */
  async editRefusalFor(variantId: string, user: string): Promise<Notice | undefined> {
    const v = await this.d.rounds.variant(variantId);
    return v ? this.editRefusal(await this.d.rounds.mustRound(v.roundId), user) : undefined;
  }

  /**
   * "Edit copy", by the brief's author or an admin: every format re-rendered with the new copy
   * and the same image. Votes already cast were for the old copy: once the new copy is shown
   * they are taken back, and the thread says so, so people vote again on what they now see.
   */
  async editCopy(p: { variantId: string; user: string; copy: Copy }): Promise<void> {
    const v = await this.d.rounds.variant(p.variantId);
    if (!v) return;
    const round = await this.d.rounds.mustRound(v.roundId);
    const who: Recipient = { user: p.user, channel: round.channel, threadTs: round.threadTs };
    const refused = await this.editRefusal(round, p.user);
    if (refused) return this.d.view.tell(who, refused);
    const assets = await this.d.assets.load(v.roundId, v.id);
    if (!assets) return this.d.view.tell(who, { kind: 'images_missing', label: v.label, purpose: 'edit' });
    let next: GeneratedVariant;
    try {
      next = await this.d.generator.rerender(
        {
          ...v,
          images: assets.images,
          preview: assets.preview,
          visual: assets.visual,
          imageEmbedding: assets.imageEmbedding,
        },
        p.copy,
        { brand: round.options.brand, formats: v.formats.length ? v.formats : round.options.formats, channel: round.options.channel },
      );
    } catch (e) {
      return this.d.view.tell(who, { kind: 'rerender_failed', label: v.label, detail: describeError(e) });
    }
    // The brief-language locale takes the edit; translations of the old copy say they are outdated.
    const updated = localesAfterEdit(
      this.d.rounds.editedCopy(
        v,
        { headline: next.headline, body: next.body, cta: next.cta, flags: next.flags, scores: { ...v.scores, brand: next.scores.brand } },
        p.user,
      ),
    );
    // Slack first: only a re-render people can see is kept, so Slack and the database stay in step.
    try {
      await this.d.view.variants(
        round,
        [{ variant: updated, image: next.preview, replace: v.messageTs ? { messageTs: v.messageTs, fileId: v.fileId } : undefined }],
        (id, where) => this.d.rounds.markPosted(id, where),
      );
    } catch (e) {
      return this.d.view.tell(who, { kind: 'rerender_failed', label: v.label, detail: `it could not be shown: ${describeError(e)}` });
    }
    await this.d.assets.save(round.id, v.id, assetsOf(next));
    await this.d.rounds.saveCopy(updated);
    // Votes cast for the old copy do not count for copy the voters never saw.
    const reset = await this.d.rounds.resetVotes(updated);
    // New content: approvals of the earlier content no longer count either, and the thread says so.
    const hash = contentHash(updated, next.images);
    const voided = await this.d.rounds.contentChanged(updated, hash, p.user);
    const notes: RoundNote[] = [];
    if (reset > 0) notes.push({ kind: 'copy_edited', label: v.label, by: p.user, votesReset: reset });
    if (voided.length) notes.push({ kind: 'approvals_voided', label: v.label, users: voided.map((a) => a.user), by: p.user, hash });
    if (notes.length) await this.d.view.notes(round, notes).catch((e: unknown) => this.warn('note failed', e));
    if (reset > 0 || hasApprovers(round.options)) await this.refreshTally(round.id, { now: true });
  }
}

function assetsOf(v: Pick<GeneratedVariant, 'images' | 'preview' | 'visual' | 'imageEmbedding'>) {
  return { images: v.images, preview: v.preview, visual: v.visual, imageEmbedding: v.imageEmbedding };
}

/** A refusal from the rate limit or a cap, as the person hears it. */
function refusal(e: unknown): { kind: 'refused'; code: string; detail: string } {
  const code = (e as { code?: unknown })?.code;
  return { kind: 'refused', code: typeof code === 'string' ? code : 'ERROR', detail: describeError(e) };
}
