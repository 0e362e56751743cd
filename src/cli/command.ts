/**
 * The shape of a CLI command. Modules export their commands (e.g. `src/clip/commands.ts`)
 * and `src/cli.ts` registers them, so each module owns its own command lines.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from '../errors.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

export interface Command {
  /** Words that select it, e.g. "clip tokenize". */
  name: string;
  summary: string;
  /** Usage line after the name, e.g. "--text TEXT | --image PATH [--model DIR]". */
  usage: string;
  options: Options;
  /** Allow positional arguments. */
  positionals?: boolean;
  /** Returns the process exit code. */
  run(args: ParsedArgs, io: CommandIO): Promise<number>;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  positionals: string[];
}

export function parseCommandArgs(cmd: Command, argv: string[]): ParsedArgs {
  try {
    const r = parseArgs({ args: argv, options: cmd.options, allowPositionals: cmd.positionals ?? false, strict: true });
    return { values: r.values as ParsedArgs['values'], positionals: r.positionals };
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new UsageError(`${msg}\nusage: adcreative ${cmd.name} ${cmd.usage}`);
  }
}

export function helpText(cmd: Command): string {
  const lines = [`usage: adcreative ${cmd.name} ${cmd.usage}`, '', cmd.summary];
  const opts = Object.entries(cmd.options);
  if (opts.length) {
    lines.push('', 'options:');
    for (const [name, o] of opts) lines.push(`  --${name}${o.type === 'string' ? ' VALUE' : ''}${o.short ? ` (-${o.short})` : ''}`);
  }
  return lines.join('\n');
}

/** Reads a string flag, or throws a usage error naming it. */
export function stringArg(args: ParsedArgs, name: string, cmd: Command): string {
  const v = args.values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required\nusage: adcreative ${cmd.name} ${cmd.usage}`);
  return v;
}

export function intArg(args: ParsedArgs, name: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const v = args.values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer between ${min} and ${max}; got ${JSON.stringify(v)}`);
  }
  return n;
}
