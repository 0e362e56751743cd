/**
 * Makes the README's screenshot of the sandbox: starts it on a temporary DATA_DIR (synthetic
 * tiny model, offline studio, a small demo library), plays a short round in headless
 * Chromium — a brief, its variants, a few votes by button and reaction — and writes
 * docs/sandbox.png. Run on purpose (`npx tsx scripts/screenshot.ts [--out PATH]`); tests
 * never write tracked files.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { startSandbox } from '../src/sandbox/server.ts';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'docs/sandbox.png' },
    chromium: { type: 'string', default: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' },
    brief: { type: 'string', default: 'Trail-running sunscreen that does not sting your eyes --variants 3' },
  },
});
const out = resolve(values.out ?? 'docs/sandbox.png');
const dataDir = mkdtempSync(join(tmpdir(), 'adc-screenshot-'));
const logger = createLogger({ level: 'warn' });

const sandbox = await startSandbox(
  loadConfig({ DATA_DIR: dataDir, CLIP_MODEL_DIR: join(dataDir, 'no-real-model'), IMAGE_PROVIDER: 'studio' }),
  { logger, port: 0, demoCount: 24 },
);
const browser = await chromium.launchPersistentContext(join(dataDir, 'chromium'), {
  executablePath: values.chromium,
  viewport: { width: 1440, height: 900 },
  deviceScaleFactor: 1,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
});
try {
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(60_000);
  await page.goto(`${sandbox.url}/?as=U0ALICE`);
  await page.locator('#composer-input').fill(`/adcreative ${values.brief}`);
  await page.locator('#composer-input').press('Enter');
  const parent = page.locator('#messages .msg').filter({ hasText: 'Trail-running' }).first();
  await parent.locator('.replies-link').click();
  const thread = page.locator('#thread-pane');
  const variants = thread.locator('.msg').filter({ has: page.getByRole('button', { name: /^Vote/ }) });
  await page.waitForFunction(() => document.querySelectorAll('#thread-pane img.bk-image').length >= 3);
  for (const [user, i] of [
    ['U0BOB', 0],
    ['U0ADMIN', 1],
  ] as const) {
    await page.locator('#user-switcher').selectOption(user);
    await variants.nth(i).getByRole('button', { name: /^Vote/ }).click();
  }
  await page.locator('#user-switcher').selectOption('U0CAROL');
  const b = variants.nth(1);
  await b.hover();
  await b.locator('[data-tool="react"]').click();
  await page.locator('#reaction-picker [data-pick="+1"]').click();
  await page.locator('#user-switcher').selectOption('U0ALICE');
  await page.waitForTimeout(2500); // the tally coalesces updates; let the last one land
  await variants.nth(0).scrollIntoViewIfNeeded();
  mkdirSync(dirname(out), { recursive: true });
  await page.screenshot({ path: out });
  process.stdout.write(`wrote ${out}\n`);
} finally {
  await browser.close();
  await sandbox.close();
  rmSync(dataDir, { recursive: true, force: true });
}
