/**
 * The circuit against its specification: compiled constraint counts equal the op cost formulas, witness
 * outputs equal the integer reference bit for bit (including inputs far outside calibration, where the
 * clamps fire), and mutating any single witness value breaks the R1CS.
 */
import { readFileSync } from 'node:fs';
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readQuantizedModel, readManifest } from '../src/artifacts/manifest.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileModel } from '../src/compile/model.ts';
import { writeR1csFile } from '../src/circom/formats.ts';
import { readR1csFile, readSymbols, violatedConstraints, type LinearCombination } from '../src/compile/r1cs.ts';
import { emitCircuit } from '../src/emit/circuit.ts';
import { FIELD_PRIME, toField } from '../src/field.ts';
import type { QRequant } from '../src/ir/types.ts';
import { artifactWitness, computeWitness } from '../src/prove/witness.ts';
import { quantizeInput } from '../src/quantize/quantize.ts';
import { runInteger, runIntegerAll } from '../src/reference/integer.ts';
import { mulberry32 } from '../src/onnx/builder.ts';
import { mlpFixture, TEST_ROOT } from './helpers/fixtures.ts';
import { mutateWitnessWires } from './helpers/mutation.ts';

const fixtures = [
  { key: 'circuit-a', opts: { sizes: [16, 8, 4], seed: 11, style: 'gemm-transB' as const } },
  { key: 'circuit-b', opts: { sizes: [12, 10, 6, 3], seed: 12, style: 'matmul-add' as const, extraNoOps: true } },
  { key: 'circuit-c', opts: { sizes: [16, 6, 5], seed: 13, style: 'gemm' as const, flattenInput: [1, 4, 4] as [number, number, number], alpha: 0.5, beta: 2 } },
];

/** Random uint8 inputs, plus the extremes, which push accumulators to both clamps. */
function uint8Inputs(n: number, size: number, seed: number): number[][] {
  const rnd = mulberry32(seed);
  const xs = [new Array(size).fill(0), new Array(size).fill(255), Array.from({ length: size }, (_, i) => (i % 2 ? 255 : 0))];
  for (let i = 0; i < n; i++) xs.push(Array.from({ length: size }, () => Math.floor(rnd() * 256)));
  return xs;
}

describe('compiled circuits', () => {
  for (const f of fixtures) {
    it(`${f.key}: constraints == cost formula, witness == integer reference`, async () => {
      const fx = await mlpFixture(f.key, f.opts);
      const m = await readManifest(fx.dir);
      const q = await readQuantizedModel(fx.dir);
      // TOTAL = sum over requant channels of (K + 5 | K + 2) + 1 binding each, + one per wide output element.
      expect(m.circuit.constraints).toBe(emitCircuit(q).constraints);
      expect(m.circuit.predictedConstraints).toBe(m.circuit.constraints);
      expect(m.circuit.publicSignals).toBe(f.opts.sizes[0] + f.opts.sizes[f.opts.sizes.length - 1]);

      let clampedLow = 0;
      let clampedHigh = 0;
      for (const x of uint8Inputs(25, f.opts.sizes[0], 1)) {
        const w = await artifactWitness(fx.dir, { in: x });
        const expected = runInteger(q, x);
        expect(w.values.slice(1, 1 + expected.length)).toEqual(expected.map((v) => toField(v)));
        // Count clamps in the hidden layers to show the extremes exercise them.
        const env = runIntegerAll(q, x);
        for (const l of q.layers) {
          if (l.kind === 'requant') {
            env.get(l.output)!.forEach((v) => {
              if (v === 0) clampedLow++;
              if (v === 255) clampedHigh++;
            });
          }
        }
      }
      expect(clampedLow).toBeGreaterThan(0);
      expect(clampedHigh).toBeGreaterThan(0);
    });
  }

  it('MNIST 784-56-10 MLP compiles to <= 3,000 constraints, exactly the cost formula', async () => {
    const cal = (JSON.parse(readFileSync('examples/mnist-mlp/calibration.json', 'utf8')) as { input: number[] }[]).map((s) => Float64Array.from(s.input));
    const r = await compileModel('examples/mnist-mlp/model.onnx', { out: 'artifacts/test/mnist-mlp', calibration: cal });
    const q = await readQuantizedModel(r.dir);
    const emitted = emitCircuit(q);
    // 56 hidden channels x (K_j + 6 or K_j + 3) + 10 wide logits bound to the public outputs.
    const requant = q.layers.find((l) => l.kind === 'requant') as QRequant;
    const byHand = requant.bits.reduce((a, k, j) => a + (k - 1 - requant.shifts[j] > 8 ? k + 6 : k + 3), 0) + 10;
    expect(emitted.constraints).toBe(byHand);
    expect(r.manifest.circuit.constraints).toBe(byHand);
    expect(r.manifest.circuit.constraints).toBeLessThanOrEqual(3000);
    expect(r.manifest.circuit.publicSignals).toBe(794);
    // Witness == reference on real digits.
    const { input } = JSON.parse(readFileSync('examples/mnist-mlp/digit-3.json', 'utf8'));
    const x = quantizeInput(q.input.quant, input);
    const w = await artifactWitness(r.dir, { in: x });
    expect(w.values.slice(1, 11)).toEqual(runInteger(q, x).map((v) => toField(v)));
  });
});

describe('witness mutation (soundness)', () => {
  it('every single-value change to a non-input witness breaks a constraint', async () => {
    const fx = await mlpFixture('circuit-a', fixtures[0].opts);
    const { mutations, freeHelpers } = await mutateWitnessWires(fx.dir, uint8Inputs(3, 16, 2).map((x) => ({ in: x })));
    expect(mutations).toBeGreaterThan(500);
    console.log(`${mutations} mutations rejected; ${freeHelpers} free is-zero helpers skipped`);
  });

  it('the mutation check reports an output the R1CS leaves free (circuit-a without the rows of out[0])', async () => {
    const fx = await mlpFixture('circuit-a', fixtures[0].opts);
    const dir = join(TEST_ROOT, 'circuit-a-out0-unbound');
    await rm(dir, { recursive: true, force: true });
    await cp(fx.dir, dir, { recursive: true });
    const r1cs = await readR1csFile(artifactPath(dir, 'r1cs'));
    const kept = r1cs.constraints.filter((row) => !row.some((lc) => lc.has(1)));
    expect(kept.length).toBeLessThan(r1cs.constraints.length);
    const sparse = (lc: LinearCombination) => ({ wires: [...lc.keys()], coefs: [...lc.values()] });
    const header = { prime: r1cs.prime, nWires: r1cs.nWires, nPubOut: r1cs.nOutputs, nPubIn: r1cs.nPubInputs, nPrvIn: r1cs.nPrvInputs, nLabels: r1cs.nWires, nConstraints: kept.length };
    await writeR1csFile(artifactPath(dir, 'r1cs'), header, kept.map(([a, b, c]) => [sparse(a), sparse(b), sparse(c)]), Array.from({ length: r1cs.nWires }, (_, i) => i));
    const inputs = uint8Inputs(0, 16, 2).map((x) => ({ in: x }));
    await expect(mutateWitnessWires(dir, inputs)).rejects.toThrow(/mutating main\.out\[0\] \(wire 1\) by \+1 satisfies every constraint \(input 0\)/);
    // The same witnesses against the whole R1CS: every mutation rejected.
    expect((await mutateWitnessWires(fx.dir, inputs)).mutations).toBeGreaterThan(0);
  });

  it('the neighbouring quotient (q + 1, r - 2^S) with a consistent output is rejected', async () => {
    const fx = await mlpFixture('circuit-a', fixtures[0].opts);
    const r1cs = await readR1csFile(artifactPath(fx.dir, 'r1cs'));
    const syms = await readSymbols(artifactPath(fx.dir, 'sym'));
    const q = await readQuantizedModel(fx.dir);
    const rq = q.layers.find((l) => l.kind === 'requant') as QRequant;
    const x = uint8Inputs(1, 16, 3)[3];
    const w = (await artifactWitness(fx.dir, { in: x })).values;
    let tried = 0;
    for (let j = 0; j < rq.size; j++) {
      const comp = [...syms.keys()].find((n) => new RegExp(`^main\\.rq\\d+_${j}\\.bits\\[0\\]$`).test(n))!.replace(/\.bits\[0\]$/, '');
      const K = rq.bits[j];
      const S = rq.shifts[j];
      let u = 0n;
      for (let i = 0; i < K; i++) u += w[syms.get(`${comp}.bits[${i}]`)!] << BigInt(i);
      for (const alt of [u + (1n << BigInt(S)), u - (1n << BigInt(S))]) {
        if (alt < 0n || alt >= 1n << BigInt(K)) continue;
        const m = [...w];
        for (let i = 0; i < K; i++) m[syms.get(`${comp}.bits[${i}]`)!] = (alt >> BigInt(i)) & 1n;
        const out = syms.get(`${comp}.out`)!;
        m[out] = (m[out] + 1n) % FIELD_PRIME;
        expect(violatedConstraints(r1cs, m).length).toBeGreaterThan(0);
        tried++;
      }
    }
    expect(tried).toBeGreaterThan(0);
  });
});

describe('output binding costs', () => {
  it('a passed-through input and a constant output each cost one constraint, as the formula says', async () => {
    const { buildOnnxModel } = await import('../src/onnx/builder.ts');
    const { writeFile, mkdir } = await import('node:fs/promises');
    await mkdir('artifacts/test/outputs', { recursive: true });
    // Flatten only: every output is an input signal.
    await writeFile('artifacts/test/outputs/flatten.onnx', buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 2, 2] }], outputs: [{ name: 'y', shape: [1, 4] }],
      nodes: [{ op: 'Flatten', name: 'f', inputs: ['x'], outputs: ['y'] }],
    }));
    // A dense layer whose second row is all zeros (with zero bias): that output is the constant 0.
    await writeFile('artifacts/test/outputs/zero-row.onnx', buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 3] }], outputs: [{ name: 'y', shape: [1, 2] }],
      initializers: [{ name: 'W', dims: [2, 3], data: [0.5, -0.25, 1, 0, 0, 0] }, { name: 'b', dims: [2], data: [0.1, 0] }],
      nodes: [{ op: 'Gemm', name: 'fc', inputs: ['x', 'W', 'b'], outputs: ['y'], attrs: { transB: 1 } }],
    }));
    for (const [name, n] of [['flatten', 4], ['zero-row', 3]] as const) {
      const r = await compileModel(`artifacts/test/outputs/${name}.onnx`, { out: `artifacts/test/outputs/${name}`, calibration: [Float64Array.from({ length: n }, (_, i) => i / n)] });
      expect(r.manifest.circuit.constraints, name).toBe(r.manifest.circuit.predictedConstraints);
    }
  });
});
