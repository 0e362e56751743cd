/**
 * A simulated team, for measuring how fast the bot learns a taste (`npm run bench -- taste`)
 * and for tests. Seeded and fast; nothing here is used by the bot.
 *
 * The world: creatives have hidden attributes (image and copy style factors, a brand and how
 * strongly the brand kit shows, the format the visual was composed for) and CLIP-like
 * embeddings made from them: a shared offset (CLIP embeddings of ads sit in a narrow cone),
 * the style factors through fixed random directions, brand and format directions, isotropic
 * noise, L2-normalised. The model sees only the embeddings.
 *
 * The team: members whose utility is a direction over the style factors plus brand and
 * format preferences (the team's shared taste plus each member's own deviation), and a part
 * of the taste outside the style factors (`offSubspace`) that no low-dimensional model can
 * see. Utilities are scaled so the team's varies with unit s.d. among a brief's candidates.
 * Members choose by a logit rule (`decisiveness`), abstain, move their vote from a first
 * impression to a considered pick, take it back, or vote by reaction instead of the button.
 *
 * The library: past creatives across brands and formats with impressions and clicks, whose
 * click rate follows the audience's taste, correlated with the team's by `ctrAlignment`;
 * and past rounds from before the bot, whose winners the team picked and which sit in the
 * library with source "winner:…".
 */
import { createRng, type Rng, shuffle } from '../linalg.ts';
import { FORMATS } from '../vocabulary.ts';
import type { PriorRow } from './taste-prior.ts';

export interface TeamOptions {
  members: number;
  /** S.d. of a member's taste around the team's, relative to the team's. */
  disagreement: number;
  /** Logit scale of a member's choice (higher: fewer surprises). */
  decisiveness: number;
  /** Chance a member does not vote in a round. */
  abstain: number;
  /** Chance a member first clicks a first impression, then moves to a considered pick. */
  move: number;
  /** Chance a member takes their vote back before the round closes. */
  retract: number;
  /** Chance a member votes with a reaction rather than the button. */
  reaction: number;
}

export interface WorldOptions {
  seed: number;
  dims: number;
  /** Style factors per embedding. */
  latent: number;
  brands: number;
  formats: string[];
  team: TeamOptions;
  /** Creatives in the library (past winner rounds add theirs). */
  library: number;
  /** Rounds from before the bot whose winners are in the library. */
  pastRounds: number;
  /** Correlation between what the audience clicks and what the team likes (0: CTR tells nothing). */
  ctrAlignment: number;
  /** Share of the team's utility variance outside the style factors, brand and format. */
  offSubspace: number;
  /** Norm of the embedding noise relative to the style signal. */
  noise: number;
  /** Candidates drawn per brief. */
  candidates: number;
}

export const DEFAULT_TEAM: TeamOptions = {
  members: 5,
  disagreement: 0.5,
  decisiveness: 3,
  abstain: 0.2,
  move: 0.15,
  retract: 0.05,
  reaction: 0.25,
};

export const DEFAULT_WORLD: Omit<WorldOptions, 'seed'> = {
  dims: 512,
  latent: 12,
  brands: 4,
  formats: [...FORMATS],
  team: DEFAULT_TEAM,
  library: 400,
  pastRounds: 24,
  ctrAlignment: 0.5,
  offSubspace: 0.15,
  noise: 0.5,
  candidates: 12,
};

export interface SimCreative {
  id: string;
  brand: string;
  format: string;
  imageEmbedding: Float32Array;
  textEmbedding: Float32Array;
  headline: string;
  body: string;
  /** Hidden: the team's utility (mean of the members'), and each member's. */
  teamUtility: number;
  memberUtility: number[];
}

export interface SimBrief {
  id: string;
  brand: string;
  formats: string[];
  /** The brief's CLIP text embedding (relevance is cos(brief, image)). */
  embedding: Float32Array;
  candidates: SimCreative[];
}

/** One thing a member does in Slack. */
export type VoteAction =
  | { user: string; via: 'button'; variantId: string }
  | { user: string; via: 'reaction'; op: 'add' | 'remove'; variantId: string };

export interface SimWorld {
  options: WorldOptions;
  members: string[];
  library: (PriorRow & { teamUtility: number })[];
  /** Brief `i` (deterministic per seed and index; held-out briefs use their own index range). */
  brief(i: number): SimBrief;
  heldOutBrief(i: number): SimBrief;
  /** What the members do on a round showing `shown` (ids among the brief's candidates). */
  vote(brief: SimBrief, shown: string[], rng: Rng): VoteAction[];
}

interface Hidden {
  zi: Float64Array;
  zt: Float64Array;
  brand: number;
  strength: number;
  format: number;
  off: number;
}

function mix(seed: number, i: number): number {
  let h = (seed ^ Math.imul(i + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function unitVec(rng: Rng, d: number): Float64Array {
  const v = new Float64Array(d);
  let s = 0;
  for (let j = 0; j < d; j++) {
    v[j] = rng.normal();
    s += v[j] * v[j];
  }
  const n = Math.sqrt(s);
  for (let j = 0; j < d; j++) v[j] /= n;
  return v;
}

function gaussian(rng: Rng, n: number, sd = 1): Float64Array {
  return Float64Array.from({ length: n }, () => rng.normal() * sd);
}

/** The team's choice among `ids` under logit noise. */
function logitPick(u: number[], beta: number, rng: Rng): number {
  let best = 0;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < u.length; i++) {
    const g = -Math.log(-Math.log(rng.next() || 1e-12));
    const s = beta * u[i] + g;
    if (s > bestScore) {
      bestScore = s;
      best = i;
    }
  }
  return best;
}

/** Clicks for `n` impressions at rate p: Poisson by inversion when small, normal otherwise. */
function drawClicks(n: number, p: number, rng: Rng): number {
  const m = n * p;
  if (m < 30) {
    const l = Math.exp(-m);
    let k = 0;
    let t = rng.next();
    while (t > l && k < n) {
      k++;
      t *= rng.next();
    }
    return k;
  }
  return Math.max(0, Math.min(n, Math.round(m + Math.sqrt(m * (1 - p)) * rng.normal())));
}

export function createWorld(opts: Partial<WorldOptions> & { seed: number }): SimWorld {
  const o: WorldOptions = { ...DEFAULT_WORLD, ...opts, team: { ...DEFAULT_TEAM, ...opts.team } };
  const { dims: d, latent: L } = o;
  const rng = createRng(mix(o.seed, 0x5eed));

  // The embedding geometry.
  const common = { image: unitVec(rng, d), text: unitVec(rng, d) };
  const styleImage = Array.from({ length: L }, () => unitVec(rng, d));
  const styleText = Array.from({ length: L }, () => unitVec(rng, d));
  const brandImage = Array.from({ length: o.brands }, () => unitVec(rng, d));
  const brandText = Array.from({ length: o.brands }, () => unitVec(rng, d));
  const formatImage = o.formats.map(() => unitVec(rng, d));
  const offDir = unitVec(rng, d);

  // The team: a shared taste and each member's deviation from it.
  const shared = {
    ti: gaussian(rng, L),
    tt: gaussian(rng, L, 0.7),
    brand: gaussian(rng, o.brands, 0.8),
    format: gaussian(rng, o.formats.length, 0.6),
  };
  const dev = o.team.disagreement;
  const members = Array.from({ length: o.team.members }, (_, m) => ({
    id: `U${String(m + 1).padStart(3, '0')}`,
    ti: shared.ti.map((v) => v + dev * rng.normal()),
    tt: shared.tt.map((v) => v + dev * 0.7 * rng.normal()),
    brand: shared.brand.map((v) => v + dev * 0.8 * rng.normal()),
    format: shared.format.map((v) => v + dev * 0.6 * rng.normal()),
    off: 1 + dev * rng.normal(),
  }));
  // The audience (behind CTR): another taste, correlated with the team's by ctrAlignment.
  const aud = {
    ti: gaussian(rng, L),
    tt: gaussian(rng, L, 0.7),
    brand: gaussian(rng, o.brands, 0.8),
    format: gaussian(rng, o.formats.length, 0.6),
  };

  const rawMember = (m: (typeof members)[number], h: Hidden, offScale: number) => {
    let u = 0;
    for (let j = 0; j < L; j++) u += m.ti[j] * h.zi[j] + m.tt[j] * h.zt[j];
    u += m.brand[h.brand] * h.strength + m.format[h.format];
    return u + offScale * m.off * h.off;
  };
  const rawAudience = (h: Hidden) => {
    let u = 0;
    for (let j = 0; j < L; j++) u += aud.ti[j] * h.zi[j] + aud.tt[j] * h.zt[j];
    return u + aud.brand[h.brand] * h.strength + aud.format[h.format];
  };

  const hiddenFor = (r: Rng, topic: { i: Float64Array; t: Float64Array }, brand: number, format: number): Hidden => ({
    zi: topic.i.map((v) => 0.6 * v + 0.8 * r.normal()),
    zt: topic.t.map((v) => 0.6 * v + 0.8 * r.normal()),
    brand,
    strength: 0.2 + 0.8 * r.next(),
    format,
    off: r.normal(),
  });

  const embed = (h: Hidden, r: Rng): { image: Float32Array; text: Float32Array; offCoord: number } => {
    const img = new Float64Array(d);
    const txt = new Float64Array(d);
    const sl = 1 / Math.sqrt(L);
    for (let j = 0; j < d; j++) {
      img[j] = 1.2 * common.image[j] + 0.4 * formatImage[h.format][j] + 0.6 * h.strength * brandImage[h.brand][j];
      txt[j] = 1.2 * common.text[j] + 0.4 * brandText[h.brand][j];
    }
    for (let f = 0; f < L; f++) {
      const a = h.zi[f] * sl;
      const b = h.zt[f] * sl;
      const si = styleImage[f];
      const st = styleText[f];
      for (let j = 0; j < d; j++) {
        img[j] += a * si[j];
        txt[j] += b * st[j];
      }
    }
    const ns = o.noise / Math.sqrt(d);
    for (let j = 0; j < d; j++) {
      img[j] += ns * r.normal();
      txt[j] += ns * r.normal();
    }
    // The off-subspace part of taste rides on a direction of the image noise.
    for (let j = 0; j < d; j++) img[j] += 0.25 * o.noise * h.off * offDir[j];
    const norm = (v: Float64Array) => {
      let s = 0;
      for (const x of v) s += x * x;
      const n = Math.sqrt(s);
      return Float32Array.from(v, (x) => x / n);
    };
    return { image: norm(img), text: norm(txt), offCoord: h.off };
  };

  // Scale so the team's utility has unit s.d. among a brief's candidates, with offSubspace of its variance off the factors.
  const calib = createRng(mix(o.seed, 0xca1b));
  const sample: Hidden[] = [];
  for (let b = 0; b < 40; b++) {
    const topic = { i: gaussian(calib, L), t: gaussian(calib, L) };
    for (let c = 0; c < 12; c++) sample.push(hiddenFor(calib, topic, calib.int(o.brands), calib.int(o.formats.length)));
  }
  const within = (f: (h: Hidden) => number) => {
    let s = 0;
    let n = 0;
    for (let b = 0; b < 40; b++) {
      const us = sample.slice(b * 12, b * 12 + 12).map(f);
      const m = us.reduce((x, y) => x + y, 0) / us.length;
      for (const u of us) s += (u - m) ** 2;
      n += us.length - 1;
    }
    return s / n;
  };
  const teamOn = (h: Hidden, offScale: number) => members.reduce((s, m) => s + rawMember(m, h, offScale), 0) / members.length;
  const onVar = within((h) => teamOn(h, 0));
  const share = Math.min(0.95, Math.max(0, o.offSubspace));
  // Off-factor variance so that it is `share` of the total.
  const offScale = share > 0 ? Math.sqrt((share / (1 - share)) * onVar) : 0;
  const scale = 1 / Math.sqrt(onVar + within((h) => teamOn(h, offScale) - teamOn(h, 0)));
  const audSd = Math.sqrt(within(rawAudience));
  const teamSd = Math.sqrt(onVar);

  const memberUtilities = (h: Hidden) => members.map((m) => scale * rawMember(m, h, offScale));
  const brandName = (b: number) => `brand-${b + 1}`;

  const creative = (id: string, h: Hidden, r: Rng): SimCreative => {
    const e = embed(h, r);
    const mu = memberUtilities(h);
    return {
      id,
      brand: brandName(h.brand),
      format: o.formats[h.format],
      imageEmbedding: e.image,
      textEmbedding: e.text,
      headline: `${id} headline`,
      body: `${id} body`,
      teamUtility: mu.reduce((s, x) => s + x, 0) / mu.length,
      memberUtility: mu,
    };
  };

  const makeBrief = (key: number, id: string): SimBrief => {
    const r = createRng(mix(o.seed, key));
    const brand = r.int(o.brands);
    const topic = { i: gaussian(r, L), t: gaussian(r, L) };
    const nf = 1 + r.int(Math.min(3, o.formats.length));
    const order = [...o.formats.keys()];
    shuffle(order, r);
    const fmts = order.slice(0, nf);
    // The brief's text embedding sits near its topic's image directions (CLIP's shared space).
    const be = new Float64Array(d);
    for (let j = 0; j < d; j++) be[j] = 1.2 * common.text[j] + 0.3 * common.image[j] + 0.5 * brandImage[brand][j];
    for (let f = 0; f < L; f++) for (let j = 0; j < d; j++) be[j] += (topic.i[f] / Math.sqrt(L)) * styleImage[f][j];
    let s = 0;
    for (const x of be) s += x * x;
    const embedding = Float32Array.from(be, (x) => x / Math.sqrt(s));
    const candidates = Array.from({ length: o.candidates }, (_, c) =>
      creative(`${id}-c${c}`, hiddenFor(r, topic, brand, fmts[c % fmts.length]), r),
    );
    return { id, brand: brandName(brand), formats: fmts.map((f) => o.formats[f]), embedding, candidates };
  };

  // The library, with CTR from the audience's taste.
  const libRng = createRng(mix(o.seed, 0x11b));
  const library: SimWorld['library'] = [];
  const addToLibrary = (c: SimCreative, h: Hidden, source: string) => {
    const ua = rawAudience(h) / audSd;
    const ut = teamOn(h, 0) / teamSd;
    const a = Math.max(-1, Math.min(1, o.ctrAlignment));
    const z = a * ut + Math.sqrt(1 - a * a) * ua;
    const ctr = Math.min(0.5, 0.012 * Math.exp(0.45 * z));
    const impressions = Math.max(50, Math.round(Math.exp(Math.log(3000) + 1.2 * libRng.normal())));
    library.push({
      id: c.id,
      brand: c.brand,
      imageEmbedding: c.imageEmbedding,
      textEmbedding: c.textEmbedding,
      impressions,
      clicks: drawClicks(impressions, ctr, libRng),
      source,
      tags: [],
      teamUtility: c.teamUtility,
    });
  };
  for (let i = 0; i < o.library; i++) {
    const topic = { i: gaussian(libRng, L), t: gaussian(libRng, L) };
    const h = hiddenFor(libRng, topic, libRng.int(o.brands), libRng.int(o.formats.length));
    addToLibrary(creative(`lib-${i}`, h, libRng), h, 'ingest:library');
  }
  // Past rounds from before the bot: four creatives each, the team's plurality pick marked as the winner.
  for (let p = 0; p < o.pastRounds; p++) {
    const topic = { i: gaussian(libRng, L), t: gaussian(libRng, L) };
    const brand = libRng.int(o.brands);
    const hs = Array.from({ length: 4 }, () => hiddenFor(libRng, topic, brand, libRng.int(o.formats.length)));
    const cs = hs.map((h, j) => creative(`past-${p}-${j}`, h, libRng));
    const counts = new Array(4).fill(0);
    for (let m = 0; m < members.length; m++) {
      if (libRng.next() < o.team.abstain) continue;
      counts[
        logitPick(
          cs.map((c) => c.memberUtility[m]),
          o.team.decisiveness,
          libRng,
        )
      ]++;
    }
    const win = counts.indexOf(Math.max(...counts));
    for (const [j, c] of cs.entries()) addToLibrary(c, hs[j], j === win && counts[win] > 0 ? `winner:past-${p}` : 'ingest:past');
  }

  const memberIds = members.map((m) => m.id);
  const t = o.team;
  return {
    options: o,
    members: memberIds,
    library,
    brief: (i) => makeBrief(1 + i, `brief-${i}`),
    heldOutBrief: (i) => makeBrief(1_000_000 + i, `held-${i}`),
    vote(brief, shown, r) {
      const byId = new Map(brief.candidates.map((c) => [c.id, c]));
      const cs = shown.map((id) => {
        const c = byId.get(id);
        if (!c) throw new RangeError(`variant ${id} is not a candidate of ${brief.id}`);
        return c;
      });
      const perMember: VoteAction[][] = [];
      memberIds.forEach((user, m) => {
        if (r.next() < t.abstain || cs.length === 0) return;
        const u = cs.map((c) => c.memberUtility[m]);
        const pick = cs[logitPick(u, t.decisiveness, r)].id;
        const viaReaction = r.next() < t.reaction;
        const acts: VoteAction[] = [];
        const add = (variantId: string): VoteAction =>
          viaReaction ? { user, via: 'reaction', op: 'add', variantId } : { user, via: 'button', variantId };
        if (r.next() < t.move) {
          // A first impression, with a third of the care, then the considered pick.
          const first = cs[logitPick(u, t.decisiveness / 3, r)].id;
          if (first !== pick) acts.push(add(first));
        }
        acts.push(add(pick));
        if (r.next() < t.retract) {
          acts.push(viaReaction ? { user, via: 'reaction', op: 'remove', variantId: pick } : { user, via: 'button', variantId: pick });
        }
        perMember.push(acts);
      });
      // Members act at the same time: interleave their sequences, each in its own order.
      const out: VoteAction[] = [];
      const queues = perMember.map((q) => [...q]);
      while (queues.some((q) => q.length)) {
        const live = queues.filter((q) => q.length);
        const q = live[r.int(live.length)];
        out.push(q.shift() as VoteAction);
      }
      return out;
    },
  };
}

/**
 * Each member's vote after `actions`, by the flow's rules: a click votes, moves the vote, or
 * (on their current variant) takes it back; a reaction votes or moves; removing a reaction
 * takes the vote back only if it is still their vote for that variant.
 */
export function finalVotes(actions: VoteAction[]): Map<string, string> {
  const cur = new Map<string, string>();
  for (const a of actions) {
    const now = cur.get(a.user);
    if (a.via === 'button') {
      if (now === a.variantId) cur.delete(a.user);
      else cur.set(a.user, a.variantId);
    } else if (a.op === 'add') cur.set(a.user, a.variantId);
    else if (now === a.variantId) cur.delete(a.user);
  }
  return cur;
}
