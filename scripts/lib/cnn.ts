/**
 * The small LeNet-style CNN trained by scripts/train-cnn.ts, as plain TypeScript on flat typed
 * arrays (batch 1, NCHW):
 *
 *   input [1,28,28] -> Conv 6x1x5x5 (+bias) -> Relu -> MaxPool 2x2/2 -> Conv 16x6x5x5 (+bias) -> Relu
 *   -> MaxPool 2x2/2 -> Flatten (16*4*4 = 256) -> Gemm(transB=1) 256->10 -> logits
 *
 * Convolutions run as im2col (precomputed gather tables, position-major columns
 * `cols[pos * K + k]` with k = ci*25 + ky*5 + kx, the ONNX weight layout [Cout][Cin][5][5]) followed
 * by per-position dot products. All buffers live in a reusable `Workspace`, so the forward pass
 * allocates nothing. Sums are accumulated in doubles and stored as float32.
 */
import { IMAGE_SIZE, NUM_CLASSES } from './mnist-data.ts';
import { heUniform } from './train-utils.ts';

export const KSIZE = 5;
export const C1 = 6;
export const C2 = 16;
export const CONV1_SIZE = IMAGE_SIZE - KSIZE + 1; // 24
export const P1_SIZE = CONV1_SIZE / 2; // 12
export const CONV2_SIZE = P1_SIZE - KSIZE + 1; // 8
export const P2_SIZE = CONV2_SIZE / 2; // 4
export const CONV1_K = 1 * KSIZE * KSIZE; // 25
export const CONV2_K = C1 * KSIZE * KSIZE; // 150
export const FLAT = C2 * P2_SIZE * P2_SIZE; // 256

export interface CnnParams {
  w1: Float32Array; // [C1][1][5][5]
  b1: Float32Array; // [C1]
  w2: Float32Array; // [C2][C1][5][5]
  b2: Float32Array; // [C2]
  w3: Float32Array; // [10][256] (Gemm transB=1 layout)
  b3: Float32Array; // [10]
}

/** [scale, zeroPoint] of a uint8 QuantizeLinear/DequantizeLinear pair */
export type QParam = [number, number];

/**
 * Fake quantization applied by `forward` when given: the input, the Relu outputs (MaxPool and
 * Flatten reuse their input's params, and max of on-grid values stays on the grid, so they need no
 * extra rounding) and the logits.
 */
export interface ActQuant {
  input: QParam;
  a1: QParam;
  a2: QParam;
  logits: QParam;
}

export function cnnNumParams(): number {
  return C1 * CONV1_K + C1 + C2 * CONV2_K + C2 + NUM_CLASSES * FLAT + NUM_CLASSES;
}

/** He-uniform weights (limit sqrt(6 / fanIn)), zero biases */
export function initParams(rand: () => number): CnnParams {
  const he = (fanIn: number, n: number) => heUniform(rand, fanIn, n);
  return {
    w1: he(CONV1_K, C1 * CONV1_K),
    b1: new Float32Array(C1),
    w2: he(CONV2_K, C2 * CONV2_K),
    b2: new Float32Array(C2),
    w3: he(FLAT, NUM_CLASSES * FLAT),
    b3: new Float32Array(NUM_CLASSES),
  };
}

export interface Workspace {
  readonly conv1Positions: number; // 576
  readonly conv2Positions: number; // 64
  /** im2col gather tables: cols[i] = src[colIdx[i]] */
  readonly col1Idx: Int32Array; // [576 * 25] into the 28x28 input
  readonly col2Idx: Int32Array; // [64 * 150] into p1 [6][12][12]
  /** MaxPool windows: 4 source indices per pooled output */
  readonly pool1Idx: Int32Array; // [864 * 4] into a1
  readonly pool2Idx: Int32Array; // [256 * 4] into a2
  readonly xq: Float32Array; // fake-quantized input
  readonly cols1: Float32Array;
  readonly nz1: Uint8Array; // per conv1 position: does the patch have a non-zero pixel
  readonly a1: Float32Array; // relu(conv1) [6][24][24]
  readonly p1: Float32Array; // [6][12][12]
  readonly arg1: Int32Array; // argmax index into a1 per p1 element
  readonly cols2: Float32Array;
  readonly a2: Float32Array; // relu(conv2) [16][8][8]
  readonly p2: Float32Array; // [16][4][4] = flatten output
  readonly arg2: Int32Array;
  readonly logits: Float32Array; // [10]
}

function im2colTable(channels: number, inSize: number, outSize: number): Int32Array {
  const K = channels * KSIZE * KSIZE;
  const t = new Int32Array(outSize * outSize * K);
  for (let oy = 0; oy < outSize; oy++) {
    for (let ox = 0; ox < outSize; ox++) {
      const base = (oy * outSize + ox) * K;
      for (let ci = 0; ci < channels; ci++) {
        for (let ky = 0; ky < KSIZE; ky++) {
          for (let kx = 0; kx < KSIZE; kx++) {
            t[base + ci * KSIZE * KSIZE + ky * KSIZE + kx] = ci * inSize * inSize + (oy + ky) * inSize + (ox + kx);
          }
        }
      }
    }
  }
  return t;
}

function poolTable(channels: number, inSize: number): Int32Array {
  const out = inSize / 2;
  const t = new Int32Array(channels * out * out * 4);
  let j = 0;
  for (let c = 0; c < channels; c++) {
    for (let py = 0; py < out; py++) {
      for (let px = 0; px < out; px++) {
        for (let dy = 0; dy < 2; dy++) {
          for (let dx = 0; dx < 2; dx++) t[j++] = c * inSize * inSize + (2 * py + dy) * inSize + (2 * px + dx);
        }
      }
    }
  }
  return t;
}

export function createWorkspace(): Workspace {
  const n1 = CONV1_SIZE * CONV1_SIZE;
  const n2 = CONV2_SIZE * CONV2_SIZE;
  return {
    conv1Positions: n1,
    conv2Positions: n2,
    col1Idx: im2colTable(1, IMAGE_SIZE, CONV1_SIZE),
    col2Idx: im2colTable(C1, P1_SIZE, CONV2_SIZE),
    pool1Idx: poolTable(C1, CONV1_SIZE),
    pool2Idx: poolTable(C2, CONV2_SIZE),
    xq: new Float32Array(IMAGE_SIZE * IMAGE_SIZE),
    cols1: new Float32Array(n1 * CONV1_K),
    nz1: new Uint8Array(n1),
    a1: new Float32Array(C1 * n1),
    p1: new Float32Array(C1 * P1_SIZE * P1_SIZE),
    arg1: new Int32Array(C1 * P1_SIZE * P1_SIZE),
    cols2: new Float32Array(n2 * CONV2_K),
    a2: new Float32Array(C2 * n2),
    p2: new Float32Array(FLAT),
    arg2: new Int32Array(FLAT),
    logits: new Float32Array(NUM_CLASSES),
  };
}

/** round half to even (C nearbyint, numpy round) */
export function rint(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/** QuantizeLinear (uint8) then DequantizeLinear, in float32 like onnxruntime */
export function fakeQuant(v: number, scale: number, zp: number): number {
  let q = rint(Math.fround(v / scale)) + zp;
  if (q < 0) q = 0;
  else if (q > 255) q = 255;
  return Math.fround((q - zp) * scale);
}

function fakeQuantArray(a: Float32Array, qp: QParam): void {
  const [s, zp] = qp;
  for (let i = 0; i < a.length; i++) a[i] = fakeQuant(a[i]!, s, zp);
}

function maxPool(src: Float32Array, table: Int32Array, dst: Float32Array, arg: Int32Array): void {
  for (let j = 0, t = 0; j < dst.length; j++, t += 4) {
    let bi = table[t]!;
    let bv = src[bi]!;
    for (let u = 1; u < 4; u++) {
      const i = table[t + u]!;
      const v = src[i]!;
      if (v > bv) {
        bv = v;
        bi = i;
      }
    }
    dst[j] = bv;
    arg[j] = bi;
  }
}

/**
 * conv (im2col columns, position-major) + bias + ReLU into `out` [Cout][positions].
 * Positions whose patch is all zeros (`nz[pos] === 0`, if given) just get relu(bias).
 */
function convRelu(
  w: Float32Array,
  b: Float32Array,
  cols: Float32Array,
  cout: number,
  K: number,
  positions: number,
  out: Float32Array,
  nz: Uint8Array | null,
): void {
  for (let pos = 0; pos < positions; pos++) {
    const cb = pos * K;
    if (nz !== null && nz[pos] === 0) {
      for (let o = 0; o < cout; o++) {
        const v = b[o]!;
        out[o * positions + pos] = v > 0 ? v : 0;
      }
      continue;
    }
    for (let o = 0; o < cout; o++) {
      const wo = o * K;
      let s = b[o]!;
      for (let k = 0; k < K; k++) s += w[wo + k]! * cols[cb + k]!;
      out[o * positions + pos] = s > 0 ? s : 0;
    }
  }
}

/** Forward pass of one 28x28 image; results (and everything backward needs) land in `ws`. */
export function forward(p: CnnParams, x: Float32Array, ws: Workspace, q: ActQuant | null): void {
  let input = x;
  if (q !== null) {
    ws.xq.set(x);
    fakeQuantArray(ws.xq, q.input);
    input = ws.xq;
  }
  // conv1 im2col (+ all-zero patch flags: MNIST is ~80% background)
  const n1 = ws.conv1Positions;
  const cols1 = ws.cols1;
  const col1Idx = ws.col1Idx;
  for (let pos = 0; pos < n1; pos++) {
    const cb = pos * CONV1_K;
    let any = 0;
    for (let k = 0; k < CONV1_K; k++) {
      const v = input[col1Idx[cb + k]!]!;
      cols1[cb + k] = v;
      if (v !== 0) any = 1;
    }
    ws.nz1[pos] = any;
  }
  convRelu(p.w1, p.b1, cols1, C1, CONV1_K, n1, ws.a1, ws.nz1);
  if (q !== null) fakeQuantArray(ws.a1, q.a1);
  maxPool(ws.a1, ws.pool1Idx, ws.p1, ws.arg1);

  // conv2
  const cols2 = ws.cols2;
  const col2Idx = ws.col2Idx;
  const p1 = ws.p1;
  for (let i = 0; i < cols2.length; i++) cols2[i] = p1[col2Idx[i]!]!;
  convRelu(p.w2, p.b2, cols2, C2, CONV2_K, ws.conv2Positions, ws.a2, null);
  if (q !== null) fakeQuantArray(ws.a2, q.a2);
  maxPool(ws.a2, ws.pool2Idx, ws.p2, ws.arg2);

  // fc (Gemm transB=1)
  const p2 = ws.p2;
  for (let c = 0; c < NUM_CLASSES; c++) {
    const row = c * FLAT;
    let s = p.b3[c]!;
    for (let j = 0; j < FLAT; j++) s += p.w3[row + j]! * p2[j]!;
    ws.logits[c] = s;
  }
  if (q !== null) fakeQuantArray(ws.logits, q.logits);
}
