/**
 * `npm run bench -- train [--pairs 10000] [--dims 512] [--noise 4] [--epochs 30] [--batch 256] [--model DIR]`
 *
 * 1. Adapter training time on synthetic pairs with a known answer (images = a hidden
 *    rotation of captions + noise), the whole run with early stopping, and per epoch.
 * 2. The adapter's cost per embedding (one at a time and batched) against one CLIP text
 *    embedding measured in the same run through `openEncoder` (CLIP_MODEL_DIR, or --model:
 *    a synthetic ViT-B/32 from the project's model synthesiser). Where no encoder can be
 *    opened in this build, the ratio is given against the text tower's FLOP count instead
 *    and the JSON says so.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Adapter, withAdapter } from '../src/clip/adapter.ts';
import { openEncoder } from '../src/clip/open.ts';
import { synthesizeModel } from '../src/clip/synth/index.ts';
import { dataPath, loadConfig } from '../src/config.ts';
import { adapterFromResult, syntheticPairs, trainAdapter } from '../src/learn/adapter-train.ts';
import { formatRecall } from '../src/learn/recall.ts';
import { createRng, median, normalizeRows } from '../src/linalg.ts';
import { machine } from './machine.ts';

/** Median time in ms of `fn` over `reps` runs after `warm` warm-up runs. */
async function time(fn: () => unknown | Promise<unknown>, reps: number, warm = 3): Promise<number> {
  for (let i = 0; i < warm; i++) await fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    ts.push(performance.now() - t);
  }
  return median(ts);
}

/**
 * One CLIP text embedding (batch of one) through `openEncoder` on the synthetic ViT-B/32,
 * raw and with the adapter applied (`withAdapter`), alternating so load drifts hit both.
 */
async function clipTextMs(
  modelDir: string,
  adapter: Adapter | null,
): Promise<{ ms: number | null; adaptedMs: number | null; how: string }> {
  try {
    if (!existsSync(join(modelDir, 'onnx', 'text_model.onnx'))) {
      process.stderr.write(`generating the synthetic vit-b-32 model into ${modelDir} (once)…\n`);
      await synthesizeModel({ arch: 'vit-b-32', outDir: modelDir, onProgress: (m) => process.stderr.write(`  ${m}\n`) });
    }
    const env = { ...process.env, CLIP_MODEL_DIR: modelDir, CLIP_ADAPTER: 'off', CLIP_BATCH_WAIT_MS: '0', CLIP_DEVICE: 'cpu' };
    const enc = await openEncoder(loadConfig(env));
    try {
      const info = enc.info();
      const texts = ['summer sale on running shoes for city runners', 'a cosy winter coat, 30% off this weekend only'];
      let i = 0;
      // The synthetic model has the real dims (512); the bench adapter was trained at `adapter.dims`.
      const adapted =
        adapter && adapter.dims === enc.dims
          ? withAdapter(enc, new Adapter({ ...adapter.meta, model: info.model }, adapter.textDelta, adapter.imageDelta))
          : null;
      const raw: number[] = [];
      const wrapped: number[] = [];
      for (let w = 0; w < 3; w++) await enc.embedTexts([texts[w % 2]]);
      for (let r = 0; r < 30; r++) {
        let t = performance.now();
        await enc.embedTexts([texts[i++ % 2]]);
        raw.push(performance.now() - t);
        if (adapted) {
          t = performance.now();
          await adapted.embedTexts([texts[i++ % 2]]);
          wrapped.push(performance.now() - t);
        }
      }
      return {
        ms: median(raw),
        adaptedMs: adapted ? median(wrapped) : null,
        how: `openEncoder: ${info.model} (${info.synthetic ? 'synthetic' : 'real'}, ${info.device}, ${info.precision}) from ${modelDir}`,
      };
    } finally {
      await enc.close();
    }
  } catch (e) {
    return { ms: null, adaptedMs: null, how: `no encoder (${e instanceof Error ? e.message : String(e)})` };
  }
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      pairs: { type: 'string', default: '10000' },
      dims: { type: 'string', default: '512' },
      noise: { type: 'string', default: '4' },
      epochs: { type: 'string', default: '30' },
      batch: { type: 'string', default: '256' },
      seed: { type: 'string', default: '42' },
      model: { type: 'string' },
    },
  });
  const n = Number(values.pairs);
  const d = Number(values.dims);
  const noise = Number(values.noise);
  const epochs = Number(values.epochs);
  const batchSize = Number(values.batch);
  const seed = Number(values.seed);
  process.stderr.write(`bench train: ${n} pairs × ${d}-d, noise ${noise}, batch ${batchSize}, ≤ ${epochs} epochs\n`);

  const data = syntheticPairs(n, d, { seed, noise });
  const epochMs: number[] = [];
  let last = performance.now();
  const t0 = performance.now();
  const result = await trainAdapter(data, {
    seed,
    epochs,
    batchSize,
    onEpoch: (e) => {
      const now = performance.now();
      epochMs.push(now - last);
      last = now;
      process.stderr.write(
        `  epoch ${e.epoch}: loss ${e.loss.toFixed(4)} ${formatRecall(e.heldOut)} (${((now - t0) / 1000).toFixed(1)} s)\n`,
      );
    },
  });
  const trainS = (performance.now() - t0) / 1000;
  const adapter: Adapter = adapterFromResult(result, { model: 'bench/synthetic', dims: d, libraryRows: n });

  // Adapter cost per embedding.
  const rng = createRng(7);
  const probe = Array.from({ length: 256 }, () => {
    const v = Float32Array.from({ length: d }, () => rng.normal());
    normalizeRows(v, 1, d);
    return v;
  });
  let k = 0;
  const oneMs = await time(() => adapter.applyText(probe[k++ % probe.length]), 2000, 200);
  const batch32Ms = (await time(() => adapter.applyTexts(probe.slice(0, 32)), 50, 5)) / 32;

  const clip = await clipTextMs(resolve(values.model ?? dataPath(loadConfig(process.env), 'models', 'clip-vit-b-32')), adapter);
  // ViT-B/32 text tower: 12 layers, width 512, MLP 2048, 77 tokens ≈ 2·params·tokens + attention.
  const layerParams = 4 * 512 * 512 + 2 * 512 * 2048;
  const clipTextFlops = 12 * (2 * layerParams * 77 + 2 * 2 * 77 * 77 * 512) + 2 * 512 * 512;
  const adapterFlops = 2 * d * d;

  const out = {
    name: 'train',
    date: new Date().toISOString(),
    machine: machine(),
    settings: { pairs: n, dims: d, noise, maxEpochs: epochs, batchSize, seed, heldOut: result.pairs.heldOut },
    training: {
      seconds: Math.round(trainS * 10) / 10,
      epochs: result.epochs,
      bestEpoch: result.bestEpoch,
      medianEpochSeconds: Math.round(median(epochMs)) / 1000,
      recallBefore: result.before,
      recallAfter: result.after,
    },
    adapterCost: {
      perEmbeddingMs: Math.round(oneMs * 10000) / 10000,
      perEmbeddingBatched32Ms: Math.round(batch32Ms * 10000) / 10000,
      flops: adapterFlops,
    },
    clipText: {
      perEmbeddingMs: clip.ms === null ? null : Math.round(clip.ms * 1000) / 1000,
      withAdapterMs: clip.adaptedMs === null ? null : Math.round(clip.adaptedMs * 1000) / 1000,
      how: clip.how,
      flopsEstimate: clipTextFlops,
    },
    ratio: {
      measured: clip.ms === null ? null : oneMs / clip.ms,
      byFlops: adapterFlops / clipTextFlops,
      target: 0.01,
    },
  };
  mkdirSync(join('bench', 'results'), { recursive: true });
  writeFileSync(join('bench', 'results', 'train.json'), `${JSON.stringify(out, null, 2)}\n`);
  const p = (x: number) => `${(100 * x).toFixed(3)}%`;
  process.stdout.write(
    [
      `machine: ${out.machine.cpu}, ${out.machine.cores} cores, load ${out.machine.load.join('/')}, node ${out.machine.node}`,
      `adapter training: ${n} pairs × ${d}-d in ${out.training.seconds} s (${result.epochs} epochs, best ${result.bestEpoch}, median ${out.training.medianEpochSeconds} s/epoch)`,
      `  held-out before: ${formatRecall(result.before)}`,
      `  held-out after:  ${formatRecall(result.after)}`,
      `adapter per embedding: ${out.adapterCost.perEmbeddingMs} ms one at a time, ${out.adapterCost.perEmbeddingBatched32Ms} ms batched (32)`,
      clip.ms === null
        ? `CLIP text embedding: pending — ${clip.how}; by FLOPs the adapter is ${p(out.ratio.byFlops)} of a ViT-B/32 text embedding (target ≤ 1%)`
        : `CLIP text embedding: ${out.clipText.perEmbeddingMs} ms (${clip.how}); through the adapter ${out.clipText.withAdapterMs ?? '—'} ms; adapter/CLIP = ${p(out.ratio.measured ?? 0)} (target ≤ 1%; by FLOPs ${p(out.ratio.byFlops)})`,
      'wrote bench/results/train.json',
    ].join('\n') + '\n',
  );
}
