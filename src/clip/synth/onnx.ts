/**
 * The one import of onnx-proto (a protobufjs build of onnx.proto), with the few helpers
 * the synthetic-model writer and the quantizer share.
 */

import type { onnx as P } from 'onnx-proto';
import onnxProto from 'onnx-proto';
import { ModelError } from '../../errors.ts';

export const onnx = onnxProto.onnx;

export type ModelProto = P.ModelProto;
export type IModelProto = P.IModelProto;
export type GraphProto = P.IGraphProto;
export type NodeProto = P.INodeProto;
export type TensorProto = P.ITensorProto;
export type ValueInfoProto = P.IValueInfoProto;
export type AttributeProto = P.IAttributeProto;

export const DataType = onnx.TensorProto.DataType;

/** int64 fields decode as Long objects (protobufjs) or plain numbers. */
export function toNumber(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

export function decodeModel(bytes: Uint8Array, what: string): ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ModelError('MODEL_CORRUPT', `${what}: not a readable ONNX model (${e instanceof Error ? e.message : String(e)})`, {
      cause: e,
    });
  }
}

export function encodeModel(model: IModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}
