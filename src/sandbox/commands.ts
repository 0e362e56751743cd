/**
 * `adcreative sandbox`: the local sandbox on purpose, even where Slack tokens are set
 * (`npm start` picks it by itself when none are).
 */
import type { Command } from '../cli/command.ts';
import { config, int } from '../config.ts';
import { UsageError } from '../errors.ts';
import { runSandbox } from './server.ts';

function intOption(v: unknown, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  try {
    return int(min, max)(String(v), name);
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

export const commands: Command[] = [
  {
    name: 'sandbox',
    summary: 'Run the local sandbox: a Slack-like page on PORT driving the bot, with stand-ins for what is missing',
    usage: '[--port N] [--host ADDR] [--demo-count N]',
    options: { port: { type: 'string' }, host: { type: 'string' }, 'demo-count': { type: 'string' } },
    async run(args, io) {
      return runSandbox(config(), {
        port: intOption(args.values.port, '--port', 0, 65535),
        host: typeof args.values.host === 'string' ? args.values.host : undefined,
        demoCount: intOption(args.values['demo-count'], '--demo-count', 1, 100_000),
        out: io.stderr,
      });
    },
  },
];
