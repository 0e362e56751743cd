/**
 * Run in a child process whose fontconfig sees only FONT_DIR (test/integration/generate/fonts.test.ts):
 * composes a Chinese headline, which fails for want of a CJK font; then, once the parent has
 * copied a CJK font into FONT_DIR ("apt-get install fonts-noto-cjk" while the bot runs), tries
 * again in the same process, as the Try again button does. Prints one JSON line per try.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeAd } from '../../src/image/compose.ts';
import { GLYPH_RETRY_MS, renderText } from '../../src/image/text.ts';

const dir = process.env.FONT_DIR as string;
const visual = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400"><rect width="400" height="400" fill="#1F6F50"/></svg>',
);
const style = {
  colors: { primary: '#1F6F50', accent: '#F2C14E', text: '#FFFFFF' },
  fonts: { headline: 'DejaVu Sans', body: 'DejaVu Sans' },
};

async function attempt(): Promise<{ ok: boolean; code?: string; text?: string }> {
  try {
    await composeAd({ visual, format: 'square', headline: '清爽不油腻的防晒霜', cta: '立即购买', style });
    const t = await renderText('防晒霜', { family: 'DejaVu Sans', bold: true, size: 48, color: '#000000' }, 1000);
    const out = join(dir, '..', 'text.png');
    writeFileSync(out, t.png);
    return { ok: true, text: out };
  } catch (e) {
    return { ok: false, code: (e as { code?: string }).code };
  }
}

// A running bot has drawn other ads already: Pango has read the font list once.
await composeAd({ visual, format: 'square', headline: 'Trail-ready in 30 seconds', cta: 'Shop now', style });
process.stdout.write(`${JSON.stringify(await attempt())}\n`);
// Wait for the parent to "install" the font.
while (!existsSync(join(dir, 'NotoSansCJK-Bold.ttc'))) await new Promise((r) => setTimeout(r, 50));
await new Promise((r) => setTimeout(r, GLYPH_RETRY_MS + 100));
process.stdout.write(`${JSON.stringify(await attempt())}\n`);
