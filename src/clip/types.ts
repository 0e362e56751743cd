/**
 * The encoder contract everything else calls, so callers never know which encoder runs.
 */
export interface EncoderInfo {
  /** Model name as recorded with embeddings (e.g. "openai/clip-vit-base-patch32"). */
  model: string;
  /** Embedding width (512 for ViT-B/32). */
  dims: number;
  /** True for the project's seeded synthetic models: similarities are meaningless. */
  synthetic: boolean;
  /**
   * Where it runs: the execution provider in use ("cpu", "cuda", "webgpu"), "remote http://…",
   * or the CLIP_DEVICE setting ("auto") until the first session has loaded.
   */
  device: string;
  /** The precision in use; `auto` until the first session has loaded. */
  precision: 'fp32' | 'fp16' | 'int8' | 'auto';
  /** The text encoder, where it is not `model`'s own text tower (CLIP_TEXT_MODEL_DIR): recorded with caption embeddings. */
  textModel?: string;
  /** True when texts are embedded by a multilingual encoder aligned with CLIP's image space (no translation needed). */
  multilingualText?: boolean;
}

/** One inference run of an in-process encoder, for metrics, tests and the benchmark. */
export interface RunEvent {
  kind: 'text' | 'vision';
  /** Inputs in the run. */
  size: number;
  /** Padded sequence length (text runs). */
  seqLen?: number;
  /** Time inside session.run in the worker. */
  runMs: number;
  /** From sending the batch to having its embeddings back on this thread. */
  roundTripMs: number;
  /** Mean time the run's inputs waited for it to start (the batcher's queue). */
  queueWaitMs?: number;
}

/**
 * The encoder contract everything else calls. The in-process ONNX encoder, the remote
 * (KServe v2) encoder and the adapter's wrapper implement it; the optional members are
 * capabilities some of them have, declared here so callers ask for them by name.
 */
export interface Encoder {
  readonly dims: number;
  /** Facts about the model; `device` and `precision` settle once the first session loaded. */
  info(): EncoderInfo;
  /** L2-normalised text embeddings, one per input, in order. */
  embedTexts(texts: string[]): Promise<Float32Array[]>;
  /** L2-normalised image embeddings of encoded image files (JPEG, PNG, WebP, GIF, AVIF). */
  embedImages(images: Uint8Array[]): Promise<Float32Array[]>;
  close(): Promise<void>;
  /** Loads what embedding needs now rather than on first use (the in-process encoder's sessions). */
  warmup?(): Promise<void>;
  /**
   * Whether it can embed now without first loading or reaching anything: the in-process
   * encoder once its sessions loaded, the remote one when its server says ready. Absent: always.
   */
  ready?(): Promise<boolean>;
  /** Calls `listener` after every inference run (in-process encoders); returns an unsubscribe function. */
  onRun?(listener: (e: RunEvent) => void): () => void;
  /** Under an adapter: the encoder whose embeddings it adapts (metrics and readiness ask it). */
  readonly base?: Encoder;
}

/** The encoder that does the work: the one under an adapter, or the encoder itself. */
export function engineOf(encoder: Encoder): Encoder {
  return encoder.base ?? encoder;
}

/** One line for logs and /readyz: "webgpu fp16, synthetic model adcreative/…". */
export function describeEncoder(info: EncoderInfo): string {
  const where =
    info.device === 'auto' ? 'provider not chosen yet' : `${info.device}${info.precision === 'auto' ? '' : ` ${info.precision}`}`;
  return `${where}, ${info.synthetic ? 'SYNTHETIC model ' : ''}${info.model} (${info.dims}-d)`;
}

export function cosine(a: Float32Array | number[], b: Float32Array | number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

export function l2normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const n = Math.sqrt(s);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}
