/**
 * `adcreative start` (npm start): picks the mode from the Slack settings (DESIGN.md §6) and
 * runs the bot until SIGTERM/SIGINT, then shuts down gracefully.
 */
import type { Command } from './cli/command.ts';
import { type Config, config } from './config.ts';
import { ConfigError, describeError } from './errors.ts';
import { checkOpenAISettings } from './generate/providers.ts';

export type Mode = 'socket' | 'http' | 'sandbox';

export function pickMode(cfg: { slackBotToken?: string; slackAppToken?: string; slackSigningSecret?: string }): Mode {
  const { slackBotToken: bot, slackAppToken: app, slackSigningSecret: secret } = cfg;
  if (!bot && !app && !secret) return 'sandbox';
  if (bot && app) return 'socket';
  if (bot && secret) return 'http';
  const have = [bot && 'SLACK_BOT_TOKEN', app && 'SLACK_APP_TOKEN', secret && 'SLACK_SIGNING_SECRET'].filter(Boolean).join(' and ');
  throw new ConfigError(
    `Slack settings are incomplete (only ${have} is set). Set SLACK_BOT_TOKEN with SLACK_APP_TOKEN (Socket Mode) or SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET (HTTP mode); set none of them for the local sandbox.`,
  );
}

/** Resolves on the first SIGTERM or SIGINT. */
function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => resolve(sig);
    process.once('SIGTERM', () => on('SIGTERM'));
    process.once('SIGINT', () => on('SIGINT'));
  });
}

export async function runBot(cfg: Config): Promise<number> {
  const mode = pickMode(cfg);
  checkOpenAISettings(cfg);
  // No Slack tokens: the sandbox builds its own services around a fake Slack (src/sandbox/server.ts).
  if (mode === 'sandbox') return (await import('./sandbox/server.ts')).runSandbox(cfg);
  const { createServices } = await import('./services.ts');
  const services = await createServices(cfg);
  const bot = await services
    .createBot({
      mode,
      botToken: cfg.slackBotToken as string,
      signingSecret: mode === 'http' ? cfg.slackSigningSecret : undefined,
      appToken: mode === 'socket' ? cfg.slackAppToken : undefined,
      port: cfg.port,
    })
    .catch(async (e: unknown) => {
      await services.close();
      throw e;
    });
  await bot.start();
  process.stderr.write(
    mode === 'http'
      ? `adcreative: HTTP mode on port ${bot.port}; point the Slack app's request URLs at https://<your host>/slack/events\n`
      : `adcreative: Socket Mode connected; health on port ${bot.port}\n`,
  );
  const sig = await stopSignal();
  services.logger.info('shutting down', { signal: sig, inflight: bot.runner.work.busy });
  await bot.stop(cfg.shutdownGraceSeconds * 1000);
  await services.close();
  return 0;
}

export const commands: Command[] = [
  {
    name: 'start',
    summary: 'Run the bot (Socket Mode, HTTP mode, or the local sandbox when no Slack token is set)',
    usage: '',
    options: {},
    async run(_args, io) {
      try {
        return await runBot(config());
      } catch (e) {
        // describeError redacts: a start-up error may quote a connection string or a token.
        io.stderr.write(`adcreative: ${describeError(e)}\n`);
        return 1;
      }
    },
  },
];
