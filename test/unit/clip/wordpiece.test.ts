/**
 * The multilingual text encoder's WordPiece tokenizer against the reference ids of
 * test/fixtures/clip/multilingual/expected.jsonl (made by scripts/multilingual-tokenizer-fixture.ts
 * with @huggingface/transformers 4.3.1), id for id, loaded from tokenizer.json and from vocab.txt.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCjkIdeograph, WordPieceTokenizer } from '../../../src/clip/wordpiece.ts';

/** vocab.txt as a map (line number → id). */
function vocabOf(dir: string): Map<string, number> {
  const m = new Map<string, number>();
  readFileSync(join(dir, 'vocab.txt'), 'utf8')
    .split('\n')
    .forEach((t, i) => {
      if (t && !m.has(t)) m.set(t, i);
    });
  return m;
}

const DIR = join(import.meta.dirname, '../../fixtures/clip/multilingual');
const cases = readFileSync(join(DIR, 'expected.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { text: string; full: number[]; ids: number[] });

describe('WordPieceTokenizer parity with the reference', () => {
  it('covers the fixture: ~200 strings, several truncated at 128, several with [UNK]', () => {
    expect(cases.length).toBeGreaterThanOrEqual(180);
    expect(cases.filter((c) => c.full.length > 128).length).toBeGreaterThanOrEqual(3);
    expect(cases.filter((c) => c.ids.includes(1)).length).toBeGreaterThanOrEqual(10);
  });

  for (const [what, load] of [
    ['tokenizer.json', () => WordPieceTokenizer.load(DIR)],
    ['vocab.txt', () => WordPieceTokenizer.fromVocabTxt(join(DIR, 'vocab.txt'))],
  ] as const) {
    it(`gives the reference ids for every fixture string (${what})`, () => {
      const tok = load();
      const wrong = cases.filter((c) => JSON.stringify(tok.encode(c.text)) !== JSON.stringify(c.ids));
      expect(wrong.map((c) => ({ text: c.text, want: c.ids, got: tok.encode(c.text) }))).toEqual([]);
    });
  }

  it('gives the reference ids untruncated too (a context long enough for every string)', () => {
    const base = WordPieceTokenizer.load(DIR);
    const tok = new WordPieceTokenizer(vocabOf(DIR), { ...base.options, maxLength: 10_000 });
    const wrong = cases.filter((c) => JSON.stringify(tok.encode(c.text)) !== JSON.stringify(c.full));
    expect(wrong.map((c) => c.text)).toEqual([]);
  });

  it('cuts a long text to 126 word pieces and keeps [SEP] last, as sentence-transformers feeds the model', () => {
    const tok = WordPieceTokenizer.load(DIR);
    const long = cases.find((c) => c.full.length > 128) as (typeof cases)[number];
    const ids = tok.encode(long.text);
    expect(ids).toHaveLength(128);
    expect(ids.at(-1)).toBe(tok.sepId);
    expect(ids.slice(0, 127)).toEqual(long.full.slice(0, 127));
  });
});

describe('WordPieceTokenizer behaviour', () => {
  const tok = WordPieceTokenizer.load(DIR);

  it('splits Chinese into single characters and keeps case and accents (cased model)', () => {
    expect(tok.normalize('夏季跑鞋')).toBe(' 夏  季  跑  鞋 ');
    expect(tok.normalize('Größe Café')).toBe('Größe Café');
  });

  it('spaces CJK ideographs outside the BMP as the Rust tokenizer does (the JavaScript reference does not)', () => {
    expect(isCjkIdeograph(0x20000)).toBe(true);
    expect(tok.normalize('a𠀀b')).toBe('a 𠀀 b');
  });

  it('pads a batch with [PAD] and masks the padding', () => {
    const b = tok.encodeBatch(['Summer sale', 'Summer sale on running shoes']);
    expect(b.batch).toBe(2);
    const first = Array.from(b.inputIds.slice(0, b.seqLen), Number);
    const mask = Array.from(b.attentionMask.slice(0, b.seqLen), Number);
    const n = tok.encode('Summer sale').length;
    expect(first.slice(n)).toEqual(new Array(b.seqLen - n).fill(tok.padId));
    expect(mask).toEqual([...new Array(n).fill(1), ...new Array(b.seqLen - n).fill(0)]);
  });

  it('refuses a vocabulary without BERT special tokens, naming the file', () => {
    expect(() => new WordPieceTokenizer(new Map([['a', 0]]), {}, '/x/vocab.txt')).toThrow(/\/x\/vocab.txt: the vocabulary has no \[CLS\]/);
  });

  it('refuses a tokenizer.json that is not WordPiece, and a file that is not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wp-'));
    try {
      const bpe = join(dir, 'tokenizer.json');
      writeFileSync(bpe, JSON.stringify({ model: { type: 'BPE', vocab: {}, merges: [] } }));
      expect(() => WordPieceTokenizer.load(bpe)).toThrow(/expected a Hugging Face tokenizer.json with a WordPiece model .* found "BPE"/);
      const clip = join(import.meta.dirname, '../../fixtures/clip/bpe_simple_vocab_16e6.txt.gz');
      expect(() => WordPieceTokenizer.fromTokenizerJson(clip)).toThrow(/cannot read tokenizer file/);
      expect(() => WordPieceTokenizer.load(join(dir, 'nothing'))).toThrow(/does not exist/);
      expect(() => WordPieceTokenizer.load(join(import.meta.dirname))).toThrow(/holds neither tokenizer.json nor vocab.txt/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
