/**
 * Issue 14: the brief form's reference image skipped IMAGE_MAX_PIXELS (a 256 Mpx image was used)
 * and a 900 Mpx one was dropped without a word. One limit everywhere, and each refusal is told to
 * the author, who hears the round goes on without the image.
 */
import { crc32 } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tinyPng } from '../helpers/png.ts';
import { type Harness, harness } from '../integration/slack/harness.ts';

const C = 'C0GENERAL';
let h: Harness;
beforeEach(async () => {
  // 1 Mpx here stands for IMAGE_MAX_PIXELS; the same check runs whatever the figure.
  h = await harness({ imageMaxPixels: 1_000_000 });
});
afterEach(async () => {
  await h.close();
});

/** A PNG whose header says width × height (its pixel data is a token): what a decoder reads first. */
function pngClaiming(width: number, height: number): Uint8Array {
  const png = Buffer.from(tinyPng(2, 2, [10, 20, 30]));
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return new Uint8Array(png);
}

async function submitWith(name: string, bytes: Uint8Array, brief: string) {
  const posted = h.slack.postAsUser({ user: 'U0BOB', channel: C, text: 'ref', files: [{ name, bytes }] });
  expect(posted.ts).toBeTruthy();
  const f = [...h.slack.files.values()].find((x) => x.name === name);
  if (!f) throw new Error(`no file ${name}`);
  const url = `${h.slack.baseUrl}/files/${f.id}/download/${name}`;
  const file = { id: f.id, name, mimetype: 'image/png', size: bytes.length, url_private: url, url_private_download: url };
  await h.d.slashCommand({ user: 'U0BOB', channel: C, text: '' });
  const view = await h.slack.waitFor(() => [...h.slack.views.values()].filter((v) => v.user === 'U0BOB').at(-1), 5000, 'modal');
  const res = await h.d.viewSubmission({
    user: 'U0BOB',
    view,
    values: {
      product: { value: { type: 'plain_text_input', value: brief } },
      formats: { value: { type: 'checkboxes', selected_options: [{ value: 'square' }] } },
      variants: { value: { type: 'static_select', selected_option: { value: '2' } } },
      reference: { value: { type: 'file_input', files: [file] } },
    },
  });
  expect(res.status).toBe(200);
  return h.slack.waitFor(() => h.gen.requests.find((r) => r.brief.includes(brief)), 10_000, `round for ${brief}`);
}

const dms = () => h.slack.channelMessages(h.slack.dmChannel('U0BOB').id).map((m) => m.text);

describe('the reference image of the brief form', () => {
  it('obeys IMAGE_MAX_PIXELS, and the author is told of each refusal', async () => {
    const big = await submitWith('big.png', tinyPng(1200, 1000, [200, 30, 30]), 'Neon signs');
    expect(big.referenceImage).toBeUndefined();
    const huge = await submitWith('huge.png', pngClaiming(30_000, 30_000), 'Ice skates');
    expect(huge.referenceImage).toBeUndefined();
    const notes = dms().filter((t) => t.includes('reference image could not be used'));
    expect(notes).toHaveLength(2);
    expect(notes[0]).toMatch(/big\.png.*1,200,000 pixels; the limit is 1,000,000 \(IMAGE_MAX_PIXELS\).*goes on without it/s);
    expect(notes[1]).toMatch(/huge\.png.*900,000,000 pixels; the limit is 1,000,000 \(IMAGE_MAX_PIXELS\)/s);

    const fine = await submitWith('fine.png', tinyPng(800, 600, [30, 200, 30]), 'Garden hoses');
    expect(fine.referenceImage?.length).toBeGreaterThan(0);
  });
});
