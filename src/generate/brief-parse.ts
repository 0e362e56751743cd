/**
 * A brief read like a copywriter reads it, by rules (no model): what the product is and what
 * is good about it, the offer, the occasion, who it is for and how it should feel. Who it is
 * for and how it should feel steer the copy but are never printed: "for young urban runners"
 * is targeting, "energetic, bright" is direction. Form labels ("Product: … Audience: …") are
 * read as fields, and fields given as structure (the brief form) win over what is typed.
 */
import {
  CTA_CLAUSE,
  detectLanguage,
  EU_AUDIENCE,
  INTENT_CUES,
  type Intent,
  LABELS,
  type Lang,
  looksLikeQuality,
  NOT_PERSON,
  OCCASIONS,
  OFFER_PATTERNS,
  OFFER_TAIL,
  PERSON_WORDS,
  TONE_WORDS,
  ZH_AUDIENCE,
  ZH_OCCASIONS,
  ZH_SALE_SUFFIX,
  ZH_TONE_WORDS,
} from './lexicon.ts';
import type { BriefFields } from './types.ts';

export interface Offer {
  /** As a headline shows it: "30% off", "Free shipping", "8折". */
  short: string;
  /** With its terms: "30% off this weekend". */
  full: string;
}

export interface ParsedBrief {
  language: Lang;
  /** The thing sold, without its qualities: "trail backpack", "防晒霜". */
  product: string;
  /** What the brief says the product is: "lightweight", "清爽不油腻". */
  qualities: string[];
  /** Further selling points, as phrases: "roasted Monday", "at your door Wednesday". */
  benefits: string[];
  offer?: Offer;
  /** A season or moment: "summer", "grill season", "夏日". */
  occasion?: string;
  /** Who it is for: steers, never printed. */
  audience?: string;
  /** How it should feel: steers the words and the palette, never printed. */
  tone: string[];
  /** What the ad asks people to do, when the brief says (an offer means a sale). */
  intent?: Intent;
  /** Phrases that must never reach consumer copy (audience, labels). */
  hidden: string[];
}

const clean = (s: string) => s.replace(/\s+/g, ' ').trim();
const trimPunct = (s: string) => s.replace(/^[\s,.;:!?、，。；：！？—–-]+|[\s,.;:!?、，。；：！？—–-]+$/gu, '');

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const LABEL_RE = new RegExp(
  `(?:^|(?<=[.;。；!?！？\\n]\\s*)|(?<=\\s))(${Object.keys(LABELS)
    .sort((a, b) => b.length - a.length)
    .map(escapeRe)
    .join('|')})\\s*[:：]\\s*`,
  'giu',
);

/** Labelled parts ("Audience: runners.") as fields, and the text that had no label. */
function splitLabels(text: string): { fields: BriefFields & { brand?: string }; rest: string } {
  const marks = [...text.matchAll(LABEL_RE)];
  if (!marks.length) return { fields: {}, rest: text };
  const fields: Record<string, string> = {};
  const rest: string[] = [text.slice(0, marks[0].index)];
  marks.forEach((m, i) => {
    const start = (m.index ?? 0) + m[0].length;
    const end = i + 1 < marks.length ? (marks[i + 1].index ?? text.length) : text.length;
    const key = LABELS[m[1].toLowerCase()] ?? LABELS[m[1]];
    const value = trimPunct(text.slice(start, end));
    if (!key || key === 'ignore' || !value) return;
    fields[key] = fields[key] ? `${fields[key]}; ${value}` : value;
  });
  return { fields, rest: rest.join(' ') };
}

function findOffer(text: string): { offer: Offer; rest: string } | undefined {
  for (const re of OFFER_PATTERNS) {
    const m = re.exec(text);
    if (!m) continue;
    const at = m.index;
    let end = at + m[0].length;
    const tail = OFFER_TAIL.exec(text.slice(end));
    const short = clean(m[0]).replace(/^-\s?/, '-');
    let full = short;
    if (tail) {
      full = `${short} ${clean(tail[1])}`;
      end += tail[0].length;
    }
    return { offer: { short, full }, rest: `${text.slice(0, at)} ${text.slice(end)}` };
  }
  return undefined;
}

const AGE = /^(\d{1,2}\s?[-–]\s?\d{1,2}|\d{1,2}\+|aged?|\d{1,2}s)$/i;

function isPersonWord(w: string): boolean {
  const word = w.toLowerCase().replace(/[’']s$/, '');
  if (PERSON_WORDS.has(word)) return true;
  if (NOT_PERSON.has(word)) return false;
  return (
    /^[a-z-]{3,}(ers|ors|ists|ians|ants|ents|ees)$/.test(word) &&
    !/(ments|ents)$/.test(word.replace(/(students|parents|residents|clients|patients)$/, 'x'))
  );
}

/** English "for young urban runners", "aimed at new parents", "targeting Gen Z": out of the text. */
function findAudienceEn(text: string): { audience: string; phrase: string; rest: string } | undefined {
  const always = /\b(?:targeting|targeted at|aimed at|audience is|audience:?)\s+([^,.;:!?()]+)/i.exec(text);
  if (always) {
    return {
      audience: clean(always[1]),
      phrase: always[0],
      rest: text.replace(always[0], ' '),
    };
  }
  const re =
    /\b(?:for|geared towards?|designed for|made for|perfect for|ideal for|built for|loved by)\s+((?:the\s+|all\s+|busy\s+)?(?:[\p{L}\d'’+-]+\s+){0,5}?[\p{L}\d'’+-]+)(?=\s*$|\s*[,.;:!?)—–]|\s+(?:who|that|with|in|on|at|this|to|and|from|looking)\b)/giu;
  for (const m of text.matchAll(re)) {
    const words = m[1].split(/\s+/);
    let head = words.length - 1;
    while (head > 0 && AGE.test(words[head])) head--;
    if (!isPersonWord(words[head])) continue;
    let phrase = m[0];
    // "for people who run marathons": the relative clause is the audience too.
    const after = text.slice((m.index ?? 0) + m[0].length);
    const rel = /^\s+(?:who|that)\s+[^,.;:!?]+/i.exec(after);
    if (rel) phrase += rel[0];
    return { audience: clean(`${m[1]}${rel ? rel[0] : ''}`), phrase, rest: text.replace(phrase, ' ') };
  }
  return undefined;
}

function findAudienceZh(text: string): { audience: string; phrase: string; rest: string } | undefined {
  const m = ZH_AUDIENCE.exec(text);
  if (!m) return undefined;
  return { audience: m[0].replace(/^(面向|针对|专为|适合|目标是|献给|送给)/u, ''), phrase: m[0], rest: text.replace(m[0], '，') };
}

function findAudienceEu(text: string): { audience: string; phrase: string; rest: string } | undefined {
  const m = EU_AUDIENCE.exec(text);
  if (!m) return findAudienceEn(text);
  return { audience: clean(m[1]), phrase: m[0], rest: text.replace(m[0], ' ') };
}

/** Clause boundaries: sentences, semicolons, dashes, and commas (CJK ones too). */
function clausesOf(text: string): string[] {
  return text
    .split(/(?<=[.!?。！？])\s*|[;；:：—–|｜]\s*|,\s*|，|、/u)
    .map((s) => trimPunct(clean(s)))
    .filter((s) => s.length > 0);
}

function isToneClauseEn(c: string): boolean {
  const words = c
    .toLowerCase()
    .split(/[\s/&+]+/)
    .filter(Boolean);
  return words.length > 0 && words.every((w) => TONE_WORDS.has(w.replace(/[^a-z-]/g, ''))) && words.some((w) => w !== 'and');
}

/** "in a playful tone", "with a calm, caring feel", "keep it warm": direction, lifted out. */
const TONE_PHRASE =
  /(?:\b(?:in|with) an? )?((?:[a-z-]+(?:,\s*|\s+and\s+|\s+)){0,3}[a-z-]+)\s+(?:tone|vibe|feel|voice|style|look|mood)\b|\bkeep it ([a-z-]+(?:\s+and\s+[a-z-]+)?)/gi;

/** Of the words before "tone", the run of tone words that ends there (the rest is the brief's). */
function toneTail(words: string): { keep: string; tone: string[] } {
  const parts = words.split(/(,\s*|\s+and\s+|\s+)/);
  let i = parts.length;
  while (i > 0) {
    const w = parts[i - 1].toLowerCase().replace(/[^a-z-]/g, '');
    if (w && !TONE_WORDS.has(w)) break;
    i--;
  }
  const tail = parts.slice(i).join('');
  return { keep: parts.slice(0, i).join(''), tone: toneWordsOf(tail) };
}

function toneWordsOf(s: string): string[] {
  return s
    .toLowerCase()
    .split(/[\s,/&+]+|\band\b/)
    .map((w) => w.replace(/[^a-z-]/g, ''))
    .filter(
      (w) =>
        w &&
        TONE_WORDS.has(w) &&
        !/^(and|but|yet|a|an|with|very|slightly|little|bit|tone|vibe|feel|feeling|voice|style|look|mood)$/.test(w),
    );
}

const DETERMINER = /^(?:a|an|the|our|your|my|introducing|meet|new:)\s+/i;
const LEAD_IN = /^(?:on|for|of)\s+/i;

interface ProductParts {
  product: string;
  qualities: string[];
  benefits: string[];
  occasion?: string;
}

function productPartsEn(clause: string): ProductParts {
  let c = clause.replace(DETERMINER, '').replace(LEAD_IN, '');
  const benefits: string[] = [];
  let occasion: string | undefined;
  // A tail after the noun phrase is a selling point ("that weighs 900 g") or a moment ("for the grill season").
  const tail = /\s+(that|which|with|for|to|in|on|so|from|at|built|made|roasted|delivered|designed)\s+(.+)$/i.exec(c);
  if (tail && tail.index > 0) {
    const t = clean(tail[0]);
    const occ = OCCASIONS.exec(t);
    if (/^for\s+(?:the\s+)?/i.test(t) && occ) occasion = occ[0].toLowerCase();
    else benefits.push(t);
    c = c.slice(0, tail.index);
  }
  const words = c.split(/\s+/).filter(Boolean);
  const lead = OCCASIONS.exec(words[0] ?? '');
  if (lead && words.length > 1 && lead[0].length === words[0].length) {
    occasion ??= words[0].toLowerCase();
    words.shift();
  }
  const qualities: string[] = [];
  while (words.length > 1 && looksLikeQuality(words[0])) qualities.push((words.shift() as string).toLowerCase());
  return { product: words.join(' '), qualities, benefits, occasion };
}

function productPartsZh(clause: string): ProductParts {
  let c = clause.replace(ZH_SALE_SUFFIX, '');
  let occasion: string | undefined;
  const occ = ZH_OCCASIONS.exec(c);
  if (occ && occ.index === 0 && c.length > occ[0].length + 1) {
    occasion = occ[0];
    c = c.slice(occ[0].length);
  }
  const de = c.lastIndexOf('的');
  if (de > 0 && de < c.length - 1) return { product: c.slice(de + 1), qualities: [c.slice(0, de)], benefits: [], occasion };
  return { product: c, qualities: [], benefits: [], occasion };
}

/** Words that are only the kind of brief ("ad", "campaign"), not the product. */
const META_ONLY = /^(?:ad|ads|campaign|promo|promotion|announcement|launch|广告|推广|活动)$/i;

export function parseBrief(brief: string, given: BriefFields = {}): ParsedBrief {
  const raw = clean(brief.replace(/\s--[a-z][\s\S]*$/i, ''));
  const { fields: labelled, rest } = splitLabels(raw);
  const fields: BriefFields = { ...labelled, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v?.trim())) };
  const hidden: string[] = [];
  let text = clean([fields.product, rest].filter(Boolean).join('. '));
  const language = detectLanguage([text, fields.benefit, fields.offer].filter(Boolean).join(' ') || raw);
  const cjk = language === 'zh' || language === 'ja';

  // The offer: given, labelled, or found in the text.
  let offer: Offer | undefined;
  if (fields.offer) {
    const inOffer = findOffer(fields.offer);
    offer = inOffer
      ? { short: inOffer.offer.short, full: trimPunct(fields.offer) }
      : { short: trimPunct(fields.offer), full: trimPunct(fields.offer) };
  }
  const found = findOffer(text);
  if (found) {
    offer ??= found.offer;
    text = found.rest;
  }

  // Who it is for: given, labelled, or "for … runners" in the text. Lifted out either way.
  let audience = fields.audience ? trimPunct(fields.audience) : undefined;
  if (audience) {
    hidden.push(audience);
    text = text.replace(new RegExp(`\\b(?:for|aimed at|targeting)\\s+${escapeRe(audience)}`, 'giu'), ' ').replace(audience, ' ');
  }
  for (let i = 0; i < 3; i++) {
    const a = cjk ? findAudienceZh(text) : language === 'en' ? findAudienceEn(text) : findAudienceEu(text);
    if (!a) break;
    audience ??= a.audience;
    hidden.push(a.audience, trimPunct(a.phrase));
    text = a.rest;
  }

  // How it should feel.
  const tone: string[] = [];
  if (fields.tone)
    tone.push(
      ...(cjk
        ? [trimPunct(fields.tone)]
        : toneWordsOf(fields.tone).length
          ? toneWordsOf(fields.tone)
          : [trimPunct(fields.tone).toLowerCase()]),
    );
  if (!cjk) {
    text = text.replace(TONE_PHRASE, (m, a: string | undefined, b: string | undefined) => {
      if (b) {
        const words = toneWordsOf(b);
        if (!words.length) return m;
        tone.push(...words);
        return ' ';
      }
      const t = toneTail(a ?? '');
      if (!t.tone.length) return m;
      tone.push(...t.tone);
      return ` ${t.keep.replace(/\b(?:in|with) an?\s*$/i, '')} `;
    });
  }

  let clauses = clausesOf(text).filter((c) => {
    if (cjk ? ZH_TONE_WORDS.test(c) : isToneClauseEn(c)) {
      tone.push(...(cjk ? [c] : toneWordsOf(c)));
      return false;
    }
    return !META_ONLY.test(c);
  });
  // The offer's leftovers ("on", "this weekend" already taken) are not clauses of their own.
  clauses = clauses.filter((c) => !/^(?:on|for|at|in|with|and|now|today|all|every|everything)$/i.test(c));
  // "Book a test ride" says what the CTA should be; it is not a selling point.
  clauses = clauses.filter((c, i) => i === 0 || !CTA_CLAUSE.test(c));

  let product = '';
  let qualities: string[] = [];
  const benefits: string[] = [];
  let occasion: string | undefined;
  const leadQualities: string[] = [];
  for (const c of clauses) {
    if (!product) {
      // "Lightweight, waterproof backpack": bare qualities before the product are its qualities.
      if (!cjk && c.split(/\s+/).every((w) => looksLikeQuality(w))) {
        leadQualities.push(...c.toLowerCase().split(/\s+/));
        continue;
      }
      const parts = cjk ? productPartsZh(c) : productPartsEn(c);
      if (!parts.product) continue;
      product = parts.product;
      qualities = [...leadQualities, ...parts.qualities];
      benefits.push(...parts.benefits);
      occasion = parts.occasion;
      continue;
    }
    const occ = cjk ? ZH_OCCASIONS.exec(c) : OCCASIONS.exec(c);
    if (occ && occ[0].length >= c.length - 1) {
      occasion ??= occ[0];
      continue;
    }
    benefits.push(c);
  }
  if (!product && leadQualities.length) product = leadQualities.pop() as string;
  if (fields.benefit) benefits.unshift(...clausesOf(fields.benefit));
  if (!occasion && offer) {
    const occ = (cjk ? ZH_OCCASIONS : OCCASIONS).exec(offer.full);
    if (occ) occasion = occ[0];
  }
  if (!occasion) {
    const occ = (cjk ? ZH_OCCASIONS : OCCASIONS).exec(raw);
    if (occ && !hidden.some((h) => h.includes(occ[0]))) occasion = occ[0];
  }
  if (occasion && !cjk) occasion = occasion.toLowerCase();

  const all = [raw, fields.offer ?? '', fields.benefit ?? ''].join(' ');
  let intent: Intent | undefined = INTENT_CUES.find(([, re]) => re.test(all))?.[0];
  if (!intent && offer) intent = 'sale';
  return {
    language,
    product: trimPunct(product),
    qualities: qualities.map(trimPunct).filter(Boolean),
    benefits: benefits.map(trimPunct).filter((b) => b && !hidden.some((h) => h && b.includes(h))),
    offer,
    occasion,
    audience,
    tone: [...new Set(tone.filter(Boolean))],
    intent,
    hidden: [...new Set(hidden.filter((h) => h && h.length > 1))],
  };
}
