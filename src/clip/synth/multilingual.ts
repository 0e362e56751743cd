/**
 * A synthetic stand-in for the multilingual CLIP text encoder (sentence-transformers
 * `clip-ViT-B-32-multilingual-v1`): a model directory in the layout CLIP_TEXT_MODEL_DIR takes
 * (config.json, tokenizer.json + tokenizer_config.json for WordPiece, onnx/text_model.onnx with
 * `input_ids`, `attention_mask` → `text_embeds` [batch, 512]) and the real model's shape of
 * computation: token embeddings, mean pooling over the attention mask, then a Dense projection.
 *
 * Unlike the synthetic CLIP, its similarities are not meaningless across languages by design:
 * the words of one advertising concept in English, German, Spanish and Chinese ("shoes",
 * "Schuhe", "zapatos", 鞋) share one seeded embedding, so a Chinese brief and an English caption
 * about the same thing land together, as they do with the real model. Other tokens get small
 * seeded noise; stop words and the special tokens get none. It is NOT aligned with the synthetic
 * CLIP's image space (whose weights are random): retrieval tests meet through captions.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GraphBuilder } from './graph.ts';
import { DataType } from './onnx.ts';
import { createRng, deriveSeed } from './rng.ts';

export const SYNTH_MULTILINGUAL_NAME = 'adcreative/synthetic-multilingual-clip-text';
export const MULTILINGUAL_DIMS = 512;
const HIDDEN = 96;

/** One concept per line: its words in English, German, Spanish, and Chinese characters. */
export const CONCEPTS: Record<string, string[]> = {
  summer: ['summer', 'Summer', 'Sommer', 'verano', '夏', '季'],
  sale: ['sale', 'Sale', 'Schlussverkauf', 'Rabatt', 'Angebot', 'rebajas', 'Rebajas', 'oferta', '促', '销', '特', '卖'],
  running: ['running', 'Running', 'run', 'Run', 'Lauf', 'laufen', 'correr', '跑', '步'],
  shoes: ['shoes', 'Shoes', 'sneakers', '##schuhe', 'Schuhe', 'zapatillas', 'zapatos', '鞋'],
  coffee: ['coffee', 'Coffee', 'Kaffee', 'café', 'Café', '咖', '啡'],
  winter: ['winter', 'Winter', 'invierno', '冬'],
  jacket: ['jacket', 'jackets', 'Jacke', 'Jacken', 'chaqueta', 'chaquetas', '夹', '克'],
  family: ['family', 'Familie', 'familia', '家', '庭'],
  fresh: ['fresh', 'Fresh', 'frisch', 'frischer', 'fresco', '鲜'],
  free: ['free', 'kostenlos', 'gratis', '免', '费'],
  water: ['water', 'Wasser', 'agua', '水'],
  bottle: ['bottle', 'bottles', 'Flasche', 'botella', '瓶'],
  phone: ['phone', 'Handy', 'teléfono', '手', '机'],
  discount: ['discount', 'off', 'descuento', '折', '扣', '优', '惠'],
  beach: ['beach', 'Strand', 'playa', '海', '滩'],
  tea: ['tea', 'Tee', 'té', '茶'],
};

/** Words that carry no concept: embedded as zero, so they dilute nothing. */
const STOP = [
  'the',
  'a',
  'an',
  'on',
  'for',
  'and',
  'of',
  'with',
  'in',
  'big',
  'der',
  'die',
  'das',
  'für',
  'und',
  'im',
  'la',
  'el',
  'de',
  'en',
  'para',
  'y',
  '大',
  '的',
  '全',
];

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** The vocabulary: specials, concept words, stop words, then characters (plain and `##`) for anything else. */
export function multilingualVocab(): string[] {
  const out = new Set<string>(SPECIALS);
  for (const words of Object.values(CONCEPTS)) for (const w of words) out.add(w);
  for (const w of STOP) out.add(w);
  const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789äöüßÄÖÜñáéíóúç';
  for (const c of chars) {
    out.add(c);
    out.add(`##${c}`);
  }
  for (const c of '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~¡¿，。！？：、€') out.add(c);
  return [...out];
}

function embeddingTable(vocab: string[], seed: number): Float32Array {
  const table = new Float32Array(vocab.length * HIDDEN);
  const concept = new Map<string, Float32Array>();
  for (const name of Object.keys(CONCEPTS)) {
    concept.set(name, createRng(deriveSeed(seed, `concept:${name}`)).fillNormal(new Float32Array(HIDDEN), 1));
  }
  const ofWord = new Map<string, string>();
  for (const [name, words] of Object.entries(CONCEPTS)) for (const w of words) ofWord.set(w, name);
  const stop = new Set([...STOP, ...SPECIALS]);
  vocab.forEach((tok, id) => {
    const row = table.subarray(id * HIDDEN, (id + 1) * HIDDEN);
    const c = ofWord.get(tok);
    if (c) row.set(concept.get(c) as Float32Array);
    else if (!stop.has(tok)) createRng(deriveSeed(seed, `token:${tok}`)).fillNormal(row, 0.15);
  });
  return table;
}

function denseWeight(seed: number): Float32Array {
  return createRng(deriveSeed(seed, 'dense')).fillNormal(new Float32Array(HIDDEN * MULTILINGUAL_DIMS), HIDDEN ** -0.5);
}

/**
 * The transformer alone, as sentence-transformers' ONNX backend exports it: `input_ids`,
 * `attention_mask` → `last_hidden_state` [batch, sequence, hidden] (here: the token vectors).
 */
export function buildMultilingualTransformer(vocab: string[], seed: number): Uint8Array {
  const g = new GraphBuilder('multilingual_transformer');
  const ids = g.input('input_ids', DataType.INT64, ['batch_size', 'sequence_length']);
  g.input('attention_mask', DataType.INT64, ['batch_size', 'sequence_length']);
  const table = g.init('embeddings.word_embeddings.weight', embeddingTable(vocab, seed), [vocab.length, HIDDEN]);
  g.node('Gather', [table, ids], { outputs: ['last_hidden_state'], name: 'embeddings/token' });
  g.output('last_hidden_state', DataType.FLOAT, ['batch_size', 'sequence_length', HIDDEN]);
  return g.encode({ opset: 17, producer: 'adcreative-synth', metadata: { adcreative_synthetic: 'true', adcreative_seed: String(seed) } });
}

/** A safetensors file holding the Dense layer as sentence-transformers stores it: F32 `linear.weight` [512, hidden]. */
export function denseSafetensors(seed: number): Uint8Array {
  const w = denseWeight(seed); // [HIDDEN, DIMS] for MatMul; sentence-transformers keeps [DIMS, HIDDEN]
  const t = new Float32Array(w.length);
  for (let i = 0; i < HIDDEN; i++) for (let d = 0; d < MULTILINGUAL_DIMS; d++) t[d * HIDDEN + i] = w[i * MULTILINGUAL_DIMS + d];
  const header = Buffer.from(
    JSON.stringify({ 'linear.weight': { dtype: 'F32', shape: [MULTILINGUAL_DIMS, HIDDEN], data_offsets: [0, t.byteLength] } }),
  );
  const out = Buffer.alloc(8 + header.length + t.byteLength);
  out.writeBigUInt64LE(BigInt(header.length), 0);
  header.copy(out, 8);
  Buffer.from(t.buffer).copy(out, 8 + header.length);
  return out;
}

/** The ONNX graph: Gather → masked mean over the sequence → Dense (MatMul) → `text_embeds`. */
export function buildMultilingualTextModel(vocab: string[], seed: number): Uint8Array {
  const g = new GraphBuilder('multilingual_clip_text_model');
  const ids = g.input('input_ids', DataType.INT64, ['batch_size', 'sequence_length']);
  const mask = g.input('attention_mask', DataType.INT64, ['batch_size', 'sequence_length']);
  const table = g.init('embeddings.word_embeddings.weight', embeddingTable(vocab, seed), [vocab.length, HIDDEN]);
  const tok = g.op('Gather', [table, ids], { name: 'embeddings/token' }); // [B, S, H]
  const maskF = g.op('Cast', [mask], { name: 'pool/cast', attrs: { to: { i: DataType.FLOAT } } }); // [B, S]
  const mask3 = g.op('Unsqueeze', [maskF, g.ints('axis2', [2])], { name: 'pool/unsqueeze' }); // [B, S, 1]
  const summed = g.op('ReduceSum', [g.op('Mul', [tok, mask3], { name: 'pool/mask' }), g.ints('axis1', [1])], {
    name: 'pool/sum',
    attrs: { keepdims: { i: 0 } },
  }); // [B, H]
  const count = g.op('ReduceSum', [maskF, g.ints('axis1', [1])], { name: 'pool/count', attrs: { keepdims: { i: 1 } } }); // [B, 1]
  const mean = g.op('Div', [summed, g.op('Max', [count, g.scalar('min_count', 1e-9)], { name: 'pool/clamp' })], { name: 'pool/mean' });
  g.node('MatMul', [mean, g.init('dense.weight', denseWeight(seed), [HIDDEN, MULTILINGUAL_DIMS])], {
    outputs: ['text_embeds'],
    name: 'dense',
  });
  g.output('text_embeds', DataType.FLOAT, ['batch_size', MULTILINGUAL_DIMS]);
  return g.encode({
    opset: 17,
    producer: 'adcreative-synth',
    docString: `Synthetic multilingual CLIP text model (seed ${seed}): concept-shared word vectors, mean pooling, Dense.`,
    metadata: { adcreative_synthetic: 'true', adcreative_seed: String(seed) },
  });
}

/**
 * Writes the synthetic multilingual text model directory; returns the files written. `layout`:
 * the one-graph export (default) or sentence-transformers' own (transformer, pooling config,
 * Dense safetensors), with the same weights, so both give the same embeddings.
 */
export async function synthesizeMultilingualText(
  outDir: string,
  seed = 1,
  layout: 'export' | 'sentence-transformers' = 'export',
): Promise<string[]> {
  const vocab = multilingualVocab();
  await mkdir(join(outDir, 'onnx'), { recursive: true });
  if (layout === 'sentence-transformers') {
    await mkdir(join(outDir, '1_Pooling'), { recursive: true });
    await mkdir(join(outDir, '2_Dense'), { recursive: true });
  }
  const vocabObj: Record<string, number> = {};
  vocab.forEach((t, i) => {
    vocabObj[t] = i;
  });
  const files: [string, string | Uint8Array][] = [
    [
      'config.json',
      `${JSON.stringify(
        {
          _name_or_path: SYNTH_MULTILINGUAL_NAME,
          adcreative_synthetic: true,
          adcreative_seed: seed,
          adcreative_note: 'Synthetic stand-in for sentence-transformers/clip-ViT-B-32-multilingual-v1 (concept-shared word vectors).',
          model_type: 'distilbert',
          projection_dim: MULTILINGUAL_DIMS,
          text_config: { max_position_embeddings: 128, vocab_size: vocab.length },
        },
        null,
        2,
      )}\n`,
    ],
    [
      'tokenizer.json',
      JSON.stringify({
        version: '1.0',
        added_tokens: SPECIALS.map((content) => ({ id: vocabObj[content], content, special: true, normalized: false })),
        normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: false },
        pre_tokenizer: { type: 'BertPreTokenizer' },
        model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: vocabObj },
      }),
    ],
    ['tokenizer_config.json', `${JSON.stringify({ do_lower_case: false, model_max_length: 128 }, null, 2)}\n`],
    ...((layout === 'export'
      ? [['onnx/text_model.onnx', buildMultilingualTextModel(vocab, seed)]]
      : [
          ['onnx/model.onnx', buildMultilingualTransformer(vocab, seed)],
          ['1_Pooling/config.json', `${JSON.stringify({ word_embedding_dimension: HIDDEN, pooling_mode_mean_tokens: true })}\n`],
          ['2_Dense/config.json', `${JSON.stringify({ in_features: HIDDEN, out_features: MULTILINGUAL_DIMS, bias: false })}\n`],
          ['2_Dense/model.safetensors', denseSafetensors(seed)],
        ]) as [string, string | Uint8Array][]),
  ];
  const written: string[] = [];
  for (const [name, data] of files) {
    await writeFile(join(outDir, name), data);
    written.push(join(outDir, name));
  }
  return written;
}
