/**
 * CLIP_WEBGPU_OPTIONS: options for ONNX Runtime's WebGPU execution provider, read without
 * loading ONNX Runtime.
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
 * CLIP_WEBGPU_OPTIONS (key=value pairs, parsed by the configuration) as the provider takes them:
 * `preferredLayout` is the provider option; every other key becomes an
 * `ep.webgpuexecutionprovider.<key>` session config entry, which the provider reads
 * (validationMode, storageBufferCacheMode, maxNumPendingDispatches, …).
 */
export function webgpuSettings(options: Record<string, string>, name = 'CLIP_WEBGPU_OPTIONS'): WebGpuSettings {
  const out: WebGpuSettings = {};
  const entries: Record<string, string> = {};
  for (const [key, value] of Object.entries(options)) {
    if (key === 'preferredLayout') {
      if (value !== 'NCHW' && value !== 'NHWC')
        throw new ConfigError(`${name}: preferredLayout must be NCHW or NHWC; got ${JSON.stringify(value)}`);
      out.preferredLayout = value;
    } else entries[key] = value;
  }
  if (Object.keys(entries).length) out.entries = entries;
  return out;
}
