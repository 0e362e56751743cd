/**
 * Draws the README's contact sheet of offline drafts: the held briefs of issue 16 (English,
 * Chinese, with an offer, from the brief form; test/fixtures/briefs/held.ts) through the real
 * pipeline with the offline copywriter and studio, one row per brief, then feedback rounds, and
 * writes docs/offline-drafts.png. CLIP is the synthetic tiny model (made once in a temporary
 * DATA_DIR), so the order of the variants means nothing; the copy and the pictures are what to
 * look at. Run on purpose (`npx tsx scripts/contact-sheet.ts [--out PATH]`); tests never write
 * tracked files.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { chooseModel, synthesizeTiny } from '../src/clip/first-run.ts';
import { openEncoder } from '../src/clip/open.ts';
import { loadConfig } from '../src/config.ts';
import { createGenerator } from '../src/generate/open.ts';
import type { GenerateRequest } from '../src/generate/types.ts';
import { contactSheet } from '../src/image/compose.ts';
import { silentLogger } from '../src/log.ts';
import { HELD_BRIEFS } from '../test/fixtures/briefs/held.ts';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'docs/offline-drafts.png' } } });
const out = resolve(values.out ?? 'docs/offline-drafts.png');
const dataDir = mkdtempSync(join(tmpdir(), 'adc-sheet-'));
const cfg = loadConfig({ DATA_DIR: dataDir, IMAGE_PROVIDER: 'studio', LOG_LEVEL: 'warn', OPENAI_API_KEY: '' });

const rows: { title: string; req: Omit<GenerateRequest, 'count' | 'formats' | 'inspiration'> }[] = [];
for (const h of HELD_BRIEFS) {
  rows.push({
    title: `${h.brief}${h.brand ? `  [${h.brand}, ${h.channel}]` : `  [${h.channel}]`}`,
    req: { brief: h.brief, fields: h.fields, brand: h.brand, channel: h.channel, feedback: [] },
  });
}
const feedbackRounds: [string, string[]][] = [
  ['english-offer', ['shorter headline please', 'warmer colours please']],
  ['english-sale', ['lead with 30% off']],
  ['chinese', ['颜色更温暖一些']],
];
for (const [name, feedback] of feedbackRounds) {
  const h = HELD_BRIEFS.find((x) => x.name === name);
  if (!h) throw new Error(`no held brief ${name}`);
  rows.push({
    title: `${h.brief} — round 2 after: ${feedback.map((f) => `"${f}"`).join(', ')}`,
    req: { brief: h.brief, fields: h.fields, brand: h.brand, channel: h.channel, feedback },
  });
}

try {
  const model = await chooseModel(cfg, synthesizeTiny, silentLogger);
  const encoder = await openEncoder(model.cfg, { logger: silentLogger });
  const generator = createGenerator({ cfg: model.cfg, encoder, maxSimilarity: async (e) => e.map(() => Number.NaN) });
  const sheets: Buffer[] = [];
  for (const row of rows) {
    const r = await generator.generate({ ...row.req, count: 4, formats: ['square'], inspiration: [] });
    process.stderr.write(`${row.title}\n${r.variants.map((v) => `  ${v.label}: ${v.headline} | ${v.cta}`).join('\n')}\n`);
    sheets.push(
      await contactSheet(
        r.variants.map((v) => ({ image: v.preview, title: `${v.label}: ${v.headline}`, lines: [v.body, `CTA: ${v.cta}`] })),
        { tile: 300, title: row.title },
      ),
    );
  }
  await encoder.close();
  const metas = await Promise.all(sheets.map((s) => sharp(s).metadata()));
  const width = Math.max(...metas.map((m) => m.width ?? 0));
  let top = 0;
  const layers = sheets.map((s, i) => {
    const l = { input: s, left: 0, top };
    top += metas[i].height ?? 0;
    return l;
  });
  mkdirSync(dirname(out), { recursive: true });
  await sharp({ create: { width, height: top, channels: 3, background: '#f4f4f4' } })
    .composite(layers)
    .png({ compressionLevel: 9, palette: true, quality: 90 })
    .toFile(out);
  process.stderr.write(`wrote ${out}\n`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
