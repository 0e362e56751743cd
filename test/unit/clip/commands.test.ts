import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli.ts';
import { ClipTokenizer, writeTokenizerJson } from '../../../src/clip/tokenizer.ts';

const FIXTURES = new URL('../../fixtures/clip/', import.meta.url).pathname;
const GZ = join(FIXTURES, 'bpe_simple_vocab_16e6.txt.gz');
const tmp = mkdtempSync(join(tmpdir(), 'clip-cli-'));
// The default model directory for this process: absent, so defaults and errors show.
process.env.CLIP_MODEL_DIR = join(tmp, 'no-model-here');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function run(argv: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        append(chunk.toString());
        cb();
      },
    });
  const input = new PassThrough();
  input.end(stdin);
  const code = await main(argv, {
    stdout: sink((s) => {
      stdout += s;
    }),
    stderr: sink((s) => {
      stderr += s;
    }),
    stdin: input,
  });
  return { code, stdout, stderr };
}

const reference = readFileSync(join(FIXTURES, 'tokenizer_reference.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { text: string; ids: number[] });

describe('clip tokenize', () => {
  it('turns JSON lines into the reference ids, from either vocabulary format', async () => {
    const some = [reference[3], reference[12], reference[27], reference.find((r) => r.ids.length === 77) ?? reference[0]];
    const input = `${some.map((r) => JSON.stringify({ text: r.text })).join('\n')}\n`;
    const gz = await run(['clip', 'tokenize', '--vocab', GZ], input);
    expect(gz.code).toBe(0);
    expect(
      gz.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual(some.map((r) => ({ ids: r.ids })));

    const dir = join(tmp, 'model');
    mkdirSync(dir, { recursive: true });
    writeTokenizerJson(ClipTokenizer.fromBpeMergesFile(GZ), join(dir, 'tokenizer.json'));
    const json = await run(['clip', 'tokenize', '--vocab', join(dir, 'tokenizer.json')], input);
    expect(json.stdout).toBe(gz.stdout);
  });

  it('names a bad line, keeps going with the others, and exits non-zero', async () => {
    const r = await run(['clip', 'tokenize', '--vocab', GZ], '{"text": "a dog"}\n{"text": 5}\n\nnot json\n{"text": "a cat"}\n');
    expect(r.code).toBe(1);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ ids: [49406, 320, 1929, 49407] });
    expect(lines[1].error).toMatch(/^line 2: expected a JSON object/);
    expect(lines[2].error).toMatch(/^line 4: /);
    expect(lines[3]).toEqual({ ids: [49406, 320, 2368, 49407] });
    expect(r.stderr).toMatch(/line 2: expected a JSON object \{"text": "\.\.\."\}/);
    expect(r.stderr).toMatch(/line 4: .*not json/);
  });

  it('says which tokenizer file is missing and how to get one', async () => {
    const r = await run(['clip', 'tokenize'], '{"text":"x"}\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(join(tmp, 'no-model-here', 'tokenizer.json'));
    expect(r.stderr).toMatch(/models fetch/);
    expect(r.stderr).toMatch(/models synth/);
    expect((await run(['clip', 'tokenize', '--bogus'])).code).toBe(2);
  });
});

describe('clip preprocess', () => {
  it('writes the tensor the reference made (coffee.jpg), using the model directory config', async () => {
    const model = join(tmp, 'pre');
    mkdirSync(model, { recursive: true });
    const ref = JSON.parse(readFileSync(join(FIXTURES, 'preprocess/reference.json'), 'utf8'));
    writeFileSync(
      join(model, 'preprocessor_config.json'),
      JSON.stringify({
        size: { shortest_edge: 224 },
        crop_size: { height: 224, width: 224 },
        image_mean: ref.mean,
        image_std: ref.std,
        resample: 3,
      }),
    );
    const out = join(tmp, 'coffee.f32');
    const r = await run(['clip', 'preprocess', join(FIXTURES, 'preprocess/coffee.jpg'), '--out', out, '--model', model]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/3×224×224/);
    const got = readFileSync(out);
    const want = readFileSync(join(FIXTURES, 'preprocess/coffee.f32'));
    expect(got.length).toBe(want.length);
    let sum = 0;
    const diffs: number[] = [];
    for (let i = 0; i < got.length; i += 4) {
      const d = Math.abs(got.readFloatLE(i) - want.readFloatLE(i));
      sum += d;
      diffs.push(d);
    }
    diffs.sort((a, b) => a - b);
    expect(sum / diffs.length).toBeLessThanOrEqual(0.01);
    expect(diffs[Math.floor(diffs.length * 0.99)]).toBeLessThanOrEqual(0.08);

    const exact = await run(['clip', 'preprocess', join(FIXTURES, 'preprocess/coffee.jpg'), '--out', out, '--model', model, '--exact']);
    expect(exact.code).toBe(0);
    expect(readFileSync(out).equals(want)).toBe(true);
  });

  it('falls back to the CLIP defaults with a note when the default model directory is absent', async () => {
    const out = join(tmp, 'tiny.f32');
    const r = await run(['clip', 'preprocess', join(FIXTURES, 'preprocess/tiny.png'), '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/note: model directory .*no-model-here.* does not exist; using openai\/clip-vit-base-patch32's preprocessing/);
    expect(readFileSync(out).length).toBe(3 * 224 * 224 * 4);
  });

  it('fails clearly on bad input: not an image, missing file, missing --out, explicit model dir without config', async () => {
    const txt = join(tmp, 'notes.txt');
    writeFileSync(txt, 'not a picture\n');
    const a = await run(['clip', 'preprocess', txt, '--out', join(tmp, 'x.f32')]);
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/IMAGE_NOT_AN_IMAGE.*notes\.txt.*text.*JPEG, PNG, WebP, GIF, AVIF, TIFF/);
    const b = await run(['clip', 'preprocess', join(tmp, 'nope.jpg'), '--out', join(tmp, 'x.f32')]);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/cannot read image .*nope\.jpg: ENOENT/);
    const c = await run(['clip', 'preprocess', join(FIXTURES, 'preprocess/tiny.png')]);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/--out is required/);
    const d = await run([
      'clip',
      'preprocess',
      join(FIXTURES, 'preprocess/tiny.png'),
      '--out',
      join(tmp, 'x.f32'),
      '--model',
      join(tmp, 'empty'),
    ]);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/empty\/preprocessor_config\.json is missing.*models fetch/);
  });
});
