import { describe, expect, it } from 'vitest';
import {
  END_OF_WORD,
  END_TOKEN,
  START_TOKEN,
  SYNTH_VOCAB_SIZE,
  synthVocab,
  tokenizerJson,
} from '../../../../src/clip/synth/tokenizer-json.ts';
import { byteTables } from '../../../../src/clip/tokenizer.ts';

interface TokJson {
  added_tokens: { id: number; content: string; special: boolean }[];
  model: { type: string; end_of_word_suffix: string; unk_token: string; vocab: Record<string, number>; merges: string[] };
  normalizer: { type: string };
  pre_tokenizer: { type: string; pretokenizers: { type: string }[] };
  post_processor: { type: string; cls: [string, number]; sep: [string, number] };
}

describe('synthetic tokenizer.json', () => {
  const j = tokenizerJson() as unknown as TokJson;
  const vocab = j.model.vocab;
  const byId = new Map(Object.entries(vocab).map(([t, i]) => [i, t]));

  it("lays ids out as CLIP's: bytes, bytes + </w>, merges, then start and end last", () => {
    const chars = byteTables().order;
    expect(chars).toHaveLength(256);
    expect(chars[0]).toBe('!'); // bytes_to_unicode puts printable bytes first
    expect(new Set(chars).size).toBe(256);
    for (let i = 0; i < 256; i++) {
      expect(byId.get(i)).toBe(chars[i]);
      expect(byId.get(256 + i)).toBe(chars[i] + END_OF_WORD);
    }
    const size = Object.keys(vocab).length;
    expect(size).toBe(SYNTH_VOCAB_SIZE);
    expect(new Set(Object.values(vocab)).size).toBe(size); // ids dense and unique
    expect(Math.max(...Object.values(vocab))).toBe(size - 1);
    expect(vocab[START_TOKEN]).toBe(size - 2);
    expect(vocab[END_TOKEN]).toBe(size - 1); // the text graph pools at ArgMax(input_ids)
    expect(j.added_tokens.map((t) => [t.id, t.content, t.special])).toEqual([
      [size - 2, START_TOKEN, true],
      [size - 1, END_TOKEN, true],
    ]);
    expect(j.post_processor.cls).toEqual([START_TOKEN, size - 2]);
    expect(j.post_processor.sep).toEqual([END_TOKEN, size - 1]);
  });

  it('has merges that build only from earlier tokens, each merged token at 512 + its rank', () => {
    expect(j.model.merges.length).toBeGreaterThanOrEqual(200);
    j.model.merges.forEach((m, rank) => {
      const parts = m.split(' ');
      expect(parts).toHaveLength(2);
      const [a, b] = parts;
      expect(vocab[a]).toBeLessThan(512 + rank);
      expect(vocab[b]).toBeLessThan(512 + rank);
      expect(a.includes(END_OF_WORD)).toBe(false); // only a word's last piece carries </w>
      expect(vocab[a + b]).toBe(512 + rank);
    });
    // Common English pieces are there, so short briefs take few tokens.
    for (const t of ['th', 'the</w>', 'and</w>']) expect(vocab[t]).toBeGreaterThanOrEqual(512);
  });

  it("declares CLIP's BPE model, normalizer and pre-tokenizer", () => {
    expect(j.model.type).toBe('BPE');
    expect(j.model.end_of_word_suffix).toBe('</w>');
    expect(j.model.unk_token).toBe(END_TOKEN);
    expect(j.normalizer.type).toBe('Sequence');
    expect(j.pre_tokenizer.pretokenizers.map((p) => p.type)).toEqual(['Split', 'ByteLevel']);
    expect(j.post_processor.type).toBe('RobertaProcessing');
  });

  it('is the same on every call (no seed, no clock)', () => {
    expect(JSON.stringify(tokenizerJson())).toBe(JSON.stringify(j));
    expect(synthVocab().tokens).toHaveLength(SYNTH_VOCAB_SIZE);
  });
});
