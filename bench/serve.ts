/**
 * `npm run bench -- serve [--quick] [--model DIR] [--clients N] [--seconds S] [--rounds N] [--batch-max N] [--batch-wait-ms N]`
 *
 * serve-clip under load, with and without dynamic batching, in one run: the real server
 * (`adcreative serve-clip` as a child process, as deployed) on the synthetic ViT-B/32 vision
 * model (real architecture and size), 32 concurrent clients in a closed loop, each sending
 * one preprocessed image per request (binary tensor extension, as the remote encoder does).
 * Reports requests/s, p50 and p95 latency per mode and the ratio batched / unbatched.
 * Target: batching ≥ 1.4× the unbatched throughput at no worse p95.
 *
 * The model: $DATA_DIR/models/clip-vit-b-32 (make it with
 * `npm run -s adcreative -- models synth --arch vit-b-32`), or --model DIR.
 * Writes bench/results/serve.json.
 *
 * `--device webgpu|cuda [--images-per-request 16] [--vision-input float|rgb8]` (or `--against-peers`
 * on the CPU, as the GPU check's dry run does): serve-clip on the
 * GPU (precision and vision input as the model directory offers: fp16, rgb8), batching by
 * provider, against its peers on the same host: raw `session.run` on the same device and file
 * at its best batch (target: serve-clip ≥ 80% of it), and serve-clip on the CPU provider under
 * the same load (target: ≥ 10×). Writes bench/results/serve-<device>.json.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { decodeInferResponse, encodeInferRequest, HEADER_LENGTH } from '../src/clip/kserve.ts';
import { onnxFile } from '../src/clip/model-dir.ts';
import { cropRgb, preprocessImage, readPreprocessConfig } from '../src/clip/preprocess.ts';
import { sessionOptions } from '../src/clip/session.ts';
import { dataPath, loadConfig } from '../src/config.ts';
import { generateJpegs } from '../src/image/bench-images.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const log = (s: string) => process.stderr.write(`${s}\n`);
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

function percentile(xs: number[], p: number): number {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

async function startServer(
  model: string,
  batching: { max: number; waitMs: number } | null | 'auto',
  env: Record<string, string> = { CLIP_DEVICE: 'cpu' },
): Promise<{ url: string; child: ChildProcess; startLine: () => string }> {
  const port = await freePort();
  // serve-clip's own entry: the same command, without the modules of the bot's other commands.
  const args = ['--import', 'tsx', join(ROOT, 'src/clip/serve-main.ts'), '--host', '127.0.0.1', '--port', String(port), '--model', model];
  if (batching === null) args.push('--no-batching');
  else if (batching !== 'auto') args.push('--batch-max', String(batching.max), '--batch-wait-ms', String(batching.waitMs));
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (b: Buffer) => {
    err = (err + b.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 300_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`serve-clip exited (${child.exitCode}): ${err}`);
    try {
      if ((await fetch(`${url}/v2/health/ready`)).ok)
        return { url, child, startLine: () => /serve-clip: KServe v2 on .*/.exec(err)?.[0] ?? '' };
    } catch {
      // Starting.
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  child.kill('SIGKILL');
  throw new Error(`serve-clip did not become ready: ${err}`);
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

interface ModeResult {
  mode: string;
  batchMax: number;
  batchWaitMs: number;
  requests: number;
  seconds: number;
  /** Requests that started and finished inside the window (the latency sample). */
  latencies: number;
  /** Mean images per inference run, from serve-clip's own /metrics. */
  meanBatch: number;
  /** Median over segments. */
  requestsPerSec: number;
  segmentRates: number[];
  p50Ms: number;
  p95Ms: number;
  errors: number;
}

/**
 * A closed loop of `clients` clients for warm-up + measured seconds. Throughput counts the
 * responses that arrive inside the measured window; latency is taken over the requests that
 * started inside it (those from the warm-up, and those still queued at the end, are left out).
 */
async function load(
  url: string,
  bodies: { body: Uint8Array<ArrayBuffer>; headers: Record<string, string> }[],
  clients: number,
  seconds: number,
  warmup: number,
) {
  const t0 = performance.now();
  const from = t0 + warmup * 1000;
  const to = from + seconds * 1000;
  const latencies: number[] = [];
  let completed = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      let i = c;
      while (performance.now() < to) {
        const b = bodies[i++ % bodies.length];
        const start = performance.now();
        try {
          const res = await fetch(`${url}/v2/models/clip-vision/infer`, {
            method: 'POST',
            headers: b.headers,
            body: new Uint8Array(b.body),
          });
          const buf = Buffer.from(await res.arrayBuffer());
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          decodeInferResponse(buf, res.headers.get(HEADER_LENGTH) ?? undefined);
          const end = performance.now();
          if (end >= from && end <= to) completed++;
          if (start >= from && end <= to) latencies.push(end - start);
        } catch {
          if (start >= from) errors++;
        }
      }
    }),
  );
  return { latencies, completed, errors };
}

async function meanBatch(url: string): Promise<number> {
  const t = await (await fetch(`${url}/metrics`)).text();
  const sum = Number(/adcreative_encoder_batch_size_sum\{[^}]*model="vision"[^}]*\} ([\d.e+]+)/.exec(t)?.[1] ?? Number.NaN);
  const count = Number(/adcreative_encoder_batch_size_count\{[^}]*model="vision"[^}]*\} ([\d.e+]+)/.exec(t)?.[1] ?? Number.NaN);
  return round(sum / count);
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      model: { type: 'string' },
      clients: { type: 'string' },
      seconds: { type: 'string' },
      rounds: { type: 'string' },
      'batch-max': { type: 'string' },
      'batch-wait-ms': { type: 'string' },
      device: { type: 'string' },
      'images-per-request': { type: 'string' },
      'vision-input': { type: 'string' },
      'against-peers': { type: 'boolean' },
      out: { type: 'string' },
    },
    strict: true,
  });
  const quick = values.quick === true;
  const device = values.device ?? 'cpu';
  if (device !== 'cpu' && device !== 'webgpu' && device !== 'cuda')
    throw new Error(`--device takes cpu, webgpu or cuda; got ${JSON.stringify(device)}`);
  // A GPU is measured against raw session.run and the CPU provider; `--against-peers` does the same on the CPU (the GPU check's dry run).
  if (device !== 'cpu' || values['against-peers'] === true) {
    return gpuServe(argv, device, {
      quick,
      model: values.model,
      clients: values.clients,
      seconds: values.seconds,
      imagesPerRequest: values['images-per-request'],
      visionInput: values['vision-input'],
      out: values.out,
    });
  }
  const cfg = loadConfig({ ...process.env });
  const model = resolve(typeof values.model === 'string' ? values.model : dataPath(cfg, 'models', 'clip-vit-b-32'));
  if (!existsSync(join(model, 'onnx', 'vision_model.onnx'))) {
    log(
      `bench serve: no model at ${model}. Make the synthetic ViT-B/32 with \`npm run -s adcreative -- models synth --arch vit-b-32\`, or pass --model DIR.`,
    );
    process.exitCode = 2;
    return;
  }
  const clients = Number(values.clients ?? 32);
  // Per segment; latencies reach seconds on a loaded 2-core machine, so a segment is much longer.
  const seconds = Number(values.seconds ?? (quick ? 10 : 20));
  const warmup = quick ? 4 : 6;
  const rounds = Number(values.rounds ?? (quick ? 2 : 4));
  const batchMax = Number(values['batch-max'] ?? 16);
  const batchWaitMs = Number(values['batch-wait-ms'] ?? 4);

  // Distinct preprocessed images, sent as binary tensors exactly as the remote encoder sends them.
  const pre = readPreprocessConfig(model);
  const jpegs = await generateJpegs({ count: 8, width: 640, height: 480, seed: 9 });
  const bodies = await Promise.all(
    jpegs.map(async (j) => {
      const px = await preprocessImage(j, pre, { maxPixels: 40_000_000, maxBytes: 25 * 1024 * 1024 });
      const side = Math.round(Math.sqrt(px.length / 3));
      const enc = encodeInferRequest({
        inputs: [{ name: 'pixel_values', datatype: 'FP32', shape: [1, 3, side, side], data: px }],
        outputs: ['image_embeds'],
        binary: true,
      });
      // Copied once here, so the clients spend no CPU per request on it.
      return { body: new Uint8Array(enc.body), headers: enc.headers };
    }),
  );

  const modes: { mode: string; batching: { max: number; waitMs: number } | null }[] = [
    { mode: 'unbatched', batching: null },
    { mode: 'batched', batching: { max: batchMax, waitMs: batchWaitMs } },
  ];
  // Both servers run side by side (an idle one costs no CPU) and the modes take turns in short
  // segments (A B, B A, A B, …): the shared machine's load drifts by the minute, and interleaving
  // makes both modes see the same drift. Throughput: median over segments; latency: all of them.
  const loadBefore = os.loadavg();
  const servers = await Promise.all(modes.map((m) => startServer(model, m.batching)));
  const per = modes.map(() => ({ rates: [] as number[], latencies: [] as number[], completed: 0, errors: 0 }));
  const results: ModeResult[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) {
        const x = await load(servers[i].url, bodies, clients, seconds, warmup);
        per[i].rates.push(x.completed / seconds);
        per[i].latencies.push(...x.latencies);
        per[i].completed += x.completed;
        per[i].errors += x.errors;
        log(`  round ${r + 1}/${rounds} ${modes[i].mode}: ${round(x.completed / seconds)} req/s`);
      }
    }
    for (let i = 0; i < modes.length; i++) {
      const m = modes[i];
      const x: ModeResult = {
        mode: m.mode,
        batchMax: m.batching?.max ?? 1,
        batchWaitMs: m.batching?.waitMs ?? 0,
        requests: per[i].completed,
        seconds: seconds * rounds,
        latencies: per[i].latencies.length,
        meanBatch: await meanBatch(servers[i].url),
        requestsPerSec: round(median(per[i].rates)),
        segmentRates: per[i].rates.map((v) => round(v)),
        p50Ms: round(percentile(per[i].latencies, 50), 1),
        p95Ms: round(percentile(per[i].latencies, 95), 1),
        errors: per[i].errors,
      };
      results.push(x);
      log(
        `${x.mode}: ${x.requestsPerSec} req/s (median of ${rounds} segments), p50 ${x.p50Ms} ms, p95 ${x.p95Ms} ms, mean batch ${x.meanBatch}, errors ${x.errors}`,
      );
    }
  } finally {
    await Promise.all(servers.map((sv) => stopServer(sv.child)));
  }
  const [unb, bat] = results;
  const ratio = round(bat.requestsPerSec / unb.requestsPerSec);
  const p95Ok = bat.p95Ms <= unb.p95Ms;
  const out = {
    benchmark: 'serve',
    date: new Date().toISOString(),
    machine: {
      cpu: os.cpus()[0]?.model,
      cores: os.cpus().length,
      memoryGiB: round(os.totalmem() / 2 ** 30, 1),
      node: process.version,
      loadAverageBefore: loadBefore.map((x) => round(x)),
      loadAverageAfter: os.loadavg().map((x) => round(x)),
    },
    settings: {
      model,
      precision: cfg.clipPrecision,
      clients,
      secondsPerSegment: seconds,
      warmupSecondsPerSegment: warmup,
      segmentsPerMode: rounds,
      interleaved: true,
      quick,
      batchMax,
      batchWaitMs,
      transport: 'HTTP/1.1 KServe v2, binary tensors, 1 image per request',
    },
    results,
    ratios: { throughputBatchedOverUnbatched: ratio, p95BatchedOverUnbatched: round(bat.p95Ms / unb.p95Ms) },
    target: { throughputRatio: 1.4, p95NoWorse: true, met: ratio >= 1.4 && p95Ok },
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'serve.json'), `${JSON.stringify(out, null, 2)}\n`);
  log(
    `\nserve-clip, ${clients} clients: batched ${bat.requestsPerSec} req/s (p95 ${bat.p95Ms} ms) vs unbatched ${unb.requestsPerSec} req/s (p95 ${unb.p95Ms} ms): ${ratio}× throughput, p95 ${p95Ok ? 'no worse' : 'WORSE'}; target ≥ 1.4× at no worse p95: ${out.target.met ? 'met' : 'NOT met'}\nload average ${loadBefore.map((x) => round(x)).join(' ')} (shared machine: figures are noisy)\nwrote bench/results/serve.json`,
  );
}

// --- GPU: serve-clip on the device against raw session.run there, and against the CPU provider ---

async function requestBodies(model: string, input: 'float' | 'rgb8', perRequest: number, distinct: number) {
  const pre = readPreprocessConfig(model);
  const limits = { maxPixels: 40_000_000, maxBytes: 25 * 1024 * 1024 };
  const jpegs = await generateJpegs({ count: distinct, width: 1024, height: 768, seed: 9 });
  const items = await Promise.all(jpegs.map((j) => (input === 'rgb8' ? cropRgb(j, pre, limits) : preprocessImage(j, pre, limits))));
  const per = items[0].length;
  return Array.from({ length: distinct }, (_, r) => {
    const data = input === 'rgb8' ? new Uint8Array(per * perRequest) : new Float32Array(per * perRequest);
    for (let k = 0; k < perRequest; k++) data.set(items[(r + k) % items.length] as never, k * per);
    const enc = encodeInferRequest({
      inputs: [
        input === 'rgb8'
          ? { name: 'pixels', datatype: 'UINT8', shape: [perRequest, pre.cropHeight, pre.cropWidth, 3], data: data as Uint8Array }
          : { name: 'pixel_values', datatype: 'FP32', shape: [perRequest, 3, pre.cropHeight, pre.cropWidth], data: data as Float32Array },
      ],
      outputs: ['image_embeds'],
      binary: true,
    });
    return { body: new Uint8Array(enc.body), headers: enc.headers };
  });
}

async function rawBest(path: string, device: 'webgpu' | 'cuda' | 'cpu', input: 'float' | 'rgb8', batches: number[]) {
  const s = await ort.InferenceSession.create(path, sessionOptions(device, 0));
  const rows: { batch: number; imgPerSec: number }[] = [];
  try {
    for (const batch of batches) {
      const t =
        input === 'rgb8'
          ? new ort.Tensor(
              'uint8',
              new Uint8Array(batch * 224 * 224 * 3).map((_, i) => (i * 37) & 255),
              [batch, 224, 224, 3],
            )
          : new ort.Tensor(
              'float32',
              new Float32Array(batch * 3 * 224 * 224).map((_, i) => Math.sin(i * 0.37)),
              [batch, 3, 224, 224],
            );
      const feeds = { [s.inputNames[0]]: t };
      await s.run(feeds);
      await s.run(feeds);
      const n = Math.max(3, Math.round((device === 'cpu' ? 64 : 2048) / batch));
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await s.run(feeds);
      rows.push({ batch, imgPerSec: round((n * batch) / ((performance.now() - t0) / 1000)) });
      log(`  raw ${device} batch ${batch}: ${rows.at(-1)?.imgPerSec} img/s`);
    }
  } finally {
    await s.release();
  }
  return { rows, best: rows.reduce((a, r) => (r.imgPerSec > a.imgPerSec ? r : a)) };
}

async function gpuServe(
  argv: string[],
  device: 'webgpu' | 'cuda' | 'cpu',
  o: { quick: boolean; model?: string; clients?: string; seconds?: string; imagesPerRequest?: string; visionInput?: string; out?: string },
): Promise<void> {
  const cfg = loadConfig({ ...process.env });
  const model = resolve(o.model ?? dataPath(cfg, 'models', 'clip-vit-b-32'));
  const fp16 = existsSync(join(model, onnxFile('vision', 'fp16')));
  const precision = fp16 ? 'fp16' : 'fp32';
  const input = (o.visionInput ?? (existsSync(join(model, onnxFile('vision', precision, 'rgb8'))) ? 'rgb8' : 'float')) as 'float' | 'rgb8';
  const clients = Number(o.clients ?? 32);
  const perRequest = Number(o.imagesPerRequest ?? 16);
  const seconds = Number(o.seconds ?? (o.quick ? 10 : 20));
  const warmup = o.quick ? 3 : 5;
  const loadBefore = os.loadavg();
  log(`serve-clip on ${device}: ${precision}, ${input} input, ${clients} clients × ${perRequest} images per request`);

  // The peer: raw session.run on the same device and file, at its best batch.
  const raw = await rawBest(join(model, onnxFile('vision', precision, input)), device, input, o.quick ? [32, 128] : [32, 128, 256]);
  const bodies = await requestBodies(model, input, perRequest, 8);
  const gpuEnv = {
    CLIP_DEVICE: device,
    CLIP_PRECISION: precision,
    CLIP_VISION_INPUT: input,
    UV_THREADPOOL_SIZE: String(os.availableParallelism() + 4),
  };
  const gpuServer = await startServer(model, 'auto', gpuEnv);
  let gpu: ReturnType<typeof summary>;
  let startLine = '';
  try {
    const x = await load(gpuServer.url, bodies, clients, seconds, warmup);
    gpu = summary(x, seconds, perRequest, await meanBatch(gpuServer.url));
    startLine = gpuServer.startLine();
  } finally {
    await stopServer(gpuServer.child);
  }
  log(
    `  serve-clip ${device}: ${gpu.imgPerSec} img/s (p50 ${gpu.p50Ms} ms, p95 ${gpu.p95Ms} ms, mean batch ${gpu.meanBatch}, errors ${gpu.errors})`,
  );

  // The host's CPU provider behind the same server and load (fp32 float: the CPU's default).
  const cpuBodies = input === 'float' ? bodies : await requestBodies(model, 'float', perRequest, 8);
  const cpuServer = await startServer(model, 'auto', { CLIP_DEVICE: 'cpu', CLIP_PRECISION: 'fp32', CLIP_VISION_INPUT: 'float' });
  let cpu: ReturnType<typeof summary>;
  try {
    const x = await load(cpuServer.url, cpuBodies, Math.min(clients, 8), o.quick ? 8 : 15, warmup);
    cpu = summary(x, o.quick ? 8 : 15, perRequest, await meanBatch(cpuServer.url));
  } finally {
    await stopServer(cpuServer.child);
  }
  log(`  serve-clip cpu: ${cpu.imgPerSec} img/s`);

  const out = {
    benchmark: 'serve',
    date: new Date().toISOString(),
    command: `npm run bench -- serve ${argv.join(' ')}`,
    machine: {
      cpu: os.cpus()[0]?.model,
      cores: os.availableParallelism(),
      memoryGiB: round(os.totalmem() / 2 ** 30, 1),
      node: process.version,
      gpu: process.env.GPU_NAME,
      loadAverageBefore: loadBefore.map((x) => round(x)),
      loadAverageAfter: os.loadavg().map((x) => round(x)),
    },
    settings: {
      model,
      device,
      precision,
      visionInput: input,
      clients,
      imagesPerRequest: perRequest,
      seconds,
      warmupSeconds: warmup,
      batching: 'auto (by provider)',
      serverStartLine: startLine,
    },
    rawSessionRun: raw,
    serveClip: { onDevice: gpu, cpuProvider: cpu },
    ratios: {
      serveOverRawBest: { target: '≥ 0.8', value: round(gpu.imgPerSec / raw.best.imgPerSec, 3) },
      gpuOverCpuProvider: { target: '≥ 10', value: round(gpu.imgPerSec / cpu.imgPerSec, 2) },
    },
  };
  const file = resolve(o.out ?? join(ROOT, 'bench', 'results', `serve-${device}.json`));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  log(
    `serve-clip ${device} ${gpu.imgPerSec} img/s = ${out.ratios.serveOverRawBest.value} of raw session.run at its best batch (${raw.best.batch}: ${raw.best.imgPerSec}), ${out.ratios.gpuOverCpuProvider.value}× the CPU provider (${cpu.imgPerSec}); wrote ${file}`,
  );
}

function summary(x: Awaited<ReturnType<typeof load>>, seconds: number, perRequest: number, batch: number) {
  return {
    requests: x.completed,
    imgPerSec: round((x.completed * perRequest) / seconds),
    p50Ms: round(percentile(x.latencies, 50), 1),
    p95Ms: round(percentile(x.latencies, 95), 1),
    meanBatch: batch,
    errors: x.errors,
  };
}
