/**
 * ONNX Runtime session options, execution-provider selection and, once the provider is
 * known, which of the model directory's files to load. Runs inside the inference worker (see
 * worker.ts); the main thread never loads onnxruntime-node for inference.
 *
 * Provider policy:
 * - `auto`: CUDA, then WebGPU, then CPU. ONNX Runtime given `['cuda', 'cpu']` throws instead
 *   of falling back when a provider library is missing, so providers are tried one at a
 *   time; each attempt and its failure is reported once (a provider that failed is not tried
 *   again by the same worker), and the provider that loaded is tried first for the other half.
 *   onnxruntime-node ships WebGPU (Dawn over Vulkan on Linux) but not CUDA's provider
 *   libraries (its install script fetches those from NuGet), so on a typical NVIDIA host
 *   `auto` lands on WebGPU with nothing downloaded.
 * - `cuda` / `webgpu` named explicitly: no silent fallback. Someone who asked for a GPU would
 *   otherwise get a bot many times slower without noticing, so a provider that cannot load
 *   is an InferenceError that says what to install, or to choose `auto`/`cpu`.
 * - `cpu`: CPU only.
 *
 * Precision `auto`: fp16 on a GPU provider when the fp16 files are there (fp32 otherwise),
 * fp32 on the CPU (int8 is offered there by naming it). Vision input `auto`: the 8-bit-pixel
 * variant when its file is there.
 */
import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { InferenceError, ModelError } from '../errors.ts';
import { MODEL_FIX_HINT, type ModelFiles, type Precision, type PrecisionSetting, type VisionInput } from './model-dir.ts';
import type { WebGpuSettings } from './webgpu-options.ts';

export type { WebGpuSettings } from './webgpu-options.ts';

export type Device = 'auto' | 'cpu' | 'cuda' | 'webgpu';
export type Provider = 'cpu' | 'cuda' | 'webgpu';
export type VisionInputSetting = VisionInput | 'auto';

/** The order `auto` tries providers in. */
export const AUTO_ORDER: readonly Provider[] = ['cuda', 'webgpu', 'cpu'];

export function isGpu(p: Provider): boolean {
  return p !== 'cpu';
}

export interface SessionSettings {
  device: Device;
  /** Intra-op threads; 0 means one per core the process may use. */
  threads: number;
  precision: PrecisionSetting;
  /** Vision input the encoder wants (text halves ignore it). */
  visionInput?: VisionInputSetting;
  webgpu?: WebGpuSettings;
}

/** One provider tried for one file. */
export interface ProviderAttempt {
  provider: Provider;
  /** Why it could not load; absent for the one that loaded. */
  error?: string;
}

export interface OpenedSession {
  session: ort.InferenceSession;
  provider: Provider;
  precision: Precision;
  /** Vision input the loaded graph takes (`float` for text). */
  input: VisionInput;
  path: string;
  intraOpThreads: number;
  interOpThreads: number;
  /** Providers tried for this load, in order, the last one the one that loaded (only the first time each is tried). */
  attempts: ProviderAttempt[];
  /** Things worth a warning: fp16 asked but missing, int8 on a GPU, … */
  notes: string[];
}

/** What one worker has learnt about providers, so each is tried (and its failure reported) once. */
export interface ProviderMemo {
  failed: Map<Provider, string>;
  loaded?: Provider;
}

export function newProviderMemo(): ProviderMemo {
  return { failed: new Map() };
}

export function intraOpThreads(threads: number): number {
  return threads > 0 ? threads : availableParallelism();
}

export function sessionOptions(provider: Provider, threads: number, webgpu: WebGpuSettings = {}): ort.InferenceSession.SessionOptions {
  const ep: ort.InferenceSession.ExecutionProviderConfig =
    provider === 'webgpu' && webgpu.preferredLayout ? { name: 'webgpu', preferredLayout: webgpu.preferredLayout } : provider;
  const extra: Record<string, unknown> = {
    // Spinning intra-op threads steal the cores that image decoding (and, on a busy host, the
    // bot) needs; measured here, int8 ran 3.5x fp32 without spinning and 2.3x with it.
    session: { intra_op: { allow_spinning: '0' } },
  };
  if (provider === 'webgpu' && webgpu.entries && Object.keys(webgpu.entries).length) {
    // The Node binding flattens nested keys with '.': ep.webgpuexecutionprovider.<key>.
    extra.ep = { webgpuexecutionprovider: { ...webgpu.entries } };
  }
  return {
    executionProviders: [ep],
    // One model runs at a time in the one worker: all cores go to the operators of that run.
    intraOpNumThreads: intraOpThreads(threads),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableCpuMemArena: true,
    enableMemPattern: true,
    logSeverityLevel: 3,
    extra,
  };
}

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 400);
}

async function tryCreate(path: string, provider: Provider, s: SessionSettings): Promise<ort.InferenceSession> {
  // ORT's own log would print a red native error for every provider probe that fails;
  // failures reach us as exceptions, and we log them with context.
  ort.env.logLevel = 'fatal';
  return ort.InferenceSession.create(path, sessionOptions(provider, s.threads, s.webgpu));
}

function corrupt(path: string, e: unknown): ModelError {
  return new ModelError('MODEL_CORRUPT', `${path}: ONNX Runtime cannot load this model file (${message(e)})`, {
    cause: e,
    hint: `the file is damaged or not an ONNX model; delete it and ${MODEL_FIX_HINT}`,
  });
}

/** Where Vulkan's loader looks for drivers (ICD manifests) on Linux. */
const ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/share/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/usr/local/nvidia/share/vulkan/icd.d'];
const LIB_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/lib/x86_64-linux-gnu',
  '/usr/local/lib',
];

export interface WebGpuHostFacts {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  exists(path: string): boolean;
  list(dir: string): string[];
}

const hostFacts = (): WebGpuHostFacts => ({
  platform: process.platform,
  env: process.env,
  exists: existsSync,
  list: (d) => {
    try {
      return readdirSync(d);
    } catch {
      return [];
    }
  },
});

/**
 * What stands between this host and WebGPU on an NVIDIA GPU, as a fix to show: the Vulkan
 * loader (`libvulkan1`), a Vulkan driver manifest (the NVIDIA driver installs
 * `nvidia_icd.json`), and in a container `NVIDIA_DRIVER_CAPABILITIES` with `graphics`, without
 * which the NVIDIA container toolkit mounts no Vulkan driver.
 */
export function webgpuFix(facts: WebGpuHostFacts = hostFacts()): string {
  const base =
    'WebGPU runs over Vulkan: install the Vulkan loader (Debian/Ubuntu: `apt-get install libvulkan1`) and the NVIDIA driver with its Vulkan ICD (`/usr/share/vulkan/icd.d/nvidia_icd.json`); in a container set NVIDIA_DRIVER_CAPABILITIES to include `graphics` (e.g. `compute,utility,graphics`) so the NVIDIA container toolkit mounts the Vulkan driver';
  if (facts.platform !== 'linux') return `${base}; or set CLIP_DEVICE=auto or cpu`;
  const found: string[] = [];
  const loader = LIB_DIRS.some((d) => facts.exists(`${d}/libvulkan.so.1`));
  if (!loader) found.push('no libvulkan.so.1 found (install libvulkan1)');
  const extra = (facts.env.VK_DRIVER_FILES ?? facts.env.VK_ICD_FILENAMES ?? '').split(':').filter(Boolean);
  const icds = [...ICD_DIRS.flatMap((d) => facts.list(d).filter((f) => f.endsWith('.json'))), ...extra.filter((f) => facts.exists(f))];
  if (icds.length === 0) found.push(`no Vulkan driver manifest in ${ICD_DIRS.join(', ')} (the NVIDIA driver's nvidia_icd.json)`);
  const inContainer = facts.env.NVIDIA_VISIBLE_DEVICES !== undefined || facts.exists('/.dockerenv');
  const caps = facts.env.NVIDIA_DRIVER_CAPABILITIES;
  if (inContainer && caps !== undefined && !/(^|,)\s*(graphics|all)\s*(,|$)/.test(caps))
    found.push(`NVIDIA_DRIVER_CAPABILITIES=${caps} lacks graphics`);
  return `${found.length ? `${found.join('; ')}. ` : ''}${base}; or set CLIP_DEVICE=auto or cpu`;
}

export function providerFix(provider: Exclude<Provider, 'cpu'>, facts?: WebGpuHostFacts): string {
  if (provider === 'webgpu') return webgpuFix(facts);
  return 'the CUDA provider needs the CUDA 12 runtime and cuDNN 9, and its libraries, which onnxruntime-node does not ship: fetch them with `npm run install-cuda` (network to NuGet), or use CLIP_DEVICE=webgpu (bundled), auto or cpu';
}

/** The file a provider loads under the precision and vision-input settings; undefined when there is none. */
export function pickFile(
  files: ModelFiles,
  provider: Provider,
  precision: PrecisionSetting,
  input: VisionInputSetting = 'float',
): { path: string; precision: Precision; input: VisionInput; notes: string[] } | undefined {
  const notes: string[] = [];
  let p: Precision;
  if (precision === 'auto') {
    p = isGpu(provider) && files.fp16 ? 'fp16' : 'fp32';
    if (isGpu(provider) && !files.fp16)
      notes.push(
        `no fp16 files: running fp32 on ${provider}; \`adcreative models fp16 DIR\` writes them (measured 1.2× vision, 1.5–2× text on WebGPU)`,
      );
  } else p = precision;
  if (p === 'int8' && isGpu(provider))
    notes.push(`int8 on ${provider}: measured slower than fp32 there; int8 is a CPU choice (CLIP_PRECISION=auto)`);
  if (p === 'fp16' && !isGpu(provider))
    notes.push('fp16 on the CPU: ONNX Runtime casts around its fp32 kernels, slower than fp32 (CLIP_PRECISION=auto picks fp32 there)');
  const entry = files[p];
  if (!entry) return undefined;
  const want = input === 'auto' ? (entry.rgb8 ? 'rgb8' : 'float') : input;
  const path = want === 'rgb8' ? entry.rgb8 : entry.float;
  return path ? { path, precision: p, input: want, notes } : undefined;
}

function missingFile(precision: PrecisionSetting, provider: Provider, input: VisionInputSetting): ModelError {
  const hint =
    input === 'rgb8'
      ? 'CLIP_VISION_INPUT=rgb8 needs the 8-bit-pixel vision files: run `npm run -s adcreative -- models rgb8 DIR`, or set CLIP_VISION_INPUT=auto'
      : MODEL_FIX_HINT;
  return new ModelError('MODEL_INCOMPLETE', `no ${precision} ${input === 'rgb8' ? '8-bit-pixel ' : ''}model file for ${provider}`, {
    hint,
  });
}

/**
 * Opens one model half under the policy at the top of this file. `memo` carries what earlier
 * loads in the same worker learnt (failed providers, the one that loaded).
 */
export async function openSession(files: ModelFiles, s: SessionSettings, memo: ProviderMemo = newProviderMemo()): Promise<OpenedSession> {
  const threads = intraOpThreads(s.threads);
  const attempts: ProviderAttempt[] = [];
  const input = s.visionInput ?? 'float';
  const opened = (session: ort.InferenceSession, provider: Provider, f: NonNullable<ReturnType<typeof pickFile>>): OpenedSession => {
    memo.loaded = provider;
    if (!attempts.some((a) => a.provider === provider)) attempts.push({ provider });
    return {
      session,
      provider,
      precision: f.precision,
      input: f.input,
      path: f.path,
      intraOpThreads: provider === 'cpu' ? threads : 0,
      interOpThreads: provider === 'cpu' ? 1 : 0,
      attempts,
      notes: f.notes,
    };
  };
  const cpuLoad = async (): Promise<OpenedSession> => {
    const f = pickFile(files, 'cpu', s.precision, input);
    if (!f) throw missingFile(s.precision, 'cpu', input);
    try {
      return opened(await tryCreate(f.path, 'cpu', s), 'cpu', f);
    } catch (e) {
      throw corrupt(f.path, e);
    }
  };
  if (s.device === 'cpu') return cpuLoad();

  const gpus: Exclude<Provider, 'cpu'>[] =
    s.device === 'auto'
      ? (['cuda', 'webgpu'] as const)
          .filter((p) => !memo.failed.has(p))
          .sort((a, b) => (a === memo.loaded ? -1 : b === memo.loaded ? 1 : 0))
      : [s.device];
  let lastGpuError: { provider: Exclude<Provider, 'cpu'>; error: unknown; path: string } | undefined;
  for (const gpu of gpus) {
    const f = pickFile(files, gpu, s.precision, input);
    if (!f) {
      if (s.device !== 'auto') throw missingFile(s.precision, gpu, input);
      continue;
    }
    try {
      const session = await tryCreate(f.path, gpu, s);
      return opened(session, gpu, f);
    } catch (e) {
      lastGpuError = { provider: gpu, error: e, path: f.path };
      // Explicit devices report their failure below, after telling model faults from provider faults.
      if (s.device === 'auto') {
        memo.failed.set(gpu, message(e));
        attempts.push({ provider: gpu, error: message(e) });
      }
    }
  }
  if (s.device === 'auto') return cpuLoad();

  // Explicit GPU: either the provider or the model is at fault; a CPU load of the same file tells which.
  const failed = lastGpuError as NonNullable<typeof lastGpuError>;
  let cpu: ort.InferenceSession;
  try {
    cpu = await tryCreate(failed.path, 'cpu', s);
  } catch (e) {
    throw corrupt(failed.path, e);
  }
  await cpu.release();
  throw new InferenceError(
    'PROVIDER_UNAVAILABLE',
    `CLIP_DEVICE=${s.device}, but the ${failed.provider} execution provider cannot load: ${message(failed.error)}`,
    { cause: failed.error, hint: providerFix(failed.provider) },
  );
}
