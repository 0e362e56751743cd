/**
 * A throwaway PostgreSQL cluster for tests: initdb into a temp dir, start it on a free
 * loopback port with its socket in the same dir, hand out a connection string, stop and
 * delete it afterwards. Runs the server binaries as the `postgres` user when the tests run
 * as root (initdb refuses root). Tests call `postgresAvailable()` first so a machine
 * without PostgreSQL skips (and CI, with ADCREATIVE_REQUIRE_SYSTEM=1, fails).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemAvailable } from './system.ts';

export function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], 'bin') : undefined;
}

export function postgresAvailable(): boolean {
  return systemAvailable({ what: 'PostgreSQL', tests: 'PostgreSQL store tests', pkg: 'postgresql' }, postgresBin() !== undefined);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface PgCluster {
  url: string;
  port: number;
  dir: string;
  /** Creates another empty database and returns its URL (one per test file or suite). */
  createDatabase(name: string): string;
  /** Runs a SQL script (e.g. a pg_dump) with psql in database `db`, stopping at the first error. */
  psql(db: string, script: string): void;
  stop(): void;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function run(bin: string, args: string[]): void {
  const cmd = isRoot ? 'runuser' : bin;
  const full = isRoot ? ['-u', 'postgres', '--', bin, ...args] : args;
  const r = spawnSync(cmd, full, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
}

export async function startPostgres(): Promise<PgCluster> {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL binaries not found under /usr/lib/postgresql/*/bin');
  const dir = mkdtempSync(join(tmpdir(), 'adcreative-pg-'));
  // The postgres user must own the data dir and be able to reach it.
  chmodSync(dir, 0o777);
  if (isRoot) execFileSync('chown', ['postgres:postgres', dir]);
  const data = join(dir, 'data');
  const port = await freePort();
  const password = 'test-pg-password';
  run(join(bin, 'initdb'), ['-D', data, '--username=adcreative', '--auth=trust', '--encoding=UTF8', '--no-sync']);
  run(join(bin, 'pg_ctl'), [
    '-D',
    data,
    '-l',
    join(dir, 'log'),
    '-w',
    '-t',
    '60',
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100`,
    'start',
  ]);
  const stop = () => {
    try {
      run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // Already stopped.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const urlFor = (db: string) => `postgres://adcreative:${password}@127.0.0.1:${port}/${db}`;
  return {
    url: urlFor('postgres'),
    port,
    dir,
    createDatabase(name) {
      run(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'adcreative', name]);
      return urlFor(name);
    },
    psql(db, script) {
      const r = spawnSync(
        join(bin, 'psql'),
        ['-h', '127.0.0.1', '-p', String(port), '-U', 'adcreative', '-d', db, '-q', '-v', 'ON_ERROR_STOP=1'],
        {
          input: script,
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      if (r.status !== 0) throw new Error(`psql into ${db} failed (${r.status}): ${r.stderr || r.stdout}`);
    },
    stop,
  };
}
