/**
 * The benchmark sweep: MNIST-shaped MLPs of several widths and LeNet-style CNNs of several channel counts,
 * with seeded random weights (He-uniform), written as ONNX with a calibration.json (100 MNIST digits) beside
 * each. Accuracy does not matter here, only size and speed.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildOnnxModel, mulberry32 } from '../../src/onnx/builder.ts';

const he = (rnd: () => number, fanIn: number, n: number) => Array.from({ length: n }, () => (rnd() * 2 - 1) * Math.sqrt(6 / fanIn));

export function mlp(width: number, seed: number): Uint8Array {
  const rnd = mulberry32(seed);
  return buildOnnxModel({
    inputs: [{ name: 'input', shape: [1, 784] }], outputs: [{ name: 'logits', shape: [1, 10] }],
    initializers: [
      { name: 'W1', dims: [width, 784], data: he(rnd, 784, width * 784) }, { name: 'B1', dims: [width], data: new Array(width).fill(0.01) },
      { name: 'W2', dims: [10, width], data: he(rnd, width, 10 * width) }, { name: 'B2', dims: [10], data: new Array(10).fill(0) },
    ],
    nodes: [
      { op: 'Gemm', name: 'fc1', inputs: ['input', 'W1', 'B1'], outputs: ['h'], attrs: { transB: 1 } },
      { op: 'Relu', name: 'relu1', inputs: ['h'], outputs: ['a'] },
      { op: 'Gemm', name: 'fc2', inputs: ['a', 'W2', 'B2'], outputs: ['logits'], attrs: { transB: 1 } },
    ],
  });
}

/** 28x28 -> Conv c1@5x5 -> Relu -> MaxPool 2x2 -> Conv c2@5x5 -> Relu -> MaxPool 2x2 -> Flatten -> Gemm 10. */
export function cnn(c1: number, c2: number, seed: number): Uint8Array {
  const rnd = mulberry32(seed);
  return buildOnnxModel({
    inputs: [{ name: 'input', shape: [1, 1, 28, 28] }], outputs: [{ name: 'logits', shape: [1, 10] }],
    initializers: [
      { name: 'W1', dims: [c1, 1, 5, 5], data: he(rnd, 25, c1 * 25) }, { name: 'B1', dims: [c1], data: new Array(c1).fill(0.01) },
      { name: 'W2', dims: [c2, c1, 5, 5], data: he(rnd, c1 * 25, c2 * c1 * 25) }, { name: 'B2', dims: [c2], data: new Array(c2).fill(0.01) },
      { name: 'W3', dims: [10, c2 * 16], data: he(rnd, c2 * 16, 10 * c2 * 16) }, { name: 'B3', dims: [10], data: new Array(10).fill(0) },
    ],
    nodes: [
      { op: 'Conv', name: 'conv1', inputs: ['input', 'W1', 'B1'], outputs: ['c1'] },
      { op: 'Relu', name: 'relu1', inputs: ['c1'], outputs: ['r1'] },
      { op: 'MaxPool', name: 'pool1', inputs: ['r1'], outputs: ['p1'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
      { op: 'Conv', name: 'conv2', inputs: ['p1', 'W2', 'B2'], outputs: ['c2'] },
      { op: 'Relu', name: 'relu2', inputs: ['c2'], outputs: ['r2'] },
      { op: 'MaxPool', name: 'pool2', inputs: ['r2'], outputs: ['p2'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
      { op: 'Flatten', name: 'flatten', inputs: ['p2'], outputs: ['f'] },
      { op: 'Gemm', name: 'fc', inputs: ['f', 'W3', 'B3'], outputs: ['logits'], attrs: { transB: 1 } },
    ],
  });
}

export const MLP_WIDTHS = [16, 32, 64, 128];
export const CNN_CHANNELS: [number, number][] = [[2, 4], [4, 8]]; // 6-16 is the example CNN, measured already

/** Write the sweep into `dir`; returns the model paths, smallest first within each family. */
export async function writeSweep(dir: string, calibration: string): Promise<string[]> {
  const paths: string[] = [];
  const models: [string, Uint8Array][] = [
    ...MLP_WIDTHS.map((w, i) => [`mlp-784-${w}-10`, mlp(w, 100 + i)] as [string, Uint8Array]),
    ...CNN_CHANNELS.map(([a, b], i) => [`cnn-${a}-${b}`, cnn(a, b, 200 + i)] as [string, Uint8Array]),
  ];
  for (const [name, bytes] of models) {
    const d = join(dir, name);
    await mkdir(d, { recursive: true });
    await writeFile(join(d, 'model.onnx'), bytes);
    await copyFile(calibration, join(d, 'calibration.json'));
    paths.push(join(d, 'model.onnx'));
  }
  return paths;
}
