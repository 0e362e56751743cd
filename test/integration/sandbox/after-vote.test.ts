/**
 * After the vote, in the sandbox, driven over the page's own HTTP API as people would click: a
 * brief names two approvers; a vote makes B lead; Bob and Carol approve B's exact content and the
 * round closes by itself; "Export winner" posts a zip whose Google Ads, Meta, LinkedIn and TikTok
 * files pass the published limits; the decision log lists the round; a Meta report imported with
 * `adcreative results import` updates the creatives' figures in the library; after a restart the
 * next brief's inspiration shows them, and "Results" posts the winner's numbers beside its sibling's.
 * The sandbox's own stand-ins run: the synthetic tiny CLIP model, the offline studio, a demo library.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Config, loadConfig } from '../../../src/config.ts';
import { makeExportCommands } from '../../../src/export/commands.ts';
import { smoothedCtr } from '../../../src/library/ctr.ts';
import { openLibrary } from '../../../src/library/open.ts';
import { silentLogger } from '../../../src/log.ts';
import { makeDecisionsCommand } from '../../../src/rounds/commands.ts';
import type { DecisionRound } from '../../../src/rounds/decisions.ts';
import { startSandbox } from '../../../src/sandbox/server.ts';
import { checkExportDir } from '../../helpers/export-checks.ts';
import { runCommand } from '../../helpers/run-command.ts';

const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const CAROL = 'U0CAROL';
const ADA = 'U0ADMIN';
const UNZIP = '/usr/bin/unzip';
const PY = '/usr/bin/python3';

let dir: string;
let cfg: Config;
let sandbox: { url: string; close(): Promise<void> } | undefined;

interface PageMessage {
  ts: string;
  threadTs?: string;
  text: string;
  html: string;
  files: { id: string; name: string; mimetype: string; url: string }[];
  ephemeral: boolean;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'after-vote-'));
  cfg = loadConfig({
    DATA_DIR: join(dir, 'data'),
    CLIP_MODEL_DIR: join(dir, 'no-real-model'),
    IMAGE_PROVIDER: 'studio',
    LOG_LEVEL: 'warn',
    EXPORT_FINAL_URL: 'https://acme.example/sunscreen',
  });
}, 60_000);
afterAll(async () => {
  await sandbox?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function post(path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await fetch(`${sandbox?.url}/api/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function messages(user: string): Promise<PageMessage[]> {
  const res = await fetch(`${sandbox?.url}/api/state?user=${user}`);
  return ((await res.json()) as { messages: PageMessage[] }).messages;
}

async function waitFor<T>(what: string, find: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const got = await find();
    if (got !== undefined) return got;
    if (Date.now() > until)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify((await messages(ALICE)).map((m) => m.text)).slice(0, 3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const htmlText = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** A button's value in a rendered message, found by its action id. */
function buttonValue(m: PageMessage, actionId: string): string | undefined {
  const re = new RegExp(`<(?:button|a)[^>]*data-action-id="${actionId}"[^>]*>`, 'g');
  const tag = re.exec(m.html)?.[0];
  const v = tag ? /data-value="([^"]*)"/.exec(tag)?.[1] : undefined;
  return v === undefined ? undefined : htmlText(v);
}

async function click(user: string, m: PageMessage, actionId: string): Promise<void> {
  const value = buttonValue(m, actionId);
  if (value === undefined) throw new Error(`no ${actionId} button in ${m.text}`);
  await post('action', { user, ts: m.ts, action: { action_id: actionId, value } });
}

const inThread = (ms: PageMessage[], thread: string) => ms.filter((m) => m.threadTs === thread && !m.ephemeral);

describe.skipIf(!existsSync(UNZIP) && !existsSync(PY))('after the vote, in the sandbox', () => {
  it('approvals close the round, Export posts a zip inside every limit, the log lists it, results come back into the library', async () => {
    sandbox = await startSandbox(cfg, { logger: silentLogger, port: 0, demoCount: 5 });
    await post('message', {
      user: ALICE,
      text: '/adcreative Trail-running sunscreen that does not sting your eyes --variants 2 --brand acme --formats square,story --approvers @bob,@carol --quorum 2',
    });
    const parent = await waitFor('the brief', async () =>
      (await messages(ALICE)).find((m) => !m.threadTs && m.text.includes('Trail-running sunscreen')),
    );
    const thread = parent.ts;
    const tally = () =>
      waitFor('the tally', async () => inThread(await messages(ALICE), thread).find((m) => m.text.startsWith('Tally for round 1')));
    await tally();
    const variantB = inThread(await messages(ALICE), thread).find((m) => m.text.startsWith('Variant B'));
    if (!variantB) throw new Error('no variant B');

    // Ada votes for B; the tally now offers "Approve B" to the approvers.
    await click(ADA, variantB, 'vote');
    const withApprove = await waitFor('Approve B', async () => {
      const t = await tally();
      return buttonValue(t, 'approve_variant') ? t : undefined;
    });
    expect(withApprove.html).toMatch(/Approval:.*2 of 2 approvers/);
    // Alice (not an approver) is refused, privately.
    await click(ALICE, withApprove, 'approve_variant');
    await waitFor('the refusal', async () => (await messages(ALICE)).find((m) => m.ephemeral && m.text.includes('Only the approvers')));
    await click(BOB, withApprove, 'approve_variant');
    await waitFor('Bob’s approval on record', async () =>
      inThread(await messages(ALICE), thread).find((m) => /approved variant B — content/.test(m.text)),
    );
    await click(CAROL, withApprove, 'approve_variant');
    // Two of two: the round closes by itself with B.
    const closed = await waitFor('the close', async () => {
      const t = await tally();
      return buttonValue(t, 'export_winner') ? t : undefined;
    });
    expect(closed.text).toMatch(/Tally for round 1/);
    expect(closed.html).toMatch(/Winner: variant B.*Closed by the approvals of/);

    // Export: a zip in the thread.
    await click(ALICE, closed, 'export_winner');
    const zipMsg = await waitFor('the zip', async () =>
      inThread(await messages(ALICE), thread).find((m) => m.files.some((f) => f.name.endsWith('.zip'))),
    );
    const file = zipMsg.files.find((f) => f.name.endsWith('.zip'));
    expect(file?.mimetype).toBe('application/zip');
    const zip = Buffer.from(await (await fetch(`${sandbox.url}${file?.url}`)).arrayBuffer());
    const zipPath = join(dir, 'export.zip');
    writeFileSync(zipPath, zip);
    if (existsSync(UNZIP)) expect(execFileSync(UNZIP, ['-t', zipPath], { encoding: 'utf8' })).toMatch(/No errors detected/);
    const out = join(dir, 'unzipped');
    mkdirSync(out);
    execFileSync(PY, ['-c', 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])', zipPath, out]);
    const check = checkExportDir(out);
    expect(check.problems).toEqual([]);
    expect(check.ads).toEqual({ 'google-ads rda': 2, 'google-ads pmax': 2, meta: 2, linkedin: 2, tiktok: 2 });
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    const [winnerKey, siblingKey] = manifest.ads.map((a: { adKey: string }) => a.adKey);
    expect(manifest.ads.map((a: { role: string; label: string }) => [a.label, a.role])).toEqual([
      ['B', 'winner'],
      ['A', 'sibling'],
    ]);
    await waitFor('the export note', async () =>
      inThread(await messages(ALICE), thread).find((m) => m.text.includes(`exported B (winner) as \`${winnerKey}\``)),
    );

    // The decision log lists the round: approvals of the exact content, the quorum close, the export.
    const log = JSON.parse(
      (await runCommand([makeDecisionsCommand({ config: () => cfg })], ['decisions', '--since', '2000-01-01', '--json'])).stdout,
    ) as DecisionRound[];
    const round = log.find((r) => r.threadTs === thread) as DecisionRound;
    expect(round).toMatchObject({ status: 'closed', closedBy: 'quorum', approvers: [BOB, CAROL], quorum: 2, winner: { label: 'B' } });
    expect(round.approvals.map((a) => [a.user, a.label, a.hash, a.voidedAt])).toEqual([
      [BOB, 'B', round.winner?.hash, null],
      [CAROL, 'B', round.winner?.hash, null],
    ]);
    expect(round.exports.map((e) => [e.label, e.adKey, e.role])).toEqual([
      ['B', winnerKey, 'winner'],
      ['A', siblingKey, 'sibling'],
    ]);
    expect(winnerKey).toBe(`adc-${round.winner?.hash?.slice(0, 12)}`);

    // Results: Meta's report, imported while the bot is down, lands in the library.
    await sandbox.close();
    sandbox = undefined;
    const report = join(dir, 'meta-report.csv');
    writeFileSync(
      report,
      readFileSync(join(import.meta.dirname, '../../fixtures/reports/meta-ads-manager.csv'), 'utf8')
        .replaceAll('{KEY_A}', winnerKey)
        .replaceAll('{KEY_B}', siblingKey),
    );
    const imported = await runCommand(makeExportCommands({ config: () => cfg }), ['results', 'import', report, '--json']);
    const r = JSON.parse(imported.stdout);
    expect(
      r.ads.map((a: { adKey: string; library: string; impressions: number; clicks: number }) => [
        a.adKey,
        a.library,
        a.impressions,
        a.clicks,
      ]),
    ).toEqual([
      [winnerKey, 'updated', 12345, 234],
      [siblingKey, 'updated', 7890, 98],
    ]);
    expect(r.libraryUpdated).toBe(2);

    // After a restart: the next brief's inspiration shows them with their CTR; Results posts the figures.
    sandbox = await startSandbox(cfg, { logger: silentLogger, port: 0, demoCount: 5 });
    await post('message', {
      user: ALICE,
      text: '/adcreative Sunscreen for trail runners who hate stinging eyes --variants 1 --brand acme',
    });
    const parent2 = await waitFor('the second brief', async () =>
      (await messages(ALICE)).find((m) => !m.threadTs && m.text.includes('Sunscreen for trail runners')),
    );
    const inspiration = await waitFor('inspiration', async () =>
      inThread(await messages(ALICE), parent2.ts).find((m) => m.text.startsWith('Inspiration for round 1')),
    );
    const lib = await openLibrary({ uri: join(cfg.dataDir, 'lancedb') });
    try {
      const stats = await lib.stats();
      const exported = [];
      for await (const c of lib.scan({ images: false }))
        if (c.source === `winner:${round.roundId}` || c.source === `export:${round.roundId}`) exported.push(c);
      expect(exported.map((c) => [c.headline, c.impressions, c.clicks]).sort()).toEqual(
        [
          [round.winner?.headline, 12345, 234],
          [round.variants.find((v) => v.label === 'A')?.headline, 7890, 98],
        ].sort(),
      );
      for (const c of exported) {
        expect(htmlText(inspiration.html)).toContain(c.headline);
        const ctr = (100 * smoothedCtr(c.clicks, c.impressions, stats.ctrPrior)).toFixed(2);
        expect(inspiration.html).toContain(`CTR ${ctr}%`);
      }
    } finally {
      await lib.close();
    }
    const oldTally = inThread(await messages(ALICE), thread).find((m) => m.text.startsWith('Tally for round 1')) as PageMessage;
    await click(ALICE, oldTally, 'show_results');
    const results = await waitFor('results', async () =>
      inThread(await messages(ALICE), thread).find((m) => m.text.startsWith('*Results of the exported ads*')),
    );
    expect(results.text).toMatch(
      new RegExp(`:trophy: \\*B\\* \\(winner\\) \`${winnerKey}\` — 12,345 impressions · 234 clicks · CTR 1\\.90% · 18 conversions`),
    );
    expect(results.text).toMatch(new RegExp(`• \\*A\\* \`${siblingKey}\` — 7,890 impressions · 98 clicks · CTR 1\\.24% · 6 conversions`));
  }, 600_000);
});
