/**
 * BERT's WordPiece tokenizer, for the multilingual CLIP text encoder (sentence-transformers
 * `clip-ViT-B-32-multilingual-v1`, a DistilBERT multilingual cased student): the same ids as
 * Hugging Face's fast (Rust) `BertTokenizerFast` that model was trained and is served with.
 *
 * - Normaliser (BertNormalizer): drops NUL, U+FFFD and control/format/private/unassigned
 *   characters (tab, newline, CR count as whitespace), turns whitespace into spaces, puts
 *   spaces around CJK ideographs, lower-cases and strips accents only where the config says
 *   (the multilingual model is cased: neither).
 * - Pre-tokeniser (BertPreTokenizer): splits on whitespace and isolates each punctuation mark.
 * - WordPiece: greedy longest match first, `##` on continuations; a word longer than 100
 *   characters, or one with a piece the vocabulary lacks, is one `[UNK]`.
 * - `[CLS]` … `[SEP]`, truncated to 128 tokens (126 + the two); special tokens written in the
 *   text itself are recognised, as Hugging Face's added-token matching does.
 *
 * Parity is tested on `test/fixtures/clip/multilingual/` (made by
 * `scripts/multilingual-tokenizer-fixture.ts` with the reference implementation).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ModelError } from '../errors.ts';
import type { EncodedBatch } from './tokenizer.ts';

/** sentence-transformers' `max_seq_length` for the multilingual CLIP model. */
export const WORDPIECE_MAX_LENGTH = 128;
const MAX_WORD_CHARS = 100;
const CACHE_MAX = 100_000;

export interface WordPieceOptions {
  lowercase: boolean;
  /** Default (null): as `lowercase`, as BERT's normaliser does. */
  stripAccents: boolean | null;
  handleChineseChars: boolean;
  cleanText: boolean;
  continuingPrefix: string;
  maxWordChars: number;
  maxLength: number;
  unk: string;
  cls: string;
  sep: string;
  pad: string;
}

const DEFAULTS: WordPieceOptions = {
  lowercase: false,
  stripAccents: null,
  handleChineseChars: true,
  cleanText: true,
  continuingPrefix: '##',
  maxWordChars: MAX_WORD_CHARS,
  maxLength: WORDPIECE_MAX_LENGTH,
  unk: '[UNK]',
  cls: '[CLS]',
  sep: '[SEP]',
  pad: '[PAD]',
};

// Rust's `char::is_other` (Cc, Cf, Cn, Co, Cs) less tab, newline and CR, which count as whitespace.
const CONTROL = /[\p{Cc}\p{Cf}\p{Cn}\p{Co}\p{Cs}]/u;
// Rust's `char::is_whitespace` (the White_Space property); those that are also controls go first.
const WHITESPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u;
// `is_ascii_punctuation() || is_punctuation()`: ASCII symbols count, as BERT treats them.
const PUNCT = '\\p{P}\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E';
const PRETOKEN = new RegExp(`[^\\s${PUNCT}]+|[${PUNCT}]`, 'gu');

/** CJK Unified Ideographs and their extensions and compatibility blocks: BERT's `_is_chinese_char`. */
export function isCjkIdeograph(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

export class WordPieceTokenizer {
  readonly contextLength: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly unkId: number;
  readonly vocabSize: number;
  readonly options: WordPieceOptions;
  private readonly vocab: Map<string, number>;
  private readonly specials: string[];
  private readonly cache = new Map<string, number[]>();

  constructor(vocab: Map<string, number>, options: Partial<WordPieceOptions> = {}, source = 'vocabulary') {
    this.options = { ...DEFAULTS, ...options };
    this.vocab = vocab;
    this.contextLength = this.options.maxLength;
    let max = -1;
    for (const id of vocab.values()) if (id > max) max = id;
    this.vocabSize = max + 1;
    const need = (tok: string) => {
      const id = vocab.get(tok);
      if (id === undefined) {
        throw new ModelError('TOKENIZER_INVALID', `${source}: the vocabulary has no ${tok} token; expected a BERT WordPiece vocabulary`);
      }
      return id;
    };
    this.clsId = need(this.options.cls);
    this.sepId = need(this.options.sep);
    this.padId = need(this.options.pad);
    this.unkId = need(this.options.unk);
    // Longest first, so "[MASK]" never loses to a shorter special that starts it.
    this.specials = [...new Set([this.options.cls, this.options.sep, this.options.pad, this.options.unk, '[MASK]'])]
      .filter((t) => vocab.has(t))
      .sort((a, b) => b.length - a.length);
  }

  /** `vocab.txt`: one token a line, its id the line number from 0. */
  static fromVocabTxt(path: string, options: Partial<WordPieceOptions> = {}): WordPieceTokenizer {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new ModelError('TOKENIZER_MISSING', `cannot read WordPiece vocabulary ${path}: ${(e as Error).message}`, { cause: e });
    }
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    const vocab = new Map<string, number>();
    lines.forEach((line, i) => {
      const tok = line.replace(/\r$/, '');
      if (!vocab.has(tok)) vocab.set(tok, i);
    });
    return new WordPieceTokenizer(vocab, { ...readTokenizerConfig(dirname(path)), ...options }, path);
  }

  /** A Hugging Face `tokenizer.json` whose model is WordPiece (BertNormalizer options read from it). */
  static fromTokenizerJson(path: string): WordPieceTokenizer {
    let json: {
      model?: { type?: string; vocab?: unknown; unk_token?: string; continuing_subword_prefix?: string; max_input_chars_per_word?: number };
      normalizer?: {
        type?: string;
        lowercase?: boolean;
        strip_accents?: boolean | null;
        handle_chinese_chars?: boolean;
        clean_text?: boolean;
      };
      truncation?: { max_length?: number } | null;
    };
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new ModelError('TOKENIZER_MISSING', `cannot read tokenizer file ${path}: ${(e as Error).message}`, { cause: e });
    }
    const m = json.model;
    if (m?.type !== 'WordPiece' || typeof m.vocab !== 'object' || m.vocab === null) {
      throw new ModelError(
        'TOKENIZER_INVALID',
        `${path}: expected a Hugging Face tokenizer.json with a WordPiece model (model.type "WordPiece", model.vocab); found ${JSON.stringify(m?.type ?? null)}`,
      );
    }
    const vocab = new Map<string, number>();
    for (const [tok, id] of Object.entries(m.vocab as Record<string, unknown>)) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
        throw new ModelError(
          'TOKENIZER_INVALID',
          `${path}: vocab entry ${JSON.stringify(tok)} has id ${JSON.stringify(id)}; expected a non-negative integer`,
        );
      }
      vocab.set(tok, id);
    }
    const n = json.normalizer?.type === 'BertNormalizer' ? json.normalizer : undefined;
    const cfg = readTokenizerConfig(dirname(path));
    return new WordPieceTokenizer(
      vocab,
      {
        ...cfg,
        ...(n
          ? { lowercase: n.lowercase ?? false, stripAccents: n.strip_accents ?? null, handleChineseChars: n.handle_chinese_chars ?? true }
          : {}),
        ...(n ? { cleanText: n.clean_text ?? true } : {}),
        ...(m.unk_token ? { unk: m.unk_token } : {}),
        ...(m.continuing_subword_prefix !== undefined ? { continuingPrefix: m.continuing_subword_prefix } : {}),
        ...(m.max_input_chars_per_word ? { maxWordChars: m.max_input_chars_per_word } : {}),
      },
      path,
    );
  }

  /** A directory (its `tokenizer.json`, else its `vocab.txt`) or either file. */
  static load(path: string): WordPieceTokenizer {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (e) {
      throw new ModelError('TOKENIZER_MISSING', `tokenizer ${path} does not exist`, { cause: e });
    }
    if (!isDir) return path.endsWith('.json') ? WordPieceTokenizer.fromTokenizerJson(path) : WordPieceTokenizer.fromVocabTxt(path);
    if (existsSync(join(path, 'tokenizer.json'))) return WordPieceTokenizer.fromTokenizerJson(join(path, 'tokenizer.json'));
    if (existsSync(join(path, 'vocab.txt'))) return WordPieceTokenizer.fromVocabTxt(join(path, 'vocab.txt'));
    throw new ModelError('TOKENIZER_MISSING', `${path} holds neither tokenizer.json nor vocab.txt (a BERT WordPiece vocabulary)`);
  }

  /** The text after BERT's normaliser. */
  normalize(text: string): string {
    const o = this.options;
    let out = '';
    for (const ch of text) {
      const cp = ch.codePointAt(0) as number;
      if (o.cleanText) {
        if (cp === 0 || cp === 0xfffd) continue;
        if (ch !== '\t' && ch !== '\n' && ch !== '\r' && CONTROL.test(ch)) continue;
        if (WHITESPACE.test(ch)) {
          out += ' ';
          continue;
        }
      }
      out += o.handleChineseChars && isCjkIdeograph(cp) ? ` ${ch} ` : ch;
    }
    const strip = o.stripAccents ?? o.lowercase;
    if (o.lowercase) out = out.toLowerCase();
    if (strip) out = out.normalize('NFD').replace(/\p{Mn}/gu, '');
    return out;
  }

  /** Word-piece strings of a text (no special tokens added), for debugging. */
  tokens(ids: number[]): string[] {
    const byId = new Map<number, string>();
    for (const [t, id] of this.vocab) if (!byId.has(id)) byId.set(id, t);
    return ids.map((id) => byId.get(id) ?? `<${id}>`);
  }

  /** Ids with `[CLS]` and `[SEP]`, truncated to the context length, no padding. */
  encode(text: string): number[] {
    const body: number[] = [];
    const limit = this.contextLength - 2;
    for (const part of this.splitSpecials(text)) {
      if (typeof part === 'number') body.push(part);
      else {
        PRETOKEN.lastIndex = 0;
        const norm = this.normalize(part);
        for (let m = PRETOKEN.exec(norm); m !== null; m = PRETOKEN.exec(norm)) {
          for (const id of this.word(m[0])) body.push(id);
          if (body.length >= limit) break;
        }
      }
      if (body.length >= limit) break;
    }
    if (body.length > limit) body.length = limit;
    return [this.clsId, ...body, this.sepId];
  }

  /** Padded with `[PAD]` to the longest text (default) or to the context length; mask 0 on padding. */
  encodeBatch(texts: string[], opts: { padTo?: 'longest' | 'max' } = {}): EncodedBatch {
    const all = texts.map((t) => this.encode(t));
    const batch = all.length;
    const seqLen = opts.padTo === 'max' ? this.contextLength : all.reduce((m, ids) => Math.max(m, ids.length), 0);
    const inputIds = new BigInt64Array(batch * seqLen).fill(BigInt(this.padId));
    const attentionMask = new BigInt64Array(batch * seqLen);
    all.forEach((ids, b) => {
      for (let i = 0; i < ids.length; i++) {
        inputIds[b * seqLen + i] = BigInt(ids[i]);
        attentionMask[b * seqLen + i] = 1n;
      }
    });
    return { inputIds, attentionMask, batch, seqLen };
  }

  /** The raw text cut at special tokens written in it (leftmost, longest), which become their ids. */
  private splitSpecials(text: string): (string | number)[] {
    const out: (string | number)[] = [];
    let start = 0;
    for (let i = 0; i < text.length; ) {
      const hit = text[i] === '[' ? this.specials.find((s) => text.startsWith(s, i)) : undefined;
      if (hit) {
        if (i > start) out.push(text.slice(start, i));
        out.push(this.vocab.get(hit) as number);
        i += hit.length;
        start = i;
      } else i++;
    }
    if (start < text.length) out.push(text.slice(start));
    return out;
  }

  /** WordPiece ids of one pre-token, cached. */
  private word(w: string): number[] {
    const hit = this.cache.get(w);
    if (hit) return hit;
    const chars = [...w];
    let ids: number[];
    if (chars.length > this.options.maxWordChars) ids = [this.unkId];
    else {
      ids = [];
      let start = 0;
      while (start < chars.length) {
        let end = chars.length;
        let found: number | undefined;
        while (start < end) {
          const piece = (start > 0 ? this.options.continuingPrefix : '') + chars.slice(start, end).join('');
          found = this.vocab.get(piece);
          if (found !== undefined) break;
          end--;
        }
        if (found === undefined) {
          ids = [this.unkId];
          break;
        }
        ids.push(found);
        start = end;
      }
    }
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(w, ids);
    return ids;
  }
}

/** `tokenizer_config.json`'s BERT options, where the directory has one. */
function readTokenizerConfig(dir: string): Partial<WordPieceOptions> {
  const p = join(dir, 'tokenizer_config.json');
  if (!existsSync(p)) return {};
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw new ModelError('TOKENIZER_INVALID', `${p} is not JSON: ${(e as Error).message}`, { cause: e });
  }
  const out: Partial<WordPieceOptions> = {};
  if (typeof c.do_lower_case === 'boolean') out.lowercase = c.do_lower_case;
  if (typeof c.strip_accents === 'boolean' || c.strip_accents === null) out.stripAccents = c.strip_accents as boolean | null;
  if (typeof c.tokenize_chinese_chars === 'boolean') out.handleChineseChars = c.tokenize_chinese_chars;
  // sentence-transformers' max_seq_length (128) caps the tokenizer's own 512.
  if (typeof c.model_max_length === 'number' && c.model_max_length > 0) out.maxLength = Math.min(c.model_max_length, WORDPIECE_MAX_LENGTH);
  return out;
}
