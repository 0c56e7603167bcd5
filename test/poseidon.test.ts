/**
 * The zkonnx hash (src/verify/commitment.ts, circuits/hash.circom) and its Poseidon (src/verify/poseidon.ts):
 *   - poseidon16 == circomlibjs' poseidon on random and edge inputs;
 *   - zkonnxHash / commitBytes == the definition re-implemented on circomlibjs' poseidon;
 *   - tag, length and salt separate commitments;
 *   - Poseidon16 (circuits/poseidon16.circom) in the circuit == circomlibjs' poseidon == circomlib's own
 *     Poseidon(16) template on the same inputs, in 610 constraints; a mutated S-box signal or output violates one;
 *   - ZkonnxHash in the circuit (direct backend, and circom2 for one M) == zkonnxHash off the circuit, with
 *     exactly commitmentCost(M) constraints; a mutated output or intermediate hash violates a constraint.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildPoseidon } from 'circomlibjs';
import { buildConstraintSystem, compileCircomDirect, directWitness, nameToWire } from '../src/circom/index.ts';
import { compileCircuit } from '../src/compile/compile.ts';
import { readR1csFile, readSymbols, violatedConstraints } from '../src/compile/r1cs.ts';
import { InputError } from '../src/errors.ts';
import { FIELD_PRIME } from '../src/field.ts';
import { mulberry32 } from '../src/onnx/builder.ts';
import { computeWitness } from '../src/prove/witness.ts';
import {
  commitBytes, commitFieldElements, commitmentCost, COMMITMENT_COST_FORMULA, packBytesForHash, parseSalt, randomSalt,
  TAG_BASE, TAG_INPUT, TAG_OUTPUT, TAG_PARAMS, zkonnxHash,
} from '../src/verify/commitment.ts';
import { packBytes } from '../src/verify/layout.ts';
import { poseidon16 } from '../src/verify/poseidon.ts';
import { compareConstraintSystems, witnessForB } from './helpers/r1cs-equivalence.ts';
import { catchErr } from './helpers/errors.ts';

const ROOT = 'artifacts/test/poseidon';
const P = FIELD_PRIME;

// circomlibjs' poseidon (its WASM build), as a bigint function.
let ref: (inputs: bigint[]) => bigint;
beforeAll(async () => {
  const p = await buildPoseidon();
  ref = (inputs) => p.F.toObject(p(inputs)) as bigint;
});

const rnd = mulberry32(20260101);
const randomBytes = (n: number) => Array.from({ length: n }, () => Math.floor(rnd() * 256));
const randomElement = (): bigint => {
  let x = 0n;
  for (let i = 0; i < 32; i++) x = (x << 8n) | BigInt(Math.floor(rnd() * 256));
  return x % P;
};

/** The definition, written out plainly on circomlibjs' poseidon. */
function referenceHash(tag: bigint, len: number, salt: bigint, elems: bigint[]): bigint {
  const items = [tag, BigInt(len), salt, ...elems];
  let k = 0;
  while (16 + 15 * k < items.length) k++;
  while (items.length < 16 + 15 * k) items.push(0n);
  let h = ref(items.slice(0, 16));
  for (let i = 16; i < items.length; i += 15) h = ref([h, ...items.slice(i, i + 15)]);
  return h;
}

describe('poseidon16', () => {
  it('equals circomlibjs poseidon on random and edge inputs', () => {
    const vectors = [
      new Array<bigint>(16).fill(0n),
      new Array<bigint>(16).fill(P - 1n),
      Array.from({ length: 16 }, (_, i) => (i % 2 ? P - 1n : 0n)),
      Array.from({ length: 16 }, (_, i) => BigInt(i)),
      ...Array.from({ length: 40 }, () => Array.from({ length: 16 }, randomElement)),
    ];
    for (const v of vectors) expect(poseidon16(v)).toBe(ref(v));
  });

  it('refuses a wrong input count and non-canonical inputs', () => {
    expect(() => poseidon16(new Array<bigint>(15).fill(0n))).toThrow(RangeError);
    expect(() => poseidon16([P, ...new Array<bigint>(15).fill(0n)])).toThrow(/input 0 is not a canonical field element/);
    expect(() => poseidon16([...new Array<bigint>(15).fill(0n), -1n])).toThrow(/input 15/);
  });
});

describe('zkonnxHash', () => {
  it('tags are "zkonnx" << 16 plus 1, 2, 3', () => {
    expect(TAG_BASE).toBe(0x7a6b6f6e6e780000n);
    expect([TAG_INPUT, TAG_OUTPUT, TAG_PARAMS]).toEqual([TAG_BASE + 1n, TAG_BASE + 2n, TAG_BASE + 3n]);
  });

  it('commitBytes equals the definition on circomlibjs poseidon (lengths 0..784, salts 0 and random)', () => {
    for (const n of [0, 1, 13, 14, 31, 32, 434, 784]) {
      const bytes = randomBytes(n);
      expect(packBytesForHash(bytes)).toEqual(packBytes(bytes));
      for (const salt of [0n, randomSalt()]) {
        const want = referenceHash(TAG_INPUT, n, salt, packBytes(bytes));
        expect(commitBytes(TAG_INPUT, bytes, salt)).toBe(want);
        expect(zkonnxHash(TAG_INPUT, n, salt, packBytes(bytes))).toBe(want);
      }
    }
  });

  it('commitFieldElements equals the definition, signed values as p + x, at every chunk boundary', () => {
    for (const m of [0, 1, 12, 13, 14, 27, 28, 29, 43, 44, 100]) {
      const elems = Array.from({ length: m }, (_, i) => (i % 3 === 0 ? P - BigInt(i + 1) : randomElement()));
      expect(commitFieldElements(TAG_OUTPUT, elems)).toBe(referenceHash(TAG_OUTPUT, m, 0n, elems));
      expect(commitFieldElements(TAG_PARAMS, elems, 5n)).toBe(referenceHash(TAG_PARAMS, m, 5n, elems));
    }
  });

  it('different tag, length or salt give different values', () => {
    const base = commitBytes(TAG_INPUT, [1], 0n);
    expect(commitBytes(TAG_OUTPUT, [1], 0n)).not.toBe(base);
    expect(commitBytes(TAG_PARAMS, [1], 0n)).not.toBe(base);
    // [1] and [1, 0] pack to the same element; the length keeps them apart.
    expect(packBytes([1, 0])).toEqual(packBytes([1]));
    expect(commitBytes(TAG_INPUT, [1, 0], 0n)).not.toBe(base);
    expect(commitBytes(TAG_INPUT, [1], 1n)).not.toBe(base);
    // Padding zeros are not elements: 13 zero elements under len 13 differ from none under len 0.
    expect(commitFieldElements(TAG_INPUT, new Array<bigint>(13).fill(0n))).not.toBe(commitFieldElements(TAG_INPUT, []));
  });

  it('refuses non-canonical elements, salts and lengths', () => {
    expect(() => zkonnxHash(TAG_INPUT, 1, 0n, [P])).toThrow(/element 0 is not a canonical field element/);
    expect(() => zkonnxHash(TAG_INPUT, 1, P, [1n])).toThrow(/salt/);
    expect(() => zkonnxHash(TAG_INPUT, -1, 0n, [1n])).toThrow(/len/);
    expect(() => commitBytes(TAG_INPUT, [256], 0n)).toThrow(/not a uint8/);
  });

  it('randomSalt is 248 bits; parseSalt reads hex and decimal below r and names anything else', () => {
    for (let i = 0; i < 20; i++) expect(randomSalt() < 1n << 248n).toBe(true);
    expect(parseSalt('0x1f')).toBe(31n);
    expect(parseSalt('1f')).toBe(31n);
    expect(parseSalt('31')).toBe(31n);
    expect(parseSalt(` ${P - 1n} `)).toBe(P - 1n);
    expect(parseSalt('0x' + (P - 1n).toString(16))).toBe(P - 1n);
    for (const bad of [P.toString(), '0x' + P.toString(16), 'salty', '', '0x', '-1', '1.5']) {
      const e = catchErr(() => parseSalt(bad));
      expect(e).toBeInstanceOf(InputError);
      expect(e.message).toContain(`'${bad}'`);
    }
  });

  it('commitmentCost', () => {
    expect([1, 13, 14, 28, 29, 43, 44].map(commitmentCost)).toEqual([610, 610, 1220, 1220, 1830, 1830, 2440]);
    // A 784-byte input packs into 26 elements: 2 permutations.
    expect(commitmentCost(26)).toBe(1220);
    expect(COMMITMENT_COST_FORMULA).toMatch(/610 constraints per Poseidon\(16\)/);
    expect(() => commitmentCost(0)).toThrow(RangeError);
  });
});

/** A random vector of 16 field elements as the main input `inputs`. */
const randomInputs = () => Array.from({ length: 16 }, randomElement);
const EDGE_INPUTS = [new Array<bigint>(16).fill(0n), new Array<bigint>(16).fill(P - 1n), Array.from({ length: 16 }, (_, i) => BigInt(i))];

describe('Poseidon16 in the circuit (circuits/poseidon16.circom)', () => {
  const dir = join(ROOT, 'p16');
  const file = join(dir, 'circuit.circom');

  it('equals circomlibjs poseidon on edge and random inputs, in 610 constraints', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(file, 'pragma circom 2.1.0;\ninclude "poseidon16.circom";\ncomponent main = Poseidon16();\n');
    const report = await compileCircomDirect(file, dir);
    // 203 S-boxes (state[0] of round 0 is a constant) of 3 rows, and the output row.
    expect(report.constraints).toBe(610);
    expect(report.constraints).toBe(commitmentCost(1));
    for (const v of [...EDGE_INPUTS, ...Array.from({ length: 6 }, randomInputs)]) {
      const w = await directWitness(file, { inputs: v });
      expect(w.values[1]).toBe(ref(v));
      expect(w.values[1]).toBe(poseidon16(v));
    }
  }, 30_000);

  it('a mutated S-box signal (x2, x4, y) or output violates a constraint', async () => {
    const r1cs = await readR1csFile(join(dir, 'circuit.r1cs'));
    const wires = nameToWire(await buildConstraintSystem(file));
    const w = (await directWitness(file, { inputs: randomInputs() })).values;
    expect(violatedConstraints(r1cs, w)).toEqual([]);
    // First full round, a partial round (index 16 + 16 + ... : 4 * 17 - 1 = 67 is the first partial S-box), last S-box.
    for (const name of ['main.out', 'main.x2[0]', 'main.x4[0]', 'main.x2[67]', 'main.x4[100]', 'main.y[100]', 'main.y[202]']) {
      const wire = wires.get(name);
      expect(wire, name).toBeGreaterThan(0);
      for (const delta of [1n, P - 1n]) {
        const bad = [...w];
        bad[wire!] = (bad[wire!] + delta) % P;
        expect(violatedConstraints(r1cs, bad).length, name).toBeGreaterThan(0);
      }
    }
  }, 30_000);

  it('equals circomlib\'s own Poseidon(16) template on the same inputs (one circuit with both, direct backend and circom2)', async () => {
    const src = [
      'pragma circom 2.1.0;',
      'include "circomlib/circuits/poseidon.circom";',
      'include "poseidon16.circom";',
      'template Both() {',
      '    signal input inputs[16];',
      '    signal output ours;',
      '    signal output theirs;',
      '    component a = Poseidon16();',
      '    component b = Poseidon(16);',
      '    for (var i = 0; i < 16; i++) {',
      '        a.inputs[i] <== inputs[i];',
      '        b.inputs[i] <== inputs[i];',
      '    }',
      '    ours <== a.out;',
      '    theirs <== b.out;',
      '}',
      'component main = Both();',
      '',
    ].join('\n');
    const both = join(ROOT, 'p16-vs-circomlib');
    const direct = join(both, 'direct', 'circuit.circom');
    const circom = join(both, 'circom', 'circuit.circom');
    for (const f of [direct, circom]) {
      await mkdir(join(f, '..'), { recursive: true });
      await writeFile(f, src);
    }
    const rd = await compileCircomDirect(direct, join(both, 'direct'));
    const rc = await compileCircuit(circom, join(both, 'circom'), 'wasm', { witness: true });
    // Ours costs 610 of the total; circomlib's the other 2092.
    expect(rd.constraints).toBe(610 + 2092);
    expect(rc.constraints).toBe(rd.constraints);
    for (const v of [...EDGE_INPUTS, ...Array.from({ length: 5 }, randomInputs)]) {
      const wd = (await directWitness(direct, { inputs: v })).values;
      // Wires 1 and 2 are main's outputs, in declaration order.
      expect([wd[1], wd[2]]).toEqual([ref(v), ref(v)]);
    }
    const v = randomInputs();
    const wc = (await computeWitness(join(both, 'circom', 'circuit_js', 'circuit.wasm'), { inputs: v })).values;
    expect([wc[1], wc[2]]).toEqual([ref(v), ref(v)]);
  }, 60_000);
});

const circuitSource = (m: number, len: number) => `pragma circom 2.1.0;\ninclude "hash.circom";\ncomponent main = ZkonnxHash(${m}, ${TAG_INPUT}, ${len});\n`;

async function writeCircuit(dir: string, m: number, len: number): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'circuit.circom');
  await writeFile(file, circuitSource(m, len));
  return file;
}

describe('ZkonnxHash in the circuit == zkonnxHash', () => {
  for (const m of [1, 13, 14, 28, 29]) {
    it(`M = ${m}: the out wire equals commitBytes, with commitmentCost(M) constraints`, async () => {
      const len = 31 * m - 3;
      const file = await writeCircuit(join(ROOT, `m${m}`), m, len);
      const report = await compileCircomDirect(file, join(ROOT, `m${m}`));
      expect(report.constraints).toBe(commitmentCost(m));
      for (const salt of [0n, randomSalt()]) {
        const bytes = randomBytes(len);
        const w = await directWitness(file, { in: packBytesForHash(bytes), salt: [salt] });
        // Wire 1 is main's only output.
        expect(w.values[1]).toBe(commitBytes(TAG_INPUT, bytes, salt));
      }
    }, 30_000);
  }

  it('M = 14: a mutated output or intermediate hash violates a constraint', async () => {
    const dir = join(ROOT, 'm14');
    const file = join(dir, 'circuit.circom');
    const r1cs = await readR1csFile(join(dir, 'circuit.r1cs'));
    const wires = nameToWire(await buildConstraintSystem(file));
    const w = (await directWitness(file, { in: packBytesForHash(randomBytes(31 * 14 - 3)), salt: [7n] })).values;
    expect(violatedConstraints(r1cs, w)).toEqual([]);
    // main.out, the chaining hash p[0].out, a first-round S-box square and a partial-round fourth power.
    const names = ['main.out', 'main.p[0].out', 'main.p[1].x2[3]', 'main.p[0].x4[90]', 'main.p[1].y[202]'];
    for (const name of names) {
      const wire = wires.get(name);
      expect(wire, name).toBeGreaterThan(0);
      const bad = [...w];
      bad[wire!] = (bad[wire!] + 1n) % P;
      expect(violatedConstraints(r1cs, bad).length, name).toBeGreaterThan(0);
    }
  }, 30_000);

  it('M = 14: the direct R1CS equals circom2 --O1, and circom\'s witness has the same output', async () => {
    const m = 14;
    const len = 31 * m - 3;
    const direct = await writeCircuit(join(ROOT, 'both', 'direct'), m, len);
    const circom = await writeCircuit(join(ROOT, 'both', 'circom'), m, len);
    const rd = await compileCircomDirect(direct, join(ROOT, 'both', 'direct'));
    const rc = await compileCircuit(circom, join(ROOT, 'both', 'circom'), 'wasm', { witness: true });
    expect(rc.constraints).toBe(commitmentCost(m));
    expect(rd.constraints).toBe(rc.constraints);
    const a = { r1cs: await readR1csFile(join(ROOT, 'both', 'direct', 'circuit.r1cs')), nameToWire: nameToWire(await buildConstraintSystem(direct)) };
    const b = { r1cs: await readR1csFile(join(ROOT, 'both', 'circom', 'circuit.r1cs')), nameToWire: await readSymbols(join(ROOT, 'both', 'circom', 'circuit.sym')) };
    const report = compareConstraintSystems(a, b);
    expect([report.onlyInA, report.onlyInB, report.unmappedB, report.publicLayout]).toEqual([[], [], [], []]);
    const bytes = randomBytes(len);
    const salt = randomSalt();
    const input = { in: packBytesForHash(bytes), salt: [salt] };
    const wd = (await directWitness(direct, input)).values;
    const wc = (await computeWitness(join(ROOT, 'both', 'circom', 'circuit_js', 'circuit.wasm'), { in: input.in, salt })).values;
    expect(wc[1]).toBe(commitBytes(TAG_INPUT, bytes, salt));
    expect(wd[1]).toBe(wc[1]);
    expect(violatedConstraints(b.r1cs, witnessForB(a, wd, b))).toEqual([]);
  }, 60_000);
});
