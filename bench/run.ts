/**
 * `npm run bench -- <name> [args]`: runs bench/<name>.ts, which writes bench/results/<name>.json.
 */
const [name, ...args] = process.argv.slice(2);
if (!name || !/^[a-z-]+$/.test(name)) {
  process.stderr.write('usage: npm run bench -- <clip|library|generate|slack|train|taste|serve> [options]\n');
  process.exit(2);
}
const mod = (await import(`./${name}.ts`).catch((e: unknown) => {
  process.stderr.write(`bench: no benchmark named "${name}" (${e instanceof Error ? e.message : String(e)})\n`);
  process.exit(2);
})) as { main(args: string[]): Promise<void> };
await mod.main(args);
