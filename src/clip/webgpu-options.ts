/**
 * CLIP_WEBGPU_OPTIONS: options for ONNX Runtime's WebGPU execution provider, parsed without
 * loading ONNX Runtime (the configuration validates them at start).
 */
import { ConfigError } from '../errors.ts';

/** WebGPU provider options (onnxruntime-common's WebGpuExecutionProviderOption) and provider config entries. */
export interface WebGpuSettings {
  /** Layout for layout-sensitive operators (Conv): ORT's default is NCHW. */
  preferredLayout?: 'NCHW' | 'NHWC';
  /** `ep.webgpuexecutionprovider.<key>` session config entries, e.g. validationMode=disabled. */
  entries?: Record<string, string>;
}

/**
 * `key=value` pairs separated by commas. `preferredLayout` is the provider option; every
 * other key becomes an `ep.webgpuexecutionprovider.<key>` session config entry, which the
 * provider reads (validationMode, storageBufferCacheMode, maxNumPendingDispatches, …).
 */
export function parseWebGpuOptions(raw: string, name = 'CLIP_WEBGPU_OPTIONS'): WebGpuSettings {
  const out: WebGpuSettings = {};
  const entries: Record<string, string> = {};
  for (const part of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z][A-Za-z0-9]*)=([A-Za-z0-9_.-]+)$/.exec(part);
    if (!m)
      throw new ConfigError(
        `${name} must be key=value pairs separated by commas (e.g. preferredLayout=NHWC,validationMode=disabled); got ${JSON.stringify(part)}`,
      );
    if (m[1] === 'preferredLayout') {
      if (m[2] !== 'NCHW' && m[2] !== 'NHWC')
        throw new ConfigError(`${name}: preferredLayout must be NCHW or NHWC; got ${JSON.stringify(m[2])}`);
      out.preferredLayout = m[2];
    } else entries[m[1]] = m[2];
  }
  if (Object.keys(entries).length) out.entries = entries;
  return out;
}
