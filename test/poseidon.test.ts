/**
 * The zkonnx hash (src/verify/commitment.ts, circuits/hash.circom) and its Poseidon (src/verify/poseidon.ts):
 *   - poseidon16 == circomlibjs' poseidon on random and edge inputs;
 *   - zkonnxHash / commitBytes == the definition re-implemented on circomlibjs' poseidon;
 *   - tag, length and salt separate commitments;
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
    expect([1, 13, 14, 28, 29, 43, 44].map(commitmentCost)).toEqual([2092, 2092, 4184, 4184, 6276, 6276, 8368]);
    expect(COMMITMENT_COST_FORMULA).toMatch(/2092 constraints per Poseidon\(16\)/);
  });
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
    // main.out, the chaining hash p[0].out, and a first-round S-box square.
    const names = ['main.out', 'main.p[0].out', 'main.p[1].pEx.sigmaF[0][3].in2'];
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
