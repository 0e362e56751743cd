import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { htmlUnescape } from '../../../src/clip/html-unescape.ts';
import { byteTables, ClipTokenizer, END_TOKEN, START_TOKEN, writeTokenizerJson } from '../../../src/clip/tokenizer.ts';
import { ModelError } from '../../../src/errors.ts';

const FIXTURES = new URL('../../fixtures/clip/', import.meta.url).pathname;
const GZ = join(FIXTURES, 'bpe_simple_vocab_16e6.txt.gz');
const REFERENCE = readFileSync(join(FIXTURES, 'tokenizer_reference.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as { text: string; ids: number[]; untruncated_length: number });

let dir: string;
let fromGz: ClipTokenizer;
let fromJson: ClipTokenizer;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'clip-tok-'));
  fromGz = ClipTokenizer.fromBpeMergesFile(GZ);
  writeTokenizerJson(fromGz, join(dir, 'tokenizer.json'));
  fromJson = ClipTokenizer.fromTokenizerJson(join(dir, 'tokenizer.json'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ClipTokenizer against the reference ids', () => {
  it('has the reference fixture (and it is not trivially small)', () => {
    expect(REFERENCE.length).toBeGreaterThan(200);
    expect(REFERENCE.some((r) => r.untruncated_length > 77)).toBe(true);
  });

  it('matches every fixture line exactly from the OpenAI merges file', () => {
    const mismatches = REFERENCE.filter((r) => JSON.stringify(fromGz.encode(r.text)) !== JSON.stringify(r.ids));
    expect(mismatches.map((r) => r.text)).toEqual([]);
  });

  it('matches every fixture line exactly from a Hugging Face tokenizer.json written from the merges', () => {
    const mismatches = REFERENCE.filter((r) => JSON.stringify(fromJson.encode(r.text)) !== JSON.stringify(r.ids));
    expect(mismatches.map((r) => r.text)).toEqual([]);
  });

  it('reads merges written as [a, b] pairs (newer tokenizers) the same as "a b" strings', () => {
    const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    json.model.merges = (json.model.merges as string[]).map((m) => m.split(' '));
    const path = join(dir, 'pairs.json');
    writeFileSync(path, JSON.stringify(json));
    const pairs = ClipTokenizer.load(path);
    for (const r of REFERENCE.slice(0, 40)) expect(pairs.encode(r.text)).toEqual(r.ids);
  });

  it('load() picks the format from the content, and a directory means its tokenizer.json', () => {
    const a = ClipTokenizer.load(GZ);
    const b = ClipTokenizer.load(dir);
    expect(a.encode('Summer sale')).toEqual(b.encode('Summer sale'));
    expect([a.vocabSize, a.startId, a.endId, a.padId]).toEqual([49408, 49406, 49407, 49407]);
    expect([b.vocabSize, b.startId, b.endId, b.contextLength]).toEqual([49408, 49406, 49407, 77]);
  });
});

describe('ClipTokenizer behaviour', () => {
  it('truncates an over-long text to exactly 77 ids ending with end-of-text', () => {
    const ids = fromGz.encode('buy now '.repeat(200));
    expect(ids).toHaveLength(77);
    expect(ids[0]).toBe(49406);
    expect(ids[76]).toBe(49407);
    expect(ids.slice(1, 76).includes(49407)).toBe(false);
    // A text of exactly 75 tokens keeps all of them (75 + start + end = 77).
    const exact = fromGz.encode('a '.repeat(75));
    expect(exact).toHaveLength(77);
    expect(exact.filter((i) => i === 320)).toHaveLength(75);
  });

  it('pads to the longest text by default and to 77 with padTo max, mask 0 on padding', () => {
    const texts = ['a dog', 'a photo of a red sneaker on a white background', ''];
    const longest = fromGz.encodeBatch(texts);
    const lens = texts.map((t) => fromGz.encode(t).length);
    expect(longest.batch).toBe(3);
    expect(longest.seqLen).toBe(Math.max(...lens));
    expect(longest.inputIds).toHaveLength(3 * longest.seqLen);
    for (let b = 0; b < 3; b++) {
      const row = Array.from(longest.inputIds.slice(b * longest.seqLen, (b + 1) * longest.seqLen), Number);
      const mask = Array.from(longest.attentionMask.slice(b * longest.seqLen, (b + 1) * longest.seqLen), Number);
      expect(row.slice(0, lens[b])).toEqual(fromGz.encode(texts[b]));
      expect(row.slice(lens[b]).every((id) => id === fromGz.padId)).toBe(true);
      expect(mask).toEqual([...Array(lens[b]).fill(1), ...Array(longest.seqLen - lens[b]).fill(0)]);
    }
    const max = fromGz.encodeBatch(texts, { padTo: 'max' });
    expect(max.seqLen).toBe(77);
    expect(max.inputIds).toHaveLength(3 * 77);
    expect(Number(max.attentionMask.reduce((s, v) => s + v, 0n))).toBe(lens.reduce((s, v) => s + v, 0));
    expect(fromGz.encodeBatch([]).batch).toBe(0);
  });

  it('gives the same ids from its cache as from a fresh tokenizer, in any order', () => {
    const texts = REFERENCE.map((r) => r.text);
    const first = texts.map((t) => fromGz.encode(t));
    const again = [...texts].reverse().map((t) => fromGz.encode(t));
    expect(again.reverse()).toEqual(first);
    const fresh = ClipTokenizer.fromTokenizerJson(join(dir, 'tokenizer.json'));
    expect([...texts].reverse().map((t) => fresh.encode(t))).toEqual([...first].reverse());
  });

  it('normalises case, whitespace, NFC and HTML entities before splitting', () => {
    expect(fromGz.encode('  A   DOG\t\n')).toEqual(fromGz.encode('a dog'));
    expect(fromGz.encode('cafe\u0301')).toEqual(fromGz.encode('caf\u00e9'));
    expect(fromGz.encode('Tom &amp;amp; Jerry')).toEqual(fromGz.encode('tom & jerry'));
    expect(fromGz.encode('\u00a0\u3000hello\u2003world\u2029')).toEqual(fromGz.encode('hello world'));
  });

  it('unescapes HTML as Python html.unescape does', () => {
    // Expected values are Python 3's html.unescape(html.unescape(s)).
    const cases: [string, string][] = [
      ['Tom &amp;amp; Jerry', 'Tom & Jerry'],
      ['&ampfoo', '&foo'],
      ['&lt;b&gt;', '<b>'],
      ['&#39;&#x27;&#X41;', "''A"],
      ['&#128;&#0;&#1;&#xD800;&#x110000;', '\u20ac\ufffd\ufffd\ufffd'],
      ['&hellip;&mdash;&euro;&trade;', '\u2026\u2014\u20ac\u2122'],
      ['&notin;', '\u2209'],
      ['&notit;', '\u00acit;'],
      ['&copy2026', '\u00a92026'],
      ['&unknownentity;', '&unknownentity;'],
      ['a & b', 'a & b'],
      ['&#65', 'A'],
      ['&eacute&Eacute;', '\u00e9\u00c9'],
      ['&amp;lt;', '<'],
    ];
    for (const [input, expected] of cases) expect(htmlUnescape(htmlUnescape(input))).toBe(expected);
  });

  it('accepts a synthetic byte-level vocabulary with no merges (every byte its own token)', () => {
    const { order } = byteTables();
    const vocab: Record<string, number> = {};
    for (const ch of order) vocab[ch] = Object.keys(vocab).length;
    for (const ch of order) vocab[`${ch}</w>`] = Object.keys(vocab).length;
    vocab[START_TOKEN] = 512;
    vocab[END_TOKEN] = 513;
    const path = join(dir, 'synthetic.json');
    writeTokenizerJson({ vocab, merges: [] }, path);
    const tok = ClipTokenizer.load(path);
    expect([tok.vocabSize, tok.startId, tok.endId]).toEqual([514, 512, 513]);
    // "ab c": "a" (id of "a"), "b</w>", "c</w>".
    expect(tok.encode('AB c')).toEqual([512, order.indexOf('a'), 256 + order.indexOf('b'), 256 + order.indexOf('c'), 513]);
    // Non-ASCII text becomes its UTF-8 bytes.
    expect(tok.encode('é')).toHaveLength(2 + 2);
  });

  it('refuses a tokenizer.json that is not a byte-level BPE vocabulary, naming the file', () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, JSON.stringify({ model: { vocab: { a: 0 }, merges: [] }, added_tokens: [] }));
    expect(() => ClipTokenizer.load(path)).toThrow(ModelError);
    expect(() => ClipTokenizer.load(path)).toThrow(/broken\.json/);
    writeFileSync(path, '{ not json');
    expect(() => ClipTokenizer.load(path)).toThrow(/broken\.json.*JSON/);
    expect(() => ClipTokenizer.load(join(dir, 'nope.json'))).toThrow(/nope\.json does not exist/);
    writeFileSync(path, 'hello');
    expect(() => ClipTokenizer.load(path)).toThrow(/neither/);
  });
});
