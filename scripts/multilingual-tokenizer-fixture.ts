/**
 * Writes the parity fixture of the multilingual CLIP text encoder's WordPiece tokenizer
 * (src/clip/wordpiece.ts) into test/fixtures/clip/multilingual/:
 *
 * - `strings.json`: the texts (briefs in English, German, Spanish, Chinese, Japanese, Arabic,
 *   Russian; emoji, punctuation, accents, control and odd whitespace, words over 100 characters,
 *   unknown words, special tokens written in the text, texts past 128 tokens);
 * - `vocab.txt`: a small BERT vocabulary built from them (BERT's special tokens first; whole
 *   words for some, prefix + `##` pieces for others, single characters and their `##` forms,
 *   a few characters left out on purpose so their words become [UNK]);
 * - `tokenizer.json` + `tokenizer_config.json`: that vocabulary laid out as
 *   distilbert-base-multilingual-cased's (BertNormalizer, cased, no accent stripping,
 *   BertPreTokenizer, WordPiece `##`, [CLS] … [SEP]);
 * - `expected.jsonl`: `{text, full, ids}` per string. `full` is the REFERENCE tokenizer's output,
 *   untruncated: `@huggingface/transformers` 4.3.1 (its tokenizers package
 *   `@huggingface/tokenizers` 0.2.0), `AutoTokenizer` on that folder. `ids` is `full` cut to
 *   128 as the Rust and Python tokenizers cut it for sentence-transformers (one sequence,
 *   longest-first: the text's tokens cut to 126, then [CLS] and [SEP] added). transformers.js
 *   cuts differently (after adding the special tokens, so a long text loses its [SEP]), which
 *   is not what the model saw in training, so its truncation is not the reference here.
 *
 * The reference is a devDependency already (the synthetic-model tests use it); it is not a
 * runtime dependency. Two known differences of that JavaScript port from the Rust tokenizer the
 * real model is served with are kept out of the strings and tested on their own: CJK
 * ideographs outside the BMP (the port walks UTF-16 units, so it never spaces them) and
 * unassigned code points (the port's control test omits category Cn).
 *
 * Run on purpose: `npx tsx scripts/multilingual-tokenizer-fixture.ts`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AutoTokenizer, env as hfEnv } from '@huggingface/transformers';

const OUT = resolve('test/fixtures/clip/multilingual');

const BASE = [
  'Summer sale on running shoes',
  'Winter jackets for the whole family, 30% off!',
  'Fresh coffee beans, roasted daily.',
  'Buy one, get one free — this weekend only',
  "Don't miss our biggest sale of the year!!!",
  'New: wireless earbuds with 24h battery',
  'Eco-friendly water bottles (BPA-free)',
  'Limited edition sneakers #drop #streetwear',
  'Email us at hello@example.com or call +1-555-0100',
  'Price: $49.99 → $29.99',
  'Sommerschlussverkauf: Laufschuhe für die ganze Familie',
  'Größe, Qualität und Komfort – jetzt bestellen!',
  'Wintermäntel für Damen und Herren, 30 % Rabatt',
  'Frischer Kaffee aus Äthiopien, täglich geröstet',
  'Donaudampfschifffahrtsgesellschaftskapitänsmütze',
  'Übergrößen für Jugendliche: günstig & schön',
  'Kostenloser Versand ab 50 €',
  'Straße, Fußball, weiß, heiß',
  'Rebajas de verano en zapatillas para correr',
  '¡Oferta especial! ¿Quieres ahorrar?',
  'Chaquetas de invierno para toda la familia, 30 % de descuento',
  'Café recién tostado, envío gratis en España',
  'Niños y niñas: diseño cómodo, acción y emoción',
  'La mejor canción del año — ¡escúchala ya!',
  'Pingüino, cigüeña, vergüenza',
  '夏季跑鞋大促销',
  '全家冬季夹克，七折优惠！',
  '新鲜咖啡豆，每日烘焙。',
  '买一送一，仅限本周末',
  '无线耳机，续航24小时',
  '环保水瓶（不含BPA）',
  '限量版运动鞋 #潮流',
  '我们的年度最大促销，不要错过！',
  '夏季跑鞋大促销：Running shoes for summer',
  '春节特惠 — 红包 🧧 送给你',
  '夏のランニングシューズセール',
  'コーヒー豆、毎日焙煎。',
  '여름 러닝화 세일',
  'تخفيضات الصيف على أحذية الجري',
  'قهوة طازجة يوميا!',
  'Летняя распродажа кроссовок',
  'Скидка 30% на зимние куртки',
  'Καλοκαιρινές εκπτώσεις',
  'ग्रीष्मकालीन बिक्री',
  'Summer vibes ☀️🏖️ and cold drinks 🍹',
  'We ❤️ our customers 👍🏽',
  'Family 👨‍👩‍👧 deals inside',
  'Rocket 🚀 launch!!! 🎉🎉🎉',
  '...',
  '?!?!',
  '"Quoted" and \'single\' and «guillemets» and „Anführungszeichen“',
  'a-b_c/d\\e|f~g^h`i',
  '(parentheses) [brackets] {braces} <angles>',
  '100% cotton, 2 for 1, 3.5 stars, 1,000,000 views',
  '2024-12-05 10:30 UTC',
  'iPhone 15 Pro Max vs. Galaxy S24 Ultra',
  'McDonald’s and L’Oréal',
  'e-mail, re-use, co-op, well-known',
  'supercalifragilisticexpialidocious',
  'antidisestablishmentarianism',
  'pneumonoultramicroscopicsilicovolcanoconiosis',
  'x'.repeat(100),
  'y'.repeat(101),
  `long ${'abc'.repeat(40)} word`,
  'zzqxj qqqzzz vvwxk',
  'xylophonequartz',
  '   leading and trailing spaces   ',
  'tabs\tand\nnewlines\r\nand  double  spaces',
  'non\u00a0breaking\u2009thin\u3000ideographic space',
  'zero\u200bwidth\u200cjoiners\u200dhere',
  'soft\u00adhyphen and bom\ufeffinside',
  'control\u0007bell and \u0001start',
  'replacement \ufffd char and nul \u0000 byte',
  'private \ue000 use',
  'combining: e\u0301 vs é, n\u0303 vs ñ',
  'Ångström and ÅNGSTRÖM',
  'CAPITALS and lowercase and MiXeD',
  '[CLS] already here [SEP]',
  'a [MASK] token and [UNK] token',
  '[not a special] token',
  '',
  ' ',
  'A',
  '中',
  '🙂',
  '#',
  'Ⅻ ½ ² ³ ① ⑳',
  'ﬁ ligature and ﬀ',
  'Fullwidth ＡＢＣ１２３！',
  '半角ｶﾀｶﾅ',
  '繁體中文：夏季運動鞋特賣',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math letters',
  'café CAFÉ Café',
  'niño NIÑO',
  'naïve coöperation façade',
  'Smörgåsbord für Köche',
  'mañana, año, señor',
  'straße STRASSE',
  'Σίσυφος ΣΊΣΥΦΟΣ',
  'İstanbul ıi',
];

// Briefs joined into long texts: past 128 tokens, so truncation is tested.
const LONG = [
  Array.from({ length: 30 }, (_, i) => BASE[i % 25]).join(' '),
  Array.from({ length: 12 }, (_, i) => BASE[25 + (i % 9)]).join(''),
  Array.from({ length: 200 }, (_, i) => `w${i}`).join(' '),
  `${'Laufschuhe '.repeat(63)}Ende`,
  `${'Laufschuhe '.repeat(64)}Ende`,
  `${'a '.repeat(125)}b c`,
  `${'a '.repeat(126)}b c`,
  `${'a '.repeat(127)}b c`,
];

// Pairs across languages, as briefs mix them.
const MIXED: string[] = [];
for (let i = 0; i < 25; i++) MIXED.push(`${BASE[i]} / ${BASE[25 + (i % 19)]}`);
for (let i = 0; i < 25; i++) MIXED.push(`${BASE[10 + (i % 15)].toUpperCase()} ${BASE[44 + (i % 4)]}`);
for (let i = 0; i < 20; i++) MIXED.push(BASE[i].split(' ').reverse().join(' '));
for (let i = 0; i < 10; i++) MIXED.push(`${BASE[25 + i]}${BASE[10 + i]}`);

const STRINGS = [...BASE, ...LONG, ...MIXED];

// ---- the vocabulary ----
const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
// Left out so the words holding them become [UNK].
const MISSING = new Set(['🧧', 'ق', 'Ⅻ', 'ﬀ', '𝔘', 'ｶ', 'Σ']);

function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (const ch of s) h = Math.imul(h ^ (ch.codePointAt(0) as number), 0x01000193) >>> 0;
  return h;
}

function buildVocab(): string[] {
  const tokens = new Set<string>(SPECIAL);
  const words = new Set<string>();
  for (const s of STRINGS) {
    for (const w of s.split(/[\s\p{P}\u0021-\u002F\u003A-\u0040\u005B-\u0060\u007B-\u007E]+/u)) if (w) words.add(w);
    for (const ch of s.normalize('NFC')) {
      if (/\p{P}|[!-/:-@[-`{-~]/u.test(ch)) tokens.add(ch);
    }
  }
  const chars = new Set<string>();
  for (const w of [...words].sort()) {
    const cs = [...w];
    for (const c of cs) chars.add(c);
    if (/[\p{Cc}\p{Cf}\p{Co}\p{Cn}\ufffd]/u.test(w)) continue;
    const h = fnv(w) % 4;
    if (cs.length > 100) continue;
    if (h === 0) tokens.add(w);
    else if (h === 1 && cs.length > 3) {
      const cut = Math.ceil(cs.length / 2);
      tokens.add(cs.slice(0, cut).join(''));
      tokens.add(`##${cs.slice(cut).join('')}`);
    } else if (h === 2 && cs.length > 4) {
      tokens.add(cs.slice(0, 2).join(''));
      tokens.add(`##${cs.slice(2, 4).join('')}`);
      tokens.add(`##${cs.slice(4).join('')}`);
    }
  }
  for (const c of [...chars].sort()) {
    // Characters the normaliser removes never reach the vocabulary (and would make vocab.txt binary).
    if (MISSING.has(c) || /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\ufffd]/u.test(c)) continue;
    tokens.add(c);
    if (fnv(c) % 5 !== 0) tokens.add(`##${c}`);
  }
  // Common suffixes so greedy longest-match has choices to make.
  for (const suf of ['##s', '##en', '##ung', '##er', '##ing', '##ción', '##es', '##os', '##chen']) tokens.add(suf);
  return [...tokens];
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const vocabList = buildVocab();
  const vocab: Record<string, number> = {};
  vocabList.forEach((t, i) => {
    vocab[t] = i;
  });
  writeFileSync(join(OUT, 'strings.json'), `${JSON.stringify(STRINGS, null, 1)}\n`);
  writeFileSync(join(OUT, 'vocab.txt'), `${vocabList.join('\n')}\n`);
  const special = (content: string) => ({
    id: vocab[content],
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: false },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
  writeFileSync(join(OUT, 'tokenizer.json'), JSON.stringify(tokenizerJson));
  writeFileSync(
    join(OUT, 'tokenizer_config.json'),
    `${JSON.stringify(
      {
        tokenizer_class: 'DistilBertTokenizer',
        do_lower_case: false,
        strip_accents: null,
        tokenize_chinese_chars: true,
        model_max_length: 128,
        cls_token: '[CLS]',
        sep_token: '[SEP]',
        pad_token: '[PAD]',
        unk_token: '[UNK]',
        mask_token: '[MASK]',
      },
      null,
      2,
    )}\n`,
  );

  hfEnv.allowRemoteModels = false;
  hfEnv.localModelPath = `${resolve(OUT, '..')}/`;
  const tok = await AutoTokenizer.from_pretrained('multilingual');
  const lines = STRINGS.map((text) => {
    const full = (tok(text).input_ids.tolist() as bigint[][] | bigint[]).flat().map(Number);
    const ids = full.length > 128 ? [...full.slice(0, 127), vocab['[SEP]']] : full;
    return JSON.stringify({ text, full, ids });
  });
  writeFileSync(join(OUT, 'expected.jsonl'), `${lines.join('\n')}\n`);
  process.stdout.write(`${STRINGS.length} strings, ${vocabList.length} vocabulary entries → ${OUT}\n`);
}

await main();
