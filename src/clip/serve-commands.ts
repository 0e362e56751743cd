/**
 * CLI: `serve-clip` (the KServe v2 inference server) and `models triton` (a Triton model
 * repository for the same models).
 */
import { type Command, intArg } from '../cli/command.ts';
import { config } from '../config.ts';
import { UsageError } from '../errors.ts';
import { createLogger } from '../log.ts';
import { createReadiness, opsRoute } from '../ops/http.ts';
import { createMetrics } from '../ops/metrics.ts';
import { createOnnxEncoder } from './encoder.ts';
import { startClipServer } from './serve.ts';
import { writeTritonRepository } from './triton.ts';

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
    const batchMax = noBatching ? 1 : intArg(args, 'batch-max', cfg.clipBatchMax, 1, 256);
    const batchWaitMs = noBatching ? 0 : intArg(args, 'batch-wait-ms', cfg.clipBatchWaitMs, 0, 1000);
    const logger = createLogger({ level: cfg.logLevel });
    const modelDir = typeof args.values.model === 'string' ? args.values.model : cfg.clipModelDir;
    const encoder = createOnnxEncoder({
      modelDir,
      device: cfg.clipDevice,
      precision: cfg.clipPrecision,
      threads: cfg.clipThreads,
      batchMax,
      batchWaitMs,
      limits: { maxPixels: cfg.imageMaxPixels, maxBytes: cfg.imageMaxBytes },
      logger,
    });
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
        readiness: createReadiness({ checks: { models: () => encoder.warmup() }, logger }),
      }),
    });
    io.stderr.write(
      `serve-clip: KServe v2 listening on ${server.listening}, e.g. ${server.url} (models clip-text, clip-vision; batching ${noBatching ? 'off' : `up to ${batchMax}, ${batchWaitMs} ms wait`}; ${cfg.serveClipToken ? 'bearer token required (SERVE_CLIP_TOKEN)' : 'no authentication: set SERVE_CLIP_TOKEN before serving other machines'})\n`,
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
  usage: '--out DIR [--model DIR] [--precision fp32|int8] [--link] [--max-batch N] [--queue-delay-us N]',
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
    const precision = args.values.precision ?? cfg.clipPrecision;
    if (precision !== 'fp32' && precision !== 'int8')
      throw new UsageError(`--precision must be fp32 or int8; got ${JSON.stringify(precision)}`);
    const r = writeTritonRepository({
      modelDir: typeof args.values.model === 'string' ? args.values.model : cfg.clipModelDir,
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
