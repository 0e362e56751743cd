/**
 * The whole story in a real browser, as people would play it on the sandbox page: a brief,
 * variants, votes by button and by reaction, a changed vote, the tally, feedback in the
 * thread, round 2, a refused close, the author's close, the winner. The page drives the
 * same Bolt app as production through the fake Slack; the synthetic tiny CLIP model, the
 * offline studio and a small demo library stand in for the real parts.
 *
 * Screenshots go to test-results/sandbox/ (ignored by git).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { startSandbox } from '../../src/sandbox/server.ts';
import { tinyPng } from '../helpers/png.ts';
import { chromiumPath, systemAvailable } from '../helpers/system.ts';

const exe = chromiumPath();
const run = systemAvailable({ what: 'Chromium', tests: 'browser e2e', pkg: 'chromium' }, !!exe);
const SHOTS = join(process.cwd(), 'test-results', 'sandbox');

const ALICE = 'U0ALICE'; // the brief's author
const BOB = 'U0BOB';
const CAROL = 'U0CAROL';
const ADA = 'U0ADMIN'; // a workspace admin

let dataDir: string;
let sandbox: { url: string; close(): Promise<void> } | undefined;
let browser: BrowserContext | undefined;
let page: Page;
let shot = 0;

async function screenshot(name: string): Promise<void> {
  shot += 1;
  await page.screenshot({ path: join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: false });
}

async function actAs(user: string): Promise<void> {
  await page.locator('#user-switcher').selectOption(user);
  // The page has rendered this person's view (their ephemeral messages, their reactions).
  await page.locator(`body[data-me="${user}"]`).waitFor();
}

const thread = () => page.locator('#thread-pane');
/** Variant messages in the open thread: the ones that carry a Vote button, in order. */
const variants = () =>
  thread()
    .locator('.msg')
    .filter({ has: page.getByRole('button', { name: /^Vote [A-Z]$/ }) });
/** Variant `label` of round `round` in the open thread. */
const variant = (label: string, round: number) =>
  thread()
    .locator('.msg')
    .filter({ hasText: `Variant ${label} · round ${round}` });
const vote = (label: string, round: number) =>
  variant(label, round)
    .getByRole('button', { name: `Vote ${label}` })
    .click();
/** The tally message: the one with the Close round button. */
const tally = () =>
  thread()
    .locator('.msg')
    .filter({ has: page.getByRole('button', { name: /Close round/ }) })
    .last();

/** Hover the message and click one of its tools. A live update may move the message from under the pointer: hover again. */
async function tool(msg: Locator, which: 'react' | 'shortcut'): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await msg.hover();
      await msg.locator(`[data-tool="${which}"]`).click({ timeout: 2000 });
      return;
    } catch (e) {
      if (attempt >= 5) throw e;
    }
  }
}

async function react(msg: Locator, name: string): Promise<void> {
  await tool(msg, 'react');
  await page.locator(`#reaction-picker [data-pick="${name}"]`).click();
}

describe.skipIf(!run)('sandbox in a browser', () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'adc-e2e-'));
    const cfg = loadConfig({
      DATA_DIR: dataDir,
      CLIP_MODEL_DIR: join(dataDir, 'no-real-model'),
      IMAGE_PROVIDER: 'studio',
      LOG_LEVEL: 'warn',
    });
    sandbox = await startSandbox(cfg, { logger: silentLogger, port: 0, demoCount: 16 });
    // A fresh profile per run: nothing cached or remembered from another run.
    browser = await chromium.launchPersistentContext(join(dataDir, 'chromium'), {
      executablePath: exe,
      viewport: { width: 1440, height: 960 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-quic',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(30_000);
    page.on('dialog', (d) => d.accept());
    await page.goto(`${sandbox.url}/?as=${ALICE}`);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await sandbox?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('plays a whole round trip: brief, votes, feedback, round 2, close, winner', async () => {
    // The page says what stands in for the real parts, with the commands that replace them.
    const banners = page.locator('#banners');
    await expect.poll(() => banners.textContent(), { timeout: 20_000 }).toMatch(/synthetic tiny model/);
    expect(await banners.textContent()).toMatch(/demo creatives/);
    expect(await banners.textContent()).toMatch(/offline studio/);

    // 1. Alice posts a brief.
    await page.locator('#composer-input').fill('/adcreative Trail-running sunscreen that does not sting your eyes --variants 3');
    await page.locator('#composer-input').press('Enter');
    const parent = page.locator('#messages .msg').filter({ hasText: 'Trail-running sunscreen' }).first();
    await parent.waitFor();
    await screenshot('brief-posted');

    // 2. Variants appear in its thread.
    await parent.locator('.replies-link').click();
    await expect.poll(() => variants().count(), { timeout: 60_000 }).toBe(3);
    expect(await variant('C', 1).count()).toBe(1);
    await tally().waitFor();
    await expect.poll(() => thread().locator('img.bk-image').count(), { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
    await screenshot('variants');

    // 3. Bob votes for A by button; Carol for B by a 👍 reaction; Ada for A by button.
    await actAs(BOB);
    await vote('A', 1);
    await expect.poll(() => tally().textContent(), { timeout: 20_000 }).toMatch(/— 1 vote(?!s)/);
    await actAs(CAROL);
    await react(variant('B', 1), '+1');
    await expect.poll(() => tally().textContent(), { timeout: 20_000 }).toMatch(/— 2 votes/);
    await actAs(ADA);
    await vote('A', 1);
    await expect.poll(() => tally().textContent(), { timeout: 20_000 }).toMatch(/— 3 votes/);

    // 4. Ada changes her mind: her vote moves to B.
    await vote('B', 1);
    await expect.poll(async () => tallyCounts(await tally().textContent()), { timeout: 20_000 }).toEqual({ A: 1, B: 2, C: 0 });
    expect(await tally().textContent()).toMatch(/— 3 votes/);
    await tally().scrollIntoViewIfNeeded();
    await screenshot('tally');

    // 5. Bob replies with feedback, mentioning the bot: round 2 starts.
    await actAs(BOB);
    await page.locator('#thread-input').fill('@adcreative warmer colours and a shorter headline please');
    await page.locator('#thread-input').press('Enter');
    await expect.poll(() => thread().textContent(), { timeout: 60_000 }).toMatch(/Tally · round 2/);
    await expect.poll(() => variants().filter({ hasText: '· round 2' }).count(), { timeout: 60_000 }).toBe(3);
    await screenshot('round-2');

    // A vote in round 2, so it has a winner.
    await actAs(CAROL);
    await vote('B', 2);
    await expect.poll(async () => tallyCounts(await tally().textContent()), { timeout: 20_000 }).toMatchObject({ B: 1 });

    // 6. Bob is not the author and not an admin: his close is refused, to him only.
    await actAs(BOB);
    await tally()
      .getByRole('button', { name: /Close round/ })
      .click();
    const refusal = page.locator('.msg.ephemeral').filter({ hasText: /or a workspace admin can close this round/ });
    await refusal.first().waitFor();
    expect(await refusal.first().textContent()).toMatch(/Only visible to you/);
    await refusal.first().scrollIntoViewIfNeeded();
    await screenshot('close-refused');
    expect(
      await tally()
        .getByRole('button', { name: /Close round/ })
        .count(),
    ).toBe(1); // still open
    await actAs(CAROL);
    expect(await page.locator('.msg.ephemeral').count()).toBe(0);

    // 7. Alice, the author, closes; the winner is announced on the parent message.
    await actAs(ALICE);
    await tally()
      .getByRole('button', { name: /Close round/ })
      .click();
    await expect.poll(() => parent.textContent(), { timeout: 30_000 }).toMatch(/Winner: variant B/);
    expect(await parent.textContent()).toMatch(/Closed by @alice/);
    await expect
      .poll(
        () =>
          thread()
            .locator('.msg')
            .filter({ hasText: /Tally · round 2/ })
            .textContent(),
        { timeout: 20_000 },
      )
      .toMatch(/voting closed/);
    await screenshot('winner');
  }, 180_000);

  it("shows the author's winner in the app's Home", async () => {
    await actAs(ALICE);
    await page.locator('button[data-home]').click();
    const home = page.locator('#home');
    await expect
      .poll(() => home.textContent(), { timeout: 20_000 })
      .toMatch(/Recent winners[\s\S]*variant B, 1 vote[\s\S]*Trail-running sunscreen/);
    expect(await page.locator('#composer').isVisible()).toBe(false);
    await screenshot('app-home');
    await page.locator('button[data-channel="C0GENERAL"]').click();
    await page.locator('#composer').waitFor();
  }, 60_000);

  it('starts a round from the brief form, and checks what is missing before sending it', async () => {
    await actAs(BOB);
    await page.locator('#composer-input').fill('/adcreative');
    await page.locator('#composer-input').press('Enter');
    const modal = page.locator('#modal');
    await modal.waitFor({ state: 'visible' });
    expect(await modal.textContent()).toMatch(/New ad brief/);
    await screenshot('brief-form');
    // The product is required: the browser keeps an empty form from going out, as Slack's client does.
    await modal.getByRole('button', { name: 'Make variants' }).click();
    expect(await modal.isVisible()).toBe(true);
    await modal.locator('[data-block-id="product"] textarea').fill('Reusable bamboo coffee cups for commuters');
    await modal.locator('[data-block-id="variants"] select').selectOption('2');
    await modal.getByRole('button', { name: 'Make variants' }).click();
    await modal.waitFor({ state: 'hidden' });
    const parent = page.locator('#messages .msg').filter({ hasText: 'Reusable bamboo coffee cups' }).first();
    await parent.waitFor();
    await parent.locator('.replies-link').click();
    await expect.poll(() => variants().count(), { timeout: 60_000 }).toBe(2);
    await expect.poll(() => parent.textContent(), { timeout: 30_000 }).toMatch(/ready/);
  }, 120_000);

  it('approvers approve the leader, the round closes by itself, Export winner posts a zip in the thread', async () => {
    await actAs(ALICE);
    await page
      .locator('#composer-input')
      .fill('/adcreative Solar phone charger for festival campers --variants 2 --approvers @bob,@carol --quorum 2');
    await page.locator('#composer-input').press('Enter');
    const parent = page.locator('#messages .msg').filter({ hasText: 'Solar phone charger' }).first();
    await parent.waitFor();
    await parent.locator('.replies-link').click();
    await expect.poll(() => variants().count(), { timeout: 60_000 }).toBe(2);
    const tally1 = () =>
      thread()
        .locator('.msg')
        .filter({ hasText: /Tally · round 1/ })
        .last();
    const approveB = () => tally1().getByRole('button', { name: 'Approve B' });
    // No variant leads yet: nothing to approve.
    await expect.poll(() => tally1().textContent(), { timeout: 20_000 }).toMatch(/2 of 2 approvers .*no variant leads yet/);

    // Ada's vote makes B lead; the tally offers "Approve B".
    await actAs(ADA);
    await vote('B', 1);
    await approveB().waitFor({ timeout: 20_000 });
    // Alice is not an approver: refused, to her only.
    await actAs(ALICE);
    await approveB().click();
    await page
      .locator('.msg.ephemeral')
      .filter({ hasText: /Only the approvers/ })
      .first()
      .waitFor();
    await actAs(BOB);
    await approveB().click();
    await expect.poll(() => tally1().textContent(), { timeout: 20_000 }).toMatch(/approved by @bob — 1\/2/);
    await screenshot('approval-1-of-2');

    // Carol's approval is the second of two: the round closes with B, and offers the export.
    await actAs(CAROL);
    await approveB().click();
    await expect.poll(() => parent.textContent(), { timeout: 30_000 }).toMatch(/Winner: variant B/);
    const exportButton = tally1().getByRole('button', { name: 'Export winner' });
    await exportButton.waitFor({ timeout: 20_000 });
    expect(
      await tally1()
        .getByRole('button', { name: /Close round/ })
        .count(),
    ).toBe(0);

    await actAs(ALICE);
    await exportButton.click();
    const zip = thread()
      .locator('.msg-files a.file-chip')
      .filter({ hasText: /Ad export · round 1/ });
    await zip.first().waitFor({ timeout: 60_000 });
    const href = await zip.first().getAttribute('href');
    const res = await page.request.get(new URL(href ?? '', page.url()).toString());
    expect(res.headers()['content-type']).toMatch(/application\/zip/);
    // A zip begins with its local file header, "PK\x03\x04".
    expect((await res.body()).subarray(0, 4).toString('latin1')).toBe('PK\x03\x04');
    await expect.poll(() => tally1().getByRole('button', { name: 'Results' }).count(), { timeout: 20_000 }).toBe(1);
    await zip.first().scrollIntoViewIfNeeded();
    await screenshot('exported');
  }, 180_000);

  it('adds an image someone posted to the creative library with the message shortcut', async () => {
    await actAs(CAROL);
    await page
      .locator('#composer-files')
      .setInputFiles({ name: 'best-summer-ad.png', mimeType: 'image/png', buffer: Buffer.from(tinyPng(96, 96, [240, 120, 30])) });
    await page.locator('#composer-input').fill('Our best summer ad last year');
    await page.locator('#composer-input').press('Enter');
    const mine = page.locator('#messages .msg').filter({ hasText: 'Our best summer ad last year' }).first();
    await mine.locator('.msg-files img').waitFor();
    await tool(mine, 'shortcut');
    const done = page.locator('.msg.ephemeral').filter({ hasText: /Added 1 image to the creative library/ });
    await done.waitFor({ timeout: 30_000 });
    await screenshot('added-to-library');
  }, 60_000);
});

/** The tally's bar lines ("A ████░░ 1 · 40% chance best") → { A: 1, … }. */
function tallyCounts(text: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of (text ?? '').matchAll(/([A-Z]) [█░]+ (\d+) ·/g)) out[m[1]] = Number(m[2]);
  return out;
}
