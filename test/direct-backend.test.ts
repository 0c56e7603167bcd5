/**
 * The direct backend (src/circom/) against circom itself: for every test and example model small enough for
 * circom2, the circuit source zkonnx writes is compiled both ways and
 *   - the two R1CS are the same constraint system (rows equal after mapping signals by name through the .sym
 *     files, up to order and scaling; same public layout), and
 *   - the direct witness equals circom's witness signal for signal, and both R1CS accept it.
 * Both source forms are covered: loops (what the direct backend compiles) and unrolled sums (circom's default
 * for small models). Witness mutation on the direct R1CS is in test/circuit.test.ts and test/gadgets.test.ts.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConstraintSystem, compileCircomDirect, directWitness, nameToWire } from '../src/circom/index.ts';
import { compileCircuit } from '../src/compile/compile.ts';
import { readR1csFile, readSymbols, violatedConstraints } from '../src/compile/r1cs.ts';
import { emitCircuit } from '../src/emit/circuit.ts';
import { importGraph } from '../src/ir/import.ts';
import type { QuantizedModel } from '../src/ir/types.ts';
import { sizeOf } from '../src/ir/types.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { mulberry32, randomMlp, type RandomMlpOptions } from '../src/onnx/builder.ts';
import { computeWitness, witnessInput } from '../src/prove/witness.ts';
import { quantizeModel } from '../src/quantize/quantize.ts';
import type { PublicInputLayout } from '../src/verify/layout.ts';
import { randomInputs } from './helpers/fixtures.ts';
import * as ops from './helpers/ops-models.ts';
import { compareConstraintSystems, witnessForB } from './helpers/r1cs-equivalence.ts';

const ROOT = 'artifacts/test/direct-backend';

interface Case {
  name: string;
  q: () => QuantizedModel;
  layout?: PublicInputLayout;
  /** Compile circom's witness generator too (small models), to compare witnesses value by value. */
  wasm: boolean;
  /** Source forms (unrolled?) to check; default: both with `wasm`, loops only without. */
  forms?: boolean[];
}

const quantized = (bytes: Uint8Array, seed: number) => () => {
  const model = importGraph(loadOnnx(bytes));
  return quantizeModel(model, randomInputs(sizeOf(model.input.shape), 32, seed));
};
const mlp = (opts: RandomMlpOptions) => quantized(randomMlp(opts).bytes, opts.seed + 1000);
const example = (dir: string) => () => {
  const model = importGraph(loadOnnx(readFileSync(`examples/${dir}/model.onnx`)));
  const cal = (JSON.parse(readFileSync(`examples/${dir}/calibration.json`, 'utf8')) as { input: number[] }[]).map((s) => Float64Array.from(s.input));
  return quantizeModel(model, cal);
};

const cases: Case[] = [
  // The compiled-circuit fixtures of test/circuit.test.ts.
  { name: 'mlp-a', q: mlp({ sizes: [16, 8, 4], seed: 11, style: 'gemm-transB' }), wasm: true },
  { name: 'mlp-b', q: mlp({ sizes: [12, 10, 6, 3], seed: 12, style: 'matmul-add', extraNoOps: true }), wasm: true },
  { name: 'mlp-c', q: mlp({ sizes: [16, 6, 5], seed: 13, style: 'gemm', flattenInput: [1, 4, 4], alpha: 0.5, beta: 2 }), wasm: true },
  { name: 'mlp-a-packed', q: mlp({ sizes: [40, 8, 4], seed: 14, style: 'gemm-transB' }), layout: 'packed', wasm: true },
  // Every op model of test/ops.test.ts that compiles.
  ...[ops.convModel, ops.poolModel, ops.u8GadgetModel, ops.elementwiseModel, ops.activationModel, ops.argmaxInputModel,
    ops.argmaxLogitsModel, ops.opset9Model, ops.argmaxScalesModel, () => ops.clipOutsideModel(-1, 1)].map((make, i) => {
    const m = make();
    return { name: m.name, q: quantized(m.bytes, 500 + i), wasm: true };
  }),
  // The examples, in the loop form the direct backend compiles (circom2 builds only the r1cs: ~45 s for the
  // CNN with it), the MNIST MLP with circom's witness generator too (one compile of the loop form: the
  // unrolled form is covered by every small model above).
  { name: 'example-mnist-mlp', q: example('mnist-mlp'), wasm: true, forms: [false] },
  { name: 'example-mnist-cnn', q: example('mnist-cnn'), wasm: false },
];

function inputsFor(q: QuantizedModel, n: number, seed: number): number[][] {
  const size = sizeOf(q.input.shape);
  const rnd = mulberry32(seed);
  return [new Array(size).fill(255), ...Array.from({ length: n }, () => Array.from({ length: size }, () => Math.floor(rnd() * 256)))];
}

/**
 * `source` compiled with the direct backend into DIR/direct and with circom2 into DIR/circom (`wasm`: with its
 * witness generator), both systems read back with their signal names, and compared.
 */
async function compileBoth(dir: string, source: string, wasm: boolean) {
  const direct = join(dir, 'direct');
  const circom = join(dir, 'circom');
  for (const d of [direct, circom]) {
    await mkdir(d, { recursive: true });
    await writeFile(join(d, 'circuit.circom'), source);
  }
  // circom2 runs in a child process: the direct backend (in this process) compiles meanwhile, on the other core.
  const circomDone = compileCircuit(join(circom, 'circuit.circom'), circom, 'wasm', { witness: wasm });
  circomDone.catch(() => {});
  const rd = await compileCircomDirect(join(direct, 'circuit.circom'), direct);
  const a = { r1cs: await readR1csFile(join(direct, 'circuit.r1cs')), nameToWire: nameToWire(await buildConstraintSystem(join(direct, 'circuit.circom'))) };
  const rc = await circomDone;
  const b = { r1cs: await readR1csFile(join(circom, 'circuit.r1cs')), nameToWire: await readSymbols(join(circom, 'circuit.sym')) };
  return { direct, circom, rd, rc, a, b, report: compareConstraintSystems(a, b) };
}

describe('direct backend == circom --O1', () => {
  for (const c of cases) {
    for (const unroll of c.forms ?? (c.wasm ? [false, true] : [false])) {
      it(`${c.name} (${unroll ? 'unrolled' : 'loops'}): same constraint system, same witness`, async () => {
        const q = c.q();
        const layout = c.layout ?? 'plain';
        const emitted = emitCircuit(q, { unroll, publicInputs: layout });
        const { direct, circom, rd, rc, a, b, report } = await compileBoth(join(ROOT, `${c.name}-${unroll ? 'unrolled' : 'loops'}`), emitted.source, c.wasm);
        expect(rd.constraints).toBe(emitted.constraints);
        expect(rc.constraints).toBe(emitted.constraints);
        expect([rd.wires, rd.publicInputs, rd.publicOutputs, rd.privateInputs]).toEqual([rc.wires, rc.publicInputs, rc.publicOutputs, rc.privateInputs]);
        expect(report.onlyInA).toEqual([]);
        expect(report.onlyInB).toEqual([]);
        expect(report.unmappedB).toEqual([]);
        expect(report.publicLayout).toEqual([]);
        expect(report.equal).toBe(true);

        const names = [...b.nameToWire].filter(([, w]) => w > 0);
        for (const x of inputsFor(q, 2, 7)) {
          const input = witnessInput(layout, x);
          const wd = (await directWitness(join(direct, 'circuit.circom'), input)).values;
          expect(violatedConstraints(a.r1cs, wd)).toEqual([]);
          const wb = witnessForB(a, wd, b);
          expect(violatedConstraints(b.r1cs, wb)).toEqual([]);
          if (c.wasm) {
            const wc = (await computeWitness(join(circom, 'circuit_js', 'circuit.wasm'), input)).values;
            const differ = names.filter(([n, w]) => wc[w] !== wd[a.nameToWire.get(n)!]).map(([n]) => n);
            expect(differ).toEqual([]);
          }
        }
      }, 180_000);
    }
  }
});

describe('a wide MLP through the whole pipeline with the direct backend', () => {
  // A stand-in for the 256-1024-512-10 MLP of `npm run bench` (circom2 ran out of memory on that one after
  // 6 minutes): same shape of problem (a few hundred thousand constant-weight terms, three requantized layers).
  it('128-512-256-10: compiles (exactly the cost formula), sets up, proves and verifies; a changed output is refused', async () => {
    const { runModel } = await import('../src/run.ts');
    const { verifyBundle } = await import('../src/verify/verify.ts');
    const { readVerificationKey } = await import('../src/prove/prove.ts');
    await mkdir(ROOT, { recursive: true });
    const model = join(ROOT, 'mlp-128-512-256-10.onnx');
    await writeFile(model, randomMlp({ sizes: [128, 512, 256, 10], seed: 21, style: 'gemm-transB' }).bytes);
    const cal = randomInputs(128, 16, 22).map((x) => Array.from(x));
    const r = await runModel(model, { input: cal[0], calibration: { json: cal, source: 'test' }, out: join(ROOT, 'mlp-128-512-256-10'), backend: 'direct' });
    expect(r.manifest.circuit.backend).toBe('direct');
    expect(r.manifest.circuit.constraints).toBe(r.manifest.circuit.predictedConstraints);
    expect(r.manifest.circuit.constraints).toBeGreaterThan(20_000);
    expect(r.verification.valid).toBe(true);
    const vk = await readVerificationKey(r.vk);
    const bad = structuredClone(r.bundle);
    bad.publicSignals[0] = String((BigInt(bad.publicSignals[0]) + 1n) % 21888242871839275222246405745257275088548364400416034343698204186575808495617n);
    expect((await verifyBundle(bad, vk)).valid).toBe(false);
  }, 300_000);
});

describe('the circom subset beyond what zkonnx emits today', () => {
  // Nested components, component arrays, functions, 2-D signals, while loops, ternaries, integer division and
  // signal-dependent witness code: compiled both ways, same system, same witness.
  const source = `pragma circom 2.1.0;
function sq(x) { return x * x; }
function sumTo(n) { var s = 0; var i = 0; while (i < n) { i++; s += i; } return s; }
template Bits(n) {
    signal input in;
    signal output out[n];
    var lc = 0;
    for (var i = 0; i < n; i++) {
        out[i] <-- (in >> i) & 1;
        out[i] * (out[i] - 1) === 0;
        lc += out[i] * (1 << i);
    }
    lc === in;
}
template Pair(n) {
    signal input a;
    signal input b;
    signal output prod;
    signal output bitsum;
    component ba = Bits(n);
    ba.in <== a;
    var s = 0;
    for (var i = 0; i < n; i++) s += ba.out[i];
    bitsum <== s;
    prod <== a * b + sumTo(3);
}
template Outer(n, m) {
    signal input x[m][2];
    signal output y[m];
    signal output z;
    signal grid[m][2];
    component p[m];
    var acc = 0;
    for (var j = 0; j < m; j++) {
        p[j] = Pair(n);
        p[j].a <== x[j][0];
        p[j].b <== x[j][1] + sq(j) \\ 2;
        grid[j][0] <== p[j].prod;
        grid[j][1] <== p[j].bitsum;
        y[j] <== grid[j][0] - grid[j][1];
        acc += j % 2 == 0 ? grid[j][1] : 0;
    }
    signal big;
    big <-- x[0][0] > x[1][0] ? 1 : 0;
    big * (big - 1) === 0;
    z <== acc + big;
}
component main {public [x]} = Outer(6, 3);
`;
  it('nested templates, component arrays, functions, 2-D signals: same constraint system and witness as circom', async () => {
    const { direct, circom, rd, rc, a, b, report } = await compileBoth(join(ROOT, 'subset'), source, true);
    expect(rd.constraints).toBe(rc.constraints);
    expect([report.onlyInA, report.onlyInB, report.unmappedB, report.publicLayout]).toEqual([[], [], [], []]);
    for (const x of [[[5n, 7n], [63n, 1n], [0n, 9n]], [[1n, 2n], [3n, 4n], [5n, 6n]]]) {
      const wd = (await directWitness(join(direct, 'circuit.circom'), { x: x.flat() })).values;
      const wc = (await computeWitness(join(circom, 'circuit_js', 'circuit.wasm'), { x: x.flat() })).values;
      expect([...b.nameToWire].filter(([n, w]) => w > 0 && wc[w] !== wd[a.nameToWire.get(n)!])).toEqual([]);
      expect(violatedConstraints(b.r1cs, witnessForB(a, wd, b))).toEqual([]);
    }
    // A value outside Bits' range has no witness: the direct backend refuses it as circom's generator does.
    await expect(directWitness(join(direct, 'circuit.circom'), { x: [64n, 1n, 0n, 0n, 0n, 0n] })).rejects.toThrow(/constraint not satisfied/);
  }, 120_000);

  it('a construct outside the subset is a CompileError naming the file and line', async () => {
    const dir = join(ROOT, 'subset-bad');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'circuit.circom'), 'pragma circom 2.1.0;\ntemplate T() {\n    signal input a;\n    signal output b;\n    b <== a * a * a;\n}\ncomponent main = T();\n');
    await expect(compileCircomDirect(join(dir, 'circuit.circom'), dir)).rejects.toThrow(/circuit\.circom:5: this constraint is not quadratic/);
    await writeFile(join(dir, 'circuit.circom'), 'pragma circom 2.1.0;\nbus B() { signal x; }\ntemplate T() { signal input a; }\ncomponent main = T();\n');
    await expect(compileCircomDirect(join(dir, 'circuit.circom'), dir)).rejects.toThrow(/circuit\.circom:2: buses are not supported/);
  });
});

describe('circom semantics an adversarial review checked (regressions)', () => {
  it("operator binding, block-scoped vars, shifts past 254 bits and rows circom's --O1 keeps: the same system as circom", async () => {
    const source = `pragma circom 2.1.0;
template T(n) {
    signal input x;
    signal output o[12];
    signal output y;
    signal t2;
    signal t4;
    if (n & 2 == 2) { x * (x - 1) === 0; }
    o[0] <== x * (2 ** 3 ** 2);
    o[1] <== x * (6 & 3 == 2);
    o[2] <== x * (5 ^ 4 == 1 + 7);
    o[3] <== x * 3 * (1 == 1 < 2);
    o[4] <== x * (1 << 254);
    o[5] <== x * (5 << 255);
    o[6] <== x * (3 << 253);
    o[7] <== x * ((1 << 200) << 60);
    o[8] <== x * ((-1) << 1);
    var k = 3;
    for (var i = 0; i < 1; i++) { var k = 5; }
    o[9] <== k * x;
    o[10] <== x * (-2 ** 2 + 10);
    o[11] <== x * (7 \\ 2 * 3);
    t2 <== 5;
    t4 <== -3 * t2;
    y <== t4 * x;
}
component main {public [x]} = T(2);
`;
    const { rd, rc, report } = await compileBoth(join(ROOT, 'review', 'semantics'), source, false);
    expect([report.onlyInA, report.onlyInB, report.unmappedB, report.publicLayout]).toEqual([[], [], [], []]);
    expect([rd.constraints, rd.wires]).toEqual([rc.constraints, rc.wires]);
  }, 120_000);

  it('what circom refuses, the direct backend refuses: an unassigned component input, a second assignment, a loop in a signal-dependent branch', async () => {
    const dir = join(ROOT, 'review', 'refusals');
    await mkdir(dir, { recursive: true });
    const refuse = async (body: string, why: RegExp) => {
      await writeFile(join(dir, 'circuit.circom'), `pragma circom 2.1.0;\n${body}\n`);
      await expect(compileCircomDirect(join(dir, 'circuit.circom'), dir)).rejects.toThrow(why);
    };
    await refuse('template Bit() { signal input a; signal input b; signal output o; a * (a - 1) === 0; o <== a + b; }\ntemplate T() { signal input x; signal output y; component c = Bit(); c.b <== x; y <== c.o; }\ncomponent main {public [x]} = T();',
      /input signal\(s\) of main\.c \(Bit\) are never assigned/);
    await refuse('template T() { signal input x; signal output y; y <== x; y <== x + 1; }\ncomponent main {public [x]} = T();', /assigned twice/);
    await refuse('template Id() { signal input a; signal output o; o <== a; }\ntemplate T() { signal input x; signal output z; component c = Id(); c.a <-- x; c.a <== x * x; z <== c.o; }\ncomponent main {public [x]} = T();', /assigned twice/);
    await refuse('template T() { signal input x; signal output y; var k = 0; if (x == 5) { for (k = 1; k < 0; k++) { } } y <== x + k; }\ncomponent main = T();', /not quadratic|computed from signals/);
  });

  it('a missing main input named like an Object.prototype property is named, not a TypeError', async () => {
    const dir = join(ROOT, 'review', 'proto');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'circuit.circom'), 'pragma circom 2.1.0;\ntemplate T() { signal input constructor; signal input x; signal output y; y <== x * constructor; }\ncomponent main = T();\n');
    await compileCircomDirect(join(dir, 'circuit.circom'), dir);
    await expect(directWitness(join(dir, 'circuit.circom'), { x: [3n] })).rejects.toThrow(/no value for main's input signal 'constructor'/);
  });
});
