/**
 * The sandbox as `npm start` runs it without Slack tokens: its page server answers /readyz
 * from the bot's readiness (store, library, encoder probes; started; not stopping), not with
 * a blanket 200.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesizeModel } from '../../../src/clip/synth/index.ts';
import { loadConfig } from '../../../src/config.ts';
import { silentLogger } from '../../../src/log.ts';
import { startSandbox } from '../../../src/sandbox/server.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
let dir: string;
let modelDir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sandbox-ready-'));
  modelDir = join(dir, 'clip-tiny');
  await synthesizeModel({ arch: 'tiny', outDir: modelDir, seed: 5 });
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

type Ready = { ready: boolean; checks: Record<string, string> };

async function readyz(url: string): Promise<{ status: number; body: Ready }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as Ready };
}

/** The background probe runs every few seconds; wait for its first verdict. */
async function settled(url: string, want: (r: { status: number; body: Ready }) => boolean): Promise<{ status: number; body: Ready }> {
  for (let i = 0; i < 200; i++) {
    const r = await readyz(url);
    if (want(r)) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
  return readyz(url);
}

function sandboxConfig(name: string, env: Record<string, string> = {}) {
  return loadConfig({
    DATA_DIR: join(dir, name),
    CLIP_MODEL_DIR: modelDir,
    CLIP_THREADS: '1',
    BRANDS_DIR: join(ROOT, 'brands'),
    IMAGE_PROVIDER: 'studio',
    ...env,
  });
}

describe('sandbox /readyz', () => {
  it('is 200 once the bot, store, library and encoder all answer', async () => {
    const sandbox = await startSandbox(sandboxConfig('ok'), { logger: silentLogger, port: 0, demoCount: 4 });
    try {
      const r = await settled(sandbox.url, (x) => x.status === 200);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        ready: true,
        checks: { store: 'ok', library: 'ok', encoder: expect.stringMatching(/^ok: cpu fp32, SYNTHETIC model /), bot: 'ok' },
      });
    } finally {
      await sandbox.close();
    }
  }, 120_000);

  it('is 503 naming the library when the library cannot be opened, while the page still serves', async () => {
    // A file where the library's folder should be: LanceDB cannot open it, the sandbox starts anyway (with a banner).
    const notAFolder = join(dir, 'library-is-a-file');
    writeFileSync(notAFolder, 'not a LanceDB folder');
    const sandbox = await startSandbox(sandboxConfig('broken', { LANCEDB_URI: notAFolder }), {
      logger: silentLogger,
      port: 0,
      demoCount: 4,
    });
    try {
      const r = await settled(sandbox.url, (x) => Object.keys(x.body.checks).length > 1);
      expect(r.status).toBe(503);
      expect(r.body.ready).toBe(false);
      expect(r.body.checks).toMatchObject({ store: 'ok', encoder: expect.stringMatching(/^ok: cpu fp32, SYNTHETIC model /), bot: 'ok' });
      expect(r.body.checks.library).not.toBe('ok');
      expect((await fetch(`${sandbox.url}/healthz`)).status).toBe(200);
      expect((await fetch(sandbox.url)).status).toBe(200);
    } finally {
      await sandbox.close();
    }
  }, 120_000);
});
