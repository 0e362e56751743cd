/**
 * A synthetic CLIP vocabulary in Hugging Face `tokenizer.json` form. The real CLIP
 * vocabulary is not the project's to ship, so synthetic models carry one the project
 * makes itself, laid out exactly as CLIP's: ids 0–255 are GPT-2's bytes_to_unicode
 * characters (in that table's order), 256–511 the same with `</w>`, then merged tokens
 * learned by BPE from a built-in English word list, then `<|startoftext|>` and
 * `<|endoftext|>` as the two last ids, so the end token has the largest id (the text
 * graph pools at ArgMax(input_ids), as CLIP's export does).
 */

import { byteTables, END_TOKEN, START_TOKEN, tokenizerJsonObject } from '../tokenizer.ts';

export { END_TOKEN, START_TOKEN };
export const END_OF_WORD = '</w>';

/** How many merges the synthetic vocabulary learns: 512 + 254 + 2 = 768 ids. */
export const SYNTH_MERGES = 254;

// Common English words, then advertising words, most frequent first; rank gives a Zipf weight.
const WORDS = `the of and to a in is it you that he was for on are with as his they be at one have this from or had by
word but what some we can out other were all there when up use your how said an each she which do their time if will
way about many then them write would like so these her long make thing see him two has look more day could go come
did number sound no most people my over know water than call first who may down side been now find any new work part
take get place made live where after back little only round man year came show every good me give our under name
very through just form sentence great think say help low line differ turn cause much mean before move right boy old
too same tell does set three want air well also play small end put home read hand port large spell add even land here
must big high such follow act why ask men change went light kind off need house picture try us again animal point
mother world near build self earth father head stand own page should country found answer school grow study still
learn plant cover food sun four between state keep eye never last let thought city tree cross farm hard start might
story saw far sea draw left late run while press close night real life few north open seem together next white
children begin got walk example ease paper group always music those both mark often letter until mile river car feet
care second book carry took science eat room friend began idea fish mountain stop once base hear horse cut sure watch
color face wood main enough plain girl usual young ready above ever red list though feel talk bird soon body dog
family direct pose leave song measure door product black short numeral class wind question happen complete ship area
half rock order fire south problem piece told knew pass since top whole king space heard best hour better true during
hundred five remember step early hold west ground interest reach fast verb sing listen six table travel less morning
ten simple several vowel toward war lay against pattern slow center love person money serve appear road map rain rule
govern pull cold notice voice unit power town fine certain fly fall lead cry dark machine note wait plan figure star
box noun field rest correct able pound done beauty drive stood contain front teach week final gave green quick
develop ocean warm free minute strong special mind behind clear tail produce fact street inch multiply nothing course
stay wheel full force blue object decide surface deep moon island foot system busy test record boat common gold
possible plane stead dry wonder laugh thousand ago ran check game shape equate hot miss brought heat snow tire bring
yes distant fill east paint language among brand sale offer shop discount fresh summer style coffee shoes bright
launch today limited premium organic natural clean smart easy fun comfort quality design creative campaign banner
video photo headline story deal save buy sport travel beach city night weekend family kids team office phone app
skin care beauty fashion watch bag jacket running bike garden kitchen pizza burger tea juice chocolate cookie bread
healthy green energy solar electric car insurance bank card loan credit secure fast delivery online store member
reward points gift holiday winter spring autumn sunny warm cozy bold modern classic luxury simple minimal vibrant
colorful happy smile friends party music festival concert movie game play learn course school job career growth`;

function learnMerges(count: number): [string, string][] {
  const { byChar } = byteTables();
  const words = WORDS.split(/\s+/).filter(Boolean);
  // Zipf weights by rank; a word listed twice keeps its first (higher) rank.
  const freq = new Map<string, number>();
  words.forEach((w, rank) => {
    if (!freq.has(w)) freq.set(w, 1 / (rank + 10));
  });
  const corpus: { syms: string[]; f: number }[] = [];
  for (const [w, f] of freq) {
    const syms = [...new TextEncoder().encode(w)].map((b) => byChar[b]);
    syms[syms.length - 1] += END_OF_WORD;
    corpus.push({ syms, f });
  }
  const known = new Set<string>();
  for (const c of byChar) {
    known.add(c);
    known.add(c + END_OF_WORD);
  }
  const merges: [string, string][] = [];
  const refused = new Set<string>();
  while (merges.length < count) {
    const counts = new Map<string, number>();
    for (const { syms, f } of corpus) {
      for (let i = 0; i + 1 < syms.length; i++) {
        const key = `${syms[i]} ${syms[i + 1]}`;
        if (!refused.has(key)) counts.set(key, (counts.get(key) ?? 0) + f);
      }
    }
    let best = '';
    let bestF = -1;
    // Ties break on the pair's text, so the result never depends on Map order.
    for (const [k, f] of counts) {
      if (f > bestF + 1e-12 || (Math.abs(f - bestF) <= 1e-12 && k < best)) {
        best = k;
        bestF = f;
      }
    }
    if (bestF < 0) break;
    const [a, b] = best.split(' ');
    // Two pairs can spell the same token; a vocabulary needs each token once.
    if (known.has(a + b)) {
      refused.add(best);
      continue;
    }
    known.add(a + b);
    merges.push([a, b]);
    for (const w of corpus) {
      const out: string[] = [];
      for (let i = 0; i < w.syms.length; i++) {
        if (i + 1 < w.syms.length && w.syms[i] === a && w.syms[i + 1] === b) {
          out.push(a + b);
          i++;
        } else out.push(w.syms[i]);
      }
      w.syms = out;
    }
  }
  return merges;
}

export interface SynthVocab {
  /** Tokens in id order. */
  tokens: string[];
  merges: [string, string][];
  startId: number;
  endId: number;
}

let cachedVocab: SynthVocab | undefined;

/** The synthetic vocabulary (deterministic: the same on every run and machine). */
export function synthVocab(): SynthVocab {
  if (cachedVocab) return cachedVocab;
  const chars = byteTables().order;
  const merges = learnMerges(SYNTH_MERGES);
  const tokens = [...chars, ...chars.map((c) => c + END_OF_WORD), ...merges.map(([a, b]) => a + b), START_TOKEN, END_TOKEN];
  cachedVocab = { tokens, merges, startId: tokens.length - 2, endId: tokens.length - 1 };
  return cachedVocab;
}

export const SYNTH_VOCAB_SIZE = 256 * 2 + SYNTH_MERGES + 2;

/** `tokenizer.json` in the Hugging Face tokenizers format, laid out like CLIP's. */
export function tokenizerJson(): Record<string, unknown> {
  const v = synthVocab();
  const vocab: Record<string, number> = {};
  v.tokens.forEach((t, i) => {
    vocab[t] = i;
  });
  return tokenizerJsonObject(vocab, v.merges, 'the synthetic tokenizer.json');
}
