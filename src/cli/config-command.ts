/**
 * `adcreative config`: shows the settings in force (secrets masked), checks them, or
 * rewrites the README's configuration table from `SETTINGS` so the two never drift.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { config, SETTINGS, settingsMarkdown } from '../config.ts';
import { InputError } from '../errors.ts';
import type { Command } from './command.ts';

const START = '<!-- config-table:start -->';
const END = '<!-- config-table:end -->';

/** The README with its configuration table replaced by the generated one. */
export function withConfigTable(readme: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new InputError('README_MARKERS', `README.md has no ${START} … ${END} markers for the configuration table`);
  return `${readme.slice(0, a + START.length)}\n${settingsMarkdown()}\n${readme.slice(b)}`;
}

export const commands: Command[] = [
  {
    name: 'config',
    summary: 'Show the settings in force (secrets masked), or the README table (--markdown, --write-readme)',
    usage: '[--markdown | --write-readme [FILE] | --json]',
    options: { markdown: { type: 'boolean' }, 'write-readme': { type: 'boolean' }, json: { type: 'boolean' } },
    positionals: true,
    async run(args, io) {
      if (args.values.markdown) {
        io.stdout.write(`${settingsMarkdown()}\n`);
        return 0;
      }
      if (args.values['write-readme']) {
        const file = args.positionals[0] ?? 'README.md';
        writeFileSync(file, withConfigTable(readFileSync(file, 'utf8')));
        io.stdout.write(`updated the configuration table in ${file}\n`);
        return 0;
      }
      // Reading the config validates every setting; a bad one throws a ConfigError naming it.
      const cfg = config() as Record<string, unknown>;
      const shown: Record<string, unknown> = {};
      for (const [key, spec] of Object.entries(SETTINGS) as [string, { env: string; secret?: boolean }][]) {
        const v = cfg[key];
        shown[spec.env] = spec.secret && v !== undefined ? '(set)' : v;
      }
      if (args.values.json) io.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
      else
        for (const [k, v] of Object.entries(shown))
          io.stdout.write(`${k}=${v === undefined ? '' : Array.isArray(v) ? v.join(',') : String(v)}\n`);
      return 0;
    },
  },
];
