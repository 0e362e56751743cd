/**
 * The creative library on s3:// against the local S3 stand-in (test/helpers/s3-server.ts): the real
 * `ingest`, `library stats|search|index|reembed` commands with LANCEDB_URI=s3://… and the standard
 * AWS variables, nothing written to the local disk; and what concurrent writers rely on — LanceDB
 * commits each table version with a conditional PUT, so a second writer's stale commit is refused
 * (412) and retried instead of overwriting the first one's.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { makeLibraryCommands } from '../../../src/library/commands.ts';
import { connectLance } from '../../../src/library/connect.ts';
import { fakeEncoder } from '../../helpers/fake-encoder.ts';
import { testImage } from '../../helpers/images.ts';
import { runCommand } from '../../helpers/run-command.ts';
import { type S3StandIn, startS3 } from '../../helpers/s3-server.ts';

let root: string;
let s3: S3StandIn;

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATA_DIR: join(root, 'data'),
    LOG_LEVEL: 'error',
    LANCEDB_URI: 's3://creatives/team/library',
    AWS_ENDPOINT_URL_S3: s3.url,
    AWS_REGION: s3.region,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    ...extra,
  };
}

const commands = (model = 'test/fake-clip') =>
  makeLibraryCommands({ config: () => loadConfig(env()), openEncoder: async () => fakeEncoder({ dims: 16, model }), progress: false });

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'adc-s3-lib-'));
  s3 = await startS3({ buckets: ['creatives'] });
});

afterAll(async () => {
  await s3?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('the creative library on s3://', () => {
  it('ingests, searches, indexes and re-embeds with every byte in the bucket', async () => {
    const images = join(root, 'images');
    mkdirSync(images, { recursive: true });
    // IVF_PQ trains 256-centroid codebooks: past 256 rows the index is real.
    for (let i = 0; i < 260; i++) writeFileSync(join(images, `c${i}.png`), await testImage(i, [40, 40], 'png'));
    const cmds = commands();

    const ing = await runCommand(cmds, ['ingest', images, '--batch', '130', '--json']);
    expect(ing.stderr).toBe('');
    expect(JSON.parse(ing.stdout)).toMatchObject({ ingested: 260, failed: [] });
    expect(s3.keys('creatives', 'team/library/creatives.lance/data/').length).toBeGreaterThan(0);
    // No shared filesystem needed: nothing of the library is on the local disk.
    expect(existsSync(join(root, 'data', 'lancedb'))).toBe(false);

    const stats = await runCommand(cmds, ['library', 'stats']);
    expect(stats.stdout).toContain(`library   s3://creatives/team/library (${s3.url}, us-east-1, path-style)`);
    expect(stats.stdout).toMatch(/rows\s+260/);
    expect(stats.stdout + stats.stderr).not.toContain(s3.secretAccessKey);
    expect(JSON.parse((await runCommand(cmds, ['library', 'stats', '--json'])).stdout).location).toContain('s3://creatives/team/library');

    const hits = JSON.parse((await runCommand(cmds, ['library', 'search', 'Test creative 7', '--k', '5', '--json'])).stdout);
    expect(hits).toHaveLength(5);

    const index = JSON.parse((await runCommand(cmds, ['library', 'index', '--json'])).stdout);
    expect(index.vector).toMatchObject({ built: true });
    expect(index.scalar.length).toBeGreaterThan(0);
    expect(s3.keys('creatives', 'team/library/creatives.lance/_indices/').length).toBeGreaterThan(0);
    const indexed = JSON.parse((await runCommand(cmds, ['library', 'stats', '--json'])).stdout);
    expect(indexed.index).toMatchObject({ vector: true, builtForRows: 260 });
    const after = JSON.parse((await runCommand(cmds, ['library', 'search', 'Test creative 7', '--k', '5', '--json'])).stdout);
    // IVF_PQ is approximate (its codebooks are trained at random): most of the exact top 5 come back.
    const exact = new Set(hits.map((h: { id: string }) => h.id));
    expect(after).toHaveLength(5);
    expect(after.filter((h: { id: string }) => exact.has(h.id)).length).toBeGreaterThanOrEqual(3);

    // A model change: the library refuses the new encoder until re-embedded, in the bucket.
    const other = commands('test/other-clip');
    const refused = await runCommand(other, ['library', 'search', 'tents']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/embedded with test\/fake-clip/);
    const re = await runCommand(other, ['library', 'reembed', '--json']);
    expect(re.code).toBe(0);
    expect(JSON.parse(re.stdout)).toMatchObject({ rows: 260, to: 'test/other-clip (16-d)' });
    const now = JSON.parse((await runCommand(other, ['library', 'stats', '--json'])).stdout);
    expect(now).toMatchObject({ rows: 260, model: 'test/other-clip' });
    // The staging table of the rewrite is gone from the bucket too.
    expect(s3.keys('creatives', 'team/library/').filter((k) => k.includes('creatives_reembed.lance/'))).toEqual([]);
    expect(readdirSync(root)).toEqual(['images']);
  }, 180_000);

  it('two writers commit through If-None-Match: the stale one retries instead of overwriting', async () => {
    // Holds the first two manifest writes until both have arrived: the two commits race for one version.
    let armed = false;
    const held: (() => void)[] = [];
    const beforeWrite = async (_bucket: string, key: string) => {
      if (!armed || !key.startsWith('race/t.lance/_versions/')) return;
      await new Promise<void>((release) => {
        held.push(release);
        if (held.length === 2) {
          armed = false;
          for (const r of held.splice(0)) r();
        }
        setTimeout(release, 5000);
      });
    };
    const race = async (server: S3StandIn) => {
      const storageOptions = {
        aws_endpoint: server.url,
        allow_http: 'true',
        aws_region: server.region,
        aws_access_key_id: server.accessKeyId,
        aws_secret_access_key: server.secretAccessKey,
        aws_virtual_hosted_style_request: 'false',
      };
      const uri = 's3://creatives/race';
      const a = await connectLance(uri, { storageOptions });
      await a.createTable('t', [{ id: 'first', n: 0 }]);
      const b = await connectLance(uri, { storageOptions });
      // Both handles are at version 1; neither re-reads before writing (no read consistency interval).
      const ta = await a.openTable('t');
      const tb = await b.openTable('t');
      armed = true;
      await Promise.all([ta.add([{ id: 'from-a', n: 1 }]), tb.add([{ id: 'from-b', n: 2 }])]);
      const fresh = await (await connectLance(uri, { storageOptions })).openTable('t');
      const ids = (await fresh.query().toArray()).map((r) => String(r.id)).sort();
      for (const c of [a, b]) c.close();
      return ids;
    };
    const strict = await startS3({ buckets: ['creatives'], beforeWrite });
    try {
      expect(await race(strict)).toEqual(['first', 'from-a', 'from-b']);
      expect(strict.requests.some((r) => r.key?.startsWith('race/t.lance/_versions/') && r.method === 'PUT' && r.status === 412)).toBe(
        true,
      );
    } finally {
      await strict.close();
    }

    // The same two writers on a store that ignores conditional writes (as s3rver does): the later
    // commit overwrites the earlier one's manifest, and that writer's row is gone without an error.
    const careless = await startS3({ buckets: ['creatives'], conditionalWrites: 'ignore', beforeWrite });
    try {
      const ids = await race(careless);
      expect(ids).toHaveLength(2);
      expect(ids[0]).toBe('first');
    } finally {
      await careless.close();
    }
  }, 60_000);
});
