/**
 * `serve-clip` on its own: `node --import tsx src/clip/serve-main.ts [serve-clip options]`.
 * The same command as `adcreative serve-clip`, without loading the other commands' modules
 * (LanceDB, Bolt, OpenAI, SQLite): what a GPU host that only serves CLIP needs installed, and
 * what `scripts/gpu-check.sh` carries to one.
 */
import { main, registerCommands } from '../cli.ts';
import { commands } from './serve-commands.ts';

registerCommands(commands);
process.exitCode = await main(['serve-clip', ...process.argv.slice(2)]);
