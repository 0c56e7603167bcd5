/** Pieces shared by the example training scripts (train-mnist.ts, train-cnn.ts). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGE_SIZE, type MnistSet } from './mnist-data.ts';

export const BETA1 = 0.9;
export const BETA2 = 0.999;
export const EPS = 1e-8;

/** He-uniform initialisation: n weights in +-sqrt(6 / fanIn), drawn from `rand`. */
export function heUniform(rand: () => number, fanIn: number, n: number): Float32Array {
  const lim = Math.sqrt(6 / fanIn);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * lim;
  return a;
}

/** One Adam step (bias-corrected), in place; m and v keep the precision of the arrays given. */
export function adamStep(param: Float32Array, grad: Float32Array | Float64Array, m: Float32Array | Float64Array, v: Float32Array | Float64Array, lr: number, t: number): void {
  const bc1 = 1 - Math.pow(BETA1, t);
  const bc2 = 1 - Math.pow(BETA2, t);
  const stepSize = lr / bc1;
  for (let i = 0; i < param.length; i++) {
    const g = grad[i]!;
    const mi = BETA1 * m[i]! + (1 - BETA1) * g;
    const vi = BETA2 * v[i]! + (1 - BETA2) * g * g;
    m[i] = mi;
    v[i] = vi;
    param[i] = param[i]! - (stepSize * mi) / (Math.sqrt(vi / bc2) + EPS);
  }
}

/** Translate a 28x28 image by (dx, dy) pixels, filling with zeros. */
export function shiftImage(x: Float32Array, dx: number, dy: number, out: Float32Array): Float32Array {
  out.fill(0);
  const S = IMAGE_SIZE;
  for (let r = 0; r < S; r++) {
    const sr = r - dy;
    if (sr < 0 || sr >= S) continue;
    for (let c = 0; c < S; c++) {
      const sc = c - dx;
      if (sc < 0 || sc >= S) continue;
      out[r * S + c] = x[sr * S + sc]!;
    }
  }
  return out;
}

export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

/** Seeded Fisher-Yates shuffle, in place. */
export function shuffleInPlace(order: number[], rand: () => number): void {
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const tmp = order[i]!;
    order[i] = order[j]!;
    order[j] = tmp;
  }
}

/** Cosine decay from lr to lrFinal over totalSteps; t counts from 1. */
export function cosineLr(t: number, totalSteps: number, lr: number, lrFinal: number): number {
  return lrFinal + 0.5 * (lr - lrFinal) * (1 + Math.cos((Math.PI * (t - 1)) / totalSteps));
}

/** Pixel values as written to the example files: rounded to `decimals` places. */
export function roundInput(x: Float32Array, decimals: number): number[] {
  const f = 10 ** decimals;
  return Array.from(x, (v) => Math.round(v * f) / f);
}

/**
 * Example digits: for each label, the first held-out test digit the model gets right with a clear margin
 * (top-1 minus top-2 logit >= 2) and that `accept` takes; written as `digit-<label>.json`.
 */
export function writeExampleDigits(
  outDir: string, test: MnistSet, labelsWanted: number[], preds: number[], logits: Float32Array[], decimals: number, accept: (n: number) => boolean = () => true,
): { labels: Record<string, number>; testIndices: Record<string, number> } {
  const labels: Record<string, number> = {};
  const testIndices: Record<string, number> = {};
  for (const label of labelsWanted) {
    let chosen = -1;
    for (let n = 0; n < test.x.length && chosen < 0; n++) {
      if (test.y[n] !== label || preds[n] !== label || !accept(n)) continue;
      const sorted = Array.from(logits[n]!).sort((a, b) => b - a);
      if (sorted[0]! - sorted[1]! >= 2) chosen = n;
    }
    if (chosen < 0) throw new Error(`no confident test digit for label ${label}`);
    const file = `digit-${label}.json`;
    writeFileSync(join(outDir, file), JSON.stringify({ input: roundInput(test.x[chosen]!, decimals) }) + '\n');
    labels[file] = label;
    testIndices[file] = chosen;
  }
  return { labels, testIndices };
}

/**
 * Softmax cross-entropy of `logits` against label y: returns the loss and writes its gradient, divided by the
 * batch size, into dlog (which keeps its own precision).
 */
export function softmaxCrossEntropy(logits: ArrayLike<number>, y: number, batchSize: number, dlog: Float32Array | Float64Array): number {
  const n = dlog.length;
  let mx = -Infinity;
  for (let c = 0; c < n; c++) if (logits[c]! > mx) mx = logits[c]!;
  let z = 0;
  for (let c = 0; c < n; c++) {
    const e = Math.exp(logits[c]! - mx);
    dlog[c] = e;
    z += e;
  }
  for (let c = 0; c < n; c++) dlog[c] = (dlog[c]! / z - (c === y ? 1 : 0)) / batchSize;
  return Math.log(z) - (logits[y]! - mx);
}
