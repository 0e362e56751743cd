/**
 * `adcreative start` (npm start): picks the mode from the Slack settings (DESIGN.md §6).
 * Until the Slack bot lands it says which mode it would run and exits cleanly.
 */
import type { Command } from './cli/command.ts';
import { config } from './config.ts';
import { ConfigError } from './errors.ts';

export type Mode = 'socket' | 'http' | 'sandbox';

export function pickMode(cfg: { slackBotToken?: string; slackAppToken?: string; slackSigningSecret?: string }): Mode {
  const { slackBotToken: bot, slackAppToken: app, slackSigningSecret: secret } = cfg;
  if (!bot && !app && !secret) return 'sandbox';
  if (bot && app) return 'socket';
  if (bot && secret) return 'http';
  throw new ConfigError(
    'Slack settings are incomplete. Set SLACK_BOT_TOKEN with SLACK_APP_TOKEN (Socket Mode) or SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET (HTTP mode); set none of them for the local sandbox.',
  );
}

export const commands: Command[] = [
  {
    name: 'start',
    summary: 'Run the bot (Socket Mode, HTTP mode, or the local sandbox when no Slack token is set)',
    usage: '',
    options: {},
    async run(_args, io) {
      const mode = pickMode(config());
      io.stdout.write(`adcreative: would start in ${mode} mode; the bot itself is not built yet (see README).\n`);
      return 0;
    },
  },
];
