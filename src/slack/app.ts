/**
 * The Bolt app: receiver selection (Socket Mode or HTTP), listeners by surface, retry
 * de-duplication, health routes and graceful shutdown. The only module folder importing Bolt.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AnyMiddlewareArgs,
  App,
  type BlockAction,
  type Logger as BoltLogger,
  type ButtonAction,
  ErrorCode,
  HTTPReceiver,
  LogLevel,
  type MessageShortcut,
  type Middleware,
  type OverflowAction,
  SocketModeReceiver,
  type ViewSubmitAction,
} from '@slack/bolt';
import type { Encoder } from '../clip/types.ts';
import { ConfigError, describeError } from '../errors.ts';
import type { ExtraCopyWriter } from '../export/copy.ts';
import { RoundExporter } from '../export/round-export.ts';
import { exportImageTools } from '../export/tools.ts';
import type { ExportBrand } from '../export/types.ts';
import type { Generator } from '../generate/types.ts';
import type { Logger } from '../log.ts';
import { guardUnhandledRejections } from '../ops/guard.ts';
import { type MetricsText, opsRoute, type ReadinessView, readinessWith, tagRequest } from '../ops/http.ts';
import type { AssetStore } from '../rounds/assets.ts';
import type { BriefDefaults } from '../rounds/brief.ts';
import { type RoundLibrary, RoundRunner, type RunnerDeps } from '../rounds/runner.ts';
import type { RoundService } from '../rounds/service.ts';
import { createRoundTimer, type RoundTimer } from '../rounds/timer.ts';
import { Access } from './access.ts';
import { makeAfterVoteActions } from './actions/after-vote.ts';
import { makeApproveAction } from './actions/approve.ts';
import { makeCloseAction } from './actions/close.ts';
import { makeNewRoundAction } from './actions/new-round.ts';
import { makeVariantMenuAction } from './actions/variant-menu.ts';
import { makeVoteAction } from './actions/vote.ts';
import { ACTION, CALLBACK } from './blocks/ids.ts';
import { makeAdcreativeCommand } from './commands/adcreative.ts';
import { makeAppHomeEvent } from './events/app-home.ts';
import { makeMessageEvent } from './events/message.ts';
import { makeReactionEvents } from './events/reaction.ts';
import type { FileSettings, SlackFile } from './files.ts';
import { admitSlackRequest } from './inbound.ts';
import { SlackRoundView } from './round-view.ts';
import { makeAddToLibraryShortcut } from './shortcuts/add-to-library.ts';
import { TallyBoard } from './tally-board.ts';
import { SlackThread, slackError, whoAmI } from './thread.ts';
import { makeBriefModalSubmission } from './views/brief-modal.ts';
import { makeEditCopySubmission } from './views/edit-copy.ts';

export type SlackMode = 'http' | 'socket';

/** The Slack side's settings (config.ts names each). */
export interface SlackSettings {
  voteReaction: string;
  /** Each round's tally is edited at most this often. */
  tallyUpdateMs: number;
  adminUserIds: string[];
  channelAllowlist: string[];
  /** Largest image taken from Slack (reference images, "Add to creative library"). */
  imageMaxBytes: number;
  /** Most pixels (width × height) an image from Slack may have: IMAGE_MAX_PIXELS, as everywhere. */
  imageMaxPixels: number;
  inspirationCount: number;
  /** Rounds generated at once; the rest wait in line. */
  maxConcurrentRounds: number;
  /** Hosts besides Slack's own that may receive the bot token with a file download. */
  fileHosts?: string[];
  /** Slack's pace, which the bot keeps (thread.ts): chat.update per minute for the workspace (Tier 3, about 50) … */
  updatesPerMinute?: number;
  updateBurst?: number;
  /** … and chat.postMessage per second in one channel (about 1), after a short burst. */
  postsPerSecond?: number;
  postBurst?: number;
  /** How long an upload may take to show as shared before the bot goes on without it. */
  shareWaitMs?: number;
  /** How long a variant posted without its image waits for it. */
  lateAttachMs?: number;
}

export interface SlackAppDeps {
  mode: SlackMode;
  botToken: string;
  /** HTTP mode. */
  signingSecret?: string;
  /** Socket Mode. */
  appToken?: string;
  /** Web API base including /api/ (sandbox, tests, GovSlack). */
  slackApiUrl?: string;
  /** Given: no auth.test at start (tests); otherwise auth.test tells us. */
  botUserId?: string;
  botId?: string;
  /** HTTP listener; 0 picks a free port. Socket Mode serves only health routes on it. */
  port: number;
  host?: string;
  /** Web API retries (tests: 0). */
  retries?: number;
  rounds: RoundService;
  generator: Generator;
  library: () => Promise<RoundLibrary>;
  /** Embeds each round's brief (once) for the library search and the ranking. */
  encoder: Pick<Encoder, 'embedTexts'> & Partial<Pick<Encoder, 'info'>>;
  /** Translates non-English briefs for the library search (OpenAI configured). */
  translator?: RunnerDeps['translator'];
  assets: AssetStore;
  settings: SlackSettings;
  defaults: () => BriefDefaults;
  synthetic: boolean;
  logger: Logger;
  /** How often due rounds are closed/reminded. */
  timerIntervalMs?: number;
  /** Readiness beyond "started and not stopping": the store, library and encoder probes. */
  readiness?: ReadinessView;
  /** The registry behind /metrics (without one, /metrics shows only the work in flight). */
  metrics?: MetricsText;
  /** Lines about the learning loop (adapter, preference model, votes) for `/adcreative stats`. */
  learningSummary?: () => Promise<string[]>;
  /** Exports of closed rounds: brand kits (business name, logo), the copywriter for extra texts, the landing page. */
  exports?: { brand: (name?: string) => ExportBrand | undefined; extraCopy?: ExtraCopyWriter; finalUrl?: string };
}

export interface SlackBot {
  app: App;
  runner: RoundRunner;
  timer: RoundTimer;
  thread: SlackThread;
  botUserId: string;
  /** The bound port (HTTP mode: Slack's endpoint is http://host:port/slack/events). */
  port: number;
  /** http://host:port/slack/events in HTTP mode. */
  eventsUrl: string;
  /** What /readyz answers: started, not stopping, and `readiness` from the deps. */
  readiness: ReadinessView;
  start(): Promise<void>;
  /** Stops taking requests, lets in-flight rounds write for `graceMs`, then closes. */
  stop(graceMs?: number): Promise<void>;
}

export const TOKEN_HELP =
  'Set SLACK_BOT_TOKEN (xoxb-…) with SLACK_APP_TOKEN (xapp-…) for Socket Mode, or SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET for HTTP mode; set none of them for the local sandbox.';

function boltLogger(log: Logger): BoltLogger {
  let level = LogLevel.INFO;
  const fmt = (msgs: unknown[]) =>
    msgs.map((m) => (m instanceof Error ? m.message : typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  return {
    debug: (...m: unknown[]) => log.debug(fmt(m), { source: 'bolt' }),
    info: (...m: unknown[]) => log.info(fmt(m), { source: 'bolt' }),
    warn: (...m: unknown[]) => log.warn(fmt(m), { source: 'bolt' }),
    error: (...m: unknown[]) => log.error(fmt(m), { source: 'bolt' }),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

/**
 * Retries (X-Slack-Retry-Num, repeated event_id), repeated action payloads and repeated slash
 * commands (the same trigger_id: a replayed request; Slack makes a new one per invocation) are
 * processed once.
 */
export function makeDedupe(rounds: RoundService, logger: Logger): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const body = args.body as {
      event_id?: string;
      type?: string;
      actions?: { action_ts?: string }[];
      user?: { id?: string };
      command?: string;
      trigger_id?: string;
    };
    let key: string | undefined;
    if (body.event_id) key = `event:${body.event_id}`;
    else if (body.type === 'block_actions' && body.actions?.[0]?.action_ts) key = `action:${body.user?.id}:${body.actions[0].action_ts}`;
    else if (body.command && body.trigger_id) key = `command:${body.trigger_id}`;
    if (key && (await rounds.seen(key))) {
      logger.info('duplicate delivery ignored', { key });
      const ack = (args as { ack?: () => Promise<void> }).ack;
      if (ack) await ack();
      return;
    }
    await args.next();
  };
}

const KNOWN_ACTIONS: ReadonlySet<string> = new Set(Object.values(ACTION));

/**
 * A click on an element no listener knows (an old message's button after an upgrade, a forged
 * payload) is acknowledged at once: left alone, Bolt would ack only after its 2.5 s timeout and
 * Slack would show the person an error.
 */
export function makeAckUnknownActions(logger: Logger): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const body = args.body as { type?: string; actions?: { action_id?: string }[] };
    if (body.type === 'block_actions' && !(body.actions ?? []).some((a) => KNOWN_ACTIONS.has(a.action_id ?? ''))) {
      logger.info('unknown action acknowledged', { actions: (body.actions ?? []).map((a) => String(a.action_id).slice(0, 64)) });
      await (args as { ack?: () => Promise<void> }).ack?.();
      return;
    }
    await args.next();
  };
}

export async function createSlackApp(deps: SlackAppDeps): Promise<SlackBot> {
  if (!deps.botToken) throw new ConfigError(`SLACK_BOT_TOKEN is missing. ${TOKEN_HELP}`);
  if (deps.mode === 'http' && !deps.signingSecret) throw new ConfigError(`HTTP mode needs SLACK_SIGNING_SECRET. ${TOKEN_HELP}`);
  if (deps.mode === 'socket' && !deps.appToken) throw new ConfigError(`Socket Mode needs SLACK_APP_TOKEN. ${TOKEN_HELP}`);
  const log = deps.logger.child({ module: 'slack' });
  const retryConfig = { retries: deps.retries ?? 5, factor: 1.6, minTimeout: 500, maxTimeout: 20_000 };
  // A 429 comes back to thread.ts, which waits as long as Slack asked and keeps one budget for
  // every round's edits; the client's own handling would pause every call of the bot instead.
  const clientOptions = { ...(deps.slackApiUrl ? { slackApiUrl: deps.slackApiUrl } : {}), retryConfig, rejectRateLimitedCalls: true };

  let botUserId = deps.botUserId;
  let botId = deps.botId;
  if (!botUserId) {
    try {
      const who = await whoAmI(deps.botToken, { ...clientOptions, retryConfig: { retries: 1 } });
      botUserId = who.userId;
      botId = who.botId ?? botId;
      log.info('connected to Slack', { team: who.team, bot_user: botUserId });
    } catch (e) {
      const code = slackError(e);
      throw new ConfigError(
        code === 'invalid_auth' || code === 'not_authed' || code === 'account_inactive' || code === 'token_revoked'
          ? `Slack refused SLACK_BOT_TOKEN (${code}). Copy the Bot User OAuth Token (xoxb-…) from the app's OAuth & Permissions page. ${TOKEN_HELP}`
          : `Could not reach Slack to check SLACK_BOT_TOKEN: ${code ?? describeError(e)}`,
      );
    }
  }

  const boltLog = boltLogger(log);
  let started = false;
  let stopping = false;
  let runnerRef: RoundRunner | undefined;
  const inflight = () => runnerRef?.work.busy ?? 0;
  const readiness = readinessWith(deps.readiness, { bot: () => (stopping ? 'shutting down' : started || 'starting') });
  const opsRoutes = opsRoute({
    readiness,
    // Without a registry (tests), /metrics still shows the one number an operator asks first.
    metrics: deps.metrics ?? {
      contentType: 'text/plain; version=0.0.4',
      text: async () =>
        `# HELP adcreative_inflight_work Background round work in progress\n# TYPE adcreative_inflight_work gauge\nadcreative_inflight_work ${inflight()}\n`,
    },
    details: () => ({ inflight: inflight() }),
  });
  let receiver: HTTPReceiver | SocketModeReceiver;
  if (deps.mode === 'http') {
    receiver = new HTTPReceiver({
      signingSecret: deps.signingSecret as string,
      logger: boltLog,
      // A request Slack sends must be acked even if a listener forgets: 2.5 s < Slack's 3 s.
      unhandledRequestTimeoutMillis: 2500,
    });
  } else {
    receiver = new SocketModeReceiver({
      appToken: deps.appToken as string,
      logger: boltLog,
      // apps.connections.open goes to the same Web API as everything else (GovSlack, a stand-in).
      // Only the URL: the Socket Mode client's own retry policy (100 tries) outlasts network outages.
      installerOptions: { clientOptions: deps.slackApiUrl ? { slackApiUrl: deps.slackApiUrl } : {} },
    });
  }

  const app = new App({
    receiver,
    token: deps.botToken,
    botId,
    botUserId,
    logger: boltLog,
    clientOptions,
    ignoreSelf: true,
  });
  const settings = deps.settings;
  const thread = new SlackThread(app.client, {
    logger: log,
    updatesPerMinute: settings.updatesPerMinute,
    updateBurst: settings.updateBurst,
    postsPerSecond: settings.postsPerSecond,
    postBurst: settings.postBurst,
    shareWaitMs: settings.shareWaitMs,
  });
  const access = new Access(thread, { adminUserIds: settings.adminUserIds, channelAllowlist: settings.channelAllowlist });
  const view = new SlackRoundView(thread, new TallyBoard(thread, { gapMs: settings.tallyUpdateMs }), {
    voteReaction: settings.voteReaction,
    synthetic: deps.synthetic,
    lateAttachMs: settings.lateAttachMs,
    logger: log,
  });
  const runner = new RoundRunner({
    rounds: deps.rounds,
    generator: deps.generator,
    library: deps.library,
    encoder: deps.encoder,
    translator: deps.translator,
    assets: deps.assets,
    view,
    isAdmin: (user) => access.isAdmin(user),
    synthetic: deps.synthetic,
    settings: { inspirationCount: settings.inspirationCount, maxConcurrentRounds: settings.maxConcurrentRounds },
    logger: log,
  });
  runnerRef = runner;
  const exporter = new RoundExporter({
    rounds: deps.rounds,
    assets: deps.assets,
    generator: deps.generator,
    library: deps.library,
    view,
    refreshTally: (id) => runner.showTally(id),
    brand: deps.exports?.brand ?? (() => undefined),
    extraCopy: deps.exports?.extraCopy,
    finalUrl: deps.exports?.finalUrl,
    tools: exportImageTools(),
    logger: log,
  });
  const afterVote = makeAfterVoteActions({ exporter, runner });
  // Files come from the Web API in use (Slack's, GovSlack's, or the sandbox's own stand-in).
  const files: FileSettings = {
    botToken: deps.botToken,
    maxBytes: settings.imageMaxBytes,
    maxPixels: settings.imageMaxPixels,
    extraHosts: [...(settings.fileHosts ?? []), ...(deps.slackApiUrl ? [new URL(deps.slackApiUrl).host] : [])],
    info: async (id) => (await thread.fileInfo(id)) as SlackFile | undefined,
  };
  const rounds = deps.rounds;

  app.use(makeAckUnknownActions(log));
  app.use(makeDedupe(rounds, log));
  app.command(
    '/adcreative',
    makeAdcreativeCommand({
      runner,
      thread,
      access,
      defaults: deps.defaults,
      voteReaction: settings.voteReaction,
      learningSummary: deps.learningSummary,
    }),
  );
  app.action<BlockAction<ButtonAction>>(ACTION.vote, makeVoteAction({ rounds, runner, view }));
  app.action<BlockAction<ButtonAction>>(ACTION.closeRound, makeCloseAction({ runner }));
  app.action<BlockAction<ButtonAction>>(ACTION.approve, makeApproveAction({ runner }));
  app.action<BlockAction<ButtonAction>>(ACTION.exportWinner, afterVote.exportWinner);
  app.action<BlockAction<ButtonAction>>(ACTION.showResults, afterVote.results);
  app.action<BlockAction<ButtonAction>>(ACTION.newRound, makeNewRoundAction({ runner }));
  app.action<BlockAction<OverflowAction>>(ACTION.variantMenu, makeVariantMenuAction({ rounds, runner, thread }));
  // The App Home's "Open thread" buttons are links; Slack still sends the click, which needs an ack.
  app.action(ACTION.homeOpenThread, async ({ ack }) => ack());
  app.view<ViewSubmitAction>(CALLBACK.briefModal, makeBriefModalSubmission({ runner, thread, access, defaults: deps.defaults, files }));
  app.view<ViewSubmitAction>(CALLBACK.editCopy, makeEditCopySubmission({ runner }));
  app.shortcut<MessageShortcut>(
    CALLBACK.addToLibrary,
    makeAddToLibraryShortcut({ library: deps.library, thread, work: runner.work, files }),
  );
  app.event('message', makeMessageEvent({ runner, thread, botUserId: botUserId as string }));
  const reactions = makeReactionEvents({ rounds, runner, voteReaction: settings.voteReaction, botUserId: botUserId as string });
  app.event('reaction_added', reactions.added);
  app.event('reaction_removed', reactions.removed);
  app.event('app_home_opened', makeAppHomeEvent({ rounds, thread, synthetic: deps.synthetic }));
  app.error(async (e) => {
    log.error('listener failed', { error: describeError(e) });
  });

  const timer = createRoundTimer({
    rounds: deps.rounds,
    onRemind: (r) => runner.remind(r),
    onClose: (r) => runner.autoClose(r),
    // Replicas (leases): rounds whose owner died mid-generation are failed with a message, as after a restart.
    onOrphans: deps.rounds.shared ? () => runner.resume() : undefined,
    intervalMs: deps.timerIntervalMs,
    logger: log,
  });

  let server: Server | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;
  let unguard: (() => void) | undefined;
  const host = deps.host ?? '0.0.0.0';
  const bot: SlackBot = {
    app,
    runner,
    timer,
    thread,
    botUserId: botUserId as string,
    port: deps.port,
    eventsUrl: '',
    readiness,
    async start() {
      unguard = guardUnhandledRejections(log);
      server = createServer((req, res) => {
        // Deploy: every log line of this request, and of the round work it starts, carries its id.
        tagRequest(req);
        opsRoutes(req, res)
          .then(async (handled) => {
            if (handled) return;
            if (stopping) {
              res.writeHead(503).end('shutting down');
              return;
            }
            if (!(receiver instanceof HTTPReceiver)) {
              res.writeHead(404, { connection: 'close' }).end();
              return;
            }
            // The body is read here, bounded, before Bolt (which would buffer any size) sees it.
            if (await admitSlackRequest(req, res, { signingSecret: deps.signingSecret as string, logger: log })) {
              receiver.requestListener(req, res);
            }
          })
          .catch((e: unknown) => {
            // Bolt's listener throws this for a path it does not serve: a 404, not a failure.
            if ((e as { code?: string }).code === ErrorCode.HTTPReceiverDeferredRequestError) {
              if (!res.headersSent) res.writeHead(404).end();
              return;
            }
            log.error('request failed', { error: e });
            if (!res.headersSent) res.writeHead(500).end();
          });
      });
      await new Promise<void>((resolve, reject) => {
        server?.once('error', reject);
        server?.listen(deps.port, host, () => resolve());
      });
      const port = (server.address() as AddressInfo).port;
      bot.port = port;
      bot.eventsUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/slack/events`;
      if (receiver instanceof SocketModeReceiver) await receiver.start();
      await runner.resume();
      timer.start();
      // Slack retries within minutes; a day of processed ids is plenty to recognise them.
      const prune = () => rounds.forget(86_400_000).catch((e: unknown) => log.warn('pruning processed events failed', { error: e }));
      await prune();
      pruneTimer = setInterval(prune, 3_600_000);
      pruneTimer.unref();
      started = true;
      log.info('bot started', { mode: deps.mode, port });
    },
    async stop(graceMs = 25_000) {
      if (stopping) return;
      stopping = true;
      timer.stop();
      if (pruneTimer) clearInterval(pruneTimer);
      if (receiver instanceof SocketModeReceiver) await receiver.stop().catch(() => {});
      // Stop accepting requests first, then let in-flight rounds write what they have.
      const closing = server ? new Promise<void>((r) => server?.close(() => r())) : Promise.resolve();
      server?.closeIdleConnections?.();
      await runner.drain(graceMs);
      server?.closeAllConnections?.();
      await closing;
      unguard?.();
      log.info('bot stopped');
    },
  };
  return bot;
}
