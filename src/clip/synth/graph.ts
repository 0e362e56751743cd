/**
 * A small ONNX graph builder: names values, collects nodes and initializers, and writes
 * tensors straight from typed arrays into `raw_data` so a 150M-parameter model never
 * exists as JavaScript number arrays.
 */
import { type AttributeProto, DataType, encodeModel, type NodeProto, onnx, type TensorProto, type ValueInfoProto } from './onnx.ts';

export type Dim = number | string;
export type TypedData = Float32Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;

export type Attr = { i: number } | { f: number } | { ints: number[] } | { floats: number[] } | { s: string } | { t: TensorProto };

function dataTypeOf(data: TypedData): number {
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof BigInt64Array) return DataType.INT64;
  if (data instanceof Int32Array) return DataType.INT32;
  if (data instanceof Int8Array) return DataType.INT8;
  return DataType.UINT8;
}

/** A tensor whose bytes are the typed array's own (little-endian on every platform Node runs on). */
export function tensor(name: string, data: TypedData, dims: number[]): TensorProto {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`tensor ${name}: ${data.length} values for dims [${dims.join(', ')}]`);
  return {
    name,
    dims,
    dataType: dataTypeOf(data),
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

export function valueInfo(name: string, elemType: number, dims: Dim[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, a: Attr): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('i' in a) return { name, type: T.INT, i: a.i };
  if ('f' in a) return { name, type: T.FLOAT, f: a.f };
  if ('ints' in a) return { name, type: T.INTS, ints: a.ints };
  if ('floats' in a) return { name, type: T.FLOATS, floats: a.floats };
  if ('s' in a) return { name, type: T.STRING, s: new TextEncoder().encode(a.s) };
  return { name, type: T.TENSOR, t: a.t };
}

export interface NodeOptions {
  attrs?: Record<string, Attr>;
  domain?: string;
  /** Names for the outputs; default one fresh name. */
  outputs?: string[];
  name?: string;
}

export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly used = new Set<string>();
  private readonly counters = new Map<string, number>();

  constructor(readonly name: string) {}

  /** A value name not used yet, readable in a graph viewer: `/prefix/Op_3`. */
  fresh(prefix: string): string {
    const n = this.counters.get(prefix) ?? 0;
    this.counters.set(prefix, n + 1);
    const name = n === 0 ? prefix : `${prefix}_${n}`;
    if (this.used.has(name)) return this.fresh(`${prefix}_`);
    this.used.add(name);
    return name;
  }

  input(name: string, elemType: number, dims: Dim[]): string {
    this.used.add(name);
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: number, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  init(name: string, data: TypedData, dims: number[]): string {
    if (this.used.has(name)) throw new Error(`duplicate value name ${name}`);
    this.used.add(name);
    this.initializers.push(tensor(name, data, dims));
    return name;
  }

  /** A small int64 constant (shapes, axes, indices); shared when asked for again. */
  ints(name: string, values: number[], dims: number[] = [values.length]): string {
    return this.constant(
      `ints:${name}:${values.join(',')}:${dims.join(',')}`,
      name,
      () => BigInt64Array.from(values, (v) => BigInt(v)),
      dims,
    );
  }

  /** A float scalar constant; shared when asked for again. */
  scalar(name: string, value: number): string {
    return this.constant(`f32:${name}:${value}`, name, () => Float32Array.of(value), []);
  }

  private readonly constants = new Map<string, string>();

  private constant(key: string, name: string, data: () => TypedData, dims: number[]): string {
    const known = this.constants.get(key);
    if (known) return known;
    const fresh = this.fresh(name);
    this.initializers.push(tensor(fresh, data(), dims));
    this.constants.set(key, fresh);
    return fresh;
  }

  node(op: string, inputs: string[], opts: NodeOptions = {}): string[] {
    const outputs = opts.outputs ?? [this.fresh(`/${opts.name ?? op}_output`)];
    for (const o of outputs) this.used.add(o);
    this.nodes.push({
      opType: op,
      name: this.fresh(`/${opts.name ?? op}`),
      input: inputs,
      output: outputs,
      domain: opts.domain ?? '',
      attribute: Object.entries(opts.attrs ?? {}).map(([k, v]) => attribute(k, v)),
    });
    return outputs;
  }

  /** A node with one output; returns its name. */
  op(op: string, inputs: string[], opts: NodeOptions = {}): string {
    return this.node(op, inputs, opts)[0];
  }

  parameterCount(): number {
    let n = 0;
    for (const t of this.initializers) {
      if (t.dataType === DataType.FLOAT) n += (t.dims ?? []).reduce<number>((a, b) => a * Number(b), 1);
    }
    return n;
  }

  encode(opts: { opset: number; producer: string; docString?: string; metadata?: Record<string, string> }): Uint8Array {
    return encodeModel({
      irVersion: 8,
      producerName: opts.producer,
      producerVersion: '1',
      docString: opts.docString ?? '',
      opsetImport: [{ domain: '', version: opts.opset }],
      metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
  }
}
