/** Test models for test/graph-io*.test.ts: two inputs and two outputs; integer and bool inputs. */
import protobuf from 'protobufjs/light.js';
import { buildOnnxModel, mulberry32, type ModelSpec, type ValueInfoSpec } from '../../src/onnx/builder.ts';

export function weights(n: number, seed: number, scale = 0.5): number[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

/**
 * Two inputs, two outputs: a [1,4] -> Gemm -> Relu = 'hidden' [1,3]; b [1,3] -> Gemm [1,3]; their sum -> Gemm ->
 * 'logits' [1,2]. Outputs: logits, then hidden (a uint8 tensor, also read by the Add).
 */
export function twoBranchSpec(): ModelSpec {
  return {
    inputs: [{ name: 'a', shape: ['batch', 4] }, { name: 'b', shape: ['batch', 3] }],
    outputs: [{ name: 'logits', shape: ['batch', 2] }, { name: 'hidden', shape: ['batch', 3] }],
    initializers: [
      { name: 'Wa', dims: [4, 3], data: weights(12, 1) }, { name: 'ba', dims: [3], data: weights(3, 2, 0.1) },
      { name: 'Wb', dims: [3, 3], data: weights(9, 3) }, { name: 'bb', dims: [3], data: weights(3, 4, 0.1) },
      { name: 'Wo', dims: [3, 2], data: weights(6, 5) }, { name: 'bo', dims: [2], data: weights(2, 6, 0.1) },
    ],
    nodes: [
      { op: 'Gemm', name: 'fa', inputs: ['a', 'Wa', 'ba'], outputs: ['ha'] },
      { op: 'Relu', name: 'relu', inputs: ['ha'], outputs: ['hidden'] },
      { op: 'Gemm', name: 'fb', inputs: ['b', 'Wb', 'bb'], outputs: ['hb'] },
      { op: 'Add', name: 'join', inputs: ['hidden', 'hb'], outputs: ['s'] },
      { op: 'Gemm', name: 'fo', inputs: ['s', 'Wo', 'bo'], outputs: ['logits'] },
    ],
  };
}

/**
 * Token ids and a mask: ids int64 [1, seq] (seq symbolic) -> Cast -> Gemm; mask bool [1, 4] -> Cast -> Gemm; the
 * sum -> Transpose -> 'y' [2, 1], declared ['?', 1] (as exporters write a dynamic first dimension).
 */
export function tokenSpec(): ModelSpec {
  return {
    inputs: [{ name: 'ids', shape: ['batch', 'seq'], elemType: 'int64' }, { name: 'mask', shape: [1, 4], elemType: 'bool' }],
    outputs: [{ name: 'y', shape: ['?', 1] }],
    initializers: [
      { name: 'Wi', dims: [4, 2], data: weights(8, 7, 0.2) }, { name: 'bi', dims: [2], data: [0.1, -0.2] },
      { name: 'Wm', dims: [4, 2], data: weights(8, 8) },
    ],
    nodes: [
      { op: 'Cast', name: 'ci', inputs: ['ids'], outputs: ['idf'], attrs: { to: 1 } },
      { op: 'Gemm', name: 'gi', inputs: ['idf', 'Wi', 'bi'], outputs: ['yi'] },
      { op: 'Cast', name: 'cm', inputs: ['mask'], outputs: ['mf'], attrs: { to: 1 } },
      { op: 'MatMul', name: 'gm', inputs: ['mf', 'Wm'], outputs: ['ym'] },
      { op: 'Add', name: 'sum', inputs: ['yi', 'ym'], outputs: ['s'] },
      { op: 'Transpose', name: 'tr', inputs: ['s'], outputs: ['y'], attrs: { perm: [1, 0] } },
    ],
  };
}


/** Protobuf length-delimited fields `want` of a message. */
function fieldsOf(buf: Uint8Array, want: number): { at: number; end: number; body: Uint8Array }[] {
  const r = protobuf.Reader.create(buf);
  const found: { at: number; end: number; body: Uint8Array }[] = [];
  while (r.pos < r.len) {
    const at = r.pos;
    const tag = r.uint32();
    if (tag >>> 3 === want && (tag & 7) === 2) {
      const body = r.bytes();
      found.push({ at, end: r.pos, body });
    } else r.skipType(tag & 7);
  }
  return found;
}

function field(n: number, body: Uint8Array): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32((n << 3) | 2).bytes(body);
  return w.finish();
}

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let k = 0;
  for (const p of parts) {
    out.set(p, k);
    k += p.length;
  }
  return out;
};

/**
 * The model with graph value_info entries added (GraphProto field 13), as exporters and onnx shape inference
 * write them (buildOnnxModel writes none): each ValueInfoProto made as a graph input of a scratch model.
 */
export function withValueInfo(bytes: Uint8Array, infos: ValueInfoSpec[]): Uint8Array {
  const scratch = buildOnnxModel({ inputs: infos, outputs: [{ name: 'o', shape: [1] }], nodes: [{ op: 'Identity', inputs: [infos[0].name], outputs: ['o'] }] });
  const entries = fieldsOf(fieldsOf(scratch, 7)[0].body, 11).map((f) => field(13, f.body));
  const g = fieldsOf(bytes, 7)[0];
  return concat(bytes.subarray(0, g.at), field(7, concat(g.body, ...entries)), bytes.subarray(g.end));
}
