/**
 * The library commands as a user runs them: a real `adcreative` process, the real ONNX encoder
 * on the `tiny` synthetic model, a real LanceDB in a temp dir.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeModel } from '../../../src/clip/synth/index.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');
let root: string;
let env: NodeJS.ProcessEnv;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, env, maxBuffer: 32 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'adc-tiny-cli-'));
  await synthesizeModel({ arch: 'tiny', outDir: join(root, 'model') });
  env = {
    ...process.env,
    DATA_DIR: join(root, 'data'),
    CLIP_MODEL_DIR: join(root, 'model'),
    CLIP_DEVICE: 'cpu',
    LOG_LEVEL: 'error',
    LANCEDB_LOG: 'error',
  };
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('library CLI on the tiny synthetic CLIP model', () => {
  it('builds the demo library and searches it, as a table and as JSON', async () => {
    const demo = await cli('library', 'demo', '--count', '200', '--json');
    expect(demo.code, demo.stderr).toBe(0);
    expect(JSON.parse(demo.stdout)).toMatchObject({ ingested: 200, rows: 200, failed: [], demo: true });

    const stats = JSON.parse((await cli('library', 'stats', '--json')).stdout);
    expect(stats).toMatchObject({ rows: 200, demoRows: 200, model: 'adcreative/synthetic-clip-tiny' });

    const table = await cli('library', 'search', 'cold brew coffee for commuters', '--brand', 'northwind', '--k', '5');
    expect(table.code, table.stderr).toBe(0);
    expect(table.stderr).toMatch(/SYNTHETIC model: similarities are meaningless/);
    const rows = table.stdout.split('\n').filter((l) => /^\s*\d+\s+[0-9a-f]{16}\s/.test(l));
    expect(rows).toHaveLength(5);
    expect(rows.every((l) => /northwind\/\w+\/\w+\s+\[demo\]/.test(l))).toBe(true);

    const js = await cli('library', 'search', 'cold brew coffee for commuters', '--brand', 'northwind', '--k', '5', '--json');
    const hits = JSON.parse(js.stdout) as { brand: string; demo: boolean; scores: { fused: number; image: number; caption: number } }[];
    expect(hits).toHaveLength(5);
    expect(hits.every((h) => h.brand === 'northwind' && h.demo)).toBe(true);
    const fused = hits.map((h) => h.scores.fused);
    expect([...fused].sort((a, b) => b - a)).toEqual(fused);
    // ~10 s of CPU; the wall-clock allowance is for a shared, overloaded machine.
  }, 300_000);
});
