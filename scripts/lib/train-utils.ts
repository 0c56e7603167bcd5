/** Pieces shared by the example training scripts (train-mnist.ts, train-cnn.ts). */
import { IMAGE_SIZE } from './mnist-data.ts';

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
