/** Runs one CLI command in-process and captures what it prints. */
import { PassThrough } from 'node:stream';
import { type Command, parseCommandArgs } from '../../src/cli/command.ts';
import { describeError, UsageError } from '../../src/errors.ts';

export interface CommandRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCommand(commands: Command[], argv: string[]): Promise<CommandRun> {
  const cmd = [...commands]
    .sort((a, b) => b.name.split(' ').length - a.name.split(' ').length)
    .find((c) => c.name.split(' ').every((w, i) => argv[i] === w));
  if (!cmd) throw new Error(`no command for ${argv.join(' ')}`);
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d) => {
    stdout += String(d);
  });
  err.on('data', (d) => {
    stderr += String(d);
  });
  let code: number;
  try {
    code = await cmd.run(parseCommandArgs(cmd, argv.slice(cmd.name.split(' ').length)), {
      stdout: out,
      stderr: err,
      stdin: new PassThrough(),
    });
  } catch (e) {
    code = e instanceof UsageError ? 2 : 1;
    stderr += `${describeError(e)}\n`;
  }
  return { code, stdout, stderr };
}
