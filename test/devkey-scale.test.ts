/**
 * The dev-key writer on a synthetic zkonnx-shaped circuit (scripts/scale-probe.ts's generator at 2^14: bit
 * decompositions, recompositions, long linear rows of small weights, 266 public signals), end to end through
 * snarkjs' prover and verifier; and the pieces that let it scale: the block-streaming r1cs reader, the
 * batch-affine fixed-base multiplication (checked against the Jacobian one) and the roots of unity.
 * `npx tsx scripts/scale-probe.ts 20` runs the same at 2^20 with times and peak memory.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getCurveFromName } from 'ffjavascript';
import * as snarkjs from 'snarkjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWtns } from '../src/circom/formats.ts';
import { readR1csFile, readR1csHeader, streamR1csConstraints, violatedConstraints } from '../src/compile/r1cs.ts';
import { FIELD_PRIME } from '../src/field.ts';
import { rootOfUnity, writeDevZkey } from '../src/setup/devkey.ts';
import { encodeScalars, fixedBaseMul, instantiateBn128 } from '../src/setup/fixed-base.ts';
import { checkZkey } from '../src/setup/zkey-check.ts';
import { writeSyntheticCircuit, type SyntheticCircuit } from '../scripts/scale-probe.ts';

let dir: string;
let circuit: SyntheticCircuit;
const r1csPath = () => join(dir, 'circuit.r1cs');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkonnx-devkey-scale-'));
  circuit = await writeSyntheticCircuit(r1csPath(), { power: 14, seed: 7 });
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a synthetic 2^14 circuit', () => {
  it('fills the 2^14 domain and its witness satisfies every constraint', async () => {
    // TOTAL: 2^14 - 266 public - 1 = 16117 constraints, 27 per neuron (596 neurons) + 25 padding bit checks.
    expect(circuit.nConstraints).toBe(16117);
    expect(circuit.neurons).toBe(596);
    const r1cs = await readR1csFile(r1csPath());
    expect(r1cs.constraints).toHaveLength(16117);
    expect(r1cs.nOutputs + r1cs.nPubInputs).toBe(266);
    expect(violatedConstraints(r1cs, circuit.witness)).toEqual([]);
  });

  it('streams the same constraints in blocks of any size, the file hashed on the way', async () => {
    const header = await readR1csHeader(r1csPath());
    const whole = await readFile(r1csPath());
    const collect = async (opts: { blockBytes?: number; maxConstraints?: number }) => {
      const parts: Buffer[] = [];
      const fileBytes: Buffer[] = [];
      let next = 0;
      for await (const blk of streamR1csConstraints(r1csPath(), header, { ...opts, onFileBytes: (b) => fileBytes.push(Buffer.from(b)) })) {
        expect(blk.first).toBe(next);
        expect(blk.lcAt[0]).toBe(0);
        next += blk.count;
        parts.push(Buffer.from(blk.bytes));
      }
      expect(next).toBe(header.nConstraints);
      expect(Buffer.concat(fileBytes).equals(whole)).toBe(true);
      return Buffer.concat(parts);
    };
    const section = whole.subarray(header.constraintsAt, header.constraintsAt + header.constraintsSize);
    // 4 KiB reads grow the block for the long linear rows (up to 1002 terms of 36 bytes); blocks of one
    // constraint end on every boundary.
    for (const opts of [{}, { blockBytes: 4096, maxConstraints: 7 }, { blockBytes: 40_000, maxConstraints: 1 }]) {
      expect((await collect(opts)).equals(section)).toBe(true);
    }
  });

  it('gets a dev key that snarkjs proves and verifies with; a wrong public signal fails', async () => {
    const zkey = join(dir, 'circuit.zkey');
    const info = await writeDevZkey(r1csPath(), zkey);
    expect(info).toMatchObject({ nVars: circuit.nWires, nPublic: 266, domainSize: 2 ** 14 });
    const check = await checkZkey(zkey);
    expect(check.problems).toEqual([]);
    const { proof, publicSignals } = await snarkjs.groth16.prove(zkey, { type: 'mem', data: encodeWtns(FIELD_PRIME, circuit.witness) });
    expect(publicSignals).toEqual(circuit.publicSignals);
    const vk = await snarkjs.zKey.exportVerificationKey(zkey);
    const quiet = { info() {}, warn() {}, debug() {}, error() {} };
    expect(await snarkjs.groth16.verify(vk, publicSignals, proof, quiet)).toBe(true);
    for (const i of [0, 10, 265]) {
      const wrong = [...publicSignals];
      wrong[i] = String((BigInt(wrong[i]) + 1n) % FIELD_PRIME);
      expect(await snarkjs.groth16.verify(vk, wrong, proof, quiet)).toBe(false);
    }
  });
});

describe('the setup arithmetic', () => {
  it('batch-affine fixed-base multiplication equals the Jacobian one, edge scalars included', async () => {
    const wasm = instantiateBn128();
    const edge = [0n, 1n, 2n, 255n, 256n, FIELD_PRIME - 1n, FIELD_PRIME - 2n];
    const scalars = [...edge, ...Array.from({ length: 600 }, () => BigInt(`0x${randomBytes(32).toString('hex')}`) % FIELD_PRIME)];
    for (const group of ['G1', 'G2'] as const) {
      const sc = encodeScalars(scalars);
      const affine = await fixedBaseMul(group, wasm.generator(group), sc, { method: 'affine', workers: 2 });
      const jacobian = await fixedBaseMul(group, wasm.generator(group), sc, { method: 'projective', workers: 2, window: 11 });
      expect(Buffer.from(affine).equals(Buffer.from(jacobian))).toBe(true);
      // [0]G is the identity (all zeros) and [1]G the generator.
      const size = group === 'G1' ? 64 : 128;
      expect(affine.subarray(0, size).every((b) => b === 0)).toBe(true);
      expect(Buffer.from(affine.subarray(size, 2 * size)).equals(Buffer.from(wasm.generator(group)))).toBe(true);
    }
    // Scalars >= r (not reduced) take the Jacobian path and still multiply correctly: [r + 5]G = [5]G.
    const big = new Uint8Array(64);
    big.set(encodeScalars([FIELD_PRIME + 5n].map((v) => v & ((1n << 256n) - 1n))), 0);
    big.set(encodeScalars([5n]), 32);
    const pts = await fixedBaseMul('G1', wasm.generator('G1'), big, { workers: 1 });
    expect(Buffer.from(pts.subarray(0, 64)).equals(Buffer.from(pts.subarray(64, 128)))).toBe(true);
  });

  it("computes snarkjs' roots of unity (ffjavascript's Fr.w)", async () => {
    const curve = await getCurveFromName('bn128', true);
    try {
      for (const power of [1, 10, 14, 21, 28]) expect(rootOfUnity(power)).toBe(curve.Fr.toObject(curve.Fr.w[power]));
    } finally {
      await curve.terminate();
    }
  });
});
