/** The KServe v2 codec both sides share: JSON and binary tensors, byte for byte, and clear refusals. */
import { describe, expect, it } from 'vitest';
import {
  decodeInferRequest,
  decodeInferResponse,
  encodeInferRequest,
  encodeInferResponse,
  HEADER_LENGTH,
  KServeError,
  type Tensor,
} from '../../../src/clip/kserve.ts';

const ids: Tensor = {
  name: 'input_ids',
  datatype: 'INT64',
  shape: [2, 3],
  data: BigInt64Array.from([49406n, 320n, 49407n, 49406n, 49407n, 49407n]),
};
const px: Tensor = { name: 'pixel_values', datatype: 'FP32', shape: [1, 2, 2], data: Float32Array.from([0.5, -1.25, 3, 1e-7]) };

describe('KServe v2 codec', () => {
  it('round-trips requests as binary (header length, sizes, raw little-endian bytes) and as JSON', () => {
    for (const binary of [true, false]) {
      const enc = encodeInferRequest({ id: 'r1', inputs: [ids, px], outputs: ['out'], binary });
      if (binary) {
        const n = Number(enc.headers[HEADER_LENGTH]);
        expect(enc.body.length).toBe(n + 6 * 8 + 4 * 4);
        expect(JSON.parse(enc.body.subarray(0, n).toString()).inputs[0].parameters).toEqual({ binary_data_size: 48 });
      } else expect(enc.headers[HEADER_LENGTH]).toBeUndefined();
      const dec = decodeInferRequest(enc.body, enc.headers[HEADER_LENGTH]);
      expect(dec.id).toBe('r1');
      expect(dec.inputs.map((t) => [t.name, t.datatype, t.shape])).toEqual([
        ['input_ids', 'INT64', [2, 3]],
        ['pixel_values', 'FP32', [1, 2, 2]],
      ]);
      expect([...(dec.inputs[0].data as BigInt64Array)]).toEqual([...(ids.data as BigInt64Array)]);
      expect([...(dec.inputs[1].data as Float32Array)]).toEqual([...(px.data as Float32Array)]);
      expect(dec.outputs).toEqual([{ name: 'out', binary }]);
    }
  });

  it('accepts nested JSON data and request-level binary_data_output', () => {
    const body = Buffer.from(
      JSON.stringify({
        parameters: { binary_data_output: true },
        inputs: [
          {
            name: 'x',
            datatype: 'FP32',
            shape: [2, 2],
            data: [
              [1, 2],
              [3, 4],
            ],
          },
        ],
      }),
    );
    const dec = decodeInferRequest(body);
    expect([...(dec.inputs[0].data as Float32Array)]).toEqual([1, 2, 3, 4]);
    expect(dec.binaryOutput).toBe(true);
  });

  it('round-trips responses with binary and JSON outputs', () => {
    const out: Tensor = { name: 'text_embeds', datatype: 'FP32', shape: [1, 3], data: Float32Array.from([0.6, 0, 0.8]) };
    for (const binary of [true, false]) {
      const enc = encodeInferResponse({ model: 'clip-text', id: 'q', outputs: [{ tensor: out, binary }] });
      const dec = decodeInferResponse(enc.body, enc.headers[HEADER_LENGTH]);
      expect(dec.id).toBe('q');
      expect(dec.outputs[0].shape).toEqual([1, 3]);
      expect([...(dec.outputs[0].data as Float32Array)].map((x) => Math.round(x * 10) / 10)).toEqual([0.6, 0, 0.8]);
    }
  });

  it('carries 8-bit pixels (UINT8) as one byte each, binary and JSON', () => {
    const pixels: Tensor = {
      name: 'pixels',
      datatype: 'UINT8',
      shape: [1, 2, 2, 3],
      data: Uint8Array.from({ length: 12 }, (_, i) => i * 21),
    };
    for (const binary of [true, false]) {
      const enc = encodeInferRequest({ inputs: [pixels], outputs: ['image_embeds'], binary });
      if (binary) expect(enc.body.length).toBe(Number(enc.headers[HEADER_LENGTH]) + 12);
      const dec = decodeInferRequest(enc.body, enc.headers[HEADER_LENGTH]);
      expect(dec.inputs[0].datatype).toBe('UINT8');
      expect(dec.inputs[0].data).toBeInstanceOf(Uint8Array);
      expect([...(dec.inputs[0].data as Uint8Array)]).toEqual([...(pixels.data as Uint8Array)]);
    }
    const json = Buffer.from(JSON.stringify({ inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [2], data: [3, 256] }] }));
    expect(() => decodeInferRequest(json, undefined)).toThrow(/UINT8 data must be integers from 0 to 255; element 1 is 256/);
  });

  it('refuses malformed requests with 400 and a message naming the problem', () => {
    const bad = (body: unknown, header?: string) => {
      try {
        decodeInferRequest(Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body)), header);
      } catch (e) {
        expect(e).toBeInstanceOf(KServeError);
        expect((e as KServeError).status).toBe(400);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(bad({ inputs: [] })).toMatch(/no "inputs"/);
    expect(bad({ inputs: [{ name: 'x', datatype: 'FP16', shape: [1], data: [1] }] })).toMatch(
      /datatype must be FP32, INT64 or UINT8; got "FP16"/,
    );
    expect(bad({ inputs: [{ name: 'x', datatype: 'INT64', shape: [2], data: [1, 2.5] }] })).toMatch(
      /INT64 data must be integers; element 1 is 2.5/,
    );
    expect(bad({ inputs: [{ name: 'x', datatype: 'FP32', shape: [-1], data: [1] }] })).toMatch(
      /shape must be an array of non-negative integers/,
    );
    expect(bad({ inputs: [{ name: 'x', datatype: 'FP32', shape: [3] }] })).toMatch(/no data and no binary_data_size/);
    const header = Buffer.from(
      JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } }] }),
    );
    expect(bad(Buffer.concat([header, Buffer.alloc(12)]), String(header.length))).toMatch(/4 bytes of binary data that no input/);
    expect(bad(Buffer.concat([header, Buffer.alloc(8)]), '99999')).toMatch(/Inference-Header-Content-Length "99999" does not fit/);
    const wrongSize = Buffer.from(
      JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [3], parameters: { binary_data_size: 8 } }] }),
    );
    expect(bad(Buffer.concat([wrongSize, Buffer.alloc(8)]), String(wrongSize.length))).toMatch(/needs 12 bytes; binary_data_size is 8/);
  });
});
