/**
 * ONNX Runtime session options and execution-provider selection. Runs inside the
 * inference worker (see worker.ts); the main thread never loads onnxruntime-node for
 * inference.
 *
 * Provider policy:
 * - `auto`: try CUDA, and when it cannot load (no GPU, no CUDA libraries) fall back to CPU.
 *   ONNX Runtime given `['cuda', 'cpu']` throws instead of falling back when the CUDA
 *   provider library is missing, so the providers are tried one at a time.
 * - `cuda` / `webgpu` named explicitly: no silent fallback. Someone who asked for a GPU
 *   would otherwise get a bot that is many times slower without noticing, so a provider
 *   that cannot load is an InferenceError that says how to fix it or to choose `auto`/`cpu`.
 * - `cpu`: CPU only.
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { InferenceError, ModelError } from '../errors.ts';

export type Device = 'auto' | 'cpu' | 'cuda' | 'webgpu';
export type Provider = 'cpu' | 'cuda' | 'webgpu';

export interface SessionSettings {
  device: Device;
  /** Intra-op threads; 0 means one per core the process may use. */
  threads: number;
}

export interface OpenedSession {
  session: ort.InferenceSession;
  provider: Provider;
  intraOpThreads: number;
  interOpThreads: number;
  /** Why a provider that was tried first could not load (auto mode). */
  fallbackReason?: string;
}

/** The fix for a model that is missing or cannot be read, shown with every model error. */
export const MODEL_FIX_HINT =
  'run `npm run -s adcreative -- models fetch` for the real model, or `npm run -s adcreative -- models synth --arch tiny --out DIR` and set CLIP_MODEL_DIR=DIR';

export function intraOpThreads(threads: number): number {
  return threads > 0 ? threads : availableParallelism();
}

export function sessionOptions(provider: Provider, threads: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    // One model runs at a time in the one worker: all cores go to the operators of that run.
    intraOpNumThreads: intraOpThreads(threads),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableCpuMemArena: true,
    enableMemPattern: true,
    logSeverityLevel: 3,
    // Spinning intra-op threads steal the cores that image decoding (and, on a busy host, the
    // bot) needs; measured here, int8 ran 3.5x fp32 without spinning and 2.3x with it.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 400);
}

async function tryCreate(path: string, provider: Provider, threads: number): Promise<ort.InferenceSession> {
  // ORT's own log would print a red native error for every provider probe that fails;
  // failures reach us as exceptions, and we log them with context.
  ort.env.logLevel = 'fatal';
  return ort.InferenceSession.create(path, sessionOptions(provider, threads));
}

function corrupt(path: string, e: unknown): ModelError {
  return new ModelError('MODEL_CORRUPT', `${path}: ONNX Runtime cannot load this model file (${message(e)})`, {
    cause: e,
    hint: `the file is damaged or not an ONNX model; delete it and ${MODEL_FIX_HINT}`,
  });
}

const PROVIDER_FIX: Record<Exclude<Provider, 'cpu'>, string> = {
  cuda: 'install the CUDA 12 runtime and cuDNN 9, fetch the ONNX Runtime CUDA provider with `npm run install-cuda`, or set CLIP_DEVICE=auto or cpu',
  webgpu: 'the WebGPU provider needs a GPU with Vulkan drivers; set CLIP_DEVICE=auto or cpu',
};

/** Opens one model file under the device policy described at the top of this file. */
export async function openSession(path: string, settings: SessionSettings): Promise<OpenedSession> {
  const threads = intraOpThreads(settings.threads);
  const opened = (session: ort.InferenceSession, provider: Provider, fallbackReason?: string): OpenedSession => ({
    session,
    provider,
    intraOpThreads: provider === 'cpu' ? threads : 0,
    interOpThreads: provider === 'cpu' ? 1 : 0,
    fallbackReason,
  });

  if (settings.device === 'cpu') {
    try {
      return opened(await tryCreate(path, 'cpu', settings.threads), 'cpu');
    } catch (e) {
      throw corrupt(path, e);
    }
  }

  const gpu: Exclude<Provider, 'cpu'> = settings.device === 'webgpu' ? 'webgpu' : 'cuda';
  let gpuError: unknown;
  try {
    return opened(await tryCreate(path, gpu, settings.threads), gpu);
  } catch (e) {
    gpuError = e;
  }

  // Either the provider or the model is at fault: a CPU load tells which.
  let cpu: ort.InferenceSession;
  try {
    cpu = await tryCreate(path, 'cpu', settings.threads);
  } catch (e) {
    throw corrupt(path, e);
  }
  if (settings.device === 'auto') return opened(cpu, 'cpu', message(gpuError));

  await cpu.release();
  throw new InferenceError(
    'PROVIDER_UNAVAILABLE',
    `CLIP_DEVICE=${settings.device}, but the ${gpu} execution provider cannot load: ${message(gpuError)}`,
    {
      cause: gpuError,
      hint: PROVIDER_FIX[gpu],
    },
  );
}
