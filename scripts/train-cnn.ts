/**
 * Deterministically trains a small LeNet-style CNN on the `mnist` package digits in plain
 * TypeScript (hand-written forward/backward on flat typed arrays, Adam + cosine LR decay,
 * softmax cross-entropy, +-1 px random-shift augmentation), exports it with the ONNX
 * builder, and also writes a statically quantized QDQ copy (the layout onnxruntime's
 * `quantize_static(quant_format=QDQ, per_channel=True, activation_type=QUInt8,
 * weight_type=QInt8)` produces, calibrated with min/max on calibration.json) to
 * examples/mnist-cnn/.
 *
 *   npx tsx scripts/train-cnn.ts
 *
 * Network (NCHW, batch 1):
 *   input [1,1,28,28] -> Conv 6x5x5 (+bias) -> Relu -> MaxPool 2x2/2 -> Conv 16x5x5 (+bias) -> Relu
 *   -> MaxPool 2x2/2 -> Flatten (256) -> Gemm(transB=1) 256->10 -> `logits` [1,10]
 *
 * Outputs (examples/mnist-cnn/):
 *   model.onnx          the float network above, opset 13
 *   model-qdq.onnx      the same network with QuantizeLinear/DequantizeLinear pairs: uint8 asymmetric
 *                       activations, int8 symmetric per-output-channel weights, int32 biases, opset 13
 *   digit-<label>.json  five held-out test digits, { "input": [784 numbers] }
 *   calibration.json    the first 100 training digits (10 per class), [{ "input": [...] }, ...]
 *   meta.json           training metadata, float and QDQ test accuracies, quantization parameters
 */
import { adamStep, argmax, cosineLr, roundInput, shiftImage, shuffleInPlace, softmaxCrossEntropy, writeExampleDigits } from './lib/train-utils.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { buildOnnxModel, mulberry32, type InitializerSpec, type NodeSpec } from '../src/onnx/builder.ts';
import { IMAGE_SIZE, INPUT_SIZE, NUM_CLASSES, loadMnistSplit } from './lib/mnist-data.ts';
import {
  CONV1_K,
  CONV2_K,
  C1,
  C2,
  FLAT,
  KSIZE,
  P1_SIZE,
  cnnNumParams,
  createWorkspace,
  forward,
  initParams,
  rint,
  type ActQuant,
  type CnnParams,
  type Workspace,
} from './lib/cnn.ts';

const SEED = 20240607;
const EPOCHS = 20;
const BATCH = 32;
const SHIFT = 1; // augmentation: random translation by up to SHIFT pixels in x and y (seeded)
const LR = 3e-3;
const LR_FINAL = 5e-5; // cosine decay from LR to LR_FINAL
const EXAMPLE_LABELS = [0, 3, 5, 7, 9];
const CALIBRATION_COUNT = 100;
const DECIMALS = 4;
const MIN_TEST_ACC = 0.97;

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(repoRoot, 'examples', 'mnist-cnn');

// ---------------------------------------------------------------------------------------------
// training

type Grads = { [K in keyof CnnParams]: Float64Array };

function zeroGrads(p: CnnParams): Grads {
  return {
    w1: new Float64Array(p.w1.length),
    b1: new Float64Array(p.b1.length),
    w2: new Float64Array(p.w2.length),
    b2: new Float64Array(p.b2.length),
    w3: new Float64Array(p.w3.length),
    b3: new Float64Array(p.b3.length),
  };
}

const PARAM_KEYS = ['w1', 'b1', 'w2', 'b2', 'w3', 'b3'] as const;

/**
 * Backward pass of one sample (after `forward(p, x, ws)`), accumulating into `g`.
 * `dlog` = dLoss/dlogits. Exploits sparsity: MaxPool routes each pooled gradient to exactly one
 * conv output (windows do not overlap), so only <= 1/4 of the conv outputs carry gradient.
 */
function backward(p: CnnParams, ws: Workspace, dlog: Float64Array, g: Grads, dp2: Float64Array, dp1: Float64Array): void {
  // fc: logits = W3 p2 + b3
  dp2.fill(0);
  for (let c = 0; c < NUM_CLASSES; c++) {
    const d = dlog[c]!;
    g.b3[c] += d;
    const row = c * FLAT;
    for (let j = 0; j < FLAT; j++) {
      g.w3[row + j] += d * ws.p2[j]!;
      dp2[j] += d * p.w3[row + j]!;
    }
  }
  // pool2 -> relu2 -> conv2 (weight, bias and input gradients)
  dp1.fill(0);
  const a2Plane = ws.conv2Positions;
  for (let j = 0; j < FLAT; j++) {
    const d = dp2[j]!;
    if (d === 0) continue;
    const i = ws.arg2[j]!;
    if (ws.a2[i]! <= 0) continue; // ReLU inactive
    const o = (i / a2Plane) | 0;
    const pos = i - o * a2Plane;
    g.b2[o] += d;
    const wo = o * CONV2_K;
    const cb = pos * CONV2_K;
    for (let k = 0; k < CONV2_K; k++) {
      g.w2[wo + k] += d * ws.cols2[cb + k]!;
      dp1[ws.col2Idx[cb + k]!] += d * p.w2[wo + k]!;
    }
  }
  // pool1 -> relu1 -> conv1 (weight and bias gradients; no input gradient needed)
  const a1Plane = ws.conv1Positions;
  const p1Len = C1 * P1_SIZE * P1_SIZE;
  for (let j = 0; j < p1Len; j++) {
    const d = dp1[j]!;
    if (d === 0) continue;
    const i = ws.arg1[j]!;
    if (ws.a1[i]! <= 0) continue;
    const o = (i / a1Plane) | 0;
    const pos = i - o * a1Plane;
    g.b1[o] += d;
    const wo = o * CONV1_K;
    const cb = pos * CONV1_K;
    for (let k = 0; k < CONV1_K; k++) g.w1[wo + k] += d * ws.cols1[cb + k]!;
  }
}




function evaluate(p: CnnParams, xs: Float32Array[], ys: number[], q: ActQuant | null = null): { acc: number; preds: number[]; logits: Float32Array[] } {
  const ws = createWorkspace();
  let correct = 0;
  const preds: number[] = [];
  const allLogits: Float32Array[] = [];
  for (let n = 0; n < xs.length; n++) {
    forward(p, xs[n]!, ws, q);
    const logits = Float32Array.from(ws.logits);
    const pred = argmax(logits);
    preds.push(pred);
    allLogits.push(logits);
    if (pred === ys[n]) correct++;
  }
  return { acc: correct / xs.length, preds, logits: allLogits };
}

function train(
  p: CnnParams,
  trainSet: { x: Float32Array[]; y: number[] },
  testSet: { x: Float32Array[]; y: number[] },
  rand: () => number,
  log: (s: string) => void,
): void {
  const { x: xs, y: ys } = trainSet;
  const grads = zeroGrads(p);
  const m = zeroGrads(p);
  const v = zeroGrads(p);
  const ws = createWorkspace();
  const dlog = new Float64Array(NUM_CLASSES);
  const dp2 = new Float64Array(FLAT);
  const dp1 = new Float64Array(C1 * P1_SIZE * P1_SIZE);
  const shifted = new Float32Array(INPUT_SIZE);
  const order = Array.from(xs.keys());
  const stepsPerEpoch = Math.ceil(xs.length / BATCH);
  const totalSteps = stepsPerEpoch * EPOCHS;
  let t = 0;
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    const tEpoch = performance.now();
    shuffleInPlace(order, rand); // seeded
    let lossSum = 0;
    let correct = 0;
    for (let start = 0; start < order.length; start += BATCH) {
      const end = Math.min(start + BATCH, order.length);
      const bs = end - start;
      for (const k of PARAM_KEYS) grads[k].fill(0);
      for (let bi = start; bi < end; bi++) {
        const n = order[bi]!;
        let x = xs[n]!;
        const y = ys[n]!;
        if (SHIFT > 0) {
          const dx = Math.floor(rand() * (2 * SHIFT + 1)) - SHIFT;
          const dy = Math.floor(rand() * (2 * SHIFT + 1)) - SHIFT;
          if (dx !== 0 || dy !== 0) x = shiftImage(x, dx, dy, shifted);
        }
        forward(p, x, ws, null);
        const logits = ws.logits;
        lossSum += softmaxCrossEntropy(logits, y, bs, dlog);
        if (argmax(logits) === y) correct++;
        backward(p, ws, dlog, grads, dp2, dp1);
      }
      t++;
      const lr = cosineLr(t, totalSteps, LR, LR_FINAL);
      for (const k of PARAM_KEYS) adamStep(p[k], grads[k], m[k], v[k], lr, t);
    }
    const { acc: testAcc } = evaluate(p, testSet.x, testSet.y);
    log(
      `epoch ${epoch + 1}/${EPOCHS}: loss ${(lossSum / xs.length).toFixed(4)}, train acc ${((100 * correct) / xs.length).toFixed(2)}% ` +
        `(augmented), test acc ${(100 * testAcc).toFixed(2)}%, epoch ${((performance.now() - tEpoch) / 1000).toFixed(1)}s`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// ONNX export

function exportFloat(p: CnnParams): Uint8Array {
  return buildOnnxModel({
    opset: 13,
    graphName: 'mnist_cnn',
    producer: 'zkonnx scripts/train-cnn.ts',
    inputs: [{ name: 'input', shape: [1, 1, IMAGE_SIZE, IMAGE_SIZE] }],
    outputs: [{ name: 'logits', shape: [1, NUM_CLASSES] }],
    initializers: [
      { name: 'conv1.weight', dims: [C1, 1, KSIZE, KSIZE], data: p.w1 },
      { name: 'conv1.bias', dims: [C1], data: p.b1 },
      { name: 'conv2.weight', dims: [C2, C1, KSIZE, KSIZE], data: p.w2 },
      { name: 'conv2.bias', dims: [C2], data: p.b2 },
      { name: 'fc.weight', dims: [NUM_CLASSES, FLAT], data: p.w3 },
      { name: 'fc.bias', dims: [NUM_CLASSES], data: p.b3 },
    ],
    nodes: [
      { name: 'conv1', op: 'Conv', inputs: ['input', 'conv1.weight', 'conv1.bias'], outputs: ['conv1_out'], attrs: convAttrs() },
      { name: 'relu1', op: 'Relu', inputs: ['conv1_out'], outputs: ['relu1_out'] },
      { name: 'pool1', op: 'MaxPool', inputs: ['relu1_out'], outputs: ['pool1_out'], attrs: poolAttrs() },
      { name: 'conv2', op: 'Conv', inputs: ['pool1_out', 'conv2.weight', 'conv2.bias'], outputs: ['conv2_out'], attrs: convAttrs() },
      { name: 'relu2', op: 'Relu', inputs: ['conv2_out'], outputs: ['relu2_out'] },
      { name: 'pool2', op: 'MaxPool', inputs: ['relu2_out'], outputs: ['pool2_out'], attrs: poolAttrs() },
      { name: 'flatten', op: 'Flatten', inputs: ['pool2_out'], outputs: ['flatten_out'], attrs: { axis: 1 } },
      { name: 'fc', op: 'Gemm', inputs: ['flatten_out', 'fc.weight', 'fc.bias'], outputs: ['logits'], attrs: { transB: 1 } },
    ],
  });
}

function convAttrs(): NodeSpec['attrs'] {
  return { kernel_shape: [KSIZE, KSIZE], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 };
}

function poolAttrs(): NodeSpec['attrs'] {
  return { kernel_shape: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0] };
}

// ---------------------------------------------------------------------------------------------
// static quantization (what onnxruntime.quantization.quantize_static writes in QDQ format)

const roundHalfEven = rint;

interface UInt8Params {
  scale: number; // float32 value
  zeroPoint: number;
  min: number;
  max: number;
}

/** uint8 asymmetric params from a calibration range (widened to include 0), as ORT's compute_scale_zp */
function uint8Params(min: number, max: number): UInt8Params {
  const rmin = Math.min(min, 0);
  const rmax = Math.max(max, 0);
  if (rmax === rmin) return { scale: 1, zeroPoint: 0, min, max };
  const scale = Math.fround(Math.fround(rmax - rmin) / 255);
  const zeroPoint = Math.min(255, Math.max(0, roundHalfEven(-rmin / scale)));
  return { scale, zeroPoint, min, max };
}

interface PerChannelInt8 {
  q: Int8Array;
  scale: Float32Array; // [Cout]
  /** the dequantized weights, q * scale (float32), for the JS fake-quant forward */
  deq: Float32Array;
}

/** symmetric int8 per output channel (axis 0): scale[c] = max|w[c,...]| / 127 (1 if all zero) */
function quantizeWeightsPerChannel(w: Float32Array, cout: number): PerChannelInt8 {
  const per = w.length / cout;
  const q = new Int8Array(w.length);
  const scale = new Float32Array(cout);
  const deq = new Float32Array(w.length);
  for (let c = 0; c < cout; c++) {
    let absMax = 0;
    for (let i = 0; i < per; i++) absMax = Math.max(absMax, Math.abs(w[c * per + i]!));
    const s = absMax === 0 ? 1 : Math.fround(absMax / 127);
    scale[c] = s;
    for (let i = 0; i < per; i++) {
      const v = Math.min(127, Math.max(-127, roundHalfEven(Math.fround(w[c * per + i]! / s))));
      q[c * per + i] = v;
      deq[c * per + i] = v * s;
    }
  }
  return { q, scale, deq };
}

interface QuantBias {
  q: Int32Array;
  scale: Float32Array; // s_in * s_w[c]
  deq: Float32Array;
}

function quantizeBias(b: Float32Array, inScale: number, wScale: Float32Array): QuantBias {
  const q = new Int32Array(b.length);
  const scale = new Float32Array(b.length);
  const deq = new Float32Array(b.length);
  for (let c = 0; c < b.length; c++) {
    const s = Math.fround(inScale * wScale[c]!);
    scale[c] = s;
    const v = roundHalfEven(Math.fround(b[c]! / s));
    if (v < -2147483648 || v > 2147483647) throw new Error(`bias ${c} overflows int32`);
    q[c] = v;
    deq[c] = v * s;
  }
  return { q, scale, deq };
}

interface Calibration {
  input: UInt8Params;
  relu1: UInt8Params;
  relu2: UInt8Params;
  logits: UInt8Params;
}

/** min/max of every quantized activation of the float model over the calibration digits */
function calibrate(p: CnnParams, xs: Float32Array[]): Calibration {
  const ws = createWorkspace();
  const r = { input: [Infinity, -Infinity], relu1: [Infinity, -Infinity], relu2: [Infinity, -Infinity], logits: [Infinity, -Infinity] };
  const upd = (k: keyof typeof r, a: ArrayLike<number>): void => {
    const mm = r[k];
    for (let i = 0; i < a.length; i++) {
      const v = a[i]!;
      if (v < mm[0]!) mm[0] = v;
      if (v > mm[1]!) mm[1] = v;
    }
  };
  for (const x of xs) {
    forward(p, x, ws, null);
    upd('input', x);
    upd('relu1', ws.a1);
    upd('relu2', ws.a2);
    upd('logits', ws.logits);
  }
  return {
    input: uint8Params(r.input[0]!, r.input[1]!),
    relu1: uint8Params(r.relu1[0]!, r.relu1[1]!),
    relu2: uint8Params(r.relu2[0]!, r.relu2[1]!),
    logits: uint8Params(r.logits[0]!, r.logits[1]!),
  };
}

interface QdqResult {
  bytes: Uint8Array;
  /** dequantized weights/biases: the float network ORT effectively runs */
  deqParams: CnnParams;
  actQuant: ActQuant;
  nodes: NodeSpec[];
  summary: Record<string, unknown>;
}

function exportQdq(p: CnnParams, cal: Calibration): QdqResult {
  const inits: InitializerSpec[] = [];
  const nodes: NodeSpec[] = [];

  const scalarQParams = (base: string, qp: UInt8Params): void => {
    inits.push({ name: `${base}_scale`, dims: [], data: [qp.scale] });
    inits.push({ name: `${base}_zero_point`, dims: [], data: [qp.zeroPoint], dataType: 'uint8' });
  };
  /** QuantizeLinear -> DequantizeLinear on activation `t`, using the params registered under `paramBase` */
  const qdq = (t: string, out: string, paramBase: string): void => {
    nodes.push({ name: `${t}_QuantizeLinear`, op: 'QuantizeLinear', inputs: [t, `${paramBase}_scale`, `${paramBase}_zero_point`], outputs: [`${t}_quantized`] });
    nodes.push({ name: `${t}_DequantizeLinear`, op: 'DequantizeLinear', inputs: [`${t}_quantized`, `${paramBase}_scale`, `${paramBase}_zero_point`], outputs: [out] });
  };
  const weightDq = (name: string, w: Float32Array, b: Float32Array, cout: number, dims: number[], inScale: number): { w: PerChannelInt8; b: QuantBias } => {
    const wq = quantizeWeightsPerChannel(w, cout);
    const bq = quantizeBias(b, inScale, wq.scale);
    inits.push({ name: `${name}.weight_quantized`, dims, data: wq.q, dataType: 'int8' });
    inits.push({ name: `${name}.weight_scale`, dims: [cout], data: wq.scale });
    inits.push({ name: `${name}.weight_zero_point`, dims: [cout], data: new Int8Array(cout), dataType: 'int8' });
    inits.push({ name: `${name}.bias_quantized`, dims: [cout], data: bq.q, dataType: 'int32' });
    inits.push({ name: `${name}.bias_scale`, dims: [cout], data: bq.scale });
    inits.push({ name: `${name}.bias_zero_point`, dims: [cout], data: new Int32Array(cout), dataType: 'int32' });
    nodes.push({
      name: `${name}.weight_DequantizeLinear`,
      op: 'DequantizeLinear',
      inputs: [`${name}.weight_quantized`, `${name}.weight_scale`, `${name}.weight_zero_point`],
      outputs: [`${name}.weight_dequantized`],
      attrs: { axis: 0 },
    });
    nodes.push({
      name: `${name}.bias_DequantizeLinear`,
      op: 'DequantizeLinear',
      inputs: [`${name}.bias_quantized`, `${name}.bias_scale`, `${name}.bias_zero_point`],
      outputs: [`${name}.bias_dequantized`],
      attrs: { axis: 0 },
    });
    return { w: wq, b: bq };
  };

  scalarQParams('input', cal.input);
  scalarQParams('relu1_out', cal.relu1);
  scalarQParams('relu2_out', cal.relu2);
  scalarQParams('logits', cal.logits);

  // input
  qdq('input', 'input_dequantized', 'input');
  // conv1 + relu1 (ORT fuses Conv+Relu: only the Relu output is quantized)
  const q1 = weightDq('conv1', p.w1, p.b1, C1, [C1, 1, KSIZE, KSIZE], cal.input.scale);
  nodes.push({ name: 'conv1', op: 'Conv', inputs: ['input_dequantized', 'conv1.weight_dequantized', 'conv1.bias_dequantized'], outputs: ['conv1_out'], attrs: convAttrs() });
  nodes.push({ name: 'relu1', op: 'Relu', inputs: ['conv1_out'], outputs: ['relu1_out'] });
  qdq('relu1_out', 'relu1_out_dequantized', 'relu1_out');
  // pool1: MaxPool output shares its input's scale / zero point
  nodes.push({ name: 'pool1', op: 'MaxPool', inputs: ['relu1_out_dequantized'], outputs: ['pool1_out'], attrs: poolAttrs() });
  qdq('pool1_out', 'pool1_out_dequantized', 'relu1_out');
  // conv2 + relu2
  const q2 = weightDq('conv2', p.w2, p.b2, C2, [C2, C1, KSIZE, KSIZE], cal.relu1.scale);
  nodes.push({ name: 'conv2', op: 'Conv', inputs: ['pool1_out_dequantized', 'conv2.weight_dequantized', 'conv2.bias_dequantized'], outputs: ['conv2_out'], attrs: convAttrs() });
  nodes.push({ name: 'relu2', op: 'Relu', inputs: ['conv2_out'], outputs: ['relu2_out'] });
  qdq('relu2_out', 'relu2_out_dequantized', 'relu2_out');
  nodes.push({ name: 'pool2', op: 'MaxPool', inputs: ['relu2_out_dequantized'], outputs: ['pool2_out'], attrs: poolAttrs() });
  qdq('pool2_out', 'pool2_out_dequantized', 'relu2_out');
  // flatten: same params as its input
  nodes.push({ name: 'flatten', op: 'Flatten', inputs: ['pool2_out_dequantized'], outputs: ['flatten_out'], attrs: { axis: 1 } });
  qdq('flatten_out', 'flatten_out_dequantized', 'relu2_out');
  // fc (Gemm transB=1: weight [10,256] is per-channel on axis 0) and Q/DQ on the logits
  const q3 = weightDq('fc', p.w3, p.b3, NUM_CLASSES, [NUM_CLASSES, FLAT], cal.relu2.scale);
  nodes.push({ name: 'fc', op: 'Gemm', inputs: ['flatten_out_dequantized', 'fc.weight_dequantized', 'fc.bias_dequantized'], outputs: ['fc_out'], attrs: { transB: 1 } });
  nodes.push({ name: 'logits_QuantizeLinear', op: 'QuantizeLinear', inputs: ['fc_out', 'logits_scale', 'logits_zero_point'], outputs: ['logits_quantized'] });
  nodes.push({ name: 'logits_DequantizeLinear', op: 'DequantizeLinear', inputs: ['logits_quantized', 'logits_scale', 'logits_zero_point'], outputs: ['logits'] });

  const bytes = buildOnnxModel({
    opset: 13,
    graphName: 'mnist_cnn_qdq',
    producer: 'zkonnx scripts/train-cnn.ts (static QDQ quantization)',
    inputs: [{ name: 'input', shape: [1, 1, IMAGE_SIZE, IMAGE_SIZE] }],
    outputs: [{ name: 'logits', shape: [1, NUM_CLASSES] }],
    initializers: inits,
    nodes,
  });
  const deqParams: CnnParams = { w1: q1.w.deq, b1: q1.b.deq, w2: q2.w.deq, b2: q2.b.deq, w3: q3.w.deq, b3: q3.b.deq };
  const actQuant: ActQuant = {
    input: [cal.input.scale, cal.input.zeroPoint],
    a1: [cal.relu1.scale, cal.relu1.zeroPoint],
    a2: [cal.relu2.scale, cal.relu2.zeroPoint],
    logits: [cal.logits.scale, cal.logits.zeroPoint],
  };
  const pq = (u: UInt8Params) => ({ scale: u.scale, zeroPoint: u.zeroPoint, calibrationMin: u.min, calibrationMax: u.max });
  const summary = {
    activations: { input: pq(cal.input), relu1_out: pq(cal.relu1), relu2_out: pq(cal.relu2), logits: pq(cal.logits) },
    sharedParams: { pool1_out: 'relu1_out', pool2_out: 'relu2_out', flatten_out: 'relu2_out' },
    weightScales: { conv1: Array.from(q1.w.scale), conv2: Array.from(q2.w.scale), fc: Array.from(q3.w.scale) },
  };
  return { bytes, deqParams, actQuant, nodes, summary };
}

// ---------------------------------------------------------------------------------------------

async function runOrt(bytes: Uint8Array, xs: Float32Array[]): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(Buffer.from(bytes));
  const out: Float32Array[] = [];
  for (const x of xs) {
    const r = await session.run({ input: new ort.Tensor('float32', x, [1, 1, IMAGE_SIZE, IMAGE_SIZE]) });
    out.push(Float32Array.from(r.logits!.data as Float32Array));
  }
  await session.release();
  return out;
}

function compare(ref: Float32Array[], got: Float32Array[], ys: number[]): { acc: number; disagreements: number; maxAbsDiff: number } {
  let correct = 0;
  let disagreements = 0;
  let maxAbsDiff = 0;
  for (let n = 0; n < ref.length; n++) {
    const pred = argmax(got[n]!);
    if (pred === ys[n]) correct++;
    if (pred !== argmax(ref[n]!)) disagreements++;
    for (let c = 0; c < NUM_CLASSES; c++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(got[n]![c]! - ref[n]![c]!));
  }
  return { acc: correct / ref.length, disagreements, maxAbsDiff };
}

const pct = (a: number): string => `${(100 * a).toFixed(2)}%`;

async function main(): Promise<void> {
  const t0 = performance.now();
  const log = (s: string): void => console.log(`[${((performance.now() - t0) / 1000).toFixed(1)}s] ${s}`);

  const { train: trainSet, test: testSet } = loadMnistSplit();
  log(`loaded mnist split: train ${trainSet.x.length}, test ${testSet.x.length}; CNN with ${cnnNumParams()} parameters`);

  const rand = mulberry32(SEED);
  const params = initParams(rand);
  const tTrain = performance.now();
  train(params, trainSet, testSet, rand, log);
  const trainSeconds = (performance.now() - tTrain) / 1000;

  const { acc: testAcc, preds, logits: tsLogits } = evaluate(params, testSet.x, testSet.y);
  const { acc: trainAcc } = evaluate(params, trainSet.x, trainSet.y);
  log(`training took ${trainSeconds.toFixed(1)}s; float train acc ${pct(trainAcc)}, test acc ${pct(testAcc)}`);

  // Float model: export and cross-check with onnxruntime.
  const floatBytes = exportFloat(params);
  const ortFloat = compare(tsLogits, await runOrt(floatBytes, testSet.x), testSet.y);
  log(
    `onnxruntime float: test acc ${pct(ortFloat.acc)}, argmax disagreements with TS forward: ${ortFloat.disagreements}, ` +
      `max |logit diff| ${ortFloat.maxAbsDiff.toExponential(2)}`,
  );
  if (ortFloat.acc !== testAcc || ortFloat.disagreements !== 0) throw new Error('onnxruntime and TS forward pass disagree');
  if (ortFloat.maxAbsDiff > 1e-3) throw new Error(`float logits differ by ${ortFloat.maxAbsDiff}`);
  if (testAcc < MIN_TEST_ACC) throw new Error(`test accuracy ${testAcc} below ${MIN_TEST_ACC}`);

  // QDQ model: calibrate on the calibration digits, quantize, check with onnxruntime and a
  // TS fake-quant forward (dequantized weights, Q/DQ rounding on every quantized activation).
  const calibrationXs = trainSet.x.slice(0, CALIBRATION_COUNT);
  const cal = calibrate(params, calibrationXs);
  const qdq = exportQdq(params, cal);
  const fake = evaluate(qdq.deqParams, testSet.x, testSet.y, qdq.actQuant);
  const ortQdqLogits = await runOrt(qdq.bytes, testSet.x);
  const ortQdq = compare(fake.logits, ortQdqLogits, testSet.y);
  const qdqVsFloat = compare(tsLogits, ortQdqLogits, testSet.y);
  log(
    `onnxruntime QDQ: test acc ${pct(ortQdq.acc)} (TS fake-quant ${pct(fake.acc)}; argmax disagreements with fake-quant ${ortQdq.disagreements}, ` +
      `max |logit diff| ${ortQdq.maxAbsDiff.toExponential(2)}; vs float: ${qdqVsFloat.disagreements} disagreements, max |logit diff| ${qdqVsFloat.maxAbsDiff.toFixed(3)})`,
  );
  log(`QDQ activation params: ${JSON.stringify(qdq.summary.activations)}`);

  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'model.onnx'), floatBytes);
  writeFileSync(join(outDir, 'model-qdq.onnx'), qdq.bytes);

  // Example digits: for each chosen label, the first held-out test digit the float model gets right
  // with a clear margin (top-1 minus top-2 logit >= 2) that the QDQ model (ORT) also gets right.
  const { labels, testIndices } = writeExampleDigits(outDir, testSet, EXAMPLE_LABELS, preds, tsLogits, DECIMALS, (n) => argmax(ortQdqLogits[n]!) === testSet.y[n]);

  // Calibration: the first 100 training digits. The train set is interleaved round-robin by
  // class, so this is exactly 10 digits of every class.
  const calibration = calibrationXs.map((x) => ({ input: roundInput(x, DECIMALS) }));
  writeFileSync(join(outDir, 'calibration.json'), '[\n' + calibration.map((c) => JSON.stringify(c)).join(',\n') + '\n]\n');

  const meta = {
    trainedBy: 'scripts/train-cnn.ts',
    seed: SEED,
    epochs: EPOCHS,
    trainSize: trainSet.x.length,
    testSize: testSet.x.length,
    floatTestAccuracy: Number(testAcc.toFixed(4)),
    qdqOrtTestAccuracy: Number(ortQdq.acc.toFixed(4)),
    labels,
    architecture:
      `Conv ${C1}x1x${KSIZE}x${KSIZE} (+bias), Relu, MaxPool 2x2/2, Conv ${C2}x${C1}x${KSIZE}x${KSIZE} (+bias), Relu, MaxPool 2x2/2, ` +
      `Flatten (${FLAT}), Gemm(transB=1) ${FLAT}->${NUM_CLASSES}`,
    input: { name: 'input', shape: [1, 1, IMAGE_SIZE, IMAGE_SIZE], range: [0, 1] },
    output: { name: 'logits', shape: [1, NUM_CLASSES] },
    opset: 13,
    parameters: cnnNumParams(),
    models: {
      'model.onnx': 'float32',
      'model-qdq.onnx':
        'static QDQ (as onnxruntime quantize_static QDQ, per_channel=True, activation_type=QUInt8, weight_type=QInt8, MinMax calibration on calibration.json)',
    },
    optimizer: { name: 'adam', batchSize: BATCH, lr: LR, lrFinal: LR_FINAL, schedule: 'cosine' },
    augmentation: `random shift by up to ${SHIFT} px in x and y`,
    split:
      'scripts/lib/mnist-data.ts loadMnistSplit(): per class, last 200 samples = test, rest = train; both interleaved round-robin by class',
    trainingSeconds: Number(trainSeconds.toFixed(1)),
    floatTrainAccuracy: Number(trainAcc.toFixed(4)),
    ortFloatTestAccuracy: Number(ortFloat.acc.toFixed(4)),
    ortFloatMaxAbsLogitDiff: Number(ortFloat.maxAbsDiff.toExponential(2)),
    qdqFakeQuantTestAccuracy: Number(fake.acc.toFixed(4)),
    quantization: qdq.summary,
    testIndices,
    calibration: { count: CALIBRATION_COUNT, trainIndices: `0..${CALIBRATION_COUNT - 1}`, perClass: CALIBRATION_COUNT / NUM_CLASSES },
    inputDecimals: DECIMALS,
  };
  writeFileSync(join(outDir, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
  log(`QDQ node layout:\n${qdq.nodes.map((n, i) => `  ${i + 1}. ${n.name} ${n.op}(${n.inputs.join(', ')}) -> ${n.outputs.join(', ')}${n.attrs && 'axis' in n.attrs ? ` axis=${String(n.attrs.axis)}` : ''}`).join('\n')}`);
  log(`wrote ${outDir} (model.onnx ${floatBytes.length} bytes, model-qdq.onnx ${qdq.bytes.length} bytes)`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
