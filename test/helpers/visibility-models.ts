/**
 * A small CNN for test/visibility.test.ts: input [1, 1, 6, 6] -> Conv 1 -> 2 channels 3x3 (no padding) -> Relu
 * -> Flatten -> Gemm (transB) -> 3 outputs. Seeded random weights.
 */
import { buildOnnxModel, mulberry32 } from '../../src/onnx/builder.ts';

export function smallCnn(seed = 404): { bytes: Uint8Array; inputShape: number[] } {
  const rnd = mulberry32(seed);
  const rand = (n: number, a: number) => Array.from({ length: n }, () => (2 * rnd() - 1) * a);
  const bytes = buildOnnxModel({
    inputs: [{ name: 'x', shape: [1, 1, 6, 6] }],
    outputs: [{ name: 'fc', shape: [1, 3] }],
    initializers: [
      { name: 'conv.W', dims: [2, 1, 3, 3], data: rand(18, 0.6) },
      { name: 'conv.b', dims: [2], data: rand(2, 0.2) },
      { name: 'fc.W', dims: [3, 32], data: rand(96, 0.4) },
      { name: 'fc.b', dims: [3], data: rand(3, 0.1) },
    ],
    nodes: [
      { op: 'Conv', name: 'conv', inputs: ['x', 'conv.W', 'conv.b'], outputs: ['conv'], attrs: { kernel_shape: [3, 3] } },
      { op: 'Relu', name: 'relu', inputs: ['conv'], outputs: ['relu'] },
      { op: 'Flatten', name: 'flatten', inputs: ['relu'], outputs: ['flatten'], attrs: { axis: 1 } },
      { op: 'Gemm', name: 'fc', inputs: ['flatten', 'fc.W', 'fc.b'], outputs: ['fc'], attrs: { transB: 1 } },
    ],
    opset: 13,
    graphName: 'vis-cnn',
  });
  return { bytes, inputShape: [1, 1, 6, 6] };
}
