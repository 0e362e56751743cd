/**
 * The encoder contract everything else calls. The in-process ONNX encoder and the
 * remote (KServe v2) encoder both implement it, so callers never know which runs.
 */
export interface EncoderInfo {
  /** Model name as recorded with embeddings (e.g. "openai/clip-vit-base-patch32"). */
  model: string;
  /** Embedding width (512 for ViT-B/32). */
  dims: number;
  /** True for the project's seeded synthetic models: similarities are meaningless. */
  synthetic: boolean;
  /** Where it runs, for logs: "cpu", "cuda", "webgpu", "remote http://…". */
  device: string;
  precision: 'fp32' | 'int8';
}

export interface Encoder {
  readonly dims: number;
  /** Static facts about the model; `device` is settled once the first session loaded. */
  info(): EncoderInfo;
  /** L2-normalised text embeddings, one per input, in order. */
  embedTexts(texts: string[]): Promise<Float32Array[]>;
  /** L2-normalised image embeddings of encoded image files (JPEG, PNG, WebP, GIF, AVIF). */
  embedImages(images: Uint8Array[]): Promise<Float32Array[]>;
  close(): Promise<void>;
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
