/**
 * Contrastive fine-tuning of CLIP as an adapter over frozen embeddings, on the CPU.
 *
 * Each side gets a residual linear map initialised to the identity (y = x (I + W), W = 0),
 * trained with CLIP's own loss: the symmetric InfoNCE over a minibatch (softmax across the
 * batch text→image and image→text) with a learnable temperature. Decoupled weight decay
 * pulls W back towards 0, i.e. the adapter towards the identity, so little data moves
 * CLIP only a little. A held-out split is scored (recall@1/5/10 both directions) before
 * training and after each epoch; the best epoch by held-out recall@1 is kept and training
 * stops once it has not improved for `patience` epochs. Everything is seeded: the same
 * data and seed give the same adapter, bit for bit.
 */
import { Adapter, type AdapterMeta, type RecallReport } from '../clip/adapter.ts';
import { InputError } from '../errors.ts';
import { createRng, gemm, gemmNT, gemmTN, normalizeRows, randomRotation, shuffle } from '../linalg.ts';
import { meanRecall1, recallAtK } from './recall.ts';

/** Paired embeddings, row-major: row i of `text` is the caption of image row i. */
export interface PairMatrix {
  text: Float32Array;
  image: Float32Array;
  n: number;
  d: number;
}

export interface TrainAdapterOptions {
  seed?: number;
  /** Most passes over the training split. */
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** Decoupled weight decay towards the identity, per step (scaled by the learning rate). */
  weightDecay?: number;
  /** Share of pairs held out for early stopping and the before/after report. */
  heldOutShare?: number;
  maxHeldOut?: number;
  /** Epochs without a better held-out recall@1 before stopping. */
  patience?: number;
  /** Smallest gain in held-out mean recall@1 that counts as better (0.005 = half a point). */
  minDelta?: number;
  /** Initial logit scale (1/temperature); CLIP starts at 1/0.07. */
  initialLogitScale?: number;
  onStep?(p: { epoch: number; step: number; stepsPerEpoch: number; loss: number }): void;
  onEpoch?(p: EpochRecord): void;
  /** Yield to the event loop between minibatches (inside the bot); off in the CLI and tests. */
  yieldEvery?: number;
  signal?: AbortSignal;
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  heldOut: RecallReport;
  logitScale: number;
  best: boolean;
}

export interface TrainAdapterResult {
  textDelta: Float32Array;
  imageDelta: Float32Array;
  logitScale: number;
  before: RecallReport;
  after: RecallReport;
  history: EpochRecord[];
  bestEpoch: number;
  epochs: number;
  pairs: { train: number; heldOut: number };
  seed: number;
}

export const MIN_PAIRS = 40;
const MIN_SCALE = 1;
const MAX_SCALE = 100;

/** Adam state for one parameter tensor. */
class Adam {
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private t = 0;
  constructor(
    size: number,
    private readonly lr: number,
    private readonly decay: number,
  ) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  step(w: Float32Array, g: Float32Array): void {
    this.t++;
    const b1 = 0.9;
    const b2 = 0.999;
    const c1 = 1 / (1 - b1 ** this.t);
    const c2 = 1 / (1 - b2 ** this.t);
    const lr = this.lr;
    const wd = 1 - this.lr * this.decay;
    const { m, v } = this;
    for (let i = 0; i < w.length; i++) {
      const gi = g[i];
      const mi = b1 * m[i] + (1 - b1) * gi;
      const vi = b2 * v[i] + (1 - b2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      w[i] = w[i] * wd - (lr * (mi * c1)) / (Math.sqrt(vi * c2) + 1e-8);
    }
  }
}

/** Rows `idx` of X (width d) into out. */
function gather(X: Float32Array, idx: Uint32Array | number[], from: number, count: number, d: number, out: Float32Array): void {
  for (let r = 0; r < count; r++) {
    const src = idx[from + r] * d;
    out.set(X.subarray(src, src + d), r * d);
  }
}

/** Y = normalise(X (I + W)) for `rows` rows. */
function project(X: Float32Array, W: Float32Array, rows: number, d: number, Y: Float32Array, norms?: Float32Array<ArrayBufferLike>): void {
  gemm(X, W, Y, rows, d, d);
  const len = rows * d;
  for (let i = 0; i < len; i++) Y[i] += X[i];
  normalizeRows(Y, rows, d, norms);
}

function heldOutRecall(data: PairMatrix, idx: Uint32Array, Wt: Float32Array | null, Wi: Float32Array | null): RecallReport {
  const { d } = data;
  const n = idx.length;
  const T = new Float32Array(n * d);
  const I = new Float32Array(n * d);
  gather(data.text, idx, 0, n, d, T);
  gather(data.image, idx, 0, n, d, I);
  if (Wt && Wi) {
    const Tp = new Float32Array(n * d);
    const Ip = new Float32Array(n * d);
    project(T, Wt, n, d, Tp);
    project(I, Wi, n, d, Ip);
    return recallAtK(Tp, Ip, n, d);
  }
  normalizeRows(T, n, d);
  normalizeRows(I, n, d);
  return recallAtK(T, I, n, d);
}

/** Splits indices into train and held-out, deterministically for a seed. */
export function splitPairs(
  n: number,
  heldOutShare: number,
  maxHeldOut: number,
  seed: number,
): { train: Uint32Array; heldOut: Uint32Array } {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  shuffle(order, createRng(seed ^ 0x5eed));
  const h = Math.max(Math.min(Math.round(n * heldOutShare), maxHeldOut), Math.min(20, Math.floor(n / 4)));
  return { heldOut: order.slice(0, h), train: order.slice(h) };
}

export async function trainAdapter(data: PairMatrix, opts: TrainAdapterOptions = {}): Promise<TrainAdapterResult> {
  const { n, d } = data;
  if (data.text.length !== n * d || data.image.length !== n * d) {
    throw new InputError('PAIRS_INVALID', `pair matrices must be ${n}×${d}; got ${data.text.length} and ${data.image.length} values`);
  }
  if (n < MIN_PAIRS) {
    throw new InputError('TOO_FEW_PAIRS', `adapter training needs at least ${MIN_PAIRS} caption/image pairs; the library has ${n}`, {
      hint: 'ingest more creatives with captions first',
    });
  }
  const seed = opts.seed ?? 42;
  const maxEpochs = opts.epochs ?? 30;
  const lr = opts.learningRate ?? 2e-3;
  const decay = opts.weightDecay ?? 1e-3;
  const patience = opts.patience ?? 3;
  const minDelta = opts.minDelta ?? 0.005;
  const yieldEvery = opts.yieldEvery ?? 0;
  const { train, heldOut } = splitPairs(n, opts.heldOutShare ?? 0.1, opts.maxHeldOut ?? 2000, seed);
  const B = Math.max(2, Math.min(opts.batchSize ?? 256, train.length));
  const rng = createRng(seed);

  const Wt = new Float32Array(d * d);
  const Wi = new Float32Array(d * d);
  let tau = Math.log(Math.min(MAX_SCALE, Math.max(MIN_SCALE, opts.initialLogitScale ?? 1 / 0.07)));
  const optT = new Adam(d * d, lr, decay);
  const optI = new Adam(d * d, lr, decay);
  // The temperature gets no decay: it is not part of the map.
  const tauState = { m: 0, v: 0, t: 0 };

  const before = heldOutRecall(data, heldOut, null, null);
  let best = {
    score: meanRecall1(before),
    epoch: 0,
    Wt: Float32Array.from(Wt),
    Wi: Float32Array.from(Wi),
    scale: Math.exp(tau),
    after: before,
  };
  const history: EpochRecord[] = [];

  const Xt = new Float32Array(B * d);
  const Xi = new Float32Array(B * d);
  const At = new Float32Array(B * d);
  const Ai = new Float32Array(B * d);
  const nt = new Float32Array(B);
  const ni = new Float32Array(B);
  const S = new Float32Array(B * B);
  const G = new Float32Array(B * B);
  const dAt = new Float32Array(B * d);
  const dAi = new Float32Array(B * d);
  const gWt = new Float32Array(d * d);
  const gWi = new Float32Array(d * d);
  const order = Uint32Array.from(train);
  // Drop the ragged last batch: a tiny batch makes the contrastive task trivially easy.
  const stepsPerEpoch = Math.max(1, Math.floor(order.length / B));

  let epoch = 0;
  let sinceBest = 0;
  let stepCount = 0;
  for (epoch = 1; epoch <= maxEpochs; epoch++) {
    shuffle(order, rng);
    let lossSum = 0;
    for (let step = 0; step < stepsPerEpoch; step++) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
      gather(data.text, order, step * B, B, d, Xt);
      gather(data.image, order, step * B, B, d, Xi);
      project(Xt, Wt, B, d, At, nt);
      project(Xi, Wi, B, d, Ai, ni);
      gemmNT(At, Ai, S, B, d, B);
      const scale = Math.exp(tau);

      // G = ∂loss/∂logits: ½(softmax_rows − I)/B + ½(softmax_cols − I)/B.
      let loss = 0;
      G.fill(0);
      for (let i = 0; i < B; i++) {
        const o = i * B;
        let mx = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < B; j++) mx = Math.max(mx, scale * S[o + j]);
        let z = 0;
        for (let j = 0; j < B; j++) z += Math.exp(scale * S[o + j] - mx);
        loss -= scale * S[o + i] - mx - Math.log(z);
        const inv = 1 / (2 * B * z);
        for (let j = 0; j < B; j++) G[o + j] += Math.exp(scale * S[o + j] - mx) * inv;
        G[o + i] -= 1 / (2 * B);
      }
      for (let j = 0; j < B; j++) {
        let mx = Number.NEGATIVE_INFINITY;
        for (let i = 0; i < B; i++) mx = Math.max(mx, scale * S[i * B + j]);
        let z = 0;
        for (let i = 0; i < B; i++) z += Math.exp(scale * S[i * B + j] - mx);
        loss -= scale * S[j * B + j] - mx - Math.log(z);
        const inv = 1 / (2 * B * z);
        for (let i = 0; i < B; i++) G[i * B + j] += Math.exp(scale * S[i * B + j] - mx) * inv;
        G[j * B + j] -= 1 / (2 * B);
      }
      loss /= 2 * B;
      lossSum += loss;

      // ∂/∂τ with scale = e^τ: Σ G ∘ (scale S). Then ∂/∂S = scale G.
      let gTau = 0;
      for (let i = 0; i < B * B; i++) {
        gTau += G[i] * S[i];
        G[i] *= scale;
      }
      gTau *= scale;

      gemm(G, Ai, dAt, B, B, d);
      gemmTN(G, At, dAi, B, B, d);
      normBackward(At, dAt, nt, B, d);
      normBackward(Ai, dAi, ni, B, d);
      gemmTN(Xt, dAt, gWt, B, d, d);
      gemmTN(Xi, dAi, gWi, B, d, d);
      optT.step(Wt, gWt);
      optI.step(Wi, gWi);
      tauState.t++;
      tauState.m = 0.9 * tauState.m + 0.1 * gTau;
      tauState.v = 0.999 * tauState.v + 0.001 * gTau * gTau;
      const mh = tauState.m / (1 - 0.9 ** tauState.t);
      const vh = tauState.v / (1 - 0.999 ** tauState.t);
      tau -= (lr * 5 * mh) / (Math.sqrt(vh) + 1e-8);
      tau = Math.min(Math.log(MAX_SCALE), Math.max(Math.log(MIN_SCALE), tau));

      opts.onStep?.({ epoch, step: step + 1, stepsPerEpoch, loss });
      stepCount++;
      if (yieldEvery > 0 && stepCount % yieldEvery === 0) await new Promise<void>((r) => setImmediate(r));
    }
    const recall = heldOutRecall(data, heldOut, Wt, Wi);
    const score = meanRecall1(recall);
    // The best epoch is kept whatever the margin; only a real gain resets the patience.
    const improved = score > best.score;
    if (score >= best.score + minDelta) sinceBest = 0;
    else sinceBest++;
    if (improved) best = { score, epoch, Wt: Float32Array.from(Wt), Wi: Float32Array.from(Wi), scale: Math.exp(tau), after: recall };
    const rec: EpochRecord = { epoch, loss: lossSum / stepsPerEpoch, heldOut: recall, logitScale: Math.exp(tau), best: improved };
    history.push(rec);
    opts.onEpoch?.(rec);
    if (sinceBest >= patience || score >= 1) break;
  }

  return {
    textDelta: best.Wt,
    imageDelta: best.Wi,
    logitScale: best.scale,
    before,
    after: best.after,
    history,
    bestEpoch: best.epoch,
    epochs: Math.min(epoch, maxEpochs),
    pairs: { train: train.length, heldOut: heldOut.length },
    seed,
  };
}

/** Gradient through y = u/‖u‖, in place on dY: dU = (dY − y (y·dY)) / ‖u‖. */
function normBackward(Y: Float32Array, dY: Float32Array, norms: Float32Array, rows: number, d: number): void {
  for (let i = 0; i < rows; i++) {
    const o = i * d;
    let dot = 0;
    for (let j = 0; j < d; j++) dot += Y[o + j] * dY[o + j];
    const inv = norms[i] > 0 ? 1 / norms[i] : 0;
    for (let j = 0; j < d; j++) dY[o + j] = (dY[o + j] - Y[o + j] * dot) * inv;
  }
}

/** Packs a training result as an Adapter for the given model and library size. */
export function adapterFromResult(
  r: TrainAdapterResult,
  info: { model: string; textModel?: string; dims: number; libraryRows: number },
): Adapter {
  const meta: AdapterMeta = {
    model: info.model,
    ...(info.textModel ? { textModel: info.textModel } : {}),
    dims: info.dims,
    libraryRows: info.libraryRows,
    trainedAt: new Date().toISOString(),
    logitScale: r.logitScale,
    seed: r.seed,
    pairs: r.pairs,
    epochs: r.epochs,
    bestEpoch: r.bestEpoch,
    before: r.before,
    after: r.after,
  };
  return new Adapter(meta, r.textDelta, r.imageDelta);
}

/**
 * Synthetic pairs with a known answer: captions are random unit vectors, images are a hidden
 * random rotation of them plus noise, re-normalised. Raw CLIP similarity says nothing here
 * (recall ≈ chance); an adapter that learns the rotation finds every pair.
 */
export function syntheticPairs(
  n: number,
  d: number,
  opts: { seed?: number; noise?: number } = {},
): PairMatrix & { rotation: Float32Array } {
  const rng = createRng(opts.seed ?? 1);
  const noise = opts.noise ?? 0.3;
  const R = randomRotation(d, rng);
  const text = new Float32Array(n * d);
  for (let i = 0; i < n * d; i++) text[i] = rng.normal();
  normalizeRows(text, n, d);
  const image = new Float32Array(n * d);
  gemm(text, R, image, n, d, d);
  // Noise of norm ≈ `noise` relative to the unit signal.
  const sd = noise / Math.sqrt(d);
  for (let i = 0; i < n * d; i++) image[i] += sd * rng.normal();
  normalizeRows(image, n, d);
  return { text, image, n, d, rotation: R };
}
