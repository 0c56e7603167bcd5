/**
 * LSTM / GRU / RNN attributes beyond the defaults (src/ops/recurrent.ts), each against onnxruntime:
 * 1. `activations` with activation_alpha / activation_beta: every function the ONNX spec lists (all of which
 *    onnxruntime accepts), forward and bidirectional (the list then covers both directions), for each cell;
 *    alpha / beta consumed in order by the functions that take them, onnxruntime's defaults after;
 * 2. LSTM input_forget, clip (all three ops), LSTM peepholes, constant sequence_lens (full and shorter, each
 *    direction, each output);
 * each as the float IR == onnxruntime (1e-5 of the output magnitude) and the integer reference within 2% of
 * onnxruntime's output range on fresh inputs;
 * 3. refusals: an UnsupportedModelError naming the node and the attribute.
 */
import { describe, expect, it } from 'vitest';
import { UnsupportedModelError } from '../src/errors.ts';
import { buildOnnxModel } from '../src/onnx/builder.ts';
import { importGraph } from '../src/ir/import.ts';
import { sizeOf } from '../src/ir/types.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { calibrate, quantizeInput, quantizeModel } from '../src/quantize/quantize.ts';
import { runFloat, runFloatAll } from '../src/reference/float.ts';
import { runInteger } from '../src/reference/integer.ts';
import { dequantizeOutput } from '../src/verify/dequantize.ts';
import { catchErr } from './helpers/errors.ts';
import { randomInputs } from './helpers/fixtures.ts';
import { runOrt } from './helpers/ort.ts';
import { cellModel, type Cell, type CellOptions } from './helpers/recurrent-models.ts';

const SEQ = 4;
const IN = 2;

/** The spec's activation functions (onnxruntime accepts them all) with alpha / beta values that keep them lively. */
const ACTS: [string, number | undefined, number | undefined][] = [
  ['Relu', undefined, undefined],
  ['Tanh', undefined, undefined],
  ['Sigmoid', undefined, undefined],
  ['Affine', 0.8, 0.1],
  ['LeakyRelu', 0.2, undefined],
  ['ThresholdedRelu', 0.02, undefined],
  ['ScaledTanh', 1.5, 0.7],
  ['HardSigmoid', 0.3, 0.4],
  ['Elu', 0.6, undefined],
  ['Softsign', undefined, undefined],
  ['Softplus', undefined, undefined],
];
const NAMES = ACTS.map((a) => a[0]);
const PARAMS = new Map(ACTS.map(([n, a, b]) => [n, { a, b }]));
const N_ACTS: Record<Cell, number> = { LSTM: 3, GRU: 2, RNN: 1 };

/**
 * Float IR vs onnxruntime, and the integer reference vs onnxruntime on fresh inputs whose intermediate values
 * stay inside the calibrated ranges (as test/recurrent.test.ts's proof input: outside them a value is clamped
 * to its grid, a calibration matter, not the quantization error measured here); returns the worst quantized
 * error in % of onnxruntime's output range over the calibration set. ThresholdedRelu jumps by alpha at its
 * threshold: a pre-activation within half a grid step of alpha can land on the other side, so its bound is
 * 2% plus alpha (lutJump in src/ops/lut.ts).
 */
async function check(o: CellOptions, seed = 5): Promise<number> {
  const jump = o.activations?.some((a) => a.toLowerCase() === 'thresholdedrelu') ? (PARAMS.get('ThresholdedRelu')!.a ?? 0) : 0;
  const m = cellModel('m', SEQ, IN, o, seed);
  const model = importGraph(loadOnnx(m.bytes));
  const ort = async (x: Float64Array) => Array.from(await runOrt(m.bytes, m.inputName, m.inputShape, x));
  const cal = randomInputs(sizeOf(model.input.shape), 256, 21);
  for (const x of [...cal.slice(0, 6), ...randomInputs(SEQ * IN, 4, 3)]) {
    const ref = await ort(x);
    const f = Array.from(runFloat(model, x));
    expect(f.length).toBe(ref.length);
    const mag = Math.max(...ref.map(Math.abs));
    f.forEach((v, i) => expect(Math.abs(v - ref[i]), `element ${i}`).toBeLessThanOrEqual(1e-5 * mag + 1e-6));
  }
  // onnxruntime's output range over the calibration set: max - min over every output element.
  let [lo, hi] = [Infinity, -Infinity];
  for (const x of cal) for (const v of await ort(x)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const R = hi - lo;
  const q = quantizeModel(model, cal);
  const ranges = calibrate(model, cal);
  const inRange = (x: Float64Array) => [...runFloatAll(model, x)].every(([name, v]) => v.every((e) => e >= ranges.get(name)!.min && e <= ranges.get(name)!.max));
  const fresh = randomInputs(SEQ * IN, 24, 22).filter(inRange);
  expect(fresh.length).toBeGreaterThanOrEqual(4);
  let worst = 0;
  for (const x of fresh) {
    const ref = await ort(x);
    const out = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)));
    out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - ref[i]))));
  }
  expect(worst, `${JSON.stringify(o.activations ?? [])}: worst ${((100 * worst) / R).toFixed(2)}% of ${R}`).toBeLessThanOrEqual(0.02 * R + jump);
  return (100 * worst) / R;
}

/** The alpha / beta lists for a list of functions, consumed in order by those that take them (LSTM, GRU). */
function inOrder(names: string[]): { alphas: number[]; betas: number[] } {
  const alphas: number[] = [];
  const betas: number[] = [];
  for (const n of names) {
    const p = PARAMS.get(n)!;
    if (p.a !== undefined) alphas.push(p.a);
    if (p.b !== undefined) betas.push(p.b);
  }
  return { alphas, betas };
}

describe('recurrent activations: float IR == onnxruntime, integer reference within 2%', () => {
  for (const cell of ['LSTM', 'GRU', 'RNN'] as const) {
    const n = N_ACTS[cell];
    it(`${cell} forward: each function in each slot (alpha / beta given)`, async () => {
      const worst: string[] = [];
      for (const name of NAMES) {
        // RNN: [A]; GRU: [A, Tanh], [Sigmoid, A]; LSTM: [A, Tanh, Tanh], [Sigmoid, A, A].
        const lists = n === 1 ? [[name]] : [[name, ...new Array<string>(n - 1).fill('Tanh')], ['Sigmoid', ...new Array<string>(n - 1).fill(name)]];
        for (const acts of lists) {
          const ab = inOrder(acts);
          worst.push(`[${acts}] ${(await check({ cell, hidden: 3, activations: acts, ...ab })).toFixed(2)}%`);
        }
      }
      console.log(`${cell} forward: ${worst.join(', ')}`);
    }, 120_000);

    it(`${cell} bidirectional: the list covers both directions (alpha / beta in order, defaults where they run out)`, async () => {
      const worst: string[] = [];
      for (let k = 0; k < NAMES.length; k++) {
        // Each direction its own functions, cycling through the list; the reverse direction's start from k + 5.
        const acts = Array.from({ length: 2 * n }, (_, j) => NAMES[(k + (j < n ? j : 5 + j)) % NAMES.length]);
        // Only the forward direction's values: the reverse direction's take onnxruntime's defaults, unless a
        // default is degenerate (Affine / ScaledTanh: 0), then all are given.
        const ab = acts.slice(n).some((a) => a === 'Affine' || a === 'ScaledTanh') ? inOrder(acts) : inOrder(acts.slice(0, n));
        worst.push(`[${acts}] ${(await check({ cell, hidden: 3, direction: 'bidirectional', activations: acts, ...ab })).toFixed(2)}%`);
      }
      console.log(`${cell} bidirectional: ${worst.join(', ')}`);
    }, 120_000);
  }

  it('alpha / beta: consumed in order over both directions by the functions that take them; onnxruntime\'s defaults after', async () => {
    // LeakyRelu 0.01, HardSigmoid 0.2 / 0.5, Elu 1 when the lists are absent.
    await check({ cell: 'LSTM', hidden: 3, activations: ['HardSigmoid', 'LeakyRelu', 'Elu'] });
    // HardSigmoid takes 0.25 and the default beta 0.5; Elu (reverse) the default 1.
    await check({ cell: 'GRU', hidden: 3, activations: ['HardSigmoid', 'Tanh', 'Elu', 'LeakyRelu'], direction: 'bidirectional', alphas: [0.25] });
    // Direction 0's Tanh takes no alpha: direction 1's LeakyRelu reads the first value, 0.3 (onnxruntime 1.30).
    await check({ cell: 'RNN', hidden: 3, activations: ['Tanh', 'LeakyRelu'], direction: 'bidirectional', alphas: [0.3, 0.9] });
    // Names are case-insensitive for LSTM / GRU.
    await check({ cell: 'GRU', hidden: 3, activations: ['sigmoid', 'TANH'] });
    // The defaults are onnxruntime's: Affine without alpha / beta is 0 (the float IR agrees inside check).
    const m = cellModel('m', SEQ, IN, { cell: 'RNN', hidden: 3, activations: ['Affine'] });
    expect(Array.from(runFloat(importGraph(loadOnnx(m.bytes)), randomInputs(SEQ * IN, 1, 3)[0]))).toEqual(new Array(SEQ * 3).fill(0));
    expect(Array.from(await runOrt(m.bytes, m.inputName, m.inputShape, randomInputs(SEQ * IN, 1, 3)[0]))).toEqual(new Array(SEQ * 3).fill(0));
  }, 60_000);
});

describe('recurrent attributes: float IR == onnxruntime, integer reference within 2%', () => {
  const cases: Record<string, CellOptions> = {
    'LSTM input_forget': { cell: 'LSTM', hidden: 3, inputForget: true, init: 'const' },
    'LSTM input_forget bidirectional': { cell: 'LSTM', hidden: 3, inputForget: true, direction: 'bidirectional' },
    'LSTM clip 0.5': { cell: 'LSTM', hidden: 3, clip: 0.5 },
    'LSTM clip 0.3 reverse, initial states': { cell: 'LSTM', hidden: 3, clip: 0.3, direction: 'reverse', init: 'const' },
    'GRU clip 0.4 lbr 0': { cell: 'GRU', hidden: 3, clip: 0.4, init: 'const' },
    'GRU clip 0.4 lbr 1 bidirectional': { cell: 'GRU', hidden: 3, clip: 0.4, linearBeforeReset: 1, direction: 'bidirectional' },
    'RNN clip 0.5': { cell: 'RNN', hidden: 3, clip: 0.5 },
    'RNN clip 0.5 bidirectional Relu': { cell: 'RNN', hidden: 3, clip: 0.5, direction: 'bidirectional', activations: ['Relu', 'Relu'] },
    'LSTM peepholes': { cell: 'LSTM', hidden: 3, peepholes: true },
    'LSTM peepholes, initial states, Y_c': { cell: 'LSTM', hidden: 3, peepholes: true, init: 'const', use: 'Y_c' },
    'LSTM peepholes bidirectional, clip, input_forget': { cell: 'LSTM', hidden: 3, peepholes: true, direction: 'bidirectional', clip: 0.6, inputForget: true },
    'LSTM sequence_lens full': { cell: 'LSTM', hidden: 3, seqLens: true },
    'LSTM sequence_lens 2 of 4': { cell: 'LSTM', hidden: 3, seqLens: 2 },
    'LSTM sequence_lens 3 of 4 reverse Y_h': { cell: 'LSTM', hidden: 3, seqLens: 3, direction: 'reverse', use: 'Y_h' },
    'LSTM sequence_lens 2 of 4 bidirectional Y_c': { cell: 'LSTM', hidden: 3, seqLens: 2, direction: 'bidirectional', use: 'Y_c', init: 'const' },
    'GRU sequence_lens 3 of 4': { cell: 'GRU', hidden: 3, seqLens: 3, init: 'const' },
    'GRU sequence_lens 2 of 4 reverse lbr 1': { cell: 'GRU', hidden: 3, seqLens: 2, direction: 'reverse', linearBeforeReset: 1 },
    'GRU sequence_lens 1 of 4 bidirectional Y_h': { cell: 'GRU', hidden: 3, seqLens: 1, direction: 'bidirectional', use: 'Y_h' },
    'RNN sequence_lens 3 of 4': { cell: 'RNN', hidden: 3, seqLens: 3 },
    'RNN sequence_lens 2 of 4 reverse, initial h': { cell: 'RNN', hidden: 3, seqLens: 2, direction: 'reverse', init: 'const' },
    'RNN sequence_lens 2 of 4 bidirectional Y_h': { cell: 'RNN', hidden: 3, seqLens: 2, direction: 'bidirectional', use: 'Y_h', init: 'const' },
  };
  for (const [key, o] of Object.entries(cases)) {
    it(key, async () => {
      console.log(`${key}: worst ${(await check(o)).toFixed(2)}% of the output range`);
    }, 60_000);
  }

  it('clip changes the result (the clamp is really applied)', async () => {
    const x = randomInputs(SEQ * IN, 1, 7)[0];
    const plain = runFloat(importGraph(loadOnnx(cellModel('m', SEQ, IN, { cell: 'LSTM', hidden: 3 }).bytes)), x);
    const clipped = runFloat(importGraph(loadOnnx(cellModel('m', SEQ, IN, { cell: 'LSTM', hidden: 3, clip: 0.3 }).bytes)), x);
    expect(Math.max(...plain.map((v, i) => Math.abs(v - clipped[i])))).toBeGreaterThan(0.01);
  });

  it('a shorter sequence_lens gives zeros past the length in Y', () => {
    const model = importGraph(loadOnnx(cellModel('m', SEQ, IN, { cell: 'GRU', hidden: 3, seqLens: 2, direction: 'bidirectional' }).bytes));
    const y = runFloat(model, randomInputs(SEQ * IN, 1, 7)[0]);
    expect(Array.from(y.subarray(2 * 2 * 3))).toEqual(new Array(2 * 2 * 3).fill(0));
    expect(y.subarray(0, 2 * 2 * 3).every((v) => v !== 0)).toBe(true);
  });
});

describe('recurrent refusals name the node and the attribute', () => {
  const refuse = (o: CellOptions, re: RegExp) => {
    const e = catchErr(() => importGraph(loadOnnx(cellModel('bad', 3, 2, o).bytes)));
    expect(e).toBeInstanceOf(UnsupportedModelError);
    expect(e.message).toMatch(/node 'rnn' \((LSTM|GRU|RNN)\)/);
    expect(e.message).toMatch(re);
  };
  it('an activation outside the spec list', () => refuse({ cell: 'LSTM', hidden: 2, activations: ['Sigmoid', 'Gelu', 'Tanh'] }, /activation 'Gelu' is not supported/));
  it('RNN activation names are case-sensitive (as in onnxruntime)', () => refuse({ cell: 'RNN', hidden: 2, activations: ['relu'] }, /activation 'relu'.*case-sensitive.*'Relu'/));
  it('a wrong number of activations', () => refuse({ cell: 'GRU', hidden: 2, direction: 'bidirectional', activations: ['Sigmoid', 'Tanh'] }, /expected 4 names/));
  it('clip <= 0', () => refuse({ cell: 'GRU', hidden: 2, clip: 0 }, /clip 0: .*positive/));
  it('sequence_lens 0', () => refuse({ cell: 'LSTM', hidden: 2, seqLens: 0 }, /sequence_lens \[0\]/));
  it('sequence_lens beyond the sequence', () => refuse({ cell: 'RNN', hidden: 2, seqLens: 5 }, /sequence_lens \[5\] must be between 1 and the sequence length 3/));
  it('sequence_lens computed at run time (a graph input)', () => {
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [3, 1, 2] }, { name: 'sl', shape: [1], elemType: 'int32' }],
      outputs: [{ name: 'y', shape: [3, 1, 1, 2] }],
      initializers: [
        { name: 'W', dims: [1, 2, 2], data: [1, 0, 0, 1] },
        { name: 'R', dims: [1, 2, 2], data: [0.5, 0, 0, 0.5] },
      ],
      nodes: [{ op: 'RNN', name: 'rnn', inputs: ['x', 'W', 'R', '', 'sl'], outputs: ['y'], attrs: { hidden_size: 2 } }],
    });
    const e = catchErr(() => importGraph(loadOnnx(bytes)));
    expect(e).toBeInstanceOf(UnsupportedModelError);
    expect(e.message).toMatch(/node 'rnn' \(RNN\).*sequence_lens 'sl' must be a constant \(variable lengths are not supported\)/);
  });
  it('peepholes of the wrong size', () => {
    const H = 2;
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [3, 1, 2] }],
      outputs: [{ name: 'y', shape: [3, 1, 1, H] }],
      initializers: [
        { name: 'W', dims: [1, 4 * H, 2], data: new Array(8 * H).fill(0.1) },
        { name: 'R', dims: [1, 4 * H, H], data: new Array(8 * H).fill(0.1) },
        { name: 'P', dims: [1, 2 * H], data: new Array(2 * H).fill(0.5) },
      ],
      nodes: [{ op: 'LSTM', name: 'rnn', inputs: ['x', 'W', 'R', '', '', '', '', 'P'], outputs: ['y'], attrs: { hidden_size: H } }],
    });
    const e = catchErr(() => importGraph(loadOnnx(bytes)));
    expect(e).toBeInstanceOf(UnsupportedModelError);
    expect(e.message).toMatch(/node 'rnn' \(LSTM\).*P has dims \[1,4\], expected \[1, 6\]/);
  });
  it('input_forget 2', () => refuse({ cell: 'LSTM', hidden: 2, attrs: { input_forget: 2 } }, /input_forget 2/));
  it('unknown direction', () => refuse({ cell: 'GRU', hidden: 2, attrs: { direction: 'sideways' } }, /sideways/));
});
