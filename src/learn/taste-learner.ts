/**
 * The taste model inside the bot: the last fitted model (the file `train preference` or the
 * schedule writes) plus every vote since, applied the moment it is stored, and the scorer
 * the generator ranks with.
 *
 * `observe` is the round service's `onVote` listener: it queues the change and returns, so
 * the vote path never waits. The queue resolves the round's shown variants once (image
 * embeddings from the asset store, copy embeddings from the cache the scorer filled when the
 * round was ranked) and applies the update: one Laplace step, a vote moved or taken back
 * undone exactly. When a retrained file appears the live votes it does not include are
 * applied to it again. Each replica learns from the votes it receives; the periodic retrain
 * brings them all together.
 */
import type { Encoder } from '../clip/types.ts';
import { ModelError } from '../errors.ts';
import { createRng, type Rng } from '../linalg.ts';
import type { Logger } from '../log.ts';
import type { VoteChange } from '../rounds/service.ts';
import { copyText, type ShownVariant } from './preference.ts';
import { featuresOf, type PreferenceEstimate, type TasteModel } from './taste.ts';

/** Copy embeddings by text, so a vote's update never waits for CLIP for copy the scorer already embedded. */
export function cachingTextEncoder<E extends Pick<Encoder, 'embedTexts'>>(encoder: E, max = 2000): E {
  const cache = new Map<string, Float32Array>();
  const embedTexts = async (texts: string[]): Promise<Float32Array[]> => {
    const missing = [...new Set(texts.filter((t) => !cache.has(t)))];
    if (missing.length) {
      const got = await encoder.embedTexts(missing);
      for (const [i, t] of missing.entries()) cache.set(t, got[i]);
      while (cache.size > max) cache.delete(cache.keys().next().value as string);
    }
    return texts.map((t) => {
      const v = cache.get(t) as Float32Array;
      // Most recently used last.
      cache.delete(t);
      cache.set(t, v);
      return v;
    });
  };
  return new Proxy(encoder, {
    get: (target, prop, receiver) => (prop === 'embedTexts' ? embedTexts : Reflect.get(target, prop, receiver)),
  });
}

export interface TasteLearner {
  /** The working model: the fitted one plus the votes since; null before any fit. */
  current(): TasteModel | null;
  /** The round service's `onVote` listener. */
  observe(change: VoteChange): void;
  /** Resolves when every queued update has been applied (tests, shutdown). */
  settled(): Promise<void>;
}

export interface TasteLearnerDeps {
  /** The fitted model, re-read when the file changes (`followPreferenceModel`). */
  fitted: () => TasteModel | null;
  /** The variants a round showed, with embeddings (`shownVariants` over the store and assets). */
  shown: (roundId: string) => Promise<ShownVariant[]>;
  logger?: Logger;
  /** Milliseconds each update took on the event loop (the vote path's cost). */
  onUpdate?: (ms: number) => void;
}

interface LiveVote {
  roundId: string;
  variantId: string;
  /** Its segment ('' without audiences): the choice was among that segment's variants only. */
  audience: string;
}

export function createTasteLearner(deps: TasteLearnerDeps): TasteLearner {
  let fittedRef: TasteModel | null = null;
  let working: TasteModel | null = null;
  const live = new Map<string, LiveVote>();
  const shownByRound = new Map<string, ShownVariant[]>();
  const feats = new WeakMap<TasteModel, Map<string, Float64Array>>();
  let queue: Promise<void> = Promise.resolve();

  const featuresFor = (m: TasteModel, shown: ShownVariant[]) => {
    let cache = feats.get(m);
    if (!cache) {
      cache = new Map();
      feats.set(m, cache);
    }
    return shown.map((s) => {
      let f = cache.get(s.variantId);
      if (!f) {
        f = featuresOf(m.basis, s);
        cache.set(s.variantId, f);
      }
      return f;
    });
  };

  const apply = (m: TasteModel, key: string, v: LiveVote | null) => {
    if (!v) {
      m.observe(key, [], null);
      return;
    }
    // As in the retrain (round-sources.ts): another segment's variants were written for other people, not turned down.
    const shown = (shownByRound.get(v.roundId) ?? []).filter((s) => (s.audience ?? '') === v.audience);
    const i = shown.findIndex((s) => s.variantId === v.variantId);
    m.observe(key, featuresFor(m, shown), i >= 0 ? i : null);
  };

  let trained = new Set<string>();
  /** Follows the file: a new fit starts a new working copy with the live votes it lacks. */
  const sync = (): TasteModel | null => {
    const f = deps.fitted();
    if (f !== fittedRef) {
      fittedRef = f;
      working = f ? f.clone() : null;
      trained = new Set(f?.meta.trainedRounds ?? []);
      for (const [key, v] of live) {
        if (trained.has(v.roundId)) {
          live.delete(key);
          shownByRound.delete(v.roundId);
        } else if (working) apply(working, key, v);
      }
    }
    return working;
  };

  const update = async (change: VoteChange) => {
    // One live vote per person per segment: a vote in another segment of the round is another choice.
    const key = `${change.roundId}\u0000${change.user}\u0000${change.audience}`;
    const v = change.current === null ? null : { roundId: change.roundId, variantId: change.current, audience: change.audience };
    if (v) live.set(key, v);
    else live.delete(key);
    if (!sync() || trained.has(change.roundId)) return;
    if (v && !shownByRound.has(change.roundId)) shownByRound.set(change.roundId, await deps.shown(change.roundId));
    // A retrained file may have arrived meanwhile: apply to whatever is current now.
    const m = sync();
    if (!m || trained.has(change.roundId)) return;
    const t0 = performance.now();
    apply(m, key, v);
    deps.onUpdate?.(performance.now() - t0);
  };

  return {
    current: sync,
    observe(change) {
      queue = queue
        .then(() => update(change))
        .catch((e: unknown) => deps.logger?.warn('taste: online update failed; the next retrain includes the vote', { error: e }));
    },
    settled: () => queue,
  };
}

/**
 * The preference term for ranking (the generator's `preference` hook): per candidate its
 * predicted percentile among the team's past creatives (0–1), an 80 % interval and posterior
 * draws for Thompson sampling; null while the model knows nothing (no priors, fewer than
 * `minVotes` votes). Copy is embedded with `encoder`, which must be the one the model's
 * embeddings came from (same model, same adapter).
 */
export function makeTasteScorer(opts: {
  model: () => TasteModel | null;
  encoder: Pick<Encoder, 'embedTexts' | 'info'> & { adapter?: { id: string } };
  minVotes: number;
  rng?: Rng;
}): (
  variants: { headline: string; body: string; imageEmbedding: Float32Array }[],
  o?: { draws?: number },
) => Promise<(PreferenceEstimate | null)[]> {
  const { encoder, minVotes } = opts;
  const rng = opts.rng ?? createRng((Math.random() * 2 ** 32) >>> 0);
  return async (variants, o = {}) => {
    const model = opts.model();
    if (!model || !variants.length || !model.shows(minVotes)) return variants.map(() => null);
    model.assertCompatible(encoder.info());
    const space = encoder.adapter?.id ?? null;
    if (space !== model.meta.adapter) {
      throw new ModelError(
        'PREFERENCE_SPACE_MISMATCH',
        `the preference model was trained on ${model.meta.adapter ? `adapter ${model.meta.adapter}` : 'raw CLIP'} embeddings but the encoder gives ${space ? `adapter ${space}` : 'raw CLIP'} ones`,
        { hint: 'retrain it with `adcreative train preference`' },
      );
    }
    const texts = await encoder.embedTexts(variants.map(copyText));
    return model.estimate(
      variants.map((v, i) => ({ imageEmbedding: v.imageEmbedding, textEmbedding: texts[i] })),
      { draws: o.draws ?? 0, rng },
    );
  };
}
