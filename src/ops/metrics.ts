/**
 * Prometheus metrics (the only module importing prom-client). Code that has something to
 * count gets a `Metrics` in its dependencies — a handful of plain methods, `noopMetrics` by
 * default — so no module needs prom-client, a registry or a global.
 *
 * The decorators below count without touching the code they wrap: a RoundStore (briefs,
 * rounds, votes), a Generator (latency by stage, failures, OpenAI spend), an Encoder (call latency,
 * remote failures) and the in-process encoder's run events (batch sizes).
 */
import client from 'prom-client';
import type { Encoder } from '../clip/types.ts';
import { isAdError } from '../errors.ts';
import { costOf, type GenerateCost } from '../generate/pricing.ts';
import type { GenerateProgress, Generator } from '../generate/types.ts';
import type { RoundStatus, RoundStore } from '../rounds/types.ts';

export type EncoderModel = 'text' | 'vision';

export interface Metrics {
  brief(outcome: 'started' | 'refused'): void;
  round(event: RoundStatus | 'created'): void;
  vote(kind: 'voted' | 'moved' | 'retracted'): void;
  generationStage(stage: string, seconds: number): void;
  /** A failed call to something outside: kind like "slack", "openai", "clip", "store". */
  apiError(kind: string, code: string): void;
  /** What a generation's billed OpenAI requests cost: requests, tokens and USD per model. */
  openaiSpend(cost: GenerateCost): void;
  encoderBatch(model: EncoderModel, size: number): void;
  encoderQueueWait(model: EncoderModel, seconds: number): void;
  encoderCall(model: EncoderModel, seconds: number): void;
  httpRequest(route: string, status: number, seconds: number): void;
}

export const noopMetrics: Metrics = {
  brief() {},
  round() {},
  vote() {},
  generationStage() {},
  apiError() {},
  openaiSpend() {},
  encoderBatch() {},
  encoderQueueWait() {},
  encoderCall() {},
  httpRequest() {},
};

export interface MetricsRegistry extends Metrics {
  /** The exposition text for /metrics. */
  text(): Promise<string>;
  readonly contentType: string;
}

/** A fresh registry (one per process; tests make their own) with the process defaults and ours. */
export function createMetrics(opts: { defaults?: boolean; labels?: Record<string, string> } = {}): MetricsRegistry {
  const registry = new client.Registry();
  if (opts.labels) registry.setDefaultLabels(opts.labels);
  if (opts.defaults !== false) client.collectDefaultMetrics({ register: registry, prefix: 'adcreative_' });
  const r = [registry];
  const briefs = new client.Counter({
    name: 'adcreative_briefs_total',
    help: 'Briefs received, by outcome',
    labelNames: ['outcome'],
    registers: r,
  });
  const rounds = new client.Counter({
    name: 'adcreative_rounds_total',
    help: 'Round lifecycle events',
    labelNames: ['event'],
    registers: r,
  });
  const votes = new client.Counter({ name: 'adcreative_votes_total', help: 'Votes recorded, by kind', labelNames: ['kind'], registers: r });
  const stage = new client.Histogram({
    name: 'adcreative_generation_stage_seconds',
    help: 'Generation latency by stage (writing, drawing, composing, ranking, total)',
    labelNames: ['stage'],
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160],
    registers: r,
  });
  const apiErrors = new client.Counter({
    name: 'adcreative_api_errors_total',
    help: 'Failed calls to outside services, by kind and error code',
    labelNames: ['kind', 'code'],
    registers: r,
  });
  const openaiRequests = new client.Counter({
    name: 'adcreative_openai_requests_total',
    help: 'OpenAI requests the API answered (so billed), by model',
    labelNames: ['model'],
    registers: r,
  });
  const openaiTokens = new client.Counter({
    name: 'adcreative_openai_tokens_total',
    help: 'Tokens OpenAI reported for billed requests, by model, kind (text, image) and direction (input, cached_input, output)',
    labelNames: ['model', 'kind', 'direction'],
    registers: r,
  });
  const openaiUsd = new client.Counter({
    name: 'adcreative_openai_cost_usd_total',
    help: 'USD of billed OpenAI requests, priced from the reported usage with the price table (OPENAI_PRICES)',
    labelNames: ['model'],
    registers: r,
  });
  const batch = new client.Histogram({
    name: 'adcreative_encoder_batch_size',
    help: 'Inputs per CLIP inference run',
    labelNames: ['model'],
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: r,
  });
  const wait = new client.Histogram({
    name: 'adcreative_encoder_queue_wait_seconds',
    help: 'Time a CLIP request waited for its batch to start',
    labelNames: ['model'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: r,
  });
  const call = new client.Histogram({
    name: 'adcreative_encoder_call_seconds',
    help: 'CLIP embedding calls, end to end',
    labelNames: ['model'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: r,
  });
  const http = new client.Histogram({
    name: 'adcreative_http_request_seconds',
    help: 'HTTP requests served, by route and status',
    labelNames: ['route', 'status'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: r,
  });
  return {
    brief: (outcome) => briefs.inc({ outcome }),
    round: (event) => rounds.inc({ event }),
    vote: (kind) => votes.inc({ kind }),
    generationStage: (s, seconds) => stage.observe({ stage: s }, seconds),
    apiError: (kind, code) => apiErrors.inc({ kind, code }),
    openaiSpend: (cost) => {
      for (const [model, m] of Object.entries(cost.byModel)) {
        openaiRequests.inc({ model }, m.requests);
        openaiUsd.inc({ model }, m.usd);
        for (const kind of ['text', 'image'] as const)
          for (const [direction, key] of [
            ['input', 'input'],
            ['cached_input', 'cachedInput'],
            ['output', 'output'],
          ] as const)
            if (m[kind][key] > 0) openaiTokens.inc({ model, kind, direction }, m[kind][key]);
      }
    },
    encoderBatch: (model, size) => batch.observe({ model }, size),
    encoderQueueWait: (model, seconds) => wait.observe({ model }, seconds),
    encoderCall: (model, seconds) => call.observe({ model }, seconds),
    httpRequest: (route, status, seconds) => http.observe({ route, status: String(status) }, seconds),
    text: () => registry.metrics(),
    contentType: registry.contentType,
  };
}

/** Counts briefs, rounds and votes as the store records them (works for every store). */
export function instrumentStore(store: RoundStore, m: Metrics): RoundStore {
  // A Proxy keeps every other method (and ones added later) exactly as they are.
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'insertRound') {
        const fn: RoundStore['insertRound'] = async (r, caps) => {
          try {
            const out = await target.insertRound(r, caps);
            if (r.number === 1) m.brief('started');
            m.round('created');
            return out;
          } catch (e) {
            if (r.number === 1 && isAdError(e)) m.brief('refused');
            throw e;
          }
        };
        return fn;
      }
      if (prop === 'transitionRound') {
        const fn: RoundStore['transitionRound'] = async (id, from, to, patch) => {
          const ok = await target.transitionRound(id, from, to, patch);
          if (ok) m.round(to);
          return ok;
        };
        return fn;
      }
      if (prop === 'swapVote') {
        const fn: RoundStore['swapVote'] = async (p) => {
          const ok = await target.swapVote(p);
          if (ok) m.vote(p.next === null ? 'retracted' : p.expected === null ? 'voted' : 'moved');
          return ok;
        };
        return fn;
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** Times each generation stage from the generator's own progress reports, and counts failures. */
export function instrumentGenerator(gen: Generator, m: Metrics): Generator {
  return {
    rerender: (...a) => gen.rerender(...a),
    async generate(req) {
      const t0 = performance.now();
      let current: { stage: GenerateProgress['stage']; at: number } | undefined;
      const onProgress = (p: GenerateProgress) => {
        const now = performance.now();
        if (!current || current.stage !== p.stage) {
          if (current) m.generationStage(current.stage, (now - current.at) / 1000);
          current = { stage: p.stage, at: now };
        }
        req.onProgress?.(p);
      };
      try {
        const out = await gen.generate({ ...req, onProgress });
        for (const f of out.failures) m.apiError('generate', f.stage);
        m.openaiSpend(out.cost);
        return out;
      } catch (e) {
        m.apiError('generate', isAdError(e) ? e.code : 'failed');
        const spent = costOf(e);
        if (spent) m.openaiSpend(spent);
        throw e;
      } finally {
        const now = performance.now();
        if (current) m.generationStage(current.stage, (now - current.at) / 1000);
        m.generationStage('total', (now - t0) / 1000);
      }
    },
  };
}

/** Times embedding calls and counts their failures (a remote server down shows here). */
export function instrumentEncoder<E extends Encoder>(enc: E, m: Metrics): E {
  const timed =
    <A extends unknown[]>(model: EncoderModel, fn: (...a: A) => Promise<Float32Array[]>) =>
    async (...a: A): Promise<Float32Array[]> => {
      const t0 = performance.now();
      try {
        return await fn(...a);
      } catch (e) {
        m.apiError('clip', isAdError(e) ? e.code : 'failed');
        throw e;
      } finally {
        m.encoderCall(model, (performance.now() - t0) / 1000);
      }
    };
  const embedTexts = timed('text', (t: string[]) => enc.embedTexts(t));
  const embedImages = timed('vision', (i: Uint8Array[]) => enc.embedImages(i));
  return new Proxy(enc, {
    get(target, prop, receiver) {
      if (prop === 'embedTexts') return embedTexts;
      if (prop === 'embedImages') return embedImages;
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
