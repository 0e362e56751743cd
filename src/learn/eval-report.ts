/**
 * What the learning loop has learned, for people: `statsSummary` gives the figures (the
 * Slack `/adcreative stats` reply renders them), `renderEvalReport` a self-contained HTML
 * page with inline SVG charts (no scripts, fonts or images fetched: it opens offline).
 * Both are pure functions of the data passed in.
 */
import type { AdapterMeta, RecallReport } from '../clip/adapter.ts';
import { median } from '../linalg.ts';
import type { CalibrationBin, PreferenceMeta } from './preference.ts';
import type { RoundSummary } from './sources.ts';

export interface StatsInput {
  rounds: RoundSummary[];
  /** The adapter file's metadata and id, when one exists. */
  adapter: { id: string; meta: AdapterMeta } | null;
  /** False when CLIP_ADAPTER=off (a trained adapter may still exist). */
  adapterEnabled: boolean;
  /** The taste model's metadata (a TasteMeta, with its priors) or an older model's. */
  preference: { meta: PreferenceMeta & { prior?: { ctrRows: number; winners: number } } } | null;
  preferenceMinVotes: number;
  libraryRows: number | null;
  retrainShare: number;
}

export type AdapterState = 'none' | 'off' | 'ready' | 'stale';
export type PreferenceState = 'untrained' | 'insufficient' | 'ready';

export interface StatsSummary {
  rounds: { total: number; open: number; closed: number; briefs: number; withWinner: number };
  votes: { total: number; medianPerRound: number | null };
  library: { rows: number | null };
  adapter: {
    state: AdapterState;
    id: string | null;
    model: string | null;
    trainedAt: string | null;
    /** Library rows when trained, and growth since (0.3 = 30 % more). */
    trainedOnRows: number | null;
    growth: number | null;
  };
  preference: {
    state: PreferenceState;
    votes: number;
    needed: number;
    accuracy: number | null;
    trainedAt: string | null;
    /** What the prior leans on before the votes: library creatives with CTR, past winners. */
    priors: { ctrRows: number; winners: number } | null;
  };
  /** Held-out recall@1/5/10 with raw CLIP and through the adapter. */
  recall: { before: RecallReport | null; after: RecallReport | null };
}

export function statsSummary(input: StatsInput): StatsSummary {
  const rounds = input.rounds;
  const votesPer = rounds.map((r) => r.variants.reduce((s, v) => s + v.votes, 0));
  const a = input.adapter;
  let adapterState: AdapterState = 'none';
  let growth: number | null = null;
  if (a) {
    growth = input.libraryRows !== null && a.meta.libraryRows > 0 ? input.libraryRows / a.meta.libraryRows - 1 : null;
    adapterState = !input.adapterEnabled ? 'off' : growth !== null && growth >= input.retrainShare ? 'stale' : 'ready';
  }
  const p = input.preference?.meta;
  const priors = p?.prior && (p.prior.ctrRows > 0 || p.prior.winners > 0) ? { ctrRows: p.prior.ctrRows, winners: p.prior.winners } : null;
  // With priors the model shows scores from the start (marked uncertain while they are).
  const prefState: PreferenceState = !p ? 'untrained' : p.votes < input.preferenceMinVotes && !priors ? 'insufficient' : 'ready';
  return {
    rounds: {
      total: rounds.length,
      open: rounds.filter((r) => r.status === 'open').length,
      closed: rounds.filter((r) => r.status === 'closed').length,
      briefs: new Set(rounds.map((r) => r.briefId)).size,
      withWinner: rounds.filter((r) => r.variants.some((v) => v.winner)).length,
    },
    votes: { total: votesPer.reduce((s, x) => s + x, 0), medianPerRound: rounds.length ? median(votesPer) : null },
    library: { rows: input.libraryRows },
    adapter: {
      state: adapterState,
      id: a?.id ?? null,
      model: a?.meta.model ?? null,
      trainedAt: a?.meta.trainedAt ?? null,
      trainedOnRows: a?.meta.libraryRows ?? null,
      growth,
    },
    preference: {
      state: prefState,
      votes: p?.votes ?? 0,
      needed: input.preferenceMinVotes,
      accuracy: p?.heldOut.accuracy ?? null,
      trainedAt: p?.trainedAt ?? null,
      priors,
    },
    recall: { before: a?.meta.before ?? null, after: a?.meta.after ?? null },
  };
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '—' : `${(100 * x).toFixed(1)}%`);

/** Plain lines (no markup) for the CLI and for a Slack section. */
export function formatStatsText(s: StatsSummary): string[] {
  const lines = [
    `Rounds: ${s.rounds.total} (${s.rounds.open} open, ${s.rounds.closed} closed) over ${s.rounds.briefs} briefs; ${s.rounds.withWinner} with a winner`,
    `Votes: ${s.votes.total}${s.votes.medianPerRound === null ? '' : ` (median ${s.votes.medianPerRound} per round)`}`,
    `Library: ${s.library.rows === null ? 'unavailable' : `${s.library.rows} creatives`}`,
  ];
  const ad = s.adapter;
  const adapterLine = {
    none: 'Adapter: not trained (run `adcreative train adapter`)',
    off: `Adapter: trained (${ad.id}) but turned off (CLIP_ADAPTER=off)`,
    ready: `Adapter: on (${ad.id}, trained ${ad.trainedAt?.slice(0, 10)} on ${ad.trainedOnRows} creatives)`,
    stale: `Adapter: on (${ad.id}) but the library has grown ${pct(ad.growth)} since training: retrain with \`adcreative train adapter\``,
  }[ad.state];
  lines.push(adapterLine);
  if (s.recall.before && s.recall.after) {
    lines.push(
      `Recall@1 text→image: ${pct(s.recall.before.textToImage.r1)} → ${pct(s.recall.after.textToImage.r1)}; ` +
        `image→text: ${pct(s.recall.before.imageToText.r1)} → ${pct(s.recall.after.imageToText.r1)} (held-out, among ${s.recall.after.n})`,
    );
  }
  const pr = s.preference;
  lines.push(
    {
      untrained: 'Preference model: not trained (run `adcreative train preference`)',
      insufficient: `Preference model: insufficient data (${pr.votes} of ${pr.needed} votes needed)`,
      ready: `Preference model: on, trained on ${pr.votes} votes${pr.priors ? ` and priors (CTR of ${pr.priors.ctrRows} creatives, ${pr.priors.winners} past winners)` : ''}, held-out pairwise accuracy ${pct(pr.accuracy)}`,
    }[pr.state],
  );
  return lines;
}

// ---------------------------------------------------------------- HTML report

export interface EvalReportInput extends StatsInput {
  generatedAt: Date;
  /** Optional per-epoch history of the last adapter training (held-out recall@1). */
  title?: string;
  /** The learning curve from `npm run bench -- taste` (bench/results/taste.json), when there is one. */
  tasteCurve?: TasteCurve;
}

/** What the report reads of bench/results/taste.json. */
export interface TasteCurve {
  date: string;
  settings: { seeds: number; rounds: number; shown: number };
  curve: Record<'today' | 'new', { at: number; votes: number; accuracy: { mean: number; worst: number } }[]>;
  regret: { rounds: number[]; favouriteShareWindow5: Record<'random' | 'today' | 'new', number[]> };
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const COLORS = ['#9aa5b1', '#2f6fde', '#e07a1f', '#2a9d58', '#b8336a'];
const W = 560;
const H = 260;
const M = { l: 48, r: 16, t: 28, b: 48 };

function frame(title: string, body: string, legend: { name: string; color: string }[] = []): string {
  const leg = legend
    .map(
      (l, i) =>
        `<rect x="${M.l + i * 150}" y="6" width="10" height="10" fill="${l.color}"/><text x="${M.l + 14 + i * 150}" y="15" font-size="11">${esc(l.name)}</text>`,
    )
    .join('');
  return `<figure><figcaption>${esc(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${leg}${body}</svg></figure>`;
}

/**
 * Axis ticks people can read: a step of 1, 2 or 5 × 10^k (whole numbers when counting), from 0
 * to the first tick at or above `max`. Bars are drawn against the last tick, so a bar of 4
 * reaches the line labelled 4.
 */
export function niceTicks(max: number, opts: { integer?: boolean } = {}): number[] {
  const top = Number.isFinite(max) && max > 0 ? max : 1;
  const raw = top / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw - 1e-12) ?? 10 * mag;
  if (opts.integer) step = Math.max(1, Math.round(step));
  const n = Math.ceil(top / step - 1e-9);
  // i × step, rounded to the step's decimals, so 0.1 × 3 reads 0.3 and not 0.30000000000000004.
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Array.from({ length: n + 1 }, (_, i) => Number((i * step).toFixed(decimals)));
}

/** Evenly spaced ticks from 0 to a fixed top (shares: 0–100 %). */
const fixedTicks = (max: number) => [0, 1, 2, 3, 4].map((i) => (max * i) / 4);

function yAxis(ticks: number[], fmt: (v: number) => string): string {
  const out: string[] = [];
  const ih = H - M.t - M.b;
  const top = ticks[ticks.length - 1];
  for (const v of ticks) {
    const y = H - M.b - (ih * v) / top;
    out.push(`<line x1="${M.l}" x2="${W - M.r}" y1="${y}" y2="${y}" stroke="#e5e7eb"/>`);
    out.push(`<text x="${M.l - 6}" y="${y + 4}" font-size="10" text-anchor="end">${esc(fmt(v))}</text>`);
  }
  return out.join('');
}

/**
 * Rough advance of a glyph as a share of the font size: East Asian wide characters take a full
 * em, others about 0.6 (wide enough for digits and Latin in a sans-serif).
 */
const advance = (ch: string) =>
  /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]|[\u{20000}-\u{3fffd}]/u.test(ch) ? 1 : 0.6;

/** Estimated width of `text` in pixels at `fontSize`. */
export const textWidth = (text: string, fontSize: number) => [...text].reduce((w, ch) => w + advance(ch) * fontSize, 0);

/** The label cut (with an ellipsis) to what fits in `width` pixels; '' when not even two characters fit. */
export function fitLabel(text: string, width: number, fontSize: number): string {
  if (textWidth(text, fontSize) <= width) return text;
  const chars = [...text];
  let w = advance('…') * fontSize;
  let n = 0;
  while (n < chars.length && w + advance(chars[n]) * fontSize <= width) w += advance(chars[n++]) * fontSize;
  if (n < 1) return '';
  return `${chars.slice(0, n).join('').trimEnd()}…`;
}

function empty(title: string, why: string): string {
  return frame(title, `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" font-size="13" fill="#6b7280">${esc(why)}</text>`);
}

/** A run of consecutive bars that belong together (the rounds of one brief), named once under them. */
export interface BarGroup {
  label: string;
  size: number;
}

/** Grouped bars: one group per label, one bar per series. */
export function barChart(
  title: string,
  labels: string[],
  series: { name: string; values: (number | null)[] }[],
  opts: {
    max?: number;
    fmt?: (v: number) => string;
    /** Counts: whole-number ticks. */
    integer?: boolean;
    /** Bars named under a shared heading (labels are then the short per-bar names). */
    groups?: BarGroup[];
    /** The full name of each bar for its tooltip (labels may be cut to fit). */
    titles?: string[];
  } = {},
): string {
  const fmt = opts.fmt ?? ((v: number) => String(Math.round(v * 100) / 100));
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  if (!labels.length || !all.length) return empty(title, 'no data yet');
  const ticks = opts.max !== undefined ? fixedTicks(opts.max) : niceTicks(Math.max(...all), { integer: opts.integer });
  const max = ticks[ticks.length - 1];
  const iw = W - M.l - M.r;
  const ih = H - M.t - M.b;
  const gw = iw / labels.length;
  const bw = Math.max(2, (gw * 0.8) / series.length);
  const bars: string[] = [];
  labels.forEach((label, g) => {
    series.forEach((s, k) => {
      const v = s.values[g];
      if (v === null || v === undefined) return;
      const h = (ih * Math.min(v, max)) / max;
      const x = M.l + g * gw + gw * 0.1 + k * bw;
      bars.push(
        `<rect x="${x.toFixed(1)}" y="${(H - M.b - h).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[(k + (series.length === 1 ? 1 : 0)) % COLORS.length]}"><title>${esc(`${opts.titles?.[g] ?? label} · ${s.name}: ${fmt(v)}`)}</title></rect>`,
      );
    });
    // Each label gets its own slot and is cut to fit it, so neighbours never overlap.
    const text = fitLabel(label, gw - 2, 10);
    if (text) {
      bars.push(
        `<text x="${(M.l + g * gw + gw / 2).toFixed(1)}" y="${H - M.b + 14}" font-size="10" text-anchor="middle">${esc(text)}</text>`,
      );
    }
  });
  let at = 0;
  for (const group of opts.groups ?? []) {
    const x0 = M.l + at * gw;
    const w = group.size * gw;
    const text = fitLabel(group.label, w - 4, 11);
    if (at > 0) bars.push(`<line x1="${x0.toFixed(1)}" x2="${x0.toFixed(1)}" y1="${H - M.b}" y2="${H - M.b + 34}" stroke="#d1d5db"/>`);
    if (text) {
      bars.push(
        `<text x="${(x0 + w / 2).toFixed(1)}" y="${H - M.b + 30}" font-size="11" text-anchor="middle"><title>${esc(group.label)}</title>${esc(text)}</text>`,
      );
    }
    at += group.size;
  }
  const legend = series.length > 1 ? series.map((s, k) => ({ name: s.name, color: COLORS[k % COLORS.length] })) : [];
  return frame(title, yAxis(ticks, fmt) + bars.join(''), legend);
}

/** Overlaid histograms of several samples over a shared range. */
export function histogram(title: string, samples: { name: string; values: number[] }[], bins = 20): string {
  const all = samples.flatMap((s) => s.values).filter(Number.isFinite);
  if (!all.length) return empty(title, 'no data yet');
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (hi - lo < 1e-9) {
    lo -= 0.5;
    hi += 0.5;
  }
  const counts = samples.map((s) => {
    const c = new Array(bins).fill(0);
    for (const v of s.values) if (Number.isFinite(v)) c[Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo)) * bins))]++;
    // Shares, so samples of different sizes compare.
    return c.map((x) => x / Math.max(1, s.values.length));
  });
  const ticks = niceTicks(Math.max(...counts.flat()));
  const max = ticks[ticks.length - 1];
  const iw = W - M.l - M.r;
  const ih = H - M.t - M.b;
  const bw = iw / bins;
  const bars: string[] = [];
  counts.forEach((c, k) => {
    c.forEach((v, b) => {
      const h = (ih * v) / max;
      bars.push(
        `<rect x="${(M.l + b * bw).toFixed(1)}" y="${(H - M.b - h).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[(k + 1) % COLORS.length]}" fill-opacity="${samples.length > 1 ? 0.55 : 0.9}"/>`,
      );
    });
  });
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    bars.push(
      `<text x="${(M.l + (iw * i) / 4).toFixed(1)}" y="${H - M.b + 14}" font-size="10" text-anchor="middle">${v.toFixed(2)}</text>`,
    );
  }
  return frame(
    title,
    yAxis(ticks, (v) => `${Math.round(v * 100)}%`) + bars.join(''),
    samples.map((s, k) => ({ name: `${s.name} (${s.values.length})`, color: COLORS[(k + 1) % COLORS.length] })),
  );
}

/** Predicted probability against observed frequency, with the diagonal a calibrated model follows. */
export function calibrationChart(title: string, bins: CalibrationBin[]): string {
  if (!bins.length) return empty(title, 'no preference model yet');
  const iw = W - M.l - M.r;
  const ih = H - M.t - M.b;
  const x = (p: number) => M.l + iw * p;
  const y = (p: number) => H - M.b - ih * p;
  const maxCount = Math.max(...bins.map((b) => b.count));
  const pts = bins
    .map(
      (b) =>
        `<circle cx="${x(b.predicted).toFixed(1)}" cy="${y(b.observed).toFixed(1)}" r="${(3 + 6 * Math.sqrt(b.count / maxCount)).toFixed(1)}" fill="${COLORS[1]}" fill-opacity="0.8"><title>predicted ${pct(b.predicted)}, observed ${pct(b.observed)} (${b.count})</title></circle>`,
    )
    .join('');
  const path = bins.map((b, i) => `${i ? 'L' : 'M'}${x(b.predicted).toFixed(1)},${y(b.observed).toFixed(1)}`).join(' ');
  const axes = [0, 0.25, 0.5, 0.75, 1]
    .map((v) => `<text x="${x(v)}" y="${H - M.b + 14}" font-size="10" text-anchor="middle">${v}</text>`)
    .join('');
  return frame(
    title,
    yAxis(fixedTicks(1), (v) => v.toFixed(2)) +
      axes +
      `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#9ca3af" stroke-dasharray="4 3"/>` +
      `<path d="${path}" fill="none" stroke="${COLORS[1]}"/>${pts}` +
      `<text x="${W / 2}" y="${H - 8}" font-size="10" text-anchor="middle">predicted P(preferred)</text>`,
  );
}

/** Winners' scores against losers', per score: one dot per variant, the median as a bar. */
export function stripChart(title: string, groups: { name: string; winners: number[]; losers: number[] }[]): string {
  const all = groups.flatMap((g) => [...g.winners, ...g.losers]);
  if (!all.length) return empty(title, 'no closed rounds with winners yet');
  const lo = Math.min(0, ...all);
  const hi = Math.max(1, ...all);
  const iw = W - M.l - M.r;
  const ih = H - M.t - M.b;
  const y = (v: number) => H - M.b - (ih * (v - lo)) / (hi - lo);
  const cols = groups.flatMap((g) => [
    { label: 'winners', group: g.name, values: g.winners, color: COLORS[3] },
    { label: 'others', group: '', values: g.losers, color: COLORS[0] },
  ]);
  const cw = iw / cols.length;
  const out: string[] = [];
  cols.forEach((c, i) => {
    const cx = M.l + cw * i + cw / 2;
    c.values.forEach((v, j) => {
      // Deterministic jitter so the page is identical for identical data.
      const jx = ((((j * 2654435761) >>> 0) % 1000) / 1000 - 0.5) * cw * 0.5;
      out.push(`<circle cx="${(cx + jx).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="${c.color}" fill-opacity="0.7"/>`);
    });
    if (c.values.length) {
      const m = median(c.values);
      out.push(
        `<line x1="${(cx - cw * 0.3).toFixed(1)}" x2="${(cx + cw * 0.3).toFixed(1)}" y1="${y(m).toFixed(1)}" y2="${y(m).toFixed(1)}" stroke="#111827" stroke-width="2"><title>median ${m.toFixed(3)}</title></line>`,
      );
    }
    out.push(`<text x="${cx.toFixed(1)}" y="${H - M.b + 14}" font-size="10" text-anchor="middle">${esc(c.label)}</text>`);
    // The score's name sits under its pair of columns.
    if (c.group)
      out.push(
        `<text x="${(cx + cw / 2).toFixed(1)}" y="${H - M.b + 30}" font-size="11" font-weight="600" text-anchor="middle">${esc(c.group)}</text>`,
      );
  });
  const axis = [0, 1, 2, 3, 4]
    .map((i) => {
      const v = lo + ((hi - lo) * i) / 4;
      return `<text x="${M.l - 6}" y="${y(v) + 4}" font-size="10" text-anchor="end">${v.toFixed(2)}</text><line x1="${M.l}" x2="${W - M.r}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e7eb"/>`;
    })
    .join('');
  return frame(title, axis + out.join(''));
}

/** Lines over a shared x axis; a dashed series is drawn thin (e.g. the worst seed beside the mean). */
export function lineChart(
  title: string,
  xs: number[],
  series: { name: string; values: number[]; color: string; dashed?: boolean }[],
  opts: { min?: number; max?: number; fmt?: (v: number) => string; xLabel?: string } = {},
): string {
  const all = series.flatMap((x) => x.values.filter(Number.isFinite));
  if (xs.length < 2 || !all.length) return empty(title, 'no data yet');
  const lo = opts.min ?? Math.min(...all);
  const hi = opts.max ?? Math.max(...all);
  const iw = W - M.l - M.r;
  const ih = H - M.t - M.b;
  const x0 = xs[0];
  const x1 = xs[xs.length - 1];
  const px = (x: number) => M.l + (iw * (x - x0)) / (x1 - x0 || 1);
  const py = (v: number) => H - M.b - (ih * (v - lo)) / (hi - lo || 1);
  const fmt = opts.fmt ?? ((v: number) => v.toFixed(2));
  const grid = [0, 1, 2, 3, 4]
    .map((i) => {
      const v = lo + ((hi - lo) * i) / 4;
      return `<line x1="${M.l}" x2="${W - M.r}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="#e5e7eb"/><text x="${M.l - 6}" y="${(py(v) + 4).toFixed(1)}" font-size="10" text-anchor="end">${esc(fmt(v))}</text>`;
    })
    .join('');
  const ticks = [0, 1, 2, 3, 4]
    .map((i) => {
      const x = x0 + ((x1 - x0) * i) / 4;
      return `<text x="${px(x).toFixed(1)}" y="${H - M.b + 14}" font-size="10" text-anchor="middle">${Math.round(x)}</text>`;
    })
    .join('');
  const lines = series
    .map((sr) => {
      const d = sr.values
        .map((v, i) => (Number.isFinite(v) ? `${px(xs[i]).toFixed(1)},${py(Math.max(lo, Math.min(hi, v))).toFixed(1)}` : null))
        .filter((p): p is string => p !== null)
        .map((p, i) => `${i ? 'L' : 'M'}${p}`)
        .join(' ');
      return `<path d="${d}" fill="none" stroke="${sr.color}" stroke-width="${sr.dashed ? 1 : 2}"${sr.dashed ? ' stroke-dasharray="4 3"' : ''}><title>${esc(sr.name)}</title></path>`;
    })
    .join('');
  const label = opts.xLabel ? `<text x="${W / 2}" y="${H - 8}" font-size="10" text-anchor="middle">${esc(opts.xLabel)}</text>` : '';
  // Dashed companions (a worst seed) share their solid line's colour and are named in the caption instead.
  const legend = series.filter((sr) => !sr.dashed).map((sr) => ({ name: sr.name, color: sr.color }));
  return frame(title, grid + ticks + lines + label, legend);
}

/** The simulated team's learning curve and regret, today's model against the taste model. */
function tasteSection(t: TasteCurve | undefined): string {
  if (!t) return '<p class="muted">No learning curve yet: run <code>npm run bench -- taste</code> (writes bench/results/taste.json).</p>';
  const votes = t.curve.new.map((c) => c.at);
  const acc = (arm: 'today' | 'new', k: 'mean' | 'worst') => t.curve[arm].map((c) => c.accuracy[k]);
  const pct0 = (v: number) => `${Math.round(v * 100)}%`;
  return `<p>Simulated team, ${t.settings.seeds} seeds × ${t.settings.rounds} rounds, ${t.settings.shown} variants shown per round (${esc(t.date.slice(0, 10))}). Accuracy: held-out pairs of a brief's candidates ordered as the team's true preference orders them; solid the mean over seeds, dashed the worst seed.</p>
<div class="grid">
${lineChart(
  'Held-out pairwise accuracy against votes cast',
  votes,
  [
    { name: "today's model", values: acc('today', 'mean'), color: COLORS[0] },
    { name: 'taste model', values: acc('new', 'mean'), color: COLORS[1] },
    { name: 'today (worst)', values: acc('today', 'worst'), color: COLORS[0], dashed: true },
    { name: 'taste (worst)', values: acc('new', 'worst'), color: COLORS[1], dashed: true },
  ],
  { min: 0.4, max: 1, fmt: pct0, xLabel: 'votes' },
)}
${lineChart(
  "Rounds won by the team's favourite (5-round window)",
  t.regret.rounds,
  [
    { name: 'random', values: t.regret.favouriteShareWindow5.random, color: COLORS[0] },
    { name: 'today', values: t.regret.favouriteShareWindow5.today, color: COLORS[2] },
    { name: 'taste model', values: t.regret.favouriteShareWindow5.new, color: COLORS[1] },
  ],
  { min: 0, max: 1, fmt: pct0, xLabel: 'round' },
)}
</div>`;
}

function recallTable(before: RecallReport | null, after: RecallReport | null): string {
  if (!before || !after) return '<p class="muted">No adapter trained yet: run <code>adcreative train adapter</code>.</p>';
  const row = (name: string, b: { r1: number; r5: number; r10: number }, a: { r1: number; r5: number; r10: number }) =>
    `<tr><th>${name}</th>${(['r1', 'r5', 'r10'] as const).map((k) => `<td>${pct(b[k])} → <b>${pct(a[k])}</b></td>`).join('')}</tr>`;
  return `<table><thead><tr><th></th><th>R@1</th><th>R@5</th><th>R@10</th></tr></thead><tbody>${row('text → image', before.textToImage, after.textToImage)}${row('image → text', before.imageToText, after.imageToText)}</tbody></table><p class="muted">Held-out pairs: ${after.n}. Raw CLIP → through the adapter.</p>`;
}

/**
 * Rounds ordered brief by brief (briefs in the order they first appear, rounds in theirs), and
 * the runs that share a brief, so a chart names each brief once under its rounds.
 */
function roundsByBrief(rounds: RoundSummary[]): { rounds: RoundSummary[]; groups: BarGroup[] } {
  const byBrief = new Map<string, RoundSummary[]>();
  for (const r of rounds) {
    const list = byBrief.get(r.briefId);
    if (list) list.push(r);
    else byBrief.set(r.briefId, [r]);
  }
  const ordered = [...byBrief.values()];
  return {
    rounds: ordered.flat(),
    groups: ordered.map((list) => ({ label: briefLabel(list[0]), size: list.length })),
  };
}

/** A brief as one line: its first words, without the inline options people append. */
function briefLabel(r: RoundSummary): string {
  const text = (r.brief ?? '')
    .replace(/\s--\w[\s\S]*$/, '')
    .replace(/\s+/g, ' ')
    .trim();
  return text || r.briefId;
}

export function renderEvalReport(input: EvalReportInput): string {
  const s = statsSummary(input);
  const variants = input.rounds.flatMap((r) => r.variants);
  const scoreOf = (k: 'relevance' | 'novelty' | 'preference') =>
    variants.map((v) => v.scores[k]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  const briefs = new Map<string, number>();
  for (const r of input.rounds) briefs.set(r.briefId, (briefs.get(r.briefId) ?? 0) + 1);
  const roundsPerBrief = new Map<number, number>();
  for (const n of briefs.values()) roundsPerBrief.set(n, (roundsPerBrief.get(n) ?? 0) + 1);
  const rpbKeys = [...roundsPerBrief.keys()].sort((a, b) => a - b);
  const recent = roundsByBrief(input.rounds.slice(-40));
  const decided = input.rounds.filter((r) => r.variants.some((v) => v.winner));
  const wl = (k: 'relevance' | 'novelty' | 'preference') => {
    const winners: number[] = [];
    const losers: number[] = [];
    for (const r of decided) {
      for (const v of r.variants) {
        const x = v.scores[k];
        if (typeof x !== 'number' || !Number.isFinite(x)) continue;
        (v.winner ? winners : losers).push(x);
      }
    }
    return { name: k, winners, losers };
  };
  const b = s.recall.before;
  const a = s.recall.after;
  const recallChart =
    b && a
      ? barChart(
          'Held-out recall@k, raw CLIP against the adapter',
          ['t→i R@1', 't→i R@5', 't→i R@10', 'i→t R@1', 'i→t R@5', 'i→t R@10'],
          [
            {
              name: 'raw CLIP',
              values: [b.textToImage.r1, b.textToImage.r5, b.textToImage.r10, b.imageToText.r1, b.imageToText.r5, b.imageToText.r10],
            },
            {
              name: 'with adapter',
              values: [a.textToImage.r1, a.textToImage.r5, a.textToImage.r10, a.imageToText.r1, a.imageToText.r5, a.imageToText.r10],
            },
          ],
          { max: 1, fmt: (v) => `${Math.round(v * 100)}%` },
        )
      : empty('Held-out recall@k, raw CLIP against the adapter', 'no adapter trained yet');
  const pm = input.preference?.meta;
  const title = input.title ?? 'adcreative — learning report';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#111827;max-width:1200px;margin:24px auto;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.muted{color:#6b7280}.grid{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;border:1px solid #e5e7eb;border-radius:8px;padding:8px;max-width:100%}
figcaption{font-weight:600;margin-bottom:4px}svg{max-width:100%;height:auto;font-family:inherit}
table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #e5e7eb;text-align:left}
ul.stats{padding-left:18px}
</style></head><body>
<h1>${esc(title)}</h1>
<p class="muted">Generated ${esc(input.generatedAt.toISOString())}.</p>
<h2>Summary</h2>
<ul class="stats">${formatStatsText(s)
    // The lines are Slack mrkdwn too: `code` spans become <code> here rather than stray backticks.
    .map((l) => `<li>${esc(l).replace(/`([^`]+)`/g, '<code>$1</code>')}</li>`)
    .join('')}</ul>
<h2>Retrieval: the adapter</h2>
${recallTable(b, a)}
<div class="grid">${recallChart}</div>
<h2>Scores of generated variants</h2>
<div class="grid">
${histogram('Relevance (cosine brief ↔ image)', [{ name: 'relevance', values: scoreOf('relevance') }])}
${histogram('Novelty (1 − max cosine to the library)', [{ name: 'novelty', values: scoreOf('novelty') }])}
${histogram('Predicted preference (percentile among past creatives)', [{ name: 'preference', values: scoreOf('preference').map((x) => 100 * x) }])}
</div>
<h2>Preference model</h2>
${
  pm
    ? `<p>Trained ${esc(pm.trainedAt)} on ${pm.votes} votes in ${pm.rounds} rounds (${pm.comparisons.votes} comparisons from votes, ${pm.comparisons.ctr} from CTR). Held-out: ${pm.heldOut.rounds} rounds, ${pm.heldOut.comparisons} comparisons, pairwise accuracy <b>${pct(pm.heldOut.accuracy)}</b>. Scores shown from ${input.preferenceMinVotes} votes.</p>`
    : '<p class="muted">No preference model yet: run <code>adcreative train preference</code>.</p>'
}
<div class="grid">
${calibrationChart('Calibration on held-out comparisons', pm?.calibration ?? [])}
${stripChart("Winners' scores against the other variants", [wl('relevance'), wl('novelty'), wl('preference')])}
</div>
<h2>Learning the team's taste</h2>
${tasteSection(input.tasteCurve)}
<h2>Rounds and votes</h2>
<div class="grid">
${barChart(
  'Rounds per brief',
  rpbKeys.map((k) => `${k} round${k === 1 ? '' : 's'}`),
  [{ name: 'briefs', values: rpbKeys.map((k) => roundsPerBrief.get(k) ?? 0) }],
  { fmt: (v) => String(Math.round(v)), integer: true },
)}
${barChart(
  `Votes per round (latest ${recent.rounds.length})`,
  recent.rounds.map((r) => (r.number ? `R${r.number}` : r.roundId.slice(0, 8))),
  [{ name: 'votes', values: recent.rounds.map((r) => r.variants.reduce((x, v) => x + v.votes, 0)) }],
  {
    fmt: (v) => String(Math.round(v)),
    integer: true,
    groups: recent.groups,
    titles: recent.rounds.map((r) => `${briefLabel(r)} · round ${r.number ?? r.roundId}`),
  },
)}
</div>
</body></html>
`;
}
