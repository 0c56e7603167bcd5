/** Test models for test/graph-io*.test.ts: two inputs and two outputs; integer and bool inputs. */
import { mulberry32, type ModelSpec } from '../../src/onnx/builder.ts';

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

