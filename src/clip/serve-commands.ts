/**
 * CLI: `serve-clip` (the KServe v2 inference server) and `models triton` (a Triton model
 * repository for the same models).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, intArg } from '../cli/command.ts';
import { config } from '../config.ts';
import { UsageError } from '../errors.ts';
import { createLogger } from '../log.ts';
import { createReadiness, opsRoute } from '../ops/http.ts';
import { createMetrics } from '../ops/metrics.ts';
import { createOnnxEncoder } from './encoder.ts';
import { onnxFile } from './model-dir.ts';
import { encoderOptions } from './open.ts';
import { startClipServer } from './serve.ts';
import { writeTritonRepository } from './triton.ts';
import { describeEncoder } from './types.ts';

/** An integer option, or `fallback` (possibly undefined: decided later) when absent. */
function optionalIntArg(args: Parameters<typeof intArg>[0], name: string, fallback: number | undefined, min: number, max: number) {
  return args.values[name] === undefined ? fallback : intArg(args, name, 0, min, max);
}

const serveCmd: Command = {
  name: 'serve-clip',
  summary: 'Serve the CLIP text and vision models over the KServe v2 / Open Inference Protocol (HTTP), with dynamic batching',
  usage: '[--port N] [--host ADDR] [--model DIR] [--batch-max N] [--batch-wait-ms N] [--no-batching]',
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    model: { type: 'string' },
    'batch-max': { type: 'string' },
    'batch-wait-ms': { type: 'string' },
    'no-batching': { type: 'boolean' },
  },
  async run(args, io) {
    const cfg = config();
    const port = intArg(args, 'port', cfg.serveClipPort, 0, 65535);
    const noBatching = args.values['no-batching'] === true;
    // Unset (and CLIP_BATCH_* = auto): sized for the execution provider once the models load.
    const configured = (v: number | 'auto') => (v === 'auto' ? undefined : v);
    const batchMax = noBatching ? 1 : optionalIntArg(args, 'batch-max', configured(cfg.clipBatchMax), 1, 1024);
    const batchWaitMs = noBatching ? 0 : optionalIntArg(args, 'batch-wait-ms', configured(cfg.clipBatchWaitMs), 0, 1000);
    const logger = createLogger({ level: cfg.logLevel });
    const modelDir = typeof args.values.model === 'string' ? args.values.model : cfg.clipModelDir;
    const encoder = createOnnxEncoder(encoderOptions(cfg, { modelDir, batchMax, batchWaitMs, logger }));
    const metrics = createMetrics();
    const server = await startClipServer({
      encoder,
      port,
      // This machine only unless --host says otherwise (0.0.0.0: every interface).
      host: typeof args.values.host === 'string' ? args.values.host : '127.0.0.1',
      logger,
      metrics,
      token: cfg.serveClipToken,
      maxBodyBytes: cfg.serveClipMaxBodyBytes,
      maxInflightBytes: cfg.serveClipMaxInflightBytes,
      // /healthz, /readyz (the models loaded) and /metrics beside the KServe routes.
      extraRoute: opsRoute({
        metrics,
        readiness: createReadiness({
          // Ready once the models loaded; /readyz then names where they run.
          checks: { models: () => encoder.warmup().then(() => describeEncoder(encoder.info())) },
          logger,
        }),
      }),
    });
    // The start-up line names what runs where, once the models have loaded (or could not).
    await server.warm;
    const info = encoder.info();
    const s = encoder.settings();
    io.stderr.write(
      `serve-clip: KServe v2 listening on ${server.listening}, e.g. ${server.url} (models clip-text, clip-vision on ${describeEncoder(info)}; vision input ${s.visionInput}; batching ${noBatching ? 'off' : `up to ${s.batchMax}, ${s.batchWaitMs} ms wait`}; preprocessing threads: ${s.prepThreads}; ${cfg.serveClipToken ? 'bearer token required (SERVE_CLIP_TOKEN)' : 'no authentication: set SERVE_CLIP_TOKEN before serving other machines'})\n`,
    );
    const sig = await new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    io.stderr.write(`serve-clip: ${sig}, shutting down\n`);
    await server.close();
    await encoder.close();
    return 0;
  },
};

const tritonCmd: Command = {
  name: 'models triton',
  summary: 'Write a Triton Inference Server model repository (clip-text, clip-vision: the ONNX files + config.pbtxt with dynamic batching)',
  usage: '--out DIR [--model DIR] [--precision auto|fp32|fp16|int8] [--link] [--max-batch N] [--queue-delay-us N]',
  options: {
    out: { type: 'string' },
    model: { type: 'string' },
    precision: { type: 'string' },
    link: { type: 'boolean' },
    'max-batch': { type: 'string' },
    'queue-delay-us': { type: 'string' },
  },
  async run(args, io) {
    const cfg = config();
    const out = args.values.out;
    if (typeof out !== 'string' || !out) throw new UsageError(`--out is required\nusage: adcreative models triton ${tritonCmd.usage}`);
    const modelDir = typeof args.values.model === 'string' ? args.values.model : cfg.clipModelDir;
    const asked = args.values.precision ?? cfg.clipPrecision;
    if (asked !== 'auto' && asked !== 'fp32' && asked !== 'fp16' && asked !== 'int8')
      throw new UsageError(`--precision must be auto, fp32, fp16 or int8; got ${JSON.stringify(asked)}`);
    // Triton's instances run on the GPU: auto means fp16 where those files exist, as serve-clip on a GPU.
    const precision = asked === 'auto' ? (existsSync(join(modelDir, onnxFile('vision', 'fp16'))) ? 'fp16' : 'fp32') : asked;
    const r = writeTritonRepository({
      modelDir,
      out,
      precision,
      link: args.values.link === true,
      maxBatchSize: intArg(args, 'max-batch', 64, 1, 4096),
      maxQueueDelayMicroseconds: intArg(args, 'queue-delay-us', 4000, 0, 10_000_000),
    });
    for (const f of r.files) io.stdout.write(`${f}\n`);
    io.stdout.write(
      `Triton model repository ready in ${r.out}\nrun: docker run --gpus all -p 8000:8000 -v ${r.out}:/models nvcr.io/nvidia/tritonserver:24.08-py3 tritonserver --model-repository=/models\nthen set CLIP_ENDPOINT=http://<host>:8000 on the bot\n`,
    );
    return 0;
  },
};

export const commands: Command[] = [serveCmd, tritonCmd];
