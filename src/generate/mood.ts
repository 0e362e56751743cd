/**
 * The offline studio's palette: the brief's mood ("bright, energetic summer" is warm and
 * saturated, "calm, caring" soft) with the brand's accent kept in it, then the team's feedback
 * about colour applied on top ("warmer colours", "more blue", "darker", "更温暖"). Pure colour
 * arithmetic in HSL; no model.
 */
import type { ParsedBrief } from './brief-parse.ts';

type HSL = [number, number, number];

function hexToHsl(hex: string): HSL {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex.trim());
  const n = m ? Number.parseInt(m[1], 16) : 0x808080;
  const r = ((n >> 16) & 255) / 255;
  const g = ((n >> 8) & 255) / 255;
  const b = (n & 255) / 255;
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const l = (max + min) / 2;
  if (max === min) return [0, 0, l];
  const d = max - min;
  const s = l > 0.5 ? d / (2 - max - min) : d / (max + min);
  let h = max === r ? (g - b) / d + (g < b ? 6 : 0) : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  h *= 60;
  return [h, s, l];
}

function hslToHex([h, s, l]: HSL): string {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const x = c * (1 - Math.abs(((h / 60) % 2) - 1));
  const m = l - c / 2;
  const [r, g, b] = h < 60 ? [c, x, 0] : h < 120 ? [x, c, 0] : h < 180 ? [0, c, x] : h < 240 ? [0, x, c] : h < 300 ? [x, 0, c] : [c, 0, x];
  return `#${[r, g, b]
    .map((v) =>
      Math.round(Math.max(0, Math.min(1, v + m)) * 255)
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;
}

const clamp = (x: number, lo = 0, hi = 1) => Math.max(lo, Math.min(hi, x));
const wrapHue = (h: number) => ((h % 360) + 360) % 360;

/** Moves hue `h` toward `target` by `share` of the shorter way round. */
function towardHue(h: number, target: number, share: number): number {
  const d = ((target - h + 540) % 360) - 180;
  return wrapHue(h + d * share);
}

export type Mood = 'bright' | 'warm' | 'calm' | 'fresh' | 'cool' | 'premium' | 'urban';

/** Palettes by mood: two background tones, a motif colour, a highlight. */
const MOOD_PALETTES: Record<Mood, string[]> = {
  bright: ['#FFC93C', '#FF7A3D', '#FFE8A3', '#2EC4B6'],
  warm: ['#E07A5F', '#F2A65A', '#F6D8B8', '#81B29A'],
  calm: ['#F4E3D7', '#E8C2CA', '#A8C5BE', '#8E7DBE'],
  fresh: ['#95D5B2', '#52B788', '#E9F5DB', '#FFD166'],
  cool: ['#A9D6E5', '#2C7DA0', '#E0FBFC', '#89C2D9'],
  premium: ['#1C1C22', '#3A3A44', '#C9A227', '#F5F0E6'],
  urban: ['#2B2D42', '#4A4E69', '#F2E94E', '#EF233C'],
};

const MOOD_WORDS: [Mood, RegExp][] = [
  [
    'bright',
    /\b(bright|energetic|energ\w+|vibrant|summer\w*|sunny|sun|playful|fun|lively|upbeat|cheerful|exciting|sporty|colou?rful|festive|bold)\b|活力|明亮|夏|阳光|动感|热情|活泼|缤纷/iu,
  ],
  ['warm', /\b(warm|cozy|cosy|autumn|fall|coffee|roast\w*|grill\w*|rustic|earthy|homely|comfort\w*|spicy)\b|温暖|温馨|秋|咖啡/iu],
  ['calm', /\b(calm|gentle|soft|caring|soothing|relaxed|quiet|serene|skin\w*|spa|sleep|dreamy|pastel)\b|温柔|温和|舒缓|宁静|柔和|护肤/iu],
  ['fresh', /\b(fresh|green|natural|organic|plant\w*|garden|eco\w*|vegan|leaf|herbal|spring)\b|清新|清爽|自然|绿色|植物|春/iu],
  [
    'cool',
    /\b(cool|winter|ice|icy|ocean|sea|water|hydrat\w*|clean|tech|crisp|arctic|sunscreen|apps?|software|digital|fintech|saas|cloud|budget\w*)\b|清凉|冰|海|冬|科技|防晒|应用|软件/iu,
  ],
  ['premium', /\b(premium|luxur\w*|elegant|sophisticated|exclusive|night|evening|gold|black tie|refined)\b|高级|奢华|优雅|尊贵|黑金/iu],
  ['urban', /\b(urban|city|commut\w*|street|e-?bike|ride|speed|fast|edgy|night ?life)\b|城市|通勤|街头|都市/iu],
];

/** The moods a text speaks of, strongest (earliest listed word) first. */
export function moodsOf(text: string): Mood[] {
  const found = MOOD_WORDS.map(([m, re]) => ({ m, at: re.exec(text)?.index ?? -1 })).filter((x) => x.at >= 0);
  return found.sort((a, b) => a.at - b.at).map((x) => x.m);
}

const NAMED_HUES: [RegExp, number, number?][] = [
  [/\b(red|reds|crimson)\b|红/iu, 355],
  [/\b(orange|oranges|coral)\b|橙|橘/iu, 25],
  [/\b(yellow|yellows|golden|gold)\b|黄|金/iu, 48],
  [/\b(green|greens)\b|绿/iu, 140],
  [/\b(teal|turquoise|aqua|mint)\b|青|薄荷/iu, 175],
  [/\b(blue|blues|navy)\b|蓝/iu, 215],
  [/\b(purple|violet|lilac|lavender)\b|紫/iu, 275],
  [/\b(pink|pinks|rose|blush)\b|粉/iu, 335],
];

export interface PaletteChoice {
  /** #rrggbb, background tones first. */
  palette: string[];
  /** What shaped it, for the variant's concept and flags ("mood: bright", "feedback: warmer"). */
  reasons: string[];
}

/**
 * The studio palette for a brief: its mood's palette with the brand's accent as highlight, or
 * the brand's own colours when the brief names no mood; then feedback about colour.
 */
export function studioPalette(p: {
  brief: Pick<ParsedBrief, 'tone' | 'product' | 'occasion' | 'qualities'> & { text: string };
  brand: { primary: string; accent: string; text: string };
  feedback: string[];
}): PaletteChoice {
  const reasons: string[] = [];
  const moodText = [p.brief.tone.join(' '), p.brief.occasion ?? '', p.brief.qualities.join(' '), p.brief.product, p.brief.text].join(' ');
  const moods = moodsOf(moodText);
  let hsl: HSL[];
  if (moods.length) {
    const base = MOOD_PALETTES[moods[0]];
    // The brand's accent stays in the picture as the highlight.
    hsl = [...base.slice(0, 3), p.brand.accent].map(hexToHsl);
    if (moods[1]) hsl[2] = hexToHsl(MOOD_PALETTES[moods[1]][1]);
    reasons.push(`mood: ${moods.slice(0, 2).join(', ')}`);
  } else {
    const pr = hexToHsl(p.brand.primary);
    hsl = [pr, [pr[0], pr[1], clamp(pr[2] + 0.25)], hexToHsl(p.brand.accent), [pr[0], clamp(pr[1] * 0.4), clamp(pr[2] + 0.45)]];
    reasons.push('brand colours');
  }

  for (const f of p.feedback) {
    const t = f.toLowerCase();
    if (/\b(warm(er)?|hotter|sunn(y|ier))\b|暖|热/iu.test(t)) {
      // Most of the way to orange: a green brand gets gold and amber, not lime.
      hsl = hsl.map(([h, s, l]) => [towardHue(h, 25, 0.85), clamp(s * 1.15 + 0.1), l]);
      reasons.push('feedback: warmer');
    }
    if (/\b(cool(er)?|colder|icier)\b|冷|凉/iu.test(t)) {
      hsl = hsl.map(([h, s, l]) => [towardHue(h, 205, 0.85), s, l]);
      reasons.push('feedback: cooler');
    }
    if (/\b(bright(er)?|light(er)?|vivid|pop|vibrant)\b|亮|鲜/iu.test(t)) {
      hsl = hsl.map(([h, s, l]) => [h, clamp(s * 1.2 + 0.05), clamp(l + 0.15, 0.25, 0.85)]);
      reasons.push('feedback: brighter');
    }
    if (/\b(dark(er)?|moody|deeper)\b|暗|深/iu.test(t)) {
      hsl = hsl.map(([h, s, l]) => [h, s, clamp(l - 0.2, 0.08, 0.8)]);
      reasons.push('feedback: darker');
    }
    if (/\b(muted|softer|subtle|pastel|less saturated)\b|柔和|淡/iu.test(t)) {
      hsl = hsl.map(([h, s, l]) => [h, clamp(s * 0.55), clamp(l + 0.08)]);
      reasons.push('feedback: softer');
    }
    for (const [re, hue] of NAMED_HUES) {
      if (re.test(t) && !/\bno |not |less |without /i.test(t.slice(0, (re.exec(t)?.index ?? 0) + 1))) {
        // A named colour takes over the background and the motif keeps its contrast.
        hsl[0] = [hue, clamp(Math.max(hsl[0][1], 0.6)), clamp(hsl[0][2], 0.35, 0.7)];
        hsl[1] = [towardHue(hue, hsl[1][0], 0.2), clamp(Math.max(hsl[1][1], 0.5)), clamp(hsl[1][2], 0.3, 0.75)];
        reasons.push(`feedback: ${re.exec(t)?.[0]}`);
      }
    }
  }
  return { palette: hsl.map(hslToHex), reasons };
}

/** Mean hue-weighted warmth of a palette, -1 (cold blue) to 1 (warm orange): for checks and tests. */
export function warmth(palette: string[]): number {
  let sum = 0;
  let w = 0;
  for (const c of palette) {
    const [h, s] = hexToHsl(c);
    sum += Math.cos(((h - 30) * Math.PI) / 180) * s;
    w += s;
  }
  return w ? sum / w : 0;
}

/** True when feedback talks about colour (then a picture in the new colours beats the leader's). */
export function asksForColour(feedback: string[]): boolean {
  const t = feedback.join(' ');
  return (
    /\b(colou?rs?|palette|warm(er)?|cool(er)?|bright(er)?|dark(er)?|muted|pastel|vivid|saturat\w*|tone|hue)\b|颜色|色|暖|冷|亮|暗/iu.test(
      t,
    ) || NAMED_HUES.some(([re]) => re.test(t))
  );
}

/** Feedback that asks to see the product: the reference image goes first, in every candidate. */
export function asksForProduct(feedback: string[]): boolean {
  return /\b(show|see|feature|use)\b[^.!?]{0,20}\b(product|item|photo|picture|shot|image)\b|\bproduct (shot|photo|image|first)\b|展示产品|产品图|看到产品|产品照片/iu.test(
    feedback.join(' '),
  );
}
