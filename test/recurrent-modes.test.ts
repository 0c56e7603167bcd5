/**
 * Each recurrent op in each direction mode, compiled, proven and verified. test/recurrent.test.ts's stacked model
 * is one row of the Latin square (LSTM forward, GRU reverse, RNN bidirectional); these are the two others
 * (test/helpers/recurrent-models.ts squareModels): LSTM reverse / GRU bidirectional (linear_before_reset 0) /
 * RNN forward, and LSTM bidirectional / GRU forward (linear_before_reset 1) / RNN reverse, with Y, Y_h and Y_c
 * read, peepholes, clip, input_forget, a non-default activation and a shorter sequence_lens in use. Per model:
 * float IR == onnxruntime; constraints == the layers' cost formulas; witness == integer reference; +1 / -1 on a
 * sample of private witness wires breaks a constraint; setup, prove, verify; a tampered output fails.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import * as snarkjs from 'snarkjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readQuantizedModel } from '../src/artifacts/manifest.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileModel, type CompileModelResult } from '../src/compile/model.ts';
import { emitCircuit } from '../src/emit/circuit.ts';
import { FIELD_PRIME, toField } from '../src/field.ts';
import { importGraph } from '../src/ir/import.ts';
import { sizeOf } from '../src/ir/types.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { prove, readVerificationKey } from '../src/prove/prove.ts';
import { artifactWitness } from '../src/prove/witness.ts';
import { calibrate, quantizeInput, quantizeModel } from '../src/quantize/quantize.ts';
import { runFloat, runFloatAll } from '../src/reference/float.ts';
import { runInteger } from '../src/reference/integer.ts';
import { setupKeys } from '../src/setup/setup.ts';
import { dequantizeOutput } from '../src/verify/dequantize.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { randomInputs } from './helpers/fixtures.ts';
import { mutateWitnessWires } from './helpers/mutation.ts';
import { runOrt } from './helpers/ort.ts';
import { squareModels } from './helpers/recurrent-models.ts';

const ROOT = 'artifacts/test/recurrent-modes';
/** Private wires mutated per model (each by +1 and -1). */
const SAMPLE = 400;

for (const m of squareModels()) {
  describe(`recurrent modes: ${m.name}`, () => {
    const model = importGraph(loadOnnx(m.bytes));
    const cal = randomInputs(sizeOf(model.input.shape), 64, 21);
    const q = quantizeModel(model, cal);
    const ort = async (x: ArrayLike<number>) => Array.from(await runOrt(m.bytes, m.inputName, m.inputShape, x));
    let r: CompileModelResult;
    beforeAll(async () => {
      await mkdir(ROOT, { recursive: true });
      const path = `${ROOT}/${m.name}.onnx`;
      await writeFile(path, m.bytes);
      r = await compileModel(path, { out: `${ROOT}/${m.name}`, calibration: cal, force: true });
    }, 600_000);

    it('float IR matches onnxruntime; the integer reference is within 2% of its output range', async () => {
      let [lo, hi] = [Infinity, -Infinity];
      for (const x of cal) for (const v of await ort(x)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
      const ranges = calibrate(model, cal);
      const inRange = (x: Float64Array) => [...runFloatAll(model, x)].every(([name, v]) => v.every((e) => e >= ranges.get(name)!.min && e <= ranges.get(name)!.max));
      const fresh = randomInputs(sizeOf(model.input.shape), 24, 3).filter(inRange);
      expect(fresh.length).toBeGreaterThanOrEqual(3);
      let worst = 0;
      for (const x of fresh) {
        const o = await ort(x);
        const f = Array.from(runFloat(model, x));
        const mag = Math.max(...o.map(Math.abs));
        f.forEach((v, i) => expect(Math.abs(v - o[i])).toBeLessThanOrEqual(1e-5 * mag + 1e-6));
        const out = dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)));
        out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - o[i]))));
      }
      console.log(`${m.name}: worst |integer - onnxruntime| ${((100 * worst) / (hi - lo)).toFixed(2)}% of the output range ${(hi - lo).toFixed(3)}`);
      expect(worst).toBeLessThanOrEqual(0.02 * (hi - lo));
    });

    it('constraints == the cost formulas; witness == integer reference', async () => {
      const qc = await readQuantizedModel(r.dir);
      const emitted = emitCircuit(qc);
      expect(r.manifest.circuit.constraints).toBe(emitted.constraints);
      expect(emitCircuit(q).constraints).toBe(emitted.constraints);
      console.log(`${m.name}: ${r.manifest.circuit.constraints} constraints, ${qc.layers.length} layers`);
      const nOut = sizeOf(qc.output.shape);
      for (const x of cal.slice(0, 3)) {
        const xi = quantizeInput(qc.input.quant, x);
        const w = await artifactWitness(r.dir, { in: xi });
        expect(w.values.slice(1, 1 + nOut)).toEqual(runInteger(qc, xi).map((v) => toField(v)));
      }
    }, 300_000);

    it(`+1 / -1 on ${SAMPLE} sampled private witness wires (and every output) breaks a constraint`, async () => {
      const qc = await readQuantizedModel(r.dir);
      const res = await mutateWitnessWires(r.dir, [{ in: quantizeInput(qc.input.quant, cal[1]) }], { deltas: [1n, FIELD_PRIME - 1n], sample: { count: SAMPLE, seed: 7 } });
      const { mutations, freeHelpers } = res;
      const signals = new Set([...res.kinds].map((k) => k.split('.').slice(-1)[0]));
      console.log(`${m.name}: ${mutations} mutations rejected on ${res.wiresPerWitness} wires of ${res.nWires}; ${freeHelpers} free is-zero helpers skipped; signals: ${[...signals].sort().join(', ')}`);
      expect(mutations).toBeGreaterThanOrEqual(2 * SAMPLE * 0.9);
    }, 300_000);

    it('setup, prove, verify; a tampered output fails', async () => {
      await setupKeys(r.dir);
      const x = cal[2];
      const res = await prove(r.dir, { x: Array.from(x) });
      const expected = runInteger(q, quantizeInput(q.input.quant, x));
      expect(res.bundle.output.quantized).toEqual(expected.map(String));
      expect(res.verification.valid).toBe(true);
      const vk = await readVerificationKey(artifactPath(r.dir, 'vk'));
      expect((await verifyBundle(res.bundle, vk)).valid).toBe(true);
      const bad = structuredClone(res.bundle);
      bad.publicSignals[0] = ((BigInt(bad.publicSignals[0]) + 1n) % FIELD_PRIME).toString();
      bad.output.quantized[0] = (BigInt(bad.output.quantized[0]) + 1n).toString();
      expect(await snarkjs.groth16.verify(vk as never, bad.publicSignals, bad.proof as never, { info() {}, warn() {}, error() {}, debug() {} } as never)).toBe(false);
      expect((await verifyBundle(bad, vk)).valid).toBe(false);
      const o = await ort(x);
      console.log(`${m.name} proof: output ${dequantizeOutput(q.output.quant, expected).map((e) => e.toFixed(3)).join(' ')} vs onnxruntime ${o.map((e) => e.toFixed(3)).join(' ')}`);
    }, 600_000);
  });
}
