/**
 * The demo library: seeded creatives for the five demo brands across four channels and four
 * formats, drawn by the project itself (src/image/demo-art.ts) with plausible metrics, so a
 * fresh install has something to retrieve. Every row carries `demo: true` and source "demo".
 */
import { drawDemoCreative } from '../image/demo-art.ts';
import { mulberry32 } from '../random.ts';
import { CHANNELS, type ChannelName, FORMATS, type FormatName } from '../vocabulary.ts';
import type { AddResult, Library, NewCreative } from './types.ts';

export interface DemoBrand {
  name: string;
  category: string;
  palette: [string, string, string];
  headlines: string[];
  bodies: string[];
  ctas: string[];
  tags: string[];
}

export const DEMO_BRANDS: DemoBrand[] = [
  {
    name: 'acme',
    category: 'outdoor gear',
    palette: ['#1F6F50', '#F2C14E', '#FFFFFF'],
    headlines: [
      'Built for the long trail',
      'Your weekend starts at the trailhead',
      'Rain shell, zero excuses',
      'Pack light. Go further.',
      'Summit-tested tents',
      'Gear up for first frost',
      'Boots that break in, not down',
      'Camp anywhere this summer',
    ],
    bodies: [
      'Waterproof jackets and packs tested on real mountains.',
      'Lightweight tents that pitch in under three minutes.',
      'Hiking boots with a lifetime repair promise.',
      'Everything you need for a night under the stars.',
    ],
    ctas: ['Shop now', 'Explore gear', 'Find your kit'],
    tags: ['outdoor', 'hiking', 'camping'],
  },
  {
    name: 'northwind',
    category: 'coffee',
    palette: ['#4B2E2B', '#C08552', '#FFF8F0'],
    headlines: [
      'Roasted Monday, at your door Wednesday',
      'Mornings, but better',
      'Single origin, single tap',
      'Your new favourite espresso',
      'Cold brew season is here',
      'Taste the highlands of Ethiopia',
      'Decaf that tastes like coffee',
      'A subscription worth waking up for',
    ],
    bodies: [
      'Small-batch beans roasted to order and shipped fresh.',
      'Pick your grind, pick your schedule, skip anytime.',
      'Smooth, chocolatey and fairly traded.',
      'Barista-grade coffee at home in two minutes.',
    ],
    ctas: ['Order now', 'Start a subscription', 'Try a sample'],
    tags: ['coffee', 'subscription', 'breakfast'],
  },
  {
    name: 'lumen',
    category: 'skincare',
    palette: ['#F7E1D7', '#B56576', '#2D2D2D'],
    headlines: [
      'Glow that lasts all day',
      'Three steps to calmer skin',
      'Vitamin C, minus the sting',
      'Your skin barrier will thank you',
      'SPF you will actually wear',
      'Dermatologist-approved hydration',
      'Night serum, morning radiance',
      'Clean ingredients, real results',
    ],
    bodies: [
      'Gentle formulas for sensitive skin, tested by dermatologists.',
      'Fragrance-free hydration with ceramides and niacinamide.',
      'A lightweight mineral sunscreen with no white cast.',
      'Visible results in four weeks or your money back.',
    ],
    ctas: ['Shop the routine', 'Take the skin quiz', 'Get 15% off'],
    tags: ['skincare', 'beauty', 'wellness'],
  },
  {
    name: 'voltride',
    category: 'e-bikes',
    palette: ['#0B132B', '#3A86FF', '#FFBE0B'],
    headlines: [
      'Beat traffic, not your legs',
      'Your commute, electrified',
      '80 km on a single charge',
      'Hills are optional now',
      'Park the car for good',
      'Test ride this weekend',
      'Folding e-bike for city life',
      'Cargo bike for the school run',
    ],
    bodies: [
      'Pedal-assist e-bikes with a range that outlasts your week.',
      'Lightweight frames, hydraulic brakes and app-connected locks.',
      'Zero-interest financing and free servicing for a year.',
      'Carry kids, groceries and gear without breaking a sweat.',
    ],
    ctas: ['Book a test ride', 'Shop e-bikes', 'See financing'],
    tags: ['e-bike', 'commute', 'cycling'],
  },
  {
    name: 'fernleaf',
    category: 'plant-based food',
    palette: ['#2D6A4F', '#95D5B2', '#FFFFFF'],
    headlines: [
      'Plant-based, flavour-first',
      'Burgers that happen to be plants',
      'Weeknight dinners in 15 minutes',
      'Protein without compromise',
      'Meet your new barbecue favourite',
      'Oat milk that froths like a dream',
      'Good for you, great for the planet',
      'Family-size plant-based meals',
    ],
    bodies: [
      'Juicy plant-based burgers with 20 g of protein.',
      'Ready meals made from whole foods, no artificial anything.',
      'Creamy oat milk for coffee, cereal and baking.',
      'Less carbon, more flavour, same price as the usual.',
    ],
    ctas: ['Find in stores', 'Get recipes', 'Order a box'],
    tags: ['plant-based', 'food', 'vegan'],
  },
];

/** Drawn small: enough for CLIP's 224 px input and cheap to embed. */
const SIZES: Record<FormatName, [number, number]> = { square: [512, 512], portrait: [512, 640], story: [432, 768], landscape: [600, 314] };
/** Typical click-through rates by channel, so the demo's CTRs look like real accounts. */
const CHANNEL_CTR: Record<ChannelName, number> = { meta: 0.011, google: 0.021, linkedin: 0.0065, tiktok: 0.009 };

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

export interface DemoSpec {
  index: number;
  brand: DemoBrand;
  channel: ChannelName;
  format: FormatName;
  headline: string;
  body: string;
  cta: string;
  motif: number;
  seed: number;
  impressions: number;
  clicks: number;
  conversions: number;
  createdAt: Date;
  tags: string[];
}

/** The demo's creatives as data (no pixels yet), deterministic for a seed. */
export function demoSpecs(count: number, seed: number): DemoSpec[] {
  const r = mulberry32(seed);
  const base = Date.UTC(2026, 0, 1);
  const out: DemoSpec[] = [];
  for (let i = 0; i < count; i++) {
    const brand = DEMO_BRANDS[i % DEMO_BRANDS.length];
    const channel = CHANNELS[Math.floor(i / DEMO_BRANDS.length) % CHANNELS.length];
    const format = FORMATS[Math.floor(r() * FORMATS.length)];
    const headline = brand.headlines[Math.floor(r() * brand.headlines.length)];
    const motif = Math.floor(r() * 5);
    // Impressions log-normal around ~8k; CTR = channel rate × a per-creative quality factor.
    const impressions = Math.max(200, Math.round(Math.exp(9 + 1.2 * gaussian(r))));
    const quality = Math.exp(0.45 * gaussian(r)) * (motif === 3 ? 1.25 : 1);
    const ctr = Math.min(0.2, CHANNEL_CTR[channel] * quality);
    const clicks = Math.max(0, Math.min(impressions, Math.round(impressions * ctr + Math.sqrt(impressions * ctr) * gaussian(r))));
    const conversions = Math.max(0, Math.round(clicks * (0.02 + r() * 0.06)));
    out.push({
      index: i,
      brand,
      channel,
      format,
      headline,
      body: brand.bodies[Math.floor(r() * brand.bodies.length)],
      cta: brand.ctas[Math.floor(r() * brand.ctas.length)],
      motif,
      seed: Math.floor(r() * 2 ** 31),
      impressions,
      clicks,
      conversions,
      createdAt: new Date(base - Math.floor(r() * 365) * 86_400_000),
      tags: [...brand.tags, channel, format],
    });
  }
  return out;
}

export async function drawDemo(spec: DemoSpec): Promise<NewCreative> {
  const [width, height] = SIZES[spec.format];
  const image = await drawDemoCreative({
    width,
    height,
    palette: spec.brand.palette,
    brand: spec.brand.name.toUpperCase(),
    headline: spec.headline,
    cta: spec.cta,
    motif: spec.motif,
    seed: spec.seed,
    label: 'DEMO',
  });
  return {
    image,
    fileName: `demo-${String(spec.index + 1).padStart(4, '0')}-${spec.brand.name}-${spec.channel}-${spec.format}.jpg`,
    source: 'demo',
    brand: spec.brand.name,
    channel: spec.channel,
    format: spec.format,
    headline: spec.headline,
    body: spec.body,
    cta: spec.cta,
    tags: spec.tags,
    impressions: spec.impressions,
    clicks: spec.clicks,
    conversions: spec.conversions,
    createdAt: spec.createdAt,
    demo: true,
  };
}

/**
 * Draws, embeds and adds the demo creatives (default 240, seed 7) in batches. Running it again
 * with the same seed updates the same rows rather than adding more.
 */
export async function buildDemoLibrary(
  library: Library,
  opts: { count?: number; seed?: number; batch?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<AddResult> {
  const specs = demoSpecs(opts.count ?? 240, opts.seed ?? 7);
  const batch = opts.batch ?? 32;
  const result: AddResult = { ingested: 0, updated: 0, ids: [], failed: [] };
  for (let i = 0; i < specs.length; i += batch) {
    const items = await Promise.all(specs.slice(i, i + batch).map(drawDemo));
    const r = await library.add(items);
    result.ingested += r.ingested;
    result.updated += r.updated;
    result.ids.push(...r.ids);
    result.failed.push(...r.failed);
    opts.onProgress?.(Math.min(specs.length, i + batch), specs.length);
  }
  return result;
}
