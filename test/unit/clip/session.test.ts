/**
 * Provider policy pieces that need no GPU: which file each provider loads under each
 * precision setting, what the WebGPU failure tells a person to install (from injected host
 * facts), the WebGPU session options, and the batching and pool sizes by provider.
 */
import { describe, expect, it } from 'vitest';
import { batchDefaults, prepPoolSize } from '../../../src/clip/encoder.ts';
import type { ModelFiles } from '../../../src/clip/model-dir.ts';
import { encoderOptions } from '../../../src/clip/open.ts';
import { pickFile, sessionOptions, type WebGpuHostFacts, webgpuFix } from '../../../src/clip/session.ts';
import { webgpuSettings } from '../../../src/clip/webgpu-options.ts';
import { loadConfig } from '../../../src/config.ts';
import { ConfigError } from '../../../src/errors.ts';
import { silentLogger } from '../../../src/log.ts';

const all: ModelFiles = {
  fp32: { float: '/m/onnx/vision_model.onnx', rgb8: '/m/onnx/vision_model_rgb8.onnx' },
  fp16: { float: '/m/onnx/vision_model_fp16.onnx' },
  int8: { float: '/m/onnx/vision_model_quantized.onnx' },
};
const fp32Only: ModelFiles = { fp32: { float: '/m/onnx/vision_model.onnx' } };

describe('precision by provider', () => {
  it('auto: fp16 on a GPU when the files exist, fp32 on the CPU', () => {
    expect(pickFile(all, 'webgpu', 'auto')).toMatchObject({ precision: 'fp16', path: '/m/onnx/vision_model_fp16.onnx', notes: [] });
    expect(pickFile(all, 'cuda', 'auto')?.precision).toBe('fp16');
    expect(pickFile(all, 'cpu', 'auto')).toMatchObject({ precision: 'fp32', path: '/m/onnx/vision_model.onnx' });
  });

  it('auto on a GPU without fp16 files runs fp32 and says which command writes them', () => {
    const f = pickFile(fp32Only, 'webgpu', 'auto');
    expect(f?.precision).toBe('fp32');
    expect(f?.notes.join(' ')).toContain('models fp16');
  });

  it('a named precision is loaded as named, with a note where it is the wrong choice for the provider', () => {
    expect(pickFile(all, 'cpu', 'int8')).toMatchObject({ precision: 'int8', notes: [] });
    expect(pickFile(all, 'webgpu', 'int8')?.notes.join(' ')).toMatch(/int8 is a CPU choice/);
    expect(pickFile(all, 'cpu', 'fp16')?.notes.join(' ')).toMatch(/fp16 on the CPU/);
    expect(pickFile(fp32Only, 'cpu', 'fp16')).toBeUndefined();
  });

  it('vision input: auto takes the 8-bit-pixel graph where it exists for the precision', () => {
    expect(pickFile(all, 'cpu', 'fp32', 'auto')).toMatchObject({ input: 'rgb8', path: '/m/onnx/vision_model_rgb8.onnx' });
    expect(pickFile(all, 'webgpu', 'auto', 'auto')).toMatchObject({ input: 'float', precision: 'fp16' });
    expect(pickFile(all, 'cpu', 'fp32', 'float')?.input).toBe('float');
    expect(pickFile(fp32Only, 'cpu', 'fp32', 'rgb8')).toBeUndefined();
  });
});

describe('WebGPU: what to install', () => {
  const host = (over: Partial<WebGpuHostFacts> & { files?: string[]; dirs?: Record<string, string[]> }): WebGpuHostFacts => ({
    platform: 'linux',
    env: {},
    exists: (p) => (over.files ?? []).includes(p),
    list: (d) => over.dirs?.[d] ?? [],
    ...over,
  });

  it('names the missing Vulkan loader and driver manifest', () => {
    const fix = webgpuFix(host({}));
    expect(fix).toContain('no libvulkan.so.1 found (install libvulkan1)');
    expect(fix).toContain('no Vulkan driver manifest');
    expect(fix).toContain('CLIP_DEVICE=auto or cpu');
  });

  it('in a container, names NVIDIA_DRIVER_CAPABILITIES without graphics', () => {
    const fix = webgpuFix(
      host({
        env: { NVIDIA_VISIBLE_DEVICES: 'all', NVIDIA_DRIVER_CAPABILITIES: 'compute,utility' },
        files: ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1'],
        dirs: { '/usr/share/vulkan/icd.d': ['nvidia_icd.json'] },
      }),
    );
    expect(fix).toMatch(/^NVIDIA_DRIVER_CAPABILITIES=compute,utility lacks graphics\. /);
    expect(fix).not.toContain('no libvulkan');
    expect(webgpuFix(host({ env: { NVIDIA_VISIBLE_DEVICES: 'all', NVIDIA_DRIVER_CAPABILITIES: 'all' } }))).not.toContain('lacks graphics');
  });

  it('finds a driver manifest named by VK_DRIVER_FILES', () => {
    const fix = webgpuFix(
      host({ env: { VK_DRIVER_FILES: '/opt/icd/nvidia_icd.json' }, files: ['/opt/icd/nvidia_icd.json', '/usr/lib64/libvulkan.so.1'] }),
    );
    expect(fix).not.toContain('no Vulkan driver manifest');
  });
});

describe('WebGPU session options', () => {
  it('passes the layout as a provider option and the rest as ep.webgpuexecutionprovider entries', () => {
    const s = webgpuSettings(
      loadConfig({ CLIP_WEBGPU_OPTIONS: 'preferredLayout=NHWC, validationMode=disabled,maxNumPendingDispatches=64' }).clipWebgpuOptions,
    );
    const o = sessionOptions('webgpu', 0, s);
    expect(o.executionProviders).toEqual([{ name: 'webgpu', preferredLayout: 'NHWC' }]);
    expect((o.extra as { ep: unknown }).ep).toEqual({
      webgpuexecutionprovider: { validationMode: 'disabled', maxNumPendingDispatches: '64' },
    });
    // The CPU provider never gets WebGPU entries.
    expect(sessionOptions('cpu', 1, s).executionProviders).toEqual(['cpu']);
    expect((sessionOptions('cpu', 1, s).extra as { ep?: unknown }).ep).toBeUndefined();
  });

  it('a malformed CLIP_WEBGPU_OPTIONS is refused at start, naming the variable', () => {
    expect(() => loadConfig({ CLIP_WEBGPU_OPTIONS: 'preferredLayout=NHWC,oops' })).toThrow(ConfigError);
    expect(() => loadConfig({ CLIP_WEBGPU_OPTIONS: 'preferredLayout=NHWC,oops' })).toThrow(/CLIP_WEBGPU_OPTIONS must be key=value pairs/);
    // The layout's values are the provider's business: checked when the encoder is built from the configuration.
    const cfg = loadConfig({ CLIP_WEBGPU_OPTIONS: 'preferredLayout=CHWN' });
    expect(() => encoderOptions(cfg, { logger: silentLogger })).toThrow(
      /CLIP_WEBGPU_OPTIONS: preferredLayout must be NCHW or NHWC; got "CHWN"/,
    );
    expect(webgpuSettings(loadConfig({ CLIP_WEBGPU_OPTIONS: 'preferredLayout=NHWC' }).clipWebgpuOptions)).toEqual({
      preferredLayout: 'NHWC',
    });
  });
});

describe('batching and preprocessing by provider', () => {
  it('fills a GPU and stays small on a CPU', () => {
    expect(batchDefaults('webgpu')).toEqual({ batchMax: 128, batchWaitMs: 5 });
    expect(batchDefaults('cuda').batchMax).toBe(128);
    expect(batchDefaults('cpu')).toEqual({ batchMax: 8, batchWaitMs: 4 });
  });

  it('sizes the preprocessing pool to the cores the provider leaves free', () => {
    // A GPU leaves every core but the caller's to decoding.
    expect(prepPoolSize('webgpu', 0, 16)).toBe(15);
    // The CPU provider takes `threads` cores (0: all of them); decoding gets the rest, at least one.
    expect(prepPoolSize('cpu', 0, 16)).toBe(1);
    expect(prepPoolSize('cpu', 12, 16)).toBe(4);
    expect(prepPoolSize('webgpu', 0, 1)).toBe(1);
  });

  it('CLIP_BATCH_MAX, CLIP_BATCH_WAIT_MS and CLIP_PREP_THREADS default to auto and take numbers', () => {
    const d = loadConfig({});
    expect([d.clipBatchMax, d.clipBatchWaitMs, d.clipPrepThreads, d.clipPrecision]).toEqual(['auto', 'auto', 'auto', 'auto']);
    const c = loadConfig({ CLIP_BATCH_MAX: '64', CLIP_BATCH_WAIT_MS: '0', CLIP_PREP_THREADS: '6' });
    expect([c.clipBatchMax, c.clipBatchWaitMs, c.clipPrepThreads]).toEqual([64, 0, 6]);
    expect(() => loadConfig({ CLIP_BATCH_MAX: 'lots' })).toThrow(
      /CLIP_BATCH_MAX must be auto or an integer between 1 and 1024; got "lots"/,
    );
  });
});
