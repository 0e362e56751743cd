/**
 * CLIP's byte-level BPE tokenizer, matching OpenAI's `SimpleTokenizer` (without ftfy) id for id:
 * NFC, HTML entities unescaped twice, whitespace collapsed and trimmed, lower-cased, CLIP's
 * pre-tokenizer pattern, `<|startoftext|>` … `<|endoftext|>`, 77 tokens at most.
 *
 * Two vocabulary formats give the same ids: OpenAI's `bpe_simple_vocab_16e6.txt.gz` (merges
 * only; the vocabulary is derived from them exactly as OpenAI does) and a Hugging Face
 * `tokenizer.json` (vocab + merges + added tokens).
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ModelError } from '../errors.ts';
import { htmlUnescape } from './html-unescape.ts';

export const START_TOKEN = '<|startoftext|>';
export const END_TOKEN = '<|endoftext|>';
const WORD_END = '</w>';
/** CLIP's context length: 76 tokens + end-of-text. */
export const CONTEXT_LENGTH = 77;
/** How many merges OpenAI reads from the gz file (49152 − 256 − 2). */
const OPENAI_MERGES = 49152 - 256 - 2;
/** Bounded so a long-running bot fed arbitrary text does not grow without limit. */
const CACHE_MAX = 100_000;

/**
 * GPT-2's byte → printable-character table: `byChar[b]` is byte b's character, `order` the
 * characters in OpenAI's order (printable bytes first), which is the vocabulary's first 256.
 */
export function byteTables(): { byChar: string[]; order: string[] } {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const byChar = new Array<string>(256);
  const order: string[] = [];
  bs.forEach((b, i) => {
    const ch = String.fromCharCode(cs[i]);
    byChar[b] = ch;
    order.push(ch);
  });
  return { byChar, order };
}

// Python's `str.isspace()` set: what `re.sub(r'\s+', ' ', …)` and `str.strip()` remove.
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const SPACE_RUN = new RegExp(`[${PY_SPACE}]+`, 'g');
const SPACE_EDGES = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');
// CLIP's pattern. `\s` there is the `regex` module's (Unicode White_Space); after the
// collapse above only characters outside Python's whitespace set remain, so the class
// below (Python's set) treats every remaining character the same way the reference does.
const PRETOKEN = new RegExp(
  `<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|\\p{L}+|\\p{N}|[^${PY_SPACE}\\p{L}\\p{N}]+`,
  'giu',
);

/** The text as the reference tokenizer sees it before splitting. */
export function normalizeText(text: string): string {
  let t = text.normalize('NFC');
  t = htmlUnescape(htmlUnescape(t));
  t = t.replace(SPACE_EDGES, '');
  t = t.replace(SPACE_RUN, ' ');
  t = t.replace(SPACE_EDGES, '');
  return t.toLowerCase();
}

export interface Vocabulary {
  /** Token string (byte-level characters, `</w>` marks a word end) → id. */
  vocab: Record<string, number> | Map<string, number>;
  /** Merges in rank order, each a pair of token strings. */
  merges: [string, string][];
}

export interface EncodedBatch {
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  batch: number;
  seqLen: number;
}

export class ClipTokenizer {
  readonly contextLength = CONTEXT_LENGTH;
  readonly startId: number;
  readonly endId: number;
  /** The Hugging Face export pads with the end-of-text id. */
  readonly padId: number;
  readonly vocabSize: number;

  private readonly tokenToId: Map<string, number>;
  private readonly idToToken: string[];
  private readonly merges: [string, string][];
  /** (left id, right id) → rank, and → merged id, keyed `left * PAIR + right`. */
  private readonly pairRank = new Map<number, number>();
  private readonly pairMerged = new Map<number, number>();
  private readonly pairBase: number;
  /** Ids of each byte value's character, without and with the word-end marker. */
  private readonly byteId = new Int32Array(256);
  private readonly byteEndId = new Int32Array(256);
  private readonly cache = new Map<string, number[]>();
  private readonly encoder = new TextEncoder();

  private constructor(vocab: Map<string, number>, merges: [string, string][], source: string) {
    this.tokenToId = vocab;
    this.merges = merges;
    let maxId = -1;
    for (const id of vocab.values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    this.idToToken = new Array<string>(this.vocabSize);
    for (const [tok, id] of vocab) this.idToToken[id] = tok;
    this.pairBase = this.vocabSize;

    const start = vocab.get(START_TOKEN);
    const end = vocab.get(END_TOKEN);
    if (start === undefined || end === undefined) {
      throw new ModelError('TOKENIZER_INVALID', `${source}: the vocabulary has no ${START_TOKEN} or ${END_TOKEN} token`);
    }
    this.startId = start;
    this.endId = end;
    this.padId = end;

    const { byChar } = byteTables();
    for (let b = 0; b < 256; b++) {
      const id = vocab.get(byChar[b]);
      const endId = vocab.get(byChar[b] + WORD_END);
      if (id === undefined || endId === undefined) {
        throw new ModelError(
          'TOKENIZER_INVALID',
          `${source}: the vocabulary lacks the byte-level token for byte ${b} ("${byChar[b]}" or "${byChar[b]}${WORD_END}"); expected a CLIP byte-level BPE vocabulary`,
        );
      }
      this.byteId[b] = id;
      this.byteEndId[b] = endId;
    }

    merges.forEach(([a, b], rank) => {
      const ia = vocab.get(a);
      const ib = vocab.get(b);
      const im = vocab.get(a + b);
      if (ia === undefined || ib === undefined || im === undefined) {
        throw new ModelError(
          'TOKENIZER_INVALID',
          `${source}: merge ${rank} ("${a} ${b}") uses or makes a token that is not in the vocabulary`,
        );
      }
      const key = ia * this.pairBase + ib;
      // A repeated pair keeps its first (best) rank, as a rank lookup in Python would.
      if (!this.pairRank.has(key)) {
        this.pairRank.set(key, rank);
        this.pairMerged.set(key, im);
      }
    });
  }

  /** OpenAI's `bpe_simple_vocab_16e6.txt.gz`: a header line, then one merge per line. */
  static fromBpeMergesFile(path: string): ClipTokenizer {
    let text: string;
    try {
      const raw = readFileSync(path);
      text = (raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw).toString('utf8');
    } catch (e) {
      throw new ModelError('TOKENIZER_MISSING', `cannot read BPE merges file ${path}: ${(e as Error).message}`, { cause: e });
    }
    const lines = text.split('\n');
    const merges: [string, string][] = [];
    for (const line of lines.slice(1, OPENAI_MERGES + 1)) {
      const parts = line.split(' ');
      if (parts.length !== 2) {
        throw new ModelError(
          'TOKENIZER_INVALID',
          `${path}: line ${merges.length + 2} is not a merge ("a b"): ${JSON.stringify(line.slice(0, 60))}`,
        );
      }
      merges.push([parts[0], parts[1]]);
    }
    const { order } = byteTables();
    const vocab = new Map<string, number>();
    for (const ch of order) vocab.set(ch, vocab.size);
    for (const ch of order) vocab.set(ch + WORD_END, vocab.size);
    for (const [a, b] of merges) vocab.set(a + b, vocab.size);
    vocab.set(START_TOKEN, vocab.size);
    vocab.set(END_TOKEN, vocab.size);
    return new ClipTokenizer(vocab, merges, path);
  }

  /** A Hugging Face `tokenizer.json`: `model.vocab`, `model.merges` ("a b" or [a, b]), `added_tokens`. */
  static fromTokenizerJson(path: string): ClipTokenizer {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      const what = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read as JSON (${(e as Error).message})`;
      throw new ModelError('TOKENIZER_MISSING', `tokenizer file ${path} ${what}`, { cause: e });
    }
    const model = (json as { model?: { vocab?: unknown; merges?: unknown } }).model;
    if (!model || typeof model.vocab !== 'object' || model.vocab === null || !Array.isArray(model.merges)) {
      throw new ModelError('TOKENIZER_INVALID', `${path}: expected a Hugging Face tokenizer.json with model.vocab and model.merges`);
    }
    const vocab = new Map<string, number>();
    for (const [tok, id] of Object.entries(model.vocab as Record<string, unknown>)) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
        throw new ModelError(
          'TOKENIZER_INVALID',
          `${path}: vocab entry ${JSON.stringify(tok)} has id ${JSON.stringify(id)}; expected a non-negative integer`,
        );
      }
      vocab.set(tok, id);
    }
    const added = (json as { added_tokens?: unknown }).added_tokens;
    if (Array.isArray(added)) {
      for (const t of added as { id?: unknown; content?: unknown }[]) {
        if (typeof t?.content === 'string' && typeof t.id === 'number') vocab.set(t.content, t.id);
      }
    }
    const merges: [string, string][] = (model.merges as unknown[]).map((m, i) => {
      if (typeof m === 'string') {
        const parts = m.split(' ');
        if (parts.length === 2) return [parts[0], parts[1]];
      } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
        return [m[0], m[1]];
      }
      throw new ModelError('TOKENIZER_INVALID', `${path}: merge ${i} is ${JSON.stringify(m)}; expected "a b" or ["a", "b"]`);
    });
    return new ClipTokenizer(vocab, merges, path);
  }

  /** Either format, picked from the file's content; a directory means `<dir>/tokenizer.json`. */
  static load(path: string): ClipTokenizer {
    let file = path;
    try {
      if (statSync(path).isDirectory()) file = join(path, 'tokenizer.json');
    } catch (e) {
      throw new ModelError('TOKENIZER_MISSING', `tokenizer file ${path} does not exist`, { cause: e });
    }
    let head: Buffer;
    try {
      head = readFileSync(file).subarray(0, 64);
    } catch (e) {
      throw new ModelError('TOKENIZER_MISSING', `tokenizer file ${file} does not exist`, { cause: e });
    }
    if (head[0] === 0x1f && head[1] === 0x8b) return ClipTokenizer.fromBpeMergesFile(file);
    if (head.toString('utf8').trimStart().startsWith('{')) return ClipTokenizer.fromTokenizerJson(file);
    if (head.toString('utf8').startsWith('#version')) return ClipTokenizer.fromBpeMergesFile(file);
    throw new ModelError('TOKENIZER_INVALID', `${file} is neither a Hugging Face tokenizer.json nor OpenAI's bpe_simple_vocab_16e6.txt.gz`);
  }

  /** The vocabulary and merges, e.g. to write them as a tokenizer.json. */
  vocabulary(): Vocabulary {
    return { vocab: new Map(this.tokenToId), merges: this.merges.map(([a, b]) => [a, b]) };
  }

  /** Token strings of ids, for debugging and tests. */
  tokens(ids: number[]): string[] {
    return ids.map((id) => this.idToToken[id] ?? `<${id}>`);
  }

  /** Ids of the text with start and end tokens, truncated to the context length, no padding. */
  encode(text: string): number[] {
    const ids = [this.startId];
    const norm = normalizeText(text);
    PRETOKEN.lastIndex = 0;
    for (let m = PRETOKEN.exec(norm); m !== null; m = PRETOKEN.exec(norm)) {
      const pieces = this.word(m[0]);
      for (let i = 0; i < pieces.length; i++) ids.push(pieces[i]);
      if (ids.length >= this.contextLength) break;
    }
    if (ids.length >= this.contextLength) {
      ids.length = this.contextLength;
      ids[this.contextLength - 1] = this.endId;
    } else {
      ids.push(this.endId);
    }
    return ids;
  }

  /**
   * Several texts as the ONNX text model takes them: padded with `padId` to the longest
   * (default) or to the context length, attention mask 0 on padding.
   */
  encodeBatch(texts: string[], opts: { padTo?: 'longest' | 'max' } = {}): EncodedBatch {
    const all = texts.map((t) => this.encode(t));
    const batch = all.length;
    const seqLen = opts.padTo === 'max' ? this.contextLength : all.reduce((m, ids) => Math.max(m, ids.length), 0);
    const inputIds = new BigInt64Array(batch * seqLen).fill(BigInt(this.padId));
    const attentionMask = new BigInt64Array(batch * seqLen);
    for (let b = 0; b < batch; b++) {
      const ids = all[b];
      const row = b * seqLen;
      for (let i = 0; i < ids.length; i++) {
        inputIds[row + i] = BigInt(ids[i]);
        attentionMask[row + i] = 1n;
      }
    }
    return { inputIds, attentionMask, batch, seqLen };
  }

  /** BPE ids of one pre-token, cached. */
  private word(token: string): number[] {
    const hit = this.cache.get(token);
    if (hit) return hit;
    let ids: number[];
    if (token === START_TOKEN) ids = [this.startId];
    else if (token === END_TOKEN) ids = [this.endId];
    else ids = this.bpe(this.encoder.encode(token));
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(token, ids);
    return ids;
  }

  /** OpenAI's merge loop on ids: repeatedly merge every occurrence of the best-ranked pair. */
  private bpe(bytes: Uint8Array): number[] {
    const n = bytes.length;
    let word: number[] = new Array<number>(n);
    for (let i = 0; i < n - 1; i++) word[i] = this.byteId[bytes[i]];
    word[n - 1] = this.byteEndId[bytes[n - 1]];
    const base = this.pairBase;
    while (word.length > 1) {
      let bestRank = Number.POSITIVE_INFINITY;
      let bestKey = -1;
      for (let i = 0; i < word.length - 1; i++) {
        const key = word[i] * base + word[i + 1];
        const r = this.pairRank.get(key);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          bestKey = key;
        }
      }
      if (bestKey < 0) break;
      const first = Math.floor(bestKey / base);
      const second = bestKey - first * base;
      const merged = this.pairMerged.get(bestKey) as number;
      const next: number[] = [];
      for (let i = 0; i < word.length; ) {
        if (word[i] === first && i < word.length - 1 && word[i + 1] === second) {
          next.push(merged);
          i += 2;
        } else {
          next.push(word[i]);
          i += 1;
        }
      }
      word = next;
    }
    return word;
  }
}

/**
 * A Hugging Face-format `tokenizer.json` object laid out as CLIP's (BPE model with `</w>` word
 * ends, the two special tokens as added tokens) for a vocabulary (token → id) and merges.
 * `where` names the file for the error when the special tokens are missing.
 */
export function tokenizerJsonObject(vocabObj: Record<string, number>, merges: [string, string][], where: string): Record<string, unknown> {
  const special = (content: string) => ({
    id: vocabObj[content],
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: true,
  });
  if (vocabObj[START_TOKEN] === undefined || vocabObj[END_TOKEN] === undefined) {
    throw new ModelError('TOKENIZER_INVALID', `cannot write ${where}: the vocabulary has no ${START_TOKEN} or ${END_TOKEN} token`);
  }
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(START_TOKEN), special(END_TOKEN)],
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: {
            Regex: "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
          },
          behavior: 'Removed',
          invert: true,
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing',
      sep: [END_TOKEN, vocabObj[END_TOKEN]],
      cls: [START_TOKEN, vocabObj[START_TOKEN]],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: END_TOKEN,
      continuing_subword_prefix: '',
      end_of_word_suffix: WORD_END,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: vocabObj,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/** Writes `tokenizerJsonObject` for a tokenizer or a vocabulary + merges to `path`. */
export function writeTokenizerJson(src: ClipTokenizer | Vocabulary, path: string): void {
  const { vocab, merges } = src instanceof ClipTokenizer ? src.vocabulary() : src;
  const entries = (vocab instanceof Map ? [...vocab.entries()] : Object.entries(vocab)).sort((a, b) => a[1] - b[1]);
  const vocabObj: Record<string, number> = {};
  for (const [tok, id] of entries) vocabObj[tok] = id;
  writeFileSync(path, JSON.stringify(tokenizerJsonObject(vocabObj, merges, path)));
}
