/**
 * LSTM, GRU and RNN (src/ops/recurrent.ts), unrolled at import into gather / dense / affine / lut / clip / product
 * layers:
 * 1. the float IR against onnxruntime (1e-4 of the output magnitude) over directions, layouts, initial states,
 *    GRU linear_before_reset, absent B, sequence_lens, each output;
 * 2. refusals named by attribute (batch > 1, direction; activations, clip, input_forget, peepholes and
 *    sequence_lens are in test/recurrent-attrs.test.ts);
 * 3. accuracy at seq 32, hidden 32: the integer reference against onnxruntime within 2% of the output range;
 * 4. compile + prove + verify of a stacked LSTM -> GRU -> RNN model (seq 4, hidden 4): constraints == the
 *    layers' cost formulas, witness == integer reference.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { readQuantizedModel } from '../src/artifacts/manifest.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileModel, type CompileModelResult } from '../src/compile/model.ts';
import { emitCircuit } from '../src/emit/circuit.ts';
import { toField } from '../src/field.ts';
import { importGraph } from '../src/ir/import.ts';
import { sizeOf } from '../src/ir/types.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { qDef } from '../src/ops/registry.ts';
import { artifactWitness } from '../src/prove/witness.ts';
import { prove, readVerificationKey } from '../src/prove/prove.ts';
import { setupKeys } from '../src/setup/setup.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import type { FloatModel } from '../src/ir/types.ts';
import { calibrate, quantizeInput, quantizeModel } from '../src/quantize/quantize.ts';
import { runFloat, runFloatAll } from '../src/reference/float.ts';
import { runInteger } from '../src/reference/integer.ts';
import { dequantizeOutput } from '../src/verify/dequantize.ts';
import { randomInputs } from './helpers/fixtures.ts';
import { cellModel, stackModel, type CellOptions, type RecurrentModel } from './helpers/recurrent-models.ts';
import { runOrt } from './helpers/ort.ts';

const ROOT = 'artifacts/test/recurrent';

/** Fresh inputs whose intermediate values stay inside the calibrated ranges (as test/norm.test.ts). */
function freshInRange(model: FloatModel, cal: Float64Array[], n: number, seed: number): Float64Array[] {
  const ranges = calibrate(model, cal);
  const inRange = (x: Float64Array) => [...runFloatAll(model, x)].every(([name, v]) => v.every((e) => e >= ranges.get(name)!.min && e <= ranges.get(name)!.max));
  return randomInputs(sizeOf(model.input.shape), n, seed).filter(inRange);
}

const ort = async (m: RecurrentModel, x: ArrayLike<number>) => Array.from(await runOrt(m.bytes, m.inputName, m.inputShape, x));

const floatCases: Record<string, [number, number, CellOptions]> = {
  'lstm fwd': [5, 3, { cell: 'LSTM', hidden: 4 }],
  'lstm rev zeros': [5, 3, { cell: 'LSTM', hidden: 4, direction: 'reverse', init: 'zeros' }],
  'lstm bidi const init': [4, 3, { cell: 'LSTM', hidden: 3, direction: 'bidirectional', init: 'const' }],
  'lstm layout1 Y_c': [4, 2, { cell: 'LSTM', hidden: 3, layout: 1, use: 'Y_c', init: 'const' }],
  'lstm Y_h no bias seqlens': [4, 2, { cell: 'LSTM', hidden: 3, use: 'Y_h', noBias: true, seqLens: true }],
  'gru fwd': [5, 3, { cell: 'GRU', hidden: 4 }],
  'gru lbr1 const init': [4, 3, { cell: 'GRU', hidden: 4, linearBeforeReset: 1, init: 'const' }],
  'gru lbr0 const init bidi': [4, 3, { cell: 'GRU', hidden: 3, direction: 'bidirectional', init: 'const' }],
  'gru layout1 rev Y_h': [4, 3, { cell: 'GRU', hidden: 3, direction: 'reverse', layout: 1, use: 'Y_h' }],
  'rnn fwd': [5, 3, { cell: 'RNN', hidden: 4 }],
  'rnn bidi const': [4, 3, { cell: 'RNN', hidden: 4, direction: 'bidirectional', init: 'const' }],
};

describe('recurrent: float IR matches onnxruntime', () => {
  for (const [key, [seq, I, o]] of Object.entries(floatCases)) {
    it(key, async () => {
      const m = cellModel(key.replace(/ /g, '-'), seq, I, o);
      const model = importGraph(loadOnnx(m.bytes));
      // onnxruntime refuses layout 1 (batch-wise): compare with the layout 0 model of the same weights (with batch
      // 1 both layouts have the same flat order).
      const refModel = o.layout === 1 ? cellModel('ref', seq, I, { ...o, layout: 0 }) : m;
      for (const x of randomInputs(seq * I, 6, 3)) {
        const ref = await ort(refModel, x);
        const f = Array.from(runFloat(model, x));
        expect(f.length).toBe(ref.length);
        const mag = Math.max(...ref.map(Math.abs));
        f.forEach((v, i) => expect(Math.abs(v - ref[i]), `element ${i}`).toBeLessThanOrEqual(1e-4 * mag + 1e-6));
      }
    });
  }
});

describe('recurrent: refusals name the attribute (more in test/recurrent-attrs.test.ts)', () => {
  const refuse = (o: CellOptions, re: RegExp) => expect(() => importGraph(loadOnnx(cellModel('bad', 3, 2, o).bytes))).toThrow(re);
  it('batch 2', () => refuse({ cell: 'LSTM', hidden: 2, layout: 1, batch: 2 }, /batch 2: only batch 1/));
  it('unknown direction', () => refuse({ cell: 'GRU', hidden: 2, attrs: { direction: 'sideways' } }, /sideways/));
});

describe('recurrent: seq 32, hidden 32, integer reference within 2% of onnxruntime', () => {
  for (const cell of ['LSTM', 'GRU', 'RNN'] as const) {
    it(cell, async () => {
      const seq = 32;
      const I = 8;
      const m = cellModel(`${cell}-32`, seq, I, { cell, hidden: 32, init: 'zeros' }, 9);
      const model = importGraph(loadOnnx(m.bytes));
      const cal = randomInputs(seq * I, 256, 21);
      const q = quantizeModel(model, cal);
      let R = 0;
      for (const x of cal) for (const v of runFloat(model, x)) R = Math.max(R, Math.abs(v));
      let worst = 0;
      // Every step's tensors have their own calibrated grid: with 32 steps a fresh input almost always leaves
      // some step's range a little (clamped there), so the inputs are fresh random ones, not filtered.
      for (const x of randomInputs(seq * I, 8, 22)) {
        const o = await ort(m, x);
        const out = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)));
        out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - o[i]))));
      }
      const constraints = q.layers.reduce((s, l) => s + qDef(l).constraints(l as never), 0);
      console.log(`${cell} seq 32 hidden 32: worst |integer - onnxruntime| ${((100 * worst) / R).toFixed(2)}% of the output range ${R.toFixed(3)}; ${constraints} constraints`);
      expect(worst).toBeLessThanOrEqual(0.02 * R);
    }, 120_000);
  }
});

describe('recurrent: end to end (LSTM forward -> GRU reverse lbr 1 -> RNN bidirectional, seq 4, hidden 4)', () => {
  const m = stackModel();
  const model = importGraph(loadOnnx(m.bytes));
  const cal = randomInputs(sizeOf(model.input.shape), 48, 21);
  const q = quantizeModel(model, cal);
  let r: CompileModelResult;
  beforeAll(async () => {
    await mkdir(ROOT, { recursive: true });
    const path = `${ROOT}/stack.onnx`;
    await writeFile(path, m.bytes);
    r = await compileModel(path, { out: `${ROOT}/stack`, calibration: cal, force: true });
  }, 1_200_000);

  it('float IR matches onnxruntime', async () => {
    for (const x of randomInputs(sizeOf(model.input.shape), 4, 3)) {
      const o = await ort(m, x);
      const f = Array.from(runFloat(model, x));
      const mag = Math.max(...o.map(Math.abs));
      f.forEach((v, i) => expect(Math.abs(v - o[i])).toBeLessThanOrEqual(1e-4 * mag + 1e-6));
    }
  });

  it('constraints == the cost formulas; witness == integer reference', async () => {
    const qc = await readQuantizedModel(r.dir);
    const emitted = emitCircuit(qc);
    expect(r.manifest.circuit.constraints).toBe(emitted.constraints);
    expect(emitCircuit(q).constraints).toBe(emitted.constraints);
    console.log(`stack: ${r.manifest.circuit.constraints} constraints; layers ${qc.layers.length}`);
    const nOut = sizeOf(qc.output.shape);
    for (const x of cal.slice(0, 3)) {
      const xi = quantizeInput(qc.input.quant, x);
      const w = await artifactWitness(r.dir, { in: xi });
      expect(w.values.slice(1, 1 + nOut)).toEqual(runInteger(qc, xi).map((v) => toField(v)));
    }
  }, 600_000);

  it('setup, prove, verify', async () => {
    await setupKeys(r.dir);
    const x = freshInRange(model, cal, 16, 5)[0] ?? cal[0];
    const res = await prove(r.dir, { x: Array.from(x) });
    const expected = runInteger(q, quantizeInput(q.input.quant, x));
    expect(res.bundle.output.quantized).toEqual(expected.map(String));
    expect(res.verification.valid).toBe(true);
    const vk = await readVerificationKey(artifactPath(r.dir, 'vk'));
    expect((await verifyBundle(res.bundle, vk)).valid).toBe(true);
    const o = await ort(m, x);
    const out = dequantizeOutput(q.output.quant, expected);
    console.log(`stack proof: output ${out.map((e) => e.toFixed(3)).join(' ')} vs onnxruntime ${o.map((e) => e.toFixed(3)).join(' ')}`);
  }, 1_200_000);
});
