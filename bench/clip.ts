/**
 * `npm run bench -- clip [--quick] [--model DIR] [--no-peer] [--no-gemm] [--decode N]`
 *
 * CLIP throughput on the synthetic ViT-B/32 (real architecture and size), in one run:
 * - images/s end to end (JPEG decode + preprocess + embed, 1024×768 JPEGs generated here)
 *   and model-only (preprocessed tensors) through the project's encoder, at batch 1/8/32,
 *   fp32 and int8; raw `session.run` on the same ONNX file, options and tensors;
 * - texts/s for short briefs (padded to their own length, and to 77) and for 77-token texts;
 * - this CPU's fp32 GEMM peak as ONNX Runtime reaches it (best single MatMul, 1024…4096);
 * - the peer, transformers.js (@huggingface/transformers) with its CLIP processor and model
 *   classes on the same files and images, at its best batch size, embeddings compared;
 * - peak RSS, and the longest event-loop stall of the calling thread during a large batch.
 * Writes bench/results/clip.json (machine, settings, medians, ratios against the targets).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { createOnnxEncoder, type OnnxEncoder } from '../src/clip/encoder.ts';
import { onnxFile, type Precision } from '../src/clip/model-dir.ts';
import { preprocessImage, readPreprocessConfig } from '../src/clip/preprocess.ts';
import { quantizeModelDir } from '../src/clip/quantize.ts';
import { sessionOptions } from '../src/clip/session.ts';
import { synthesizeModel } from '../src/clip/synth/index.ts';
import { ClipTokenizer } from '../src/clip/tokenizer.ts';
import { cosine } from '../src/clip/types.ts';
import { dataPath, loadConfig } from '../src/config.ts';
import { generateJpegs } from '../src/image/bench-images.ts';
import { silentLogger } from '../src/log.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BATCHES = [1, 8, 32] as const;
const LIMITS = { maxPixels: 40_000_000, maxBytes: 25 * 1024 * 1024 };

/** ViT-B/32 vision tower FLOPs per image (2 per multiply-add): patch embedding, 12 layers, projection. */
function vitB32FlopsPerImage(): number {
  const width = 768;
  const layers = 12;
  const mlp = 3072;
  const tokens = (224 / 32) ** 2 + 1;
  const patchEmbed = (tokens - 1) * 3 * 32 * 32 * width;
  const perLayer = tokens * (4 * width * width + 2 * width * mlp) + 2 * tokens * tokens * width;
  return 2 * (patchEmbed + layers * perLayer + width * 512);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const rssMb = () => round(process.resourceUsage().maxRSS / 1024, 0);
const log = (s: string) => process.stderr.write(`${s}\n`);

/** Items per second of `fn` (which processes `items` items), median over `reps` after one warm-up. */
async function rate(items: number, reps: number, fn: () => Promise<unknown>): Promise<{ perSec: number; samples: number[] }> {
  await fn();
  const samples: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await fn();
    samples.push(items / ((performance.now() - t0) / 1000));
  }
  return { perSec: round(median(samples)), samples: samples.map((x) => round(x)) };
}

function minMean(xs: number[]) {
  return { min: round(Math.min(...xs), 6), mean: round(xs.reduce((a, b) => a + b, 0) / xs.length, 6) };
}

// --- GEMM peak ------------------------------------------------------------------------

function matmulModel(n: number): Uint8Array {
  const onnx = onnxProto.onnx;
  const F = onnx.TensorProto.DataType.FLOAT;
  const b = new Float32Array(n * n);
  for (let i = 0; i < b.length; i++) b[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  const vi = (name: string) => ({ name, type: { tensorType: { elemType: F, shape: { dim: [{ dimValue: n }, { dimValue: n }] } } } });
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'adcreative-bench',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: `matmul${n}`,
      input: [vi('A')],
      output: [vi('C')],
      initializer: [{ name: 'B', dims: [n, n], dataType: F, rawData: new Uint8Array(b.buffer) }],
      node: [{ opType: 'MatMul', input: ['A', 'B'], output: ['C'], name: 'mm' }],
    },
  }).finish();
}

async function gemmPeak(sizes: number[], threads: number, reps: number) {
  const results: { n: number; gflops: number }[] = [];
  for (const n of sizes) {
    const s = await ort.InferenceSession.create(matmulModel(n), sessionOptions('cpu', threads));
    const a = new ort.Tensor('float32', new Float32Array(n * n).fill(0.5), [n, n]);
    const runs = Math.max(1, Math.round(2e10 / (2 * n ** 3)));
    const r = await rate(runs, reps, async () => {
      for (let i = 0; i < runs; i++) await s.run({ A: a });
    });
    results.push({ n, gflops: round((r.perSec * 2 * n ** 3) / 1e9, 1) });
    log(`  GEMM ${n}×${n}: ${results.at(-1)?.gflops} GFLOP/s`);
    await s.release();
  }
  return { sizes: results, peakGflops: Math.max(...results.map((r) => r.gflops)) };
}

// --- peer: transformers.js ----------------------------------------------------------------

type Peer = typeof import('@huggingface/transformers');

async function loadPeer(modelDir: string) {
  const tf: Peer = await import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  tf.env.allowLocalModels = true;
  tf.env.localModelPath = `${dirname(modelDir)}/`;
  const id = modelDir.split('/').pop() as string;
  return { tf, id };
}

// --- main -----------------------------------------------------------------------------------

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      model: { type: 'string' },
      'no-peer': { type: 'boolean' },
      'no-gemm': { type: 'boolean' },
      decode: { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  });
  const quick = values.quick === true;
  const cfg = loadConfig(process.env);
  const threads = cfg.clipThreads;
  const modelDir = resolve(values.model ?? dataPath(cfg, 'models', 'clip-vit-b-32'));
  const reps = quick ? 1 : 3;
  const decodeConcurrency = values.decode === undefined ? undefined : Number(values.decode);
  if (decodeConcurrency !== undefined && !(Number.isInteger(decodeConcurrency) && decodeConcurrency >= 1)) {
    throw new Error(`--decode must be a positive integer; got ${values.decode}`);
  }
  const nImages = quick ? 32 : 64;
  const t0 = performance.now();

  if (!existsSync(join(modelDir, 'onnx/vision_model.onnx'))) {
    log(`generating the synthetic vit-b-32 model into ${modelDir} (once)…`);
    await synthesizeModel({ arch: 'vit-b-32', outDir: modelDir, quantize: true, onProgress: (m) => log(`  ${m}`) });
  }
  if (!existsSync(join(modelDir, onnxFile('vision', 'int8')))) {
    log(`quantizing ${modelDir} (once)…`);
    await quantizeModelDir(modelDir, { onProgress: (m: string) => log(`  ${m}`) });
  }
  const modelCfg = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as Record<string, unknown>;

  log(`generating ${nImages} 1024×768 JPEGs…`);
  const jpegs = await generateJpegs({ count: nImages, width: 1024, height: 768, seed: 42 });
  const pre = readPreprocessConfig(modelDir);
  const pixels: Float32Array[] = [];
  const td = performance.now();
  for (const j of jpegs) pixels.push(await preprocessImage(j, pre, LIMITS));
  const decodeMsPerImage = (performance.now() - td) / jpegs.length;
  const clonePixels = () => pixels.map((p) => p.slice());

  const makeEncoder = (precision: Precision, batchMax: number, textPadding: 'longest' | 'max' = 'longest'): OnnxEncoder =>
    createOnnxEncoder({
      modelDir,
      device: 'cpu',
      precision,
      threads,
      batchMax,
      batchWaitMs: cfg.clipBatchWaitMs === 'auto' ? undefined : cfg.clipBatchWaitMs,
      limits: LIMITS,
      logger: silentLogger,
      textPadding,
      decodeConcurrency,
    });

  // --- vision: raw session.run, encoder model-only, encoder end to end ---
  type Row = { batch: number; rawImgPerSec: number; modelOnlyImgPerSec: number; endToEndImgPerSec: number; maxEventLoopDelayMs?: number };
  const vision: Record<Precision, Row[]> = { fp32: [], fp16: [], int8: [] };
  const embeddings: Partial<Record<Precision, Float32Array[]>> = {};
  for (const precision of ['fp32', 'int8'] as const) {
    const path = join(modelDir, onnxFile('vision', precision));
    const raw = await ort.InferenceSession.create(path, sessionOptions('cpu', threads));
    for (const batch of BATCHES) {
      const n = Math.max(batch, quick ? Math.min(nImages, Math.max(batch * 2, 8)) : nImages);
      const batchTensors: ort.Tensor[] = [];
      for (let i = 0; i < n; i += batch) {
        const data = new Float32Array(batch * pixels[0].length);
        for (let k = 0; k < batch; k++) data.set(pixels[(i + k) % pixels.length], k * pixels[0].length);
        batchTensors.push(new ort.Tensor('float32', data, [batch, 3, pre.cropHeight, pre.cropWidth]));
      }
      const enc = makeEncoder(precision, batch);
      await enc.warmup(['vision']);
      let prepared = clonePixels().slice(0, n);
      // A fresh histogram per measured stretch: re-enabling one would count the pause between.
      let loopDelayMaxMs = 0;
      // Interleaved, so machine noise hits the three alike.
      const rawS: number[] = [];
      const modS: number[] = [];
      const e2eS: number[] = [];
      for (let r = 0; r <= reps; r++) {
        let t = performance.now();
        for (const bt of batchTensors) await raw.run({ pixel_values: bt });
        if (r > 0) rawS.push(n / ((performance.now() - t) / 1000));
        t = performance.now();
        await enc.embedPreprocessed(prepared);
        if (r > 0) modS.push(n / ((performance.now() - t) / 1000));
        prepared = clonePixels().slice(0, n);
        const loopDelay = monitorEventLoopDelay({ resolution: 2 });
        loopDelay.enable();
        t = performance.now();
        const out = await enc.embedImages(jpegs.slice(0, n));
        if (r > 0) e2eS.push(n / ((performance.now() - t) / 1000));
        loopDelay.disable();
        if (r > 0) loopDelayMaxMs = Math.max(loopDelayMaxMs, loopDelay.max / 1e6);
        if (batch === 8) embeddings[precision] = out;
      }
      const row: Row = {
        batch,
        rawImgPerSec: round(median(rawS)),
        modelOnlyImgPerSec: round(median(modS)),
        endToEndImgPerSec: round(median(e2eS)),
      };
      row.maxEventLoopDelayMs = round(loopDelayMaxMs, 1);
      vision[precision].push(row);
      log(
        `  vision ${precision} batch ${batch}: raw ${row.rawImgPerSec} img/s, encoder ${row.modelOnlyImgPerSec}, end to end ${row.endToEndImgPerSec}`,
      );
      await enc.close();
    }
    await raw.release();
  }
  const rssAfterOurs = rssMb();

  // --- text ---
  const tok = ClipTokenizer.load(join(modelDir, 'tokenizer.json'));
  const briefCandidates = [
    'summer sale on running shoes',
    'iced coffee for hot days',
    'new electric bike launch',
    'cozy winter knitwear',
    'organic skincare for men',
    'budget travel to lisbon',
    'back to school backpacks',
    'vegan protein snacks',
    'smart home security camera',
    'weekend yoga retreat',
    'fresh pasta delivered',
    'noise cancelling headphones',
  ];
  const briefs = briefCandidates.map((b) => {
    let t = b;
    while (tok.encode(t).length > 20) t = t.split(' ').slice(0, -1).join(' ') || t.slice(0, t.length - 1);
    return t;
  });
  const nTexts = quick ? 32 : 128;
  const shortTexts = Array.from({ length: nTexts }, (_, i) => briefs[i % briefs.length]);
  const longText = (i: number) =>
    Array.from({ length: 80 }, (_, k) => ['bold', 'campaign', 'ocean', 'product', 'launch', 'vivid', 'urban', 'story'][(i + k) % 8]).join(
      ' ',
    );
  const longTexts = Array.from({ length: nTexts }, (_, i) => longText(i));
  const textBatch = 32;
  const encLongest = makeEncoder('fp32', textBatch, 'longest');
  const encMax = makeEncoder('fp32', textBatch, 'max');
  await Promise.all([encLongest.warmup(['text']), encMax.warmup(['text'])]);
  const shortOwn = await rate(nTexts, reps, () => encLongest.embedTexts(shortTexts));
  const shortPadded = await rate(nTexts, reps, () => encMax.embedTexts(shortTexts));
  const long77 = await rate(nTexts, reps, () => encLongest.embedTexts(longTexts));
  const [ownEmb, padEmb] = await Promise.all([encLongest.embedTexts(briefs), encMax.embedTexts(briefs)]);
  const padCos = minMean(briefs.map((_, i) => cosine(ownEmb[i], padEmb[i])));
  await encMax.close();
  const text = {
    batch: textBatch,
    shortBriefTokens: {
      max: Math.max(...briefs.map((b) => tok.encode(b).length)),
      min: Math.min(...briefs.map((b) => tok.encode(b).length)),
    },
    shortOwnLengthTextsPerSec: shortOwn.perSec,
    shortPaddedTo77TextsPerSec: shortPadded.perSec,
    long77TokenTextsPerSec: long77.perSec,
    cosineOwnVsPadded: padCos,
  };
  log(
    `  text: short own length ${text.shortOwnLengthTextsPerSec}/s, padded to 77 ${text.shortPaddedTo77TextsPerSec}/s, 77-token ${text.long77TokenTextsPerSec}/s`,
  );

  // int8 vs fp32 embeddings of the same images
  const int8Cos = embeddings.fp32 && embeddings.int8 ? minMean(embeddings.fp32.map((e, i) => cosine(e, embeddings.int8![i]))) : undefined;

  // --- GEMM peak ---
  let gemm: Awaited<ReturnType<typeof gemmPeak>> | undefined;
  if (values['no-gemm'] !== true) {
    log('GEMM peak…');
    gemm = await gemmPeak(quick ? [1024, 2048] : [1024, 2048, 3072, 4096], threads, quick ? 1 : 2);
  }

  // --- peer ---
  let peer:
    | {
        library: string;
        version: string;
        batches: { batch: number; endToEndImgPerSec: number; modelOnlyImgPerSec: number }[];
        best: { batch: number; endToEndImgPerSec: number; modelOnlyImgPerSec: number };
        imageCosine: { min: number; mean: number };
        text?: { sameIdsAsOurs: number; of: number; cosine?: { min: number; mean: number }; note?: string };
      }
    | undefined;
  if (values['no-peer'] !== true) {
    log('peer: transformers.js…');
    const { tf, id } = await loadPeer(modelDir);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'node_modules/@huggingface/transformers/package.json'), 'utf8')) as { version: string };
    const model = await tf.CLIPVisionModelWithProjection.from_pretrained(id, { dtype: 'fp32', device: 'cpu' });
    const processor = await tf.AutoProcessor.from_pretrained(id);
    const rows: { batch: number; endToEndImgPerSec: number; modelOnlyImgPerSec: number }[] = [];
    let peerEmb: Float32Array[] = [];
    for (const batch of BATCHES) {
      const n = Math.max(batch, quick ? Math.min(nImages, Math.max(batch * 2, 8)) : nImages);
      const chunks: Buffer[][] = [];
      for (let i = 0; i < n; i += batch) chunks.push(Array.from({ length: batch }, (_, k) => jpegs[(i + k) % jpegs.length]));
      const e2e = await rate(n, reps, async () => {
        const out: Float32Array[] = [];
        for (const c of chunks) {
          const imgs = await Promise.all(c.map((b) => tf.RawImage.fromBlob(new Blob([new Uint8Array(b)]))));
          const inputs = await processor(imgs);
          const r = await model(inputs);
          const data = r.image_embeds.data as Float32Array;
          for (let k = 0; k < c.length; k++) out.push(data.slice(k * 512, (k + 1) * 512));
        }
        if (batch === 8) peerEmb = out;
      });
      const prepared = await Promise.all(
        chunks.map(async (c) => processor(await Promise.all(c.map((b) => tf.RawImage.fromBlob(new Blob([new Uint8Array(b)])))))),
      );
      const mo = await rate(n, reps, async () => {
        for (const p of prepared) await model(p);
      });
      rows.push({ batch, endToEndImgPerSec: e2e.perSec, modelOnlyImgPerSec: mo.perSec });
      log(`  peer batch ${batch}: end to end ${e2e.perSec} img/s, model-only ${mo.perSec}`);
    }
    const best = rows.reduce((a, b) => (b.endToEndImgPerSec > a.endToEndImgPerSec ? b : a));
    const ours = embeddings.fp32 ?? [];
    const imageCosine = minMean(peerEmb.map((e, i) => cosine(e, ours[i])));
    await model.dispose();

    let textCmp: NonNullable<typeof peer>['text'];
    try {
      const ptok = await tf.AutoTokenizer.from_pretrained(id);
      const pt = ptok(briefs, { padding: true, truncation: true, max_length: 77 });
      const ids = pt.input_ids.tolist() as bigint[][];
      const mask = pt.attention_mask.tolist() as bigint[][];
      let same = 0;
      briefs.forEach((b, i) => {
        const theirs = ids[i].filter((_, k) => mask[i][k] === 1n).map(Number);
        if (JSON.stringify(theirs) === JSON.stringify(tok.encode(b))) same++;
      });
      const ptext = await tf.CLIPTextModelWithProjection.from_pretrained(id, { dtype: 'fp32', device: 'cpu' });
      const tout = await ptext(pt);
      const td2 = tout.text_embeds.data as Float32Array;
      const tcos = minMean(briefs.map((_, i) => cosine(td2.slice(i * 512, (i + 1) * 512), ownEmb[i])));
      await ptext.dispose();
      textCmp = { sameIdsAsOurs: same, of: briefs.length, cosine: tcos };
    } catch (e) {
      textCmp = {
        sameIdsAsOurs: 0,
        of: briefs.length,
        note: `transformers.js could not tokenize with this tokenizer.json: ${e instanceof Error ? e.message : String(e)}`,
      };
    }
    peer = { library: '@huggingface/transformers', version: pkg.version, batches: rows, best, imageCosine, text: textCmp };
  }
  await encLongest.close();

  // --- ratios ---
  const bestBy = (p: Precision, k: keyof Row) => vision[p].reduce((a, r) => ((r[k] ?? 0) > (a[k] ?? 0) ? r : a));
  const oursBestE2e = bestBy('fp32', 'endToEndImgPerSec');
  const rawBest = bestBy('fp32', 'rawImgPerSec');
  const perBatch = (p: Precision, f: (r: Row) => number) => Object.fromEntries(vision[p].map((r) => [r.batch, round(f(r), 3)]));
  const peerShareOfRaw = peer ? peer.best.modelOnlyImgPerSec / rawBest.rawImgPerSec : undefined;
  const peerRule = peerShareOfRaw !== undefined && peerShareOfRaw >= 0.9 ? 'within 5% (peer ≥ 90% of raw)' : '≥ 1.3×';
  const oursVsPeer = peer ? oursBestE2e.endToEndImgPerSec / peer.best.endToEndImgPerSec : undefined;
  const int8Speed = bestBy('int8', 'modelOnlyImgPerSec').modelOnlyImgPerSec / bestBy('fp32', 'modelOnlyImgPerSec').modelOnlyImgPerSec;
  const flops = vitB32FlopsPerImage();
  const ratios = {
    encoderVsRawSessionRun: {
      target: '≥ 0.95',
      fp32: perBatch('fp32', (r) => r.modelOnlyImgPerSec / r.rawImgPerSec),
      int8: perBatch('int8', (r) => r.modelOnlyImgPerSec / r.rawImgPerSec),
    },
    endToEndVsModelOnly: {
      target: '≥ 0.75',
      fp32: perBatch('fp32', (r) => r.endToEndImgPerSec / r.modelOnlyImgPerSec),
      int8: perBatch('int8', (r) => r.endToEndImgPerSec / r.modelOnlyImgPerSec),
    },
    oursVsPeer:
      peer && oursVsPeer !== undefined
        ? {
            target: peerRule,
            ours: { batch: oursBestE2e.batch, endToEndImgPerSec: oursBestE2e.endToEndImgPerSec },
            peer: { batch: peer.best.batch, endToEndImgPerSec: peer.best.endToEndImgPerSec },
            ratio: round(oursVsPeer, 3),
            peerModelOnlyShareOfRaw: round(peerShareOfRaw ?? 0, 3),
            embeddingCosine: peer.imageCosine,
            met: peerRule.startsWith('≥') ? oursVsPeer >= 1.3 : oursVsPeer >= 0.95,
          }
        : undefined,
    int8VsFp32: { target: '≥ 3× and cosine ≥ 0.999', modelOnlySpeedup: round(int8Speed, 3), cosine: int8Cos },
    shortBriefOwnLengthVsPadded77: {
      target: '≥ 3× and cosine ≥ 0.9999',
      speedup: round(text.shortOwnLengthTextsPerSec / text.shortPaddedTo77TextsPerSec, 3),
      cosine: text.cosineOwnVsPadded,
    },
    modelShareOfGemmPeak: gemm
      ? {
          flopsPerImage: flops,
          rawBest: { batch: rawBest.batch, gflops: round((rawBest.rawImgPerSec * flops) / 1e9, 1) },
          encoderBest: round((bestBy('fp32', 'modelOnlyImgPerSec').modelOnlyImgPerSec * flops) / 1e9, 1),
          gemmPeakGflops: gemm.peakGflops,
          share: round((rawBest.rawImgPerSec * flops) / 1e9 / gemm.peakGflops, 3),
        }
      : undefined,
  };

  const cpus = os.cpus();
  const result = {
    bench: 'clip',
    date: new Date().toISOString(),
    command: `npm run bench -- clip${argv.length ? ` ${argv.join(' ')}` : ''}`,
    machine: {
      cpu: cpus[0]?.model,
      cores: os.availableParallelism(),
      memoryGiB: round(os.totalmem() / 2 ** 30, 1),
      node: process.version,
      onnxruntime: (JSON.parse(readFileSync(join(ROOT, 'node_modules/onnxruntime-node/package.json'), 'utf8')) as { version: string })
        .version,
      platform: `${os.platform()} ${os.arch()}`,
    },
    settings: {
      model: modelDir,
      synthetic: modelCfg.adcreative_synthetic === true,
      arch: modelCfg.adcreative_arch,
      quick,
      repetitions: reps,
      images: nImages,
      imageSize: '1024x768 JPEG q85',
      intraOpThreads: threads || os.availableParallelism(),
      batchWaitMs: cfg.clipBatchWaitMs === 'auto' ? undefined : cfg.clipBatchWaitMs,
      decodeConcurrency: decodeConcurrency ?? 'default (cores left by inference, at least 1)',
      decodePreprocessMsPerImageSerial: round(decodeMsPerImage, 1),
    },
    vision,
    text,
    gemm,
    peer,
    peakRssMiB: { afterOurEncoder: rssAfterOurs, end: rssMb() },
    ratios,
    seconds: round((performance.now() - t0) / 1000, 1),
  };
  const outPath = resolve(values.out ?? join(ROOT, 'bench/results/clip.json'));
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, `${JSON.stringify(result, null, 2)}\n`);

  // --- summary ---
  const lines = [
    `CLIP benchmark (${result.settings.arch ?? 'model'}${result.settings.synthetic ? ', synthetic' : ''}) on ${result.machine.cpu}, ${result.machine.cores} cores${quick ? ' [--quick]' : ''}`,
    'images/s        batch   raw run   encoder (model-only)   end to end',
    ...(['fp32', 'int8'] as const).flatMap((p) =>
      vision[p].map(
        (r) =>
          `  ${p}          ${String(r.batch).padStart(5)} ${String(r.rawImgPerSec).padStart(9)} ${String(r.modelOnlyImgPerSec).padStart(22)} ${String(r.endToEndImgPerSec).padStart(12)}`,
      ),
    ),
    `texts/s (batch ${textBatch}): short own length ${text.shortOwnLengthTextsPerSec}, short padded to 77 ${text.shortPaddedTo77TextsPerSec}, 77-token ${text.long77TokenTextsPerSec}`,
    gemm
      ? `GEMM peak ${gemm.peakGflops} GFLOP/s; model (raw, best batch) ${ratios.modelShareOfGemmPeak?.rawBest.gflops} GFLOP/s = ${round((ratios.modelShareOfGemmPeak?.share ?? 0) * 100, 1)}%`
      : 'GEMM: skipped',
    peer
      ? `peer transformers.js best batch ${peer.best.batch}: ${peer.best.endToEndImgPerSec} img/s end to end (${peer.best.modelOnlyImgPerSec} model-only); ours ${oursBestE2e.endToEndImgPerSec} → ${round(oursVsPeer ?? 0, 2)}× (${peerRule}); cosine min ${peer.imageCosine.min}`
      : 'peer: skipped',
    `encoder / raw session.run: fp32 ${JSON.stringify(ratios.encoderVsRawSessionRun.fp32)} int8 ${JSON.stringify(ratios.encoderVsRawSessionRun.int8)} (≥ 0.95)`,
    `end to end / model-only: fp32 ${JSON.stringify(ratios.endToEndVsModelOnly.fp32)} int8 ${JSON.stringify(ratios.endToEndVsModelOnly.int8)} (≥ 0.75)`,
    `int8 / fp32 model-only: ${ratios.int8VsFp32.modelOnlySpeedup}× (≥ 3), cosine min ${int8Cos?.min} (≥ 0.999)`,
    `short brief own length / padded to 77: ${ratios.shortBriefOwnLengthVsPadded77.speedup}× (≥ 3), cosine min ${text.cosineOwnVsPadded.min} (≥ 0.9999)`,
    `max event-loop delay of the calling thread during end to end runs (batch 1/8/32): fp32 ${vision.fp32.map((r) => r.maxEventLoopDelayMs).join('/')} ms, int8 ${vision.int8.map((r) => r.maxEventLoopDelayMs).join('/')} ms`,
    `peak RSS of the bench process ${result.peakRssMiB.afterOurEncoder} MiB after our phases (encoder worker + raw baseline sessions), ${result.peakRssMiB.end} MiB at the end (with peer and GEMM); ${result.seconds} s; results in ${outPath}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
