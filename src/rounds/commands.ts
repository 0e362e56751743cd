/**
 * `adcreative decisions --since DATE [--csv | --json]`: the decision log of the rounds created or
 * closed since DATE, from the bot's state (the sandbox's too: it keeps the same state).
 */
import { type Command, type CommandIO, stringArg } from '../cli/command.ts';
import { type Config, config } from '../config.ts';
import { UsageError } from '../errors.ts';
import { decisionEvents, decisionLog, decisionsCsv } from './decisions.ts';
import { RoundService } from './service.ts';
import { openState, type StateConfig, stateExists } from './state.ts';

export interface DecisionsCommandDeps {
  config: () => Pick<Config, keyof StateConfig> & Partial<Config>;
}

/** "2026-05-01" (midnight UTC) or a full ISO time; anything else is a usage error naming the flag. */
export function sinceArg(raw: string): Date {
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(raw.trim()) ? `${raw.trim()}T00:00:00Z` : raw.trim());
  if (Number.isNaN(d.getTime())) throw new UsageError(`--since must be a date like 2026-05-01 or an ISO time; got ${JSON.stringify(raw)}`);
  return d;
}

export function makeDecisionsCommand(deps: DecisionsCommandDeps): Command {
  const cmd: Command = {
    name: 'decisions',
    summary: 'Export the decision log (brief, rounds, votes, approvals, winner, content hashes, exports: who and when)',
    usage: '--since DATE [--csv | --json]',
    options: { since: { type: 'string' }, csv: { type: 'boolean' }, json: { type: 'boolean' } },
    async run(args, io: CommandIO) {
      const since = sinceArg(stringArg(args, 'since', cmd));
      if (args.values.csv && args.values.json) throw new UsageError('choose one of --csv and --json');
      const cfg = deps.config() as StateConfig;
      if (!stateExists(cfg)) {
        io.stderr.write('no rounds yet: the bot has not written any state in DATA_DIR\n');
        io.stdout.write(args.values.csv ? decisionsCsv([]) : args.values.json ? '[]\n' : '');
        return 0;
      }
      const state = await openState(cfg);
      try {
        // Only reads: the settings that govern new rounds do not matter here.
        const rounds = new RoundService({
          store: state.store,
          settings: {
            ratePerHour: 0,
            dailyImageCap: 0,
            monthlyUsdCap: 0,
            autoCloseMinutes: 0,
            reminderMinutes: 0,
            doubleClickMs: 0,
            pricing: { estimate: () => ({ usd: 0, textCalls: 0, imageCalls: 0 }) },
          },
        });
        const log = await decisionLog(rounds, since);
        if (args.values.json) io.stdout.write(`${JSON.stringify(log, null, 2)}\n`);
        else if (args.values.csv) io.stdout.write(decisionsCsv(decisionEvents(log)));
        else io.stdout.write(summary(log));
        return 0;
      } finally {
        await state.close();
      }
    },
  };
  return cmd;
}

/** The readable form: one block per round. */
function summary(log: Awaited<ReturnType<typeof decisionLog>>): string {
  if (!log.length) return 'no rounds in that period\n';
  const lines: string[] = [];
  for (const r of log) {
    lines.push(`round ${r.number} ${r.roundId} · ${r.status} · by ${r.author} · ${r.createdAt}`);
    lines.push(`  brief: ${r.brief}`);
    if (r.approvers.length) lines.push(`  approvers: ${r.approvers.join(', ')} (quorum ${r.quorum ?? r.approvers.length})`);
    lines.push(`  votes: ${r.variants.map((v) => `${v.label} ${v.votes}`).join(', ')}`);
    for (const a of r.approvals)
      lines.push(
        `  approval: ${a.user} approved ${a.label} (${a.hash.slice(0, 12)}) at ${a.at}${a.voidedAt ? `, voided ${a.voidedAt}: ${a.voidedReason}` : ''}`,
      );
    if (r.winner)
      lines.push(
        `  winner: ${r.winner.label} “${r.winner.headline}” content ${r.winner.hash ?? '(unknown)'}, closed by ${r.closedBy} at ${r.closedAt}`,
      );
    else if (r.status === 'closed') lines.push(`  closed by ${r.closedBy} at ${r.closedAt} with no winner`);
    for (const e of r.exports) lines.push(`  export: ${e.label} as ${e.adKey} to ${e.platforms.join(', ')} by ${e.by} at ${e.at}`);
  }
  return `${lines.join('\n')}\n`;
}

export const commands: Command[] = [makeDecisionsCommand({ config })];
