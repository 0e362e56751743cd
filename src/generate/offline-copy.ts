/**
 * Copy without a text model (no OPENAI_API_KEY, or OpenAI down): the brief is parsed into its
 * parts (brief-parse.ts) and each variant takes another angle on them — product and benefit,
 * the offer, a question, the brand, the occasion — written whole to fit the channel's limits
 * (never cut mid-phrase), in the brief's language, with a CTA for what the ad asks people to
 * do. The audience and the tone steer; they are never printed. Feedback shows in the next round:
 * "shorter headline" shortens, an offer leads, other directions change the angles' order.
 */
import { type CountRule, countLength, leadingWords } from '../words.ts';
import { type Offer, type ParsedBrief, parseBrief } from './brief-parse.ts';
import { type CopyContext, type CopyDraft, type Copywriter, finalise, findBanned } from './copy.ts';
import { CTAS, INTENT_CUES, type Intent, LABELS, type Lang, PHRASES } from './lexicon.ts';

export type Angle = 'product' | 'offer' | 'question' | 'brand' | 'benefit' | 'occasion' | 'quality' | 'meet';

/** What feedback asks of the words (the palette and the picture read it too: see mood.ts). */
export interface CopyDirections {
  shorter: boolean;
  /** An offer named in feedback ("make it 30% off"): it leads the headlines. */
  offer?: Offer;
  /** Angles feedback asks for, first. */
  first: Angle[];
}

const SHORTER =
  /\b(short(er)?|concise|brief(er)?|fewer words|less text|too long|punchier|tighter)\b|kürzer|plus court|más corto|短|简洁|精简/iu;

export function readFeedback(feedback: string[]): CopyDirections {
  const text = feedback.join(' \n ');
  const first: Angle[] = [];
  const offer = feedback.length ? parseBrief(text).offer : undefined;
  if (offer) first.push('offer');
  if (/\b(question|ask|curious|playful|fun)\b|问句|提问|俏皮/iu.test(text)) first.push('question');
  if (/\b(brand|logo|name)\b|品牌/iu.test(text)) first.push('brand');
  if (/\b(benefit|why|reason|value|usp)\b|卖点|好处/iu.test(text)) first.push('benefit');
  if (/\b(product|what it is)\b|产品/iu.test(text)) first.push('product');
  return { shorter: SHORTER.test(text), offer, first };
}

const cap = (s: string) => (s ? s[0].toLocaleUpperCase() + s.slice(1) : s);
/** Lower-cases a phrase's first letter unless it is a name ("iPhone", "VoltRide", "TV"). */
const low = (s: string) => (/^[A-Z][a-z]/.test(s) && !/^[A-Z][a-z]+[A-Z]/.test(s) ? s[0].toLowerCase() + s.slice(1) : s);
const plural = (p: string) => /[^s]s$|[^u]s$/.test(p.split(/\s+/).pop() ?? '') && !/(ss|us|is)$/.test(p);
/** Nouns that take no article ("Need coffee?", not "Need a coffee?"). */
const MASS =
  /\b(coffee|tea|water|skincare|sunscreen|food|gear|wear|clothing|furniture|software|insurance|music|equipment|luggage|jewelry|jewellery|makeup|haircare|footwear|apparel|bread|chocolate|wine|beer|juice|milk|cheese|meat|rice|pasta|soap|shampoo|lotion|cream|serum|sunblock|granola|cereal|protein|fuel|energy)$/i;
const article = (p: string) => (plural(p) || MASS.test(p) ? '' : /^[aeiou]/i.test(p) ? 'an ' : 'a ');
const head = (p: string) => p.split(/\s+/).pop() ?? p;
/** A prepositional benefit ("on retirement planning") continues the phrase; others follow a comma. */
const PREP = /^(for|with|on|in|to|from|at|without|that|which)\b/i;
const joinBenefit = (h: string, b: string, first = true) => (first && PREP.test(b) ? `${h} ${b}` : `${h}, ${low(b)}`);

const noAngles = (): Record<Angle, string[]> => ({
  product: [],
  offer: [],
  question: [],
  brand: [],
  benefit: [],
  occasion: [],
  quality: [],
  meet: [],
});

/** Each angle's forms, best first; the first that fits the limit is used. */
function anglesEn(b: ParsedBrief, brandName: string, offer: Offer | undefined, shorter: boolean): Record<Angle, string[]> {
  const p = low(b.product);
  const q = b.qualities[0];
  const full = q ? `${q} ${p}` : p;
  const b0 = b.benefits[0];
  const b1 = b.benefits[1];
  const occ = b.occasion;
  const out = noAngles();
  if (!p) return out;
  const h = head(p);
  // The head noun alone ("Backpack") only when feedback asks for short headlines.
  const hh = shorter && h !== p ? h : '';
  // The head noun in a phrase ("Need sunscreen?") when the whole product name does not fit.
  const hq = h !== p ? h : '';
  out.product = [b0 ? joinBenefit(cap(full), b0) : '', b0 ? joinBenefit(cap(p), b0) : '', cap(full), cap(p), cap(hh)];
  if (offer) {
    const s = offer.short;
    if (/\d\s?%|[$€£]\s?\d|\d\s?(€|dollars|euros)/i.test(s))
      out.offer = [`${cap(s)} ${full}`, `${cap(s)} ${p}`, `${cap(p)}, ${low(s)}`, cap(s)];
    else if (/\bsale\b/i.test(s)) out.offer = [`${cap(s)}: ${full}`, `${cap(s)}: ${p}`, `${cap(p)}, on sale`, cap(s)];
    else out.offer = [`${cap(full)}, ${low(s)}`, `${cap(p)}, ${low(s)}`, `${cap(s)} on ${p}`, cap(s)];
  }
  out.question = [
    occ ? `Ready for ${occ}?` : '',
    `Looking for ${article(full)}${full}?`,
    `Need ${article(p)}${p}?`,
    hq ? `Need ${article(hq)}${hq}?` : '',
  ];
  if (brandName && !p.toLowerCase().includes(brandName.toLowerCase()))
    out.brand = [`${cap(full)} from ${brandName}`, `${cap(p)} from ${brandName}`, `${brandName} ${p}`, hq ? `${brandName} ${hq}` : ''];
  // A benefit stands alone as a headline unless it only makes sense after the product ("On retirement planning").
  // "that does not sting your eyes" stands alone as "Does not sting your eyes".
  const alone = (x: string | undefined) => {
    const y = x?.replace(/^(that|which)\s+/i, '');
    return y && !/^(on|in|to|from|at)\b/i.test(y) ? y : undefined;
  };
  const s0 = alone(b0);
  const s1 = alone(b1);
  if (s0) out.benefit = [s1 ? `${cap(s0)}, ${low(s1)}` : '', cap(s0)];
  else if (s1) out.benefit = [cap(s1)];
  if (occ) {
    const oneWord = !/\s/.test(occ);
    out.occasion = oneWord
      ? [`${cap(occ)}-ready ${full}`, `${cap(occ)}-ready ${p}`, `Your ${occ} ${p}`]
      : [`${cap(full)} for the ${occ}`, `${cap(p)} for the ${occ}`, `${cap(p)} for ${occ}`];
  }
  if (b.qualities.length >= 2)
    out.quality = [`${cap(b.qualities[0])}. ${cap(b.qualities[1])}. ${cap(p)}.`, `${cap(b.qualities[0])} and ${b.qualities[1]}`];
  else if (q) out.quality = [h !== p ? `${cap(q)} ${h}` : '', shorter ? `${cap(q)}.` : ''];
  // "Meet your new webinar" is not something people say: products and apps only.
  if (b.intent !== 'lead') {
    out.meet = plural(p) ? [`Meet your new ${p}`] : [`Meet your new ${p}`, `Meet the ${p}`];
    if (hq) out.meet.push(`Meet your new ${hq}`);
  }
  return out;
}

function anglesCjk(b: ParsedBrief, brandName: string, offer: Offer | undefined, lang: 'zh' | 'ja'): Record<Angle, string[]> {
  const p = b.product;
  const q = b.qualities[0];
  const full = q ? (lang === 'zh' ? `${q}的${p}` : `${q}${p}`) : p;
  const b0 = b.benefits[0];
  const occ = b.occasion;
  const comma = lang === 'zh' ? '，' : '、';
  const brand = brandName ? `${brandName}${/[A-Za-z0-9]$/.test(brandName) ? ' ' : ''}` : '';
  const out = noAngles();
  if (!p) return out;
  out.product = [b0 ? `${full}${comma}${b0}` : '', full, p];
  if (offer) out.offer = [`${offer.short}｜${full}`, `${occ ?? ''}${p}${comma}${offer.short}`, `${offer.short}｜${p}`, offer.short];
  out.question = [occ ? PHRASES[lang].ready(occ) : '', PHRASES[lang].looking(full), PHRASES[lang].looking(p)];
  if (brand)
    out.brand = lang === 'zh' ? [q ? `${brand}${p}：${q}` : '', `${brand}${p}`] : [q ? `${brand}${p}：${q}` : '', `${brandName}の${p}`];
  if (b0) out.benefit = [b0];
  if (occ) out.occasion = lang === 'zh' ? [`${occ}必备${p}`, `${occ}就选${p}`] : [`${occ}に${p}`];
  if (q) out.quality = [`${p}${comma}${q}`];
  return out;
}

function anglesEu(b: ParsedBrief, brandName: string, offer: Offer | undefined, lang: 'de' | 'fr' | 'es'): Record<Angle, string[]> {
  const p = b.product;
  const b0 = b.benefits[0];
  const occ = b.occasion;
  const colon = lang === 'fr' ? ' : ' : ': ';
  const out = noAngles();
  if (!p) return out;
  out.product = [b0 ? `${cap(p)}${colon}${b0}` : '', cap(p)];
  if (offer) out.offer = [`${cap(offer.short)}${colon}${p}`, `${cap(p)}, ${offer.short}`, cap(offer.short)];
  out.question = [occ ? PHRASES[lang].ready(occ) : ''];
  if (brandName) out.brand = [PHRASES[lang].by(cap(p), brandName)];
  if (b0) out.benefit = [cap(b0)];
  return out;
}

const DEFAULT_ORDER: Angle[] = ['product', 'offer', 'question', 'brand', 'benefit', 'occasion', 'quality', 'meet'];

/** Rotates `list` by `n` places (feedback rounds start from another angle). */
const rotate = <T>(list: T[], n: number) => (list.length ? [...list.slice(n % list.length), ...list.slice(0, n % list.length)] : list);

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The CTA for an intent in a language; a brand's English CTA is read for its intent when the ad is not English. */
function ctasFor(b: ParsedBrief, brandCta: string, offer: Offer | undefined): string[] {
  const lang: Lang = b.language;
  const out: string[] = [];
  if (b.intent) out.push(CTAS[b.intent][lang]);
  if (brandCta) {
    if (lang === 'en') {
      // The kit's CTA, unless it asks for something else than the brief (a sale is not a test ride).
      const kitIntent = INTENT_CUES.find(([, re]) => re.test(brandCta))?.[0];
      if (!b.intent || kitIntent === b.intent || (b.intent === 'sale' && kitIntent === 'order')) out.push(brandCta);
    } else {
      const kitIntent: Intent = INTENT_CUES.find(([, re]) => re.test(brandCta))?.[0] ?? 'learn';
      if (!b.intent) out.push(CTAS[kitIntent][lang]);
    }
  }
  if (b.intent === 'sale' && offer && lang === 'en' && /^\d{1,2}\s?% off$/i.test(offer.short)) out.push(`Get ${offer.short}`);
  if (b.intent === 'sale' && lang === 'zh') out.push('立即抢购');
  if (!out.length) out.push(CTAS.learn[lang]);
  return [...new Set(out)];
}

function bodiesFor(b: ParsedBrief, brandName: string, description: string, offer: Offer | undefined): string[] {
  const lang = b.language;
  const p = b.product;
  if (!p) return [];
  const bodies: string[] = [];
  if (lang === 'zh' || lang === 'ja') {
    const stop = '。';
    const comma = lang === 'zh' ? '，' : '、';
    const q = b.qualities[0];
    const full = q ? (lang === 'zh' ? `${q}的${p}` : `${q}${p}`) : p;
    const first = `${full}${b.benefits.length ? comma + b.benefits.join(comma) : ''}${stop}`;
    const off = offer ? `${offer.full}${lang === 'zh' ? '！' : '！'}` : '';
    const sign = brandName ? `${brandName}${lang === 'zh' ? '出品' : ''}${stop}` : '';
    bodies.push(first + off + sign);
    if (off) bodies.push(off + first + sign);
    bodies.push(`${PHRASES[lang].looking(full)}${brandName ? `${brandName} ` : ''}${p}${q ? comma + q : ''}${stop}${off}`);
    return bodies;
  }
  const q = b.qualities[0];
  const full = cap(q ? `${q} ${low(p)}` : p);
  let product = full;
  b.benefits.forEach((x, i) => {
    product = joinBenefit(product, x, i === 0);
  });
  const first = `${product}.`;
  const saleOnly = offer && /^(?:[a-z]+ )*sale$/i.test(offer.full);
  const off = offer ? (saleOnly && lang === 'en' ? `${cap(offer.full)} on ${low(p)}.` : `${cap(offer.full)}.`) : '';
  const about = lang === 'en' && description ? description.replace(/\s*$/, '').replace(/([^.!?])$/, '$1.') : '';
  const sign = brandName ? `— ${brandName}` : '';
  // A bare product sentence adds nothing next to an offer that names the product ("Summer sale on running shoes.").
  const lead = saleOnly && !b.qualities.length && !b.benefits.length ? '' : first;
  bodies.push([lead, off, about].filter(Boolean).join(' ') + (about.includes(brandName) || !sign ? '' : ` ${sign}`));
  if (off && lead) bodies.push([off, lead, sign].filter(Boolean).join(' '));
  if (lang === 'en')
    bodies.push(
      [`${PHRASES.en.looking(`${article(low(full))}${low(full)}`)}`, brandName ? `${brandName} has you covered.` : lead, off]
        .filter(Boolean)
        .join(' '),
    );
  return bodies;
}

/** Sentences dropped from the end until the body fits; the brand sign-off kept when it can be. */
function fitBody(text: string, max: number, rule: CountRule, brandName: string): string {
  if (countLength(text, rule) <= max) return text;
  const sentences = text.match(/[^.!?。！？]+[.!?。！？]+|[^.!?。！？]+$/gu)?.map((s) => s.trim()) ?? [text];
  const sign = brandName ? (/[\u3040-\u9fff]/u.test(text) ? `${brandName}` : `— ${brandName}`) : '';
  for (let n = sentences.length - 1; n >= 1; n--) {
    const base = sentences.slice(0, n).join(/[\u3040-\u9fff]/u.test(text) ? '' : ' ');
    const withSign = sign && !base.includes(brandName) ? `${base} ${sign}` : base;
    if (countLength(withSign, rule) <= max) return withSign;
    if (countLength(base, rule) <= max) return base;
  }
  return leadingWords(text, max, rule);
}

/** True when the text shows something no consumer should read: the audience, a form label. */
export function showsHidden(text: string, b: ParsedBrief): boolean {
  const t = text.toLowerCase();
  if (b.hidden.some((h) => h.length > 1 && t.includes(h.toLowerCase()))) return true;
  return Object.keys(LABELS).some((l) => new RegExp(`(^|[\\s.;])${l}\\s*[:：]`, 'iu').test(text));
}

/**
 * Up to `count` distinct (headline, body, CTA) index triples, in the order that changes the most
 * visible part first: every headline once before a headline repeats, and a repeated headline with
 * another body or CTA. Variants repeat only when fewer than `count` combinations exist.
 */
export function distinctCombos(h: number, b: number, c: number, count: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  // Stage s holds the body/CTA pairs whose indexes sum to s; within a stage every headline comes once.
  for (let stage = 0; stage <= b + c - 2 && out.length < count; stage++) {
    for (let j = 0; j <= stage && out.length < count; j++) {
      const k = stage - j;
      if (j >= b || k >= c) continue;
      for (let i = 0; i < h && out.length < count; i++) out.push([i, j, k]);
    }
  }
  return out.length ? out : [[0, 0, 0]];
}

export interface OfflineHeadline {
  text: string;
  angle: Angle | 'library' | 'leader';
}

/** The headlines for a brief, one per angle, each the best form that fits, in the order variants take them. */
export function offlineHeadlines(ctx: CopyContext, parsed = parseBrief(ctx.brief, ctx.fields)): OfflineHeadline[] {
  const dir = readFeedback(ctx.feedback);
  const rule = ctx.limits.count;
  const limit = ctx.limits.headline.max;
  // "Shorter headline": visibly shorter, not a character less.
  const max = dir.shorter ? Math.max(8, Math.round(limit * 0.6)) : limit;
  const brandName = ctx.brand.mustSay[0] ?? ctx.brand.displayName;
  const offer = dir.offer ?? parsed.offer;
  const lang = parsed.language;
  const angles =
    lang === 'en'
      ? anglesEn(parsed, brandName, offer, dir.shorter)
      : lang === 'zh' || lang === 'ja'
        ? anglesCjk(parsed, brandName, offer, lang)
        : anglesEu(parsed, brandName, offer, lang);
  const usable = (s: string) =>
    s.trim() !== '' && countLength(s, rule) <= max && !findBanned(s, ctx.brand.neverSay).length && !showsHidden(s, parsed);
  // An offer leads when there is one: the brief's own, or one feedback asked for.
  const first = offer && !dir.first.includes('offer') ? ['offer' as const, ...dir.first] : dir.first;
  let order = [...first, ...DEFAULT_ORDER.filter((a) => !first.includes(a))];
  // A feedback round without a directive the words understand still opens on another angle.
  if (ctx.feedback.length && !dir.first.length) order = rotate(order, 1 + (hash(ctx.feedback.join('|')) % (order.length - 1)));
  else if (ctx.feedback.length) order = [...first, ...rotate(order.slice(first.length), 1 + (hash(ctx.feedback.join('|')) % 5))];
  const out: OfflineHeadline[] = [];
  const seen = new Set<string>();
  const add = (text: string, angle: OfflineHeadline['angle']) => {
    const key = text.toLowerCase();
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ text, angle });
  };
  // The same brand's past headline that performed best comes third: a proven line next to the new angles.
  const proven = ctx.inspiration
    .filter((i) => i.brand !== undefined && i.brand === ctx.brand.name && usable(i.headline))
    .sort((x, y) => y.ctr * (0.5 + y.similarity) - x.ctr * (0.5 + x.similarity));
  order.forEach((a, k) => {
    const form = angles[a].find(usable);
    if (form) add(form, a);
    if (k === 1 && proven[0]) add(proven[0].headline, 'library');
  });
  for (const i of proven) add(i.headline, 'library');
  // Then the other forms of each angle, so variants still differ when angles run out.
  for (const a of order) for (const form of angles[a].filter(usable)) add(form, a);
  if (dir.offer) {
    // An offer the team asked for leads every headline it fits in, not just one of them.
    const lead = cap(dir.offer.short);
    const led = out
      .filter((h) => h.angle !== 'question')
      .map((h) => (h.angle === 'offer' ? h : { ...h, text: `${lead}: ${lang === 'en' ? low(h.text) : h.text}` }));
    const fits = led.filter((h) => usable(h.text) && !seen.has(h.text.toLowerCase()));
    const offerFirst = out.filter((h) => h.angle === 'offer');
    const rest = out.filter((h) => h.angle !== 'offer');
    out.splice(0, out.length, ...offerFirst, ...fits, ...rest);
  }
  if (ctx.leader && usable(ctx.leader.headline)) {
    // The leader's headline stays available, after the new angles.
    const i = out.findIndex((h) => h.text === ctx.leader?.headline);
    if (i >= 0) out.push(...out.splice(i, 1));
    else add(ctx.leader.headline, 'leader');
  }
  if (!out.length) {
    const fallback = leadingWords(cap(parsed.product || brandName || ctx.brief), max, rule) || brandName;
    if (fallback) add(fallback, 'product');
  }
  if (dir.shorter) out.sort((x, y) => countLength(x.text, rule) - countLength(y.text, rule));
  return out;
}

export function createOfflineCopywriter(): Copywriter {
  return {
    offline: true,
    async write(ctx) {
      const parsed = parseBrief(ctx.brief, ctx.fields);
      const dir = readFeedback(ctx.feedback);
      const offer = dir.offer ?? parsed.offer;
      const rule = ctx.limits.count;
      const brandName = ctx.brand.mustSay[0] ?? ctx.brand.displayName;
      const clean = (s: string) => !findBanned(s, ctx.brand.neverSay).length && !showsHidden(s, parsed);
      // Selling points with a never-say word ("cheap shipping" for a brand that never says cheap) go.
      const safe: ParsedBrief = { ...parsed, benefits: parsed.benefits.filter(clean) };
      const headlines = offlineHeadlines(ctx, safe);

      const bodies = [
        ...new Set(
          bodiesFor(safe, brandName, ctx.brand.description, offer)
            .map((t) => fitBody(t, ctx.limits.body.max, rule, brandName))
            .filter((t) => t && clean(t)),
        ),
      ];
      // The same brand's past bodies, then the leader's, as further options.
      for (const i of ctx.inspiration)
        if (i.brand === ctx.brand.name && clean(i.body) && countLength(i.body, rule) <= ctx.limits.body.max && !bodies.includes(i.body))
          bodies.push(i.body);
      if (!bodies.length) bodies.push(fitBody(headlines[0]?.text ?? brandName ?? '', ctx.limits.body.max, rule, brandName));

      const ctas = ctasFor(safe, ctx.brand.defaultCta, offer).filter((c) => clean(c) && countLength(c, rule) <= ctx.limits.cta.max);
      if (!ctas.length) ctas.push(CTAS.learn[safe.language]);

      const direction = [
        safe.tone.length ? `mood: ${safe.tone.join(', ')}` : '',
        safe.occasion ? `moment: ${safe.occasion}` : '',
        ctx.feedback.length ? `reflecting: ${ctx.feedback.slice(-3).join('; ')}` : '',
      ]
        .filter(Boolean)
        .join('; ');
      const subject = [safe.qualities[0], safe.product].filter(Boolean).join(safe.language === 'zh' ? '的' : ' ') || ctx.brief.slice(0, 80);
      // Enough headlines: each variant its own, with the bodies and CTAs taken in turn alongside.
      const combos: [number, number, number][] =
        headlines.length >= ctx.count
          ? Array.from({ length: ctx.count }, (_, i) => [i, i % bodies.length, i % ctas.length])
          : distinctCombos(headlines.length, bodies.length, ctas.length, ctx.count);
      const drafts: CopyDraft[] = [];
      for (let i = 0; i < ctx.count; i++) {
        const [h, b, c] = combos[i % combos.length];
        const d: CopyDraft = {
          headline: headlines[h].text,
          body: bodies[b],
          cta: ctas[c],
          concept: `${subject}${direction ? `; ${direction}` : ''}; angle: ${headlines[h].angle}; variation ${i + 1}`,
          flags: ['offline copy: written from the brief by rules (no OPENAI_API_KEY)'],
          offline: true,
        };
        const r = finalise(d, ctx);
        if (r.draft) drafts.push(r.draft);
      }
      return { drafts, failures: [], textCalls: 0 };
    },
  };
}
