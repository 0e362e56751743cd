/**
 * 8-bit-pixel versions of a vision model (`onnx/vision_model*_rgb8.onnx`): the graph takes
 * `pixels`, uint8 [batch, H, W, 3] (the resized, centre-cropped RGB image), and does the last
 * per-pixel steps of CLIP's preprocessing itself (cast, HWC → CHW, ÷255, − mean, ÷ std, from
 * the model's preprocessor_config.json), then runs the unchanged model.
 *
 * Why: a batch of 224×224 images is 150 KB each as bytes against 602 KB as float32, and on a
 * GPU the path from host memory is what limits throughput (measured on an H200 with WebGPU:
 * 8-bit input + fp16 weights 2,363 img/s against 1,635 for float input, batch 256). On any
 * host the preprocessing threads skip their float conversion and the transfer to the
 * inference worker is a quarter of the size. The arithmetic is float32 as the reference
 * does it (÷255 in float32 equals ×(1/255) in float64 rounded, for every byte value), so on the
 * CPU the embeddings equal those of the float graph fed `preprocessImage`'s tensors.
 */
import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelError } from '../errors.ts';
import { onnxFile, PRECISIONS, type Precision } from './model-dir.ts';
import { type PreprocessConfig, readPreprocessConfig } from './preprocess.ts';
import { DataType, decodeModel, encodeModel, type NodeProto, onnx, type TensorProto } from './synth/onnx.ts';

export const FLOAT_INPUT = 'pixel_values';
export const RGB8_INPUT = 'pixels';

const f32 = (name: string, values: number[], dims: number[]): TensorProto => ({
  name,
  dims,
  dataType: DataType.FLOAT,
  rawData: new Uint8Array(Float32Array.from(values).buffer),
});

/** Rewrites one vision model held in memory to take 8-bit HWC pixels. */
export function toRgb8Input(bytes: Uint8Array, cfg: PreprocessConfig, what = 'model'): Uint8Array {
  const model = decodeModel(bytes, what);
  const graph = model.graph;
  if (!graph) throw new ModelError('MODEL_CORRUPT', `${what}: the ONNX file has no graph`);
  const inputs = graph.input ?? [];
  const at = inputs.findIndex((i) => i.name === FLOAT_INPUT);
  const tt = inputs[at]?.type?.tensorType;
  const dims = tt?.shape?.dim ?? [];
  if (at < 0 || tt?.elemType !== DataType.FLOAT || dims.length !== 4) {
    const have = inputs.map((i) => i.name).join(', ') || 'none';
    throw new ModelError(
      'MODEL_UNSUPPORTED',
      `${what}: expected a float32 input "${FLOAT_INPUT}" [batch, 3, H, W] (the standard CLIP vision export); the inputs are ${have}`,
    );
  }
  const batch = dims[0];
  const [h, w] = [cfg.cropHeight, cfg.cropWidth];
  // The float graph's input becomes an internal value, typed so later rewrites (the int8
  // quantizer's patch convolution) still see its static [3, H, W].
  graph.valueInfo = [...(graph.valueInfo ?? []), { ...inputs[at] }];
  inputs[at] = {
    name: RGB8_INPUT,
    type: { tensorType: { elemType: DataType.UINT8, shape: { dim: [batch, { dimValue: h }, { dimValue: w }, { dimValue: 3 }] } } },
  };
  const T = onnx.AttributeProto.AttributeType;
  const inv = 1 / cfg.rescaleFactor;
  // ÷255 in float32 is the reference's ×(1/255) in float64 rounded to float32, exactly.
  const divide = Math.abs(inv - Math.round(inv)) < 1e-9;
  const consts = [
    f32('rgb8/rescale', [divide ? Math.round(inv) : cfg.rescaleFactor], []),
    f32('rgb8/mean', cfg.mean, [1, 3, 1, 1]),
    f32('rgb8/std', cfg.std, [1, 3, 1, 1]),
  ];
  const prologue: NodeProto[] = [
    {
      opType: 'Cast',
      name: 'rgb8/cast',
      input: [RGB8_INPUT],
      output: ['rgb8/float'],
      attribute: [{ name: 'to', type: T.INT, i: DataType.FLOAT }],
    },
    {
      opType: 'Transpose',
      name: 'rgb8/chw',
      input: ['rgb8/float'],
      output: ['rgb8/chw'],
      attribute: [{ name: 'perm', type: T.INTS, ints: [0, 3, 1, 2] }],
    },
    { opType: divide ? 'Div' : 'Mul', name: 'rgb8/rescale', input: ['rgb8/chw', 'rgb8/rescale'], output: ['rgb8/scaled'] },
    { opType: 'Sub', name: 'rgb8/centre', input: ['rgb8/scaled', 'rgb8/mean'], output: ['rgb8/centred'] },
    { opType: 'Div', name: 'rgb8/normalise', input: ['rgb8/centred', 'rgb8/std'], output: [FLOAT_INPUT] },
  ];
  graph.node = [...prologue, ...(graph.node ?? [])];
  graph.initializer = [...(graph.initializer ?? []), ...consts];
  model.producerName = `${model.producerName || 'unknown'}+adcreative-rgb8`;
  return encodeModel(model);
}

/** Writes the `_rgb8` variant of every vision file present (fp32, fp16, int8); returns the paths written. */
export async function rgb8ModelDir(dir: string, opts: { onProgress?: (msg: string) => void } = {}): Promise<string[]> {
  const cfg = readPreprocessConfig(dir);
  const present = PRECISIONS.filter((p: Precision) => existsSync(join(dir, onnxFile('vision', p))));
  if (present.length === 0) {
    throw new ModelError('MODEL_MISSING', `cannot write 8-bit-pixel vision models in ${dir}: no onnx/vision_model*.onnx`, {
      hint: 'a model directory needs onnx/vision_model.onnx (adcreative models fetch, or models synth)',
    });
  }
  const written: string[] = [];
  for (const p of present) {
    const from = join(dir, onnxFile('vision', p));
    const to = join(dir, onnxFile('vision', p, 'rgb8'));
    const out = toRgb8Input(await readFile(from), cfg, from);
    const tmp = `${to}.tmp-${process.pid}`;
    try {
      await writeFile(tmp, out);
      await rename(tmp, to);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    written.push(to);
    opts.onProgress?.(`${onnxFile('vision', p, 'rgb8')}: takes ${RGB8_INPUT} uint8 [batch, ${cfg.cropHeight}, ${cfg.cropWidth}, 3]`);
  }
  return written;
}
