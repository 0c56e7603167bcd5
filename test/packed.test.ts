/**
 * The packed public-input layout (src/verify/layout.ts, circuits/pack.circom): the uint8 input enters the
 * circuit as ceil(nIn / 31) public field elements, each unpacked in-circuit into range-checked bytes.
 *
 * - UnpackBytes(N) on its own: a plain bigint spec on random, edge and invalid inputs, its exact cost
 *   (8N + 1), witness mutation, and exhaustive alternative witnesses for small N.
 * - Compiled models in both layouts: predicted == compiled constraints (the unpack line included), public
 *   signal order (outputs, then packed), witness == integer reference, witness mutation of every new signal,
 *   adversarial bytes (256 with the next byte one less; -1 with the next one more; a bit of value 2).
 * - prove + verifyBundle in the packed layout, and the verifier's rejections; the layout comes from the key.
 * - manifest / staleness, the CLI flag, and the MNIST MLP packed.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { readManifest, readQuantizedModel, type Manifest } from '../src/artifacts/manifest.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileCircuit } from '../src/compile/compile.ts';
import { compileModel } from '../src/compile/model.ts';
import { constraintsByWire, readR1csFile, readSymbols, violatedConstraints, type R1cs } from '../src/compile/r1cs.ts';
import { emitCircuit, unpackConstraints } from '../src/emit/circuit.ts';
import { FIELD_PRIME as P, toField, toFieldString } from '../src/field.ts';
import type { QuantizedModel } from '../src/ir/types.ts';
import { buildOnnxModel, mulberry32, randomMlp } from '../src/onnx/builder.ts';
import { prove, readVerificationKey } from '../src/prove/prove.ts';
import { artifactWitness, computeWitness, witnessInput } from '../src/prove/witness.ts';
import { quantizeInput } from '../src/quantize/quantize.ts';
import { runInteger } from '../src/reference/integer.ts';
import { setupKeys } from '../src/setup/setup.ts';
import { vkHash } from '../src/verify/canonical.ts';
import { PACK_BYTES, inputSignalCount, packBytes, packedSignalBytes, unpackBytes, type PublicInputLayout } from '../src/verify/layout.ts';
import type { ProofBundle, ZkonnxVerificationKey } from '../src/verify/types.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { randomInputs, TEST_ROOT } from './helpers/fixtures.ts';
import { cli } from './helpers/cli.ts';

const DIR = join(TEST_ROOT, 'packed');
const pow2 = (k: number) => 1n << BigInt(k);
const MUTATIONS = [1n, P - 1n, pow2(64)];

// ---------------------------------------------------------------------------------------------------------
// Helpers

interface Compiled {
  dir: string;
  manifest: Manifest;
  q: QuantizedModel;
  r1cs: R1cs;
  syms: Map<string, number>;
  /** wire -> first signal name */
  names: Map<number, string>;
}

async function load(dir: string): Promise<Compiled> {
  const syms = await readSymbols(artifactPath(dir, 'sym'));
  const names = new Map<number, string>();
  for (const [n, w] of syms) if (w >= 0 && !names.has(w)) names.set(w, n);
  return { dir, manifest: await readManifest(dir), q: await readQuantizedModel(dir), r1cs: await readR1csFile(artifactPath(dir, 'r1cs')), syms, names };
}

/** Compile a model file in one layout into DIR/<key> (reused when current), optionally with dev keys. */
async function compileAs(key: string, modelPath: string, calibration: Float64Array[], layout: PublicInputLayout, setup = false): Promise<Compiled> {
  const dir = join(DIR, key);
  const r = await compileModel(modelPath, { out: dir, calibration, publicInputs: layout });
  if (setup && (!r.manifest.setup || r.manifest.setup.r1csSha256 !== r.manifest.circuit.r1csSha256)) await setupKeys(dir);
  return load(dir);
}

const wireOf = (c: { syms: Map<string, number> }, name: string) => {
  const w = c.syms.get(name);
  if (w === undefined || w < 0) throw new Error(`no wire for ${name}`);
  return w;
};

async function witness(c: { dir: string }, x: readonly number[]): Promise<bigint[]> {
  return (await artifactWitness(c.dir, witnessInput('packed', x))).values;
}

/** The witness, or null when witness generation fails (a constraint check in the generated code). */
async function tryWitness(wasm: string, input: Record<string, bigint | bigint[]>): Promise<bigint[] | null> {
  const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    return (await computeWitness(wasm, input)).values;
  } catch {
    return null;
  } finally {
    quiet.mockRestore();
  }
}

/** Random uint8 inputs, plus the extremes (all 0, all 255, alternating). */
function uint8Inputs(n: number, size: number, seed: number): number[][] {
  const rnd = mulberry32(seed);
  const xs = [new Array(size).fill(0), new Array(size).fill(255), Array.from({ length: size }, (_, i) => (i % 2 ? 255 : 0))];
  for (let i = 0; i < n; i++) xs.push(Array.from({ length: size }, () => Math.floor(rnd() * 256)));
  return xs;
}

/** The wires of packed signal j's unpacking: the public signal, its bytes (main.in[...]) and their 7 bits each. */
function unpackWires(c: Compiled, j: number): { packed: number; bytes: number[]; bits: number[][] } {
  const n = packedSignalBytes(c.q.input.shape.reduce((a, b) => a * b, 1))[j];
  const byteWire = (i: number) => {
    const w = c.syms.get(`main.in[${j * PACK_BYTES + i}]`)!;
    // A packed signal of one byte IS that byte: --O1 merged the byte into the public signal.
    return w >= 0 ? w : wireOf(c, `main.packed[${j}]`);
  };
  return {
    packed: wireOf(c, `main.packed[${j}]`),
    bytes: Array.from({ length: n }, (_, i) => byteWire(i)),
    bits: Array.from({ length: n }, (_, i) => Array.from({ length: 7 }, (_, k) => wireOf(c, `main.unpack${j}.bits[${i}][${k}]`))),
  };
}

/** Rows that involve only the given wires (and the constant): the unpacking gadget's own rows. */
function rowsWithin(r1cs: R1cs, wires: Iterable<number>): number[] {
  const allowed = new Set([0, ...wires]);
  const rows: number[] = [];
  r1cs.constraints.forEach((c, i) => {
    if (c.every((lc) => [...lc.keys()].every((k) => allowed.has(k)))) rows.push(i);
  });
  return rows;
}

// ---------------------------------------------------------------------------------------------------------
// Fixtures: a 40-input MLP (packed signals of 31 + 9 bytes) in both layouts; a 32-input MLP (31 + 1: the
// single-byte signal --O1 merges); a Flatten-only model whose outputs are the input bytes.

const M40 = { sizes: [40, 8, 4], seed: 21, style: 'gemm-transB' as const };
let plain40: Compiled;
let packed40: Compiled;
let packed32: Compiled;
let flat32: Compiled;
let cal40: Float64Array[];
let m40Path: string;

beforeAll(async () => {
  await mkdir(DIR, { recursive: true });
  m40Path = join(DIR, 'm40.onnx');
  await writeFile(m40Path, randomMlp(M40).bytes);
  cal40 = randomInputs(40, 32, 1021);
  const m32Path = join(DIR, 'm32.onnx');
  await writeFile(m32Path, randomMlp({ sizes: [32, 5, 3], seed: 22, style: 'matmul-add' }).bytes);
  const flatPath = join(DIR, 'flat32.onnx');
  await writeFile(flatPath, buildOnnxModel({
    inputs: [{ name: 'x', shape: [1, 2, 16] }], outputs: [{ name: 'y', shape: [1, 32] }],
    nodes: [{ op: 'Flatten', name: 'f', inputs: ['x'], outputs: ['y'] }],
  }));
  plain40 = await compileAs('m40-plain', m40Path, cal40, 'plain', true);
  packed40 = await compileAs('m40-packed', m40Path, cal40, 'packed', true);
  packed32 = await compileAs('m32-packed', m32Path, randomInputs(32, 16, 1022), 'packed');
  flat32 = await compileAs('flat32-packed', flatPath, randomInputs(32, 4, 1023, 0, 1), 'packed');
});

// ---------------------------------------------------------------------------------------------------------
// The gadget on its own

/** The spec: the N little-endian bytes of `packed`, or null when it does not fit in N bytes. */
function unpackSpec(packed: bigint, N: number): bigint[] | null {
  if (packed < 0n || packed >= pow2(8 * N)) return null;
  return Array.from({ length: N }, (_, i) => (packed >> BigInt(8 * i)) & 255n);
}

interface Gadget {
  N: number;
  wasm: string;
  r1cs: R1cs;
  syms: Map<string, number>;
  constraints: number;
}

const gadgets = new Map<number, Promise<Gadget>>();
function gadget(N: number): Promise<Gadget> {
  let g = gadgets.get(N);
  if (!g) {
    g = (async () => {
      const dir = join(DIR, `gadget-${N}`);
      await mkdir(dir, { recursive: true });
      // `packed` a public input and `out` public outputs of main: no binding rows, the count is the gadget's.
      await writeFile(join(dir, 'circuit.circom'), `pragma circom 2.1.0;\ninclude "pack.circom";\ncomponent main {public [packed]} = UnpackBytes(${N});\n`);
      const rep = await compileCircuit(join(dir, 'circuit.circom'), dir, 'wasm');
      return { N, wasm: join(dir, 'circuit_js', 'circuit.wasm'), r1cs: await readR1csFile(join(dir, 'circuit.r1cs')), syms: await readSymbols(join(dir, 'circuit.sym')), constraints: rep.constraints };
    })();
    gadgets.set(N, g);
  }
  return g;
}

/** The witness UnpackBytes(N) has for `packed` and chosen byte values, each byte's bits its low 7 bits. */
function gadgetWitness(g: Gadget, packed: bigint, bytes: readonly bigint[]): bigint[] {
  const w = new Array<bigint>(g.r1cs.nWires).fill(0n);
  w[0] = 1n;
  w[wireOf(g, 'main.packed')] = packed;
  bytes.forEach((b, i) => {
    w[wireOf(g, `main.out[${i}]`)] = toField(b);
    for (let k = 0; k < 7; k++) w[wireOf(g, `main.bits[${i}][${k}]`)] = (((b % 256n) + 256n) % 256n >> BigInt(k)) & 1n;
  });
  return w;
}

describe('UnpackBytes(N) (circuits/pack.circom)', () => {
  for (const N of [1, 2, 31]) {
    it(`UnpackBytes(${N}): spec on random and edge inputs, 8N + 1 = ${8 * N + 1} constraints, mutations`, async () => {
      const g = await gadget(N);
      // TOTAL: 8 booleanity rows per byte (7 bit signals, the top bit implied) + 1 recomposition = 8N + 1.
      expect(g.constraints).toBe(8 * N + 1);
      expect(g.r1cs.nPubInputs).toBe(1);
      expect(g.r1cs.nOutputs).toBe(N);
      // Wires: 1, N outputs, packed, 7N bits: nothing else.
      expect(g.r1cs.nWires).toBe(2 + 8 * N);
      const rnd = mulberry32(500 + N);
      const rand = (bytes: number) => Array.from({ length: bytes }, () => BigInt(Math.floor(rnd() * 256))).reduce((a, b, i) => a + (b << BigInt(8 * i)), 0n);
      const values = [0n, 1n, 255n, pow2(8 * N) - 1n, pow2(8 * N - 1), pow2(8 * N - 1) - 1n, ...Array.from({ length: 30 }, () => rand(N))];
      // Bytes of 0 and 255 at every position.
      for (let i = 0; i < N; i++) values.push(255n << BigInt(8 * i), (pow2(8 * N) - 1n) ^ (255n << BigInt(8 * i)));
      let mutations = 0;
      for (const [t, v] of values.entries()) {
        const w = (await tryWitness(g.wasm, { packed: v }))!;
        expect(w, `packed=${v}`).not.toBeNull();
        const spec = unpackSpec(v, N)!;
        expect(Array.from({ length: N }, (_, i) => w[wireOf(g, `main.out[${i}]`)])).toEqual(spec);
        expect(w).toEqual(gadgetWitness(g, v, spec));
        expect(violatedConstraints(g.r1cs, w)).toEqual([]);
        if (t < 8) {
          // Every wire but the constant, the public input included (it is used), by +1, -1 and +2^64.
          for (let wire = 1; wire < g.r1cs.nWires; wire++) {
            for (const d of MUTATIONS) {
              const m = [...w];
              m[wire] = (m[wire] + d) % P;
              expect(violatedConstraints(g.r1cs, m).length, `packed=${v} wire ${wire} + ${d}`).toBeGreaterThan(0);
              mutations++;
            }
          }
        }
      }
      expect(mutations).toBe(8 * 3 * (1 + 8 * N));
    });

    it(`UnpackBytes(${N}): a packed value >= 2^${8 * N} (or negative) has no witness`, async () => {
      const g = await gadget(N);
      const invalid = [pow2(8 * N), pow2(8 * N) + 1n, pow2(8 * N + 1), pow2(248), pow2(253), P - 1n, P - pow2(8 * N), P - 256n];
      for (const v of invalid) {
        expect(unpackSpec(v, N)).toBeNull();
        expect(await tryWitness(g.wasm, { packed: v }), `packed=${v}`).toBeNull();
        // The low bytes of v (what the witness generator computes), with honest bits: the recomposition fails.
        const low = unpackSpec(v % pow2(8 * N), N)!;
        expect(violatedConstraints(g.r1cs, gadgetWitness(g, v, low)).length).toBeGreaterThan(0);
        // The field-wrapped decomposition: byte 0 = v - (the rest), which is >= 256 or negative: for every one
        // of the 128 choices of its 7 bits, a range row fails (the recomposition holds).
        const wrapped = [v - (v % pow2(8 * N)) + low[0], ...low.slice(1)];
        for (let bits = 0n; bits < 128n; bits++) {
          const w = gadgetWitness(g, v, wrapped);
          for (let k = 0; k < 7; k++) w[wireOf(g, `main.bits[0][${k}]`)] = (bits >> BigInt(k)) & 1n;
          const bad = violatedConstraints(g.r1cs, w);
          expect(bad.length, `packed=${v} bits=${bits}`).toBeGreaterThan(0);
        }
      }
    });
  }

  it('exhaustive for N = 1 and 2: of all byte values (0..255 each, honest bits), exactly the spec satisfies the R1CS', async () => {
    const g1 = await gadget(1);
    for (const v of [0n, 7n, 128n, 255n, 256n, 1000n, P - 1n]) {
      const ok: bigint[] = [];
      for (let b = 0n; b < 256n; b++) if (violatedConstraints(g1.r1cs, gadgetWitness(g1, v, [b])).length === 0) ok.push(b);
      expect(ok, `packed=${v}`).toEqual(unpackSpec(v, 1) ?? []);
    }
    const g2 = await gadget(2);
    for (const v of [0x1234n, 0xff00n, pow2(16), P - 1n]) {
      const ok: bigint[][] = [];
      for (let a = 0n; a < 256n; a++) for (let b = 0n; b < 256n; b++) if (violatedConstraints(g2.r1cs, gadgetWitness(g2, v, [a, b])).length === 0) ok.push([a, b]);
      expect(ok, `packed=${v}`).toEqual(unpackSpec(v, 2) ? [unpackSpec(v, 2)] : []);
    }
  });

  it('the library spec: packBytes / unpackBytes round-trip and refuse what the circuit refuses', () => {
    const rnd = mulberry32(7);
    for (const n of [1, 2, 30, 31, 32, 62, 63, 784]) {
      const x = Array.from({ length: n }, () => Math.floor(rnd() * 256));
      const s = packBytes(x);
      expect(s).toHaveLength(inputSignalCount('packed', n));
      expect(unpackBytes(s, n)).toEqual(x);
      s.forEach((v, j) => expect(v).toBe(unpackSpec(v, packedSignalBytes(n)[j])!.reduce((a, b, i) => a + (b << BigInt(8 * i)), 0n)));
      const wide = [...s];
      wide[wide.length - 1] += pow2(8 * packedSignalBytes(n)[wide.length - 1]);
      expect(unpackBytes(wide, n)).toBeNull();
    }
    expect(() => packBytes([256])).toThrow(RangeError);
    expect(() => packBytes([-1])).toThrow(RangeError);
    expect(() => packBytes([1.5])).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Compiled models

describe('compiled circuits in the packed layout', () => {
  it('the unpack cost: 8 * nIn + ceil(nIn / 31) - (1 if nIn % 31 == 1)', () => {
    for (let n = 1; n <= 300; n++) expect(unpackConstraints(n), `n=${n}`).toBe(8 * n + Math.ceil(n / 31) - (n % 31 === 1 ? 1 : 0));
    expect(unpackConstraints(784)).toBe(6298);
  });

  it('predicted == compiled constraints, with the unpacking as its own line; plain + unpack == packed', async () => {
    // TOTAL (40 inputs: 31 + 9 bytes): plain + 8 * 40 + 2 = plain + 322.
    expect(packed40.manifest.circuit.constraints).toBe(plain40.manifest.circuit.constraints + 322);
    for (const c of [plain40, packed40, packed32, flat32]) {
      expect(c.manifest.circuit.predictedConstraints, c.dir).toBe(c.manifest.circuit.constraints);
      expect(emitCircuit(c.q, { publicInputs: c.manifest.circuit.publicInputLayout }).constraints, c.dir).toBe(c.manifest.circuit.constraints);
    }
    const e = emitCircuit(packed40.q, { publicInputs: 'packed' });
    expect(e.layers[0]).toMatchObject({ index: -1, name: 'input-unpack', kind: 'unpack', inShape: [2], outShape: [1, 40], constraints: 322 });
    expect(e.layers[0].formula).toMatch(/8 per input byte/);
    expect(e.inputConstraints).toBe(322);
    expect(e.publicInputLayout).toBe('packed');
    // The model's own lines are the plain circuit's.
    const p = emitCircuit(plain40.q);
    expect(p.inputConstraints).toBe(0);
    expect(e.layers.slice(1)).toEqual(p.layers);
    expect(e.outputConstraints).toBe(p.outputConstraints);
    // 32 inputs: 31 + 1 bytes; the single byte IS its packed signal (--O1 merges them): 8 * 32 + 1.
    expect(emitCircuit(packed32.q, { publicInputs: 'packed' }).inputConstraints).toBe(257);
    // Flatten only: outputs 0..30 merge with their bytes (0 each); output 31 is the public packed[1] (1).
    const f = emitCircuit(flat32.q, { publicInputs: 'packed' });
    expect(f.outputConstraints).toBe(1);
    expect(flat32.manifest.circuit.constraints).toBe(257 + 1);
    expect(emitCircuit(flat32.q).outputConstraints).toBe(32);
  });

  it('manifest and r1cs: outputs first, then the packed signals; the model input is private', async () => {
    expect(packed40.manifest.circuit.publicInputLayout).toBe('packed');
    expect(plain40.manifest.circuit.publicInputLayout).toBe('plain');
    expect(packed40.manifest.circuit.publicSignals).toBe(4 + 2);
    expect(packed40.manifest.circuit.publicInputs).toBe(2);
    expect(plain40.manifest.circuit.publicSignals).toBe(4 + 40);
    expect(packed40.r1cs.nOutputs).toBe(4);
    expect(packed40.r1cs.nPubInputs).toBe(2);
    expect(packed40.r1cs.nPrvInputs).toBe(0);
    for (let k = 0; k < 4; k++) expect(wireOf(packed40, `main.out[${k}]`)).toBe(1 + k);
    for (let j = 0; j < 2; j++) expect(wireOf(packed40, `main.packed[${j}]`)).toBe(1 + 4 + j);
    // Every public signal is used by a constraint.
    const byWire = constraintsByWire(packed40.r1cs);
    for (let w = 1; w <= 6; w++) expect(byWire[w].length, `wire ${w}`).toBeGreaterThan(0);
    expect(readFileSync(artifactPath(packed40.dir, 'circom'), 'utf8')).toMatch(/component main \{public \[packed\]\} = Main\(\);/);
  });

  it('witness == integer reference (and == the plain circuit), public part == outputs then packBytes(input)', async () => {
    for (const x of uint8Inputs(20, 40, 31)) {
      const w = await witness(packed40, x);
      const expected = runInteger(packed40.q, x).map((v) => toField(v));
      expect(w.slice(1, 5)).toEqual(expected);
      expect(w.slice(5, 7)).toEqual(packBytes(x));
      for (let i = 0; i < 40; i++) expect(w[wireOf(packed40, `main.in[${i}]`)]).toBe(BigInt(x[i]));
      const wp = (await artifactWitness(plain40.dir, witnessInput('plain', x))).values;
      expect(wp.slice(1, 5)).toEqual(expected);
    }
    for (const x of uint8Inputs(5, 32, 32)) {
      expect((await witness(packed32, x)).slice(1, 4)).toEqual(runInteger(packed32.q, x).map((v) => toField(v)));
      expect((await witness(flat32, x)).slice(1, 33)).toEqual(x.map(BigInt));
    }
  });

  it('the witness generator refuses a packed signal wider than its bytes', async () => {
    const x = uint8Inputs(1, 40, 33)[3];
    const [s0, s1] = packBytes(x);
    for (const bad of [[s0 + pow2(248), s1], [s0, s1 + pow2(72)], [P - 1n, s1]]) {
      const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
      await expect(artifactWitness(packed40.dir, { packed: bad })).rejects.toThrow(/constraint not satisfied|assert|out of range/);
      quiet.mockRestore();
    }
  });
});

describe('witness mutation on the new signals (soundness)', () => {
  it('changing one bit, byte or packed public signal (+1, -1, +2^64) breaks a constraint', async () => {
    let n = 0;
    for (const c of [packed40, packed32]) {
      const nIn = c.q.input.shape.reduce((a, b) => a * b, 1);
      const byWire = constraintsByWire(c.r1cs);
      const wires = new Set<number>();
      for (let j = 0; j < inputSignalCount('packed', nIn); j++) {
        const u = unpackWires(c, j);
        [u.packed, ...u.bytes, ...u.bits.flat()].forEach((w) => wires.add(w));
      }
      // packed + bytes + 7 bits per byte (a single-byte signal shares its byte's wire).
      expect(wires.size).toBe(inputSignalCount('packed', nIn) + 8 * nIn - (nIn % PACK_BYTES === 1 ? 1 : 0));
      for (const x of uint8Inputs(2, nIn, 34)) {
        const w = await witness(c, x);
        expect(violatedConstraints(c.r1cs, w)).toEqual([]);
        for (const wire of wires) {
          for (const d of MUTATIONS) {
            const m = [...w];
            m[wire] = (m[wire] + d) % P;
            if (violatedConstraints(c.r1cs, m, byWire[wire]).length === 0) throw new Error(`${c.dir}: mutating ${c.names.get(wire)} by ${d} satisfies every constraint`);
            n++;
          }
        }
      }
    }
    expect(n).toBeGreaterThan(3000);
  });

  it('a byte of 256 (or -1) with the next byte one less (more), packed sum unchanged, fails the range rows for all 128 bit choices', async () => {
    const c = packed40;
    const x = uint8Inputs(1, 40, 35)[3].map((v) => Math.min(254, Math.max(1, v))); // room for +-1 everywhere
    const w = await witness(c, x);
    let tried = 0;
    // Positions: inside the first signal, its last pair, inside the second.
    for (const i of [0, 7, 29, 31, 38]) {
      const j = Math.floor(i / PACK_BYTES);
      const k = i % PACK_BYTES;
      const u = unpackWires(c, j);
      const rows = rowsWithin(c.r1cs, [u.packed, ...u.bytes, ...u.bits.flat()]);
      expect(rows).toHaveLength(8 * packedSignalBytes(40)[j] + 1);
      const recomposition = rows.filter((r) => c.r1cs.constraints[r].some((lc) => lc.has(u.packed)));
      expect(recomposition).toHaveLength(1);
      for (const [delta, carry] of [[256n, -1n], [-256n, 1n]] as const) {
        // byte k + 256 and byte k+1 - 1 (or byte k - 256, i.e. negative, and byte k+1 + 1): the same packed value.
        const m = [...w];
        const lo = BigInt(x[i]) + delta;
        const hi = BigInt(x[i + 1]) + carry;
        m[u.bytes[k]] = toField(lo);
        m[u.bytes[k + 1]] = hi;
        for (let b = 0; b < 7; b++) m[u.bits[k + 1][b]] = (hi >> BigInt(b)) & 1n;
        for (let bits = 0n; bits < 128n; bits++) {
          for (let b = 0; b < 7; b++) m[u.bits[k][b]] = (bits >> BigInt(b)) & 1n;
          expect(violatedConstraints(c.r1cs, m, recomposition), `i=${i}`).toEqual([]);
          expect(violatedConstraints(c.r1cs, m, rows).length, `i=${i} delta=${delta} bits=${bits}`).toBeGreaterThan(0);
          tried++;
        }
      }
    }
    expect(tried).toBe(5 * 2 * 128);
  });

  it('a bit of value 2 in place of two 1s one position up (byte, packed and every other signal unchanged) is rejected by its booleanity row alone', async () => {
    const c = packed40;
    const rows = new Set<number>();
    let tried = 0;
    let topBit = 0;
    for (const xs of uint8Inputs(4, 40, 36).slice(3)) {
      const w = await witness(c, xs);
      for (let i = 0; i < 40; i++) {
        const u = unpackWires(c, Math.floor(i / PACK_BYTES));
        const k = i % PACK_BYTES;
        const v = xs[i];
        // bit b = 1 and bit b-1 = 0 (b = 7 is the implied top bit): the same sum with bit b-1 = 2, bit b = 0.
        for (let b = 1; b <= 7; b++) {
          if (((v >> b) & 1) !== 1 || ((v >> (b - 1)) & 1) !== 0) continue;
          const m = [...w];
          m[u.bits[k][b - 1]] = 2n;
          if (b < 7) m[u.bits[k][b]] = 0n;
          const bad = violatedConstraints(c.r1cs, m);
          expect(bad, `byte ${i} = ${v}, bit ${b - 1} = 2`).toHaveLength(1);
          // The row involves that bit wire only: its booleanity.
          expect(c.r1cs.constraints[bad[0]].every((lc) => [...lc.keys()].every((key) => key === 0 || key === u.bits[k][b - 1]))).toBe(true);
          rows.add(bad[0]);
          tried++;
          if (b === 7) topBit++;
        }
      }
    }
    expect(tried).toBeGreaterThan(100);
    expect(rows.size).toBeGreaterThan(50);
    // Including b = 7: 128 written as bit 6 = 2 with the implied top bit 0 (the top-bit row then holds).
    expect(topBit).toBeGreaterThan(5);
  });
});

// ---------------------------------------------------------------------------------------------------------
// prove and verify

describe('prove and verify in the packed layout', () => {
  let vk: ZkonnxVerificationKey;
  let bundle: ProofBundle;
  let vkPlain: ZkonnxVerificationKey;
  let bundlePlain: ProofBundle;
  const clone = <T>(v: T): T => structuredClone(v);
  const nOut = 4;

  beforeAll(async () => {
    vk = await readVerificationKey(artifactPath(packed40.dir, 'vk'));
    vkPlain = await readVerificationKey(artifactPath(plain40.dir, 'vk'));
    const x = randomInputs(40, 1, 4040)[0];
    bundle = (await prove(packed40.dir, x)).bundle;
    bundlePlain = (await prove(plain40.dir, x)).bundle;
  });

  async function expectRejected(b: ProofBundle, key: ZkonnxVerificationKey, reason: RegExp) {
    const r = await verifyBundle(b, key);
    expect(r.reason).toMatch(reason);
    expect(r.valid).toBe(false);
  }

  it('an honest packed bundle verifies; outputs then packed signals; the key and bundle state the layout', async () => {
    expect(vk.nPublic).toBe(nOut + 2);
    expect(vk.zkonnx.publicInputs).toEqual({ layout: 'packed', signals: 2 });
    expect(vkPlain.zkonnx.publicInputs).toEqual({ layout: 'plain', signals: 40 });
    expect(bundle.circuit.publicInputs).toEqual({ layout: 'packed', signals: 2 });
    expect(bundlePlain.circuit.publicInputs).toEqual({ layout: 'plain', signals: 40 });
    expect(bundle.input.quantized!).toHaveLength(40);
    expect(bundle.publicSignals).toEqual([...bundle.output.quantized.map((s) => toFieldString(BigInt(s))), ...packBytes(bundle.input.quantized!).map(String)]);
    // Same input, same model: the same claims in both layouts.
    expect(bundle.input.quantized!).toEqual(bundlePlain.input.quantized!);
    expect(bundle.output).toEqual(bundlePlain.output);
    for (const [b, key] of [[bundle, vk], [bundlePlain, vkPlain]] as const) {
      const r = await verifyBundle(JSON.parse(JSON.stringify(b)), key);
      expect(r).toMatchObject({ valid: true, reason: 'ok', output: b.output.values });
    }
    // A bundle without the (informative) statement, as older provers wrote, still verifies.
    const old = clone(bundle);
    delete old.circuit.publicInputs;
    expect((await verifyBundle(old, vk)).valid).toBe(true);
  });

  it('a tampered input claim (still uint8) differs from the packed signal', async () => {
    for (const i of [0, 30, 31, 39]) {
      const b = clone(bundle);
      b.input.quantized![i] = (b.input.quantized![i] + 1) % 256;
      const j = Math.floor(i / 31);
      await expectRejected(b, vk, new RegExp(`^bundle input ${31 * j}\\.\\.${j === 0 ? 30 : 39}, packed, differs from public signal ${nOut + j}`));
    }
  });

  it('a claimed input that is not a uint8 is refused', async () => {
    for (const v of [256, -1, 1.5, '7', null]) {
      const b = clone(bundle);
      (b.input.quantized! as unknown[])[3] = v;
      await expectRejected(b, vk, /^bundle input 3 \(.*\) is not a uint8/);
    }
  });

  it('a tampered packed signal: alone it fails the claim check; with the claim it fails the pairing', async () => {
    const alone = clone(bundle);
    alone.publicSignals[nOut] = (BigInt(alone.publicSignals[nOut]) ^ 1n).toString();
    await expectRejected(alone, vk, new RegExp(`differs from public signal ${nOut} `));
    const both = clone(bundle);
    both.input.quantized![0] ^= 1;
    both.publicSignals[nOut] = packBytes(both.input.quantized!)[0].toString();
    await expectRejected(both, vk, /^pairing check failed/);
    const second = clone(bundle);
    second.input.quantized![35] ^= 128;
    second.publicSignals[nOut + 1] = packBytes(second.input.quantized!)[1].toString();
    await expectRejected(second, vk, /^pairing check failed/);
  });

  it('a packed signal >= 2^(8 * bytes) is refused with its own reason, before the pairing', async () => {
    const cases: [number, bigint][] = [
      [0, pow2(248)],
      [0, BigInt(bundle.publicSignals[nOut]) + pow2(248)],
      [1, pow2(72)],
      [1, BigInt(bundle.publicSignals[nOut + 1]) + pow2(72)],
      [1, P - 1n],
    ];
    for (const [j, v] of cases) {
      const b = clone(bundle);
      b.publicSignals[nOut + j] = v.toString();
      await expectRejected(b, vk, new RegExp(`^public signal ${nOut + j} \\(packed input ${j}\\) is ${v}, not ${j === 0 ? 31 : 9} packed bytes`));
    }
  });

  it('the layout comes from the key: a bundle stating another one, or another signal count, is refused', async () => {
    const claims: unknown[] = [{ layout: 'plain', signals: 40 }, { layout: 'plain', signals: 2 }, { layout: 'packed', signals: 3 }, { layout: 'other', signals: 2 }, null, 'packed'];
    for (const claim of claims) {
      const b = clone(bundle);
      (b.circuit as Record<string, unknown>).publicInputs = claim;
      await expectRejected(b, vk, /^bundle says its public inputs are .* but the verification key's are 'packed' \(2 signals\)/);
    }
    const p = clone(bundlePlain);
    p.circuit.publicInputs = { layout: 'packed', signals: 2 };
    await expectRejected(p, vkPlain, /^bundle says its public inputs are "packed" \(2 signals\) but the verification key's are 'plain' \(40 signals\)/);
  });

  it('a key whose layout statement is removed or changed (bundle re-pinned to it) is inconsistent', async () => {
    const edits: [(k: ZkonnxVerificationKey) => void, RegExp][] = [
      // Absent means plain: 4 + 40 public signals expected, the key has 4 + 2.
      [(k) => void delete k.zkonnx.publicInputs, /^verification key is inconsistent with its zkonnx section/],
      [(k) => void (k.zkonnx.publicInputs = { layout: 'plain', signals: 40 }), /^verification key is inconsistent/],
      [(k) => void (k.zkonnx.publicInputs = { layout: 'packed', signals: 3 }), /^verification key is inconsistent/],
      [(k) => void (k.zkonnx.publicInputs = { layout: 'zip' as PublicInputLayout, signals: 2 }), /^verification key names an unknown public-input layout 'zip'/],
    ];
    for (const [edit, reason] of edits) {
      const k = clone(vk);
      edit(k);
      const b = clone(bundle);
      b.vkSha256 = await vkHash(k);
      delete b.circuit.publicInputs;
      await expectRejected(b, k, reason);
    }
    // A plain key without the statement (as made before layouts existed) still verifies its bundles.
    const k = clone(vkPlain);
    delete k.zkonnx.publicInputs;
    const b = clone(bundlePlain);
    b.vkSha256 = await vkHash(k);
    delete b.circuit.publicInputs;
    // Re-pinning changes nothing the pairing sees: valid.
    expect((await verifyBundle(b, k)).valid).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Manifest, staleness, CLI

describe('the layout in the manifest and the artifact cache', () => {
  it('a different layout recompiles (and drops the keys); the same layout is reused', async () => {
    const dir = join(DIR, 'switch');
    const a = await compileModel(m40Path, { out: dir, calibration: cal40, publicInputs: 'plain' });
    expect(a.manifest.circuit.publicInputLayout).toBe('plain');
    await setupKeys(dir);
    const b = await compileModel(m40Path, { out: dir, calibration: cal40, publicInputs: 'packed' });
    expect(b.compiled).toBe(true);
    expect(b.manifest.circuit.publicInputLayout).toBe('packed');
    expect(b.manifest.circuit.publicSignals).toBe(6);
    expect(b.manifest.setup).toBeUndefined();
    const c = await compileModel(m40Path, { out: dir, calibration: cal40, publicInputs: 'packed' });
    expect(c.compiled).toBe(false);
    // A manifest without the field (written before layouts existed) reads as plain: not current for packed.
    const m = JSON.parse(await readFile(artifactPath(dir, 'manifest'), 'utf8'));
    delete m.circuit.publicInputLayout;
    await writeFile(artifactPath(dir, 'manifest'), JSON.stringify(m));
    expect((await compileModel(m40Path, { out: dir, calibration: cal40, publicInputs: 'packed' })).compiled).toBe(true);
  });

  it('an unknown layout is refused by the library', async () => {
    await expect(compileModel(m40Path, { out: join(DIR, 'never'), calibration: cal40, publicInputs: 'zip' as PublicInputLayout })).rejects.toThrow(/Unknown public-input layout 'zip'/);
    expect(() => emitCircuit(packed40.q, { publicInputs: 'zip' as PublicInputLayout })).toThrow(/unknown public-input layout/);
  });
});

describe('zkonnx --public-inputs', () => {
  it('compile --public-inputs packed --json reports the layout; inspect shows the unpack line; run proves and verifies', async () => {
    const cal = join(DIR, 'cal40.json');
    const input = join(DIR, 'input40.json');
    await writeFile(cal, JSON.stringify(cal40.map((x) => Array.from(x))));
    await writeFile(input, JSON.stringify(Array.from(randomInputs(40, 1, 77)[0])));
    const out = join(DIR, 'cli');
    const c = await cli('compile', m40Path, '--calibration', cal, '--out', out, '--public-inputs', 'packed', '--json');
    expect(c.code, c.stderr).toBe(0);
    const j = JSON.parse(c.stdout);
    expect(j).toMatchObject({ publicInputLayout: 'packed', publicSignals: 6, constraints: packed40.manifest.circuit.constraints, predictedConstraints: packed40.manifest.circuit.constraints });
    const [ins, insJson, plainDefault] = await Promise.all([
      cli('inspect', out),
      cli('inspect', out, '--json'),
      cli('inspect', m40Path, '--calibration', cal, '--json'),
    ]);
    expect(ins.code, ins.stderr).toBe(0);
    expect(ins.stdout).toMatch(/^input-unpack\s+unpack\s+\[2\] -> \[1,40\]\s+40 x 8\s+322$/m);
    expect(ins.stdout).toMatch(/^publicInputLayout: packed$/m);
    const ij = JSON.parse(insJson.stdout);
    expect(ij.totalConstraints).toBe(packed40.manifest.circuit.constraints);
    expect(ij.unpackCost).toMatch(/8 per input byte/);
    expect(JSON.parse(plainDefault.stdout)).toMatchObject({ publicInputLayout: 'plain', totalConstraints: plain40.manifest.circuit.constraints });
    const r = await cli('run', m40Path, '--input', input, '--calibration', cal, '--dir', out, '--public-inputs', 'packed', '--json', '--quiet');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ valid: true, publicInputLayout: 'packed' });
  });

  it('a bad --public-inputs value is a usage error (exit 2), for compile and run', async () => {
    const [c, r] = await Promise.all([
      cli('compile', m40Path, '--input', 'x.json', '--public-inputs', 'zip', '--json'),
      cli('run', m40Path, '--input', 'x.json', '--public-inputs', 'zip'),
    ]);
    for (const x of [c, r]) {
      expect(x.code, x.stderr).toBe(2);
      expect(x.stderr).toMatch(/public-inputs/);
      expect(x.stderr).toMatch(/zip/);
      expect(x.stderr).not.toMatch(/^\s+at /m);
    }
    expect(JSON.parse(c.stdout).error.code).toBe('USAGE');
  });
});

// ---------------------------------------------------------------------------------------------------------
// The MNIST MLP

describe('MNIST 784-56-10 MLP, packed', () => {
  it('36 public signals instead of 794; constraints = plain + 6,298 (8 * 784 + 26), as predicted; witness == reference', async () => {
    const cal = (JSON.parse(readFileSync('examples/mnist-mlp/calibration.json', 'utf8')) as { input: number[] }[]).map((s) => Float64Array.from(s.input));
    const t0 = performance.now();
    const r = await compileModel('examples/mnist-mlp/model.onnx', { out: join(TEST_ROOT, 'mnist-mlp-packed'), calibration: cal, publicInputs: 'packed' });
    const seconds = (performance.now() - t0) / 1000;
    const q = await readQuantizedModel(r.dir);
    const plain = emitCircuit(q).constraints;
    const m = r.manifest.circuit;
    expect(m.publicSignals).toBe(10 + 26);
    expect(m.constraints).toBe(m.predictedConstraints);
    expect(m.constraints).toBe(plain + 6298);
    console.log(`MNIST MLP packed: ${m.constraints} constraints (plain ${plain}), ${m.publicSignals} public signals (plain 794), ${m.wires} wires, compiled in ${seconds.toFixed(1)} s`);
    const { input } = JSON.parse(readFileSync('examples/mnist-mlp/digit-3.json', 'utf8'));
    const x = quantizeInput(q.input.quant, input);
    const w = (await artifactWitness(r.dir, witnessInput('packed', x))).values;
    expect(w.slice(1, 11)).toEqual(runInteger(q, x).map((v) => toField(v)));
    expect(w.slice(11, 37)).toEqual(packBytes(x));
  });
});
