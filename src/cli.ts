/**
 * `adcreative <command>`: one entry point for the bot and its tooling. Each module exports
 * its commands; this file only registers and dispatches them.
 */
import { type Command, type CommandIO, helpText, parseCommandArgs } from './cli/command.ts';
import { describeError, isAdError, UsageError } from './errors.ts';

const COMMANDS: Command[] = [];

/** Modules call this (through the lists below) to add their commands. */
export function registerCommands(cmds: Command[]): void {
  COMMANDS.push(...cmds);
}

async function loadCommands(): Promise<void> {
  if (COMMANDS.length) return;
  // Imported lazily so `adcreative --help` does not load ONNX Runtime, LanceDB or Bolt.
  // biome-ignore format: one module per line keeps parallel additions mergeable
  const lists = await Promise.all([
    import('./start.ts').then((m) => m.commands),
    import('./cli/config-command.ts').then((m) => m.commands),
    import('./clip/commands.ts').then((m) => m.commands),
    import('./library/commands.ts').then((m) => m.commands),
    import('./generate/commands.ts').then((m) => m.commands),
    import('./clip/synth-commands.ts').then((m) => m.commands),
    import('./clip/model-commands.ts').then((m) => m.commands),
    import('./sandbox/commands.ts').then((m) => m.commands),
    import('./clip/serve-commands.ts').then((m) => m.commands),
    import('./learn/commands.ts').then((m) => m.commands),
    import('./rounds/commands.ts').then((m) => m.commands),
    import('./export/commands.ts').then((m) => m.commands),
  ]);
  for (const l of lists) registerCommands(l);
}

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: adcreative <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run `adcreative <command> --help` for a command's options.",
  ].join('\n');
}

export async function main(
  argv: string[],
  io: CommandIO = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin },
): Promise<number> {
  await loadCommands();
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.stdout.write(`${usage()}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  // Longest match first: "library search" before "library".
  const sorted = [...COMMANDS].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);
  const cmd = sorted.find((c) => {
    const words = c.name.split(' ');
    return words.every((w, i) => argv[i] === w);
  });
  if (!cmd) {
    io.stderr.write(`adcreative: unknown command "${argv.slice(0, 2).join(' ')}"\n${usage()}\n`);
    return 2;
  }
  const rest = argv.slice(cmd.name.split(' ').length);
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${helpText(cmd)}\n`);
    return 0;
  }
  try {
    const args = parseCommandArgs(cmd, rest);
    return await cmd.run(args, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`adcreative ${cmd.name}: ${e.message}\n`);
      return 2;
    }
    const code = isAdError(e) ? ` [${e.code}]` : '';
    io.stderr.write(`adcreative ${cmd.name}: error${code}: ${describeError(e)}\n`);
    if (process.env.ADCREATIVE_DEBUG && e instanceof Error) io.stderr.write(`${e.stack}\n`);
    return 1;
  }
}

const isEntry = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntry || process.argv[1]?.endsWith('src/cli.ts')) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`adcreative: ${describeError(e)}\n`);
      process.exitCode = 1;
    },
  );
}
