/**
 * The hand-written gadgets on their own: Max2 / Min2 (circuits/max.circom), ArgMax (circuits/argmax.circom)
 * and Lut256 (circuits/lut.circom). Each is compiled once in a tiny wrapper and checked against a plain bigint
 * spec on random and edge inputs, for its exact constraint count, for witness mutation of every computed wire,
 * and against adversarial alternative witnesses (other selector bit, non-maximal or wrong-tie index, another
 * table entry) and inputs outside the gadget's precondition.
 *
 * Wrappers: Max2 / Min2 / ArgMax are instantiated directly as `main` with public inputs, so the wrapper adds no
 * constraint. Lut256 needs its table as a template parameter, so it sits in a wrapper template whose bindings
 * (`l.x <== x`, `out <== l.out`) are signal-to-signal: circom --O1 removes them, the wrapper costs 0. (An
 * `x <== linear expression` binding would have been kept and cost 1.)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { describe, expect, it, vi } from 'vitest';
import { compileCircuit } from '../src/compile/compile.ts';
import { readR1csFile, readSymbols, violatedConstraints, type R1cs } from '../src/compile/r1cs.ts';
import { FIELD_PRIME as P, toField } from '../src/field.ts';
import { computeWitness } from '../src/prove/witness.ts';
import { compileCircomDirect, directWitness } from '../src/circom/index.ts';

const DIR = 'artifacts/test/gadgets2';
/** The largest integer with a positive field encoding; -HALF..HALF are the integers the field represents. */
const HALF = (P - 1n) / 2n;
const f = (v: bigint) => toField(v);
const pow2 = (k: number) => 1n << BigInt(k);

// ---------------------------------------------------------------------------------------------------------
// Deterministic randomness.
function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  /** Uniform in [0, 2^bits). */
  const bits = (k: number) => {
    let v = 0n;
    for (let i = 0; i < k; i += 16) v = (v << 16n) | BigInt(int(65536));
    return v & (pow2(k) - 1n);
  };
  /** Uniform in [lo, hi]. */
  const range = (lo: bigint, hi: bigint) => {
    const span = hi - lo + 1n;
    return lo + (bits(span.toString(2).length + 64) % span);
  };
  return { next, int, bits, range };
}

// ---------------------------------------------------------------------------------------------------------
// Compiled wrappers (compiled once, two at a time, reused across cases).
type Backend = 'circom' | 'direct';
/** Every gadget is built, counted, run and mutated with circom --O1 and with zkonnx's direct backend. */
const BACKENDS: Backend[] = ['circom', 'direct'];

interface Built {
  name: string;
  backend: Backend;
  /** circom: the witness generator (wasm); direct: the circuit source. */
  wasm: string;
  r1cs: R1cs;
  syms: Map<string, number>;
  constraints: number;
  /** wire -> signal name */
  names: Map<number, string>;
}

let active = 0;
const waiting: (() => void)[] = [];
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  while (active >= 2) await new Promise<void>((r) => waiting.push(r));
  active++;
  try {
    return await fn();
  } finally {
    active--;
    waiting.shift()?.();
  }
}

const builds = new Map<string, Promise<Built>>();
function build(backend: Backend, name: string, source: string): Promise<Built> {
  let b = builds.get(`${backend}/${name}`);
  if (!b) {
    b = limited(async () => {
      const dir = `${DIR}/${backend}/${name}`;
      await mkdir(dir, { recursive: true });
      await writeFile(`${dir}/circuit.circom`, `pragma circom 2.1.0;\n${source}\n`);
      const rep = backend === 'circom' ? await compileCircuit(`${dir}/circuit.circom`, dir, 'wasm') : await compileCircomDirect(`${dir}/circuit.circom`, dir);
      const r1cs = await readR1csFile(`${dir}/circuit.r1cs`);
      const syms = await readSymbols(`${dir}/circuit.sym`);
      const names = new Map<number, string>();
      for (const [n, wire] of syms) if (wire >= 0 && !names.has(wire)) names.set(wire, n);
      return { name, backend, wasm: backend === 'circom' ? `${dir}/circuit_js/circuit.wasm` : `${dir}/circuit.circom`, r1cs, syms, constraints: rep.constraints, names };
    });
    b.catch(() => {}); // reported by the test that awaits it
    builds.set(`${backend}/${name}`, b);
  }
  return b;
}

const wireOf = (b: Built, name: string) => {
  const w = b.syms.get(name);
  if (w === undefined || w < 0) throw new Error(`${b.name}: no wire for ${name}`);
  return w;
};

async function witness(b: Built, input: Record<string, bigint | bigint[]>): Promise<bigint[]> {
  if (b.backend === 'direct') {
    const big = Object.fromEntries(Object.entries(input).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));
    return (await directWitness(b.wasm, big)).values;
  }
  return (await computeWitness(b.wasm, input)).values;
}

/** The witness, or null when witness generation fails (an `===` or `<==` check in the generated code). */
async function tryWitness(b: Built, input: Record<string, bigint | bigint[]>): Promise<bigint[] | null> {
  const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    return await witness(b, input);
  } catch {
    return null;
  } finally {
    quiet.mockRestore();
  }
}

/** A zero witness (with the constant-one wire) to fill in by signal name. */
function blank(b: Built): bigint[] {
  const w = new Array<bigint>(b.r1cs.nWires).fill(0n);
  w[0] = 1n;
  return w;
}

const MUTATIONS = [1n, P - 1n, pow2(64)];

/**
 * Change every computed wire (everything but the constant 1 and the public inputs, outputs included) by +1,
 * -1 and +2^64: each single change must break a constraint. Returns the number of mutations tried.
 */
function expectMutationsRejected(b: Built, w: readonly bigint[], label: string): number {
  expect(violatedConstraints(b.r1cs, w), `${label}: honest witness`).toEqual([]);
  const pubIn0 = 1 + b.r1cs.nOutputs;
  const pubIn1 = pubIn0 + b.r1cs.nPubInputs;
  let n = 0;
  for (let wire = 1; wire < b.r1cs.nWires; wire++) {
    if (wire >= pubIn0 && wire < pubIn1) continue;
    for (const d of MUTATIONS) {
      const m = [...w];
      m[wire] = (m[wire] + d) % P;
      expect(violatedConstraints(b.r1cs, m).length, `${label}: ${b.names.get(wire) ?? wire} + ${d}`).toBeGreaterThan(0);
      n++;
    }
  }
  return n;
}

/**
 * Each named wire has a booleanity constraint: one that involves only that wire (and the constant) and holds
 * for 0 and 1 but not for 2. Such a constraint is a polynomial of degree <= 2 in the wire with the roots 0 and
 * 1, so it admits nothing else: the exhaustive searches below may then range over boolean values only.
 */
function expectBoolean(b: Built, names: readonly string[]) {
  for (const name of names) {
    const wire = wireOf(b, name);
    const found = b.r1cs.constraints.some((c, i) => {
      if (!c.every((lc) => [...lc.keys()].every((k) => k === 0 || k === wire))) return false;
      const holds = (v: bigint) => {
        const w = new Array<bigint>(b.r1cs.nWires).fill(0n);
        w[0] = 1n;
        w[wire] = v;
        return violatedConstraints(b.r1cs, w, [i]).length === 0;
      };
      return holds(0n) && holds(1n) && !holds(2n);
    });
    expect(found, `${b.name}: ${name} is not constrained to {0, 1}`).toBe(true);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Max2 / Min2

type MaxKind = 'Max2' | 'Min2';
const maxSpec = (kind: MaxKind, a: bigint, b: bigint) => (kind === 'Max2' ? (a >= b ? a : b) : a <= b ? a : b);

const maxBuild = (backend: Backend, kind: MaxKind, B: number) =>
  build(backend, `${kind.toLowerCase()}-${B}`, `include "max.circom";\ncomponent main {public [a, b]} = ${kind}(${B});`);

/** The witness Max2 / Min2 would have for the given bits: `out` is the only other signal, fixed by the bits. */
function maxWitness(g: Built, kind: MaxKind, B: number, a: bigint, b: bigint, bits: readonly bigint[]): bigint[] {
  const w = blank(g);
  w[wireOf(g, 'main.a')] = f(a);
  w[wireOf(g, 'main.b')] = f(b);
  for (let i = 0; i <= B; i++) w[wireOf(g, `main.bits[${i}]`)] = bits[i];
  const s = bits[B];
  w[wireOf(g, 'main.out')] = kind === 'Max2' ? f(b + s * (a - b)) : f(a + s * (b - a));
  return w;
}

const bitsOf = (v: bigint, n: number) => Array.from({ length: n }, (_, i) => (v >> BigInt(i)) & 1n);

/**
 * Every witness that passes the bit constraints: all 2^(B+1) boolean vectors, `out` as the selection constraint
 * forces it. Returns the outputs of those that satisfy the whole R1CS.
 */
function satisfyingMaxOutputs(g: Built, kind: MaxKind, B: number, a: bigint, b: bigint): bigint[] {
  const outs: bigint[] = [];
  const outWire = wireOf(g, 'main.out');
  for (let v = 0n; v < pow2(B + 1); v++) {
    const w = maxWitness(g, kind, B, a, b, bitsOf(v, B + 1));
    if (violatedConstraints(g.r1cs, w).length === 0) outs.push(w[outWire]);
  }
  return outs;
}

for (const backend of BACKENDS) describe(`Max2 / Min2 (circuits/max.circom) [${backend}]`, () => {
  for (const B of [1, 8, 19]) {
    for (const kind of ['Max2', 'Min2'] as const) {
      it(`${kind}(${B}): spec on random and edge inputs, B + 3 = ${B + 3} constraints, mutations`, async () => {
        const g = await maxBuild(backend, kind, B);
        // a and b are public inputs of main: no binding constraints, the count is the gadget's own.
        expect(g.constraints).toBe(B + 3);
        expectBoolean(g, Array.from({ length: B + 1 }, (_, i) => `main.bits[${i}]`));

        const r = rng(1000 + B);
        const lim = pow2(B) - 1n; // precondition: |a - b| <= 2^B - 1
        const diffs = [0n, 1n, -1n, lim, -lim, lim - 1n, -(lim - 1n)];
        for (let i = 0; i < 12; i++) diffs.push(r.range(-lim, lim));
        const bases = [0n, 1n, -1n, 5n, -5n, HALF, -HALF, HALF - 3n, -HALF + 3n, pow2(B), -pow2(B)];
        for (let i = 0; i < 4; i++) bases.push(r.range(-pow2(60), pow2(60)), r.range(-HALF, HALF));
        let checked = 0;
        let negatives = 0;
        for (const a of bases) {
          for (const d of diffs) {
            const b = a - d;
            if (b < -HALF || b > HALF) continue;
            const w = await witness(g, { a: f(a), b: f(b) });
            expect(w[wireOf(g, 'main.out')], `${kind}(${B}) a=${a} b=${b}`).toBe(f(maxSpec(kind, a, b)));
            if (a < 0n || b < 0n) negatives++;
            checked++;
          }
        }
        expect(checked).toBeGreaterThan(150);
        expect(negatives).toBeGreaterThan(50);

        // Every computed wire, at equal values, both extreme differences, and negative operands near p.
        let n = 0;
        for (const [a, b] of [[7n, 7n], [-3n, -3n], [lim, 0n], [0n, lim], [-HALF + lim, -HALF], [-1n, -1n - lim], [HALF, HALF - lim]] as const) {
          n += expectMutationsRejected(g, await witness(g, { a: f(a), b: f(b) }), `${kind}(${B}) a=${a} b=${b}`);
        }
        expect(n).toBe(7 * 3 * (B + 2));
      });
    }

    it(`Max2(${B}): the other selector bit, with a consistent out, is rejected`, async () => {
      const g = await maxBuild(backend, 'Max2', B);
      const r = rng(2000 + B);
      const lim = pow2(B) - 1n;
      const pairs: [bigint, bigint][] = [[0n, 0n], [-9n, -9n], [lim, 0n], [0n, lim], [-1n, lim - 1n], [HALF, HALF - lim]];
      for (let i = 0; i < 6; i++) {
        const a = r.range(-pow2(80), pow2(80));
        pairs.push([a, a - r.range(-lim, lim)]);
      }
      for (const [a, b] of pairs) {
        const honest = await witness(g, { a: f(a), b: f(b) });
        const bits = Array.from({ length: B + 1 }, (_, i) => honest[wireOf(g, `main.bits[${i}]`)]);
        expect(maxWitness(g, 'Max2', B, a, b, bits)).toEqual(honest);
        const t = f(a - b + pow2(B));
        const s2 = 1n - bits[B];
        // With the top bit flipped, the low B bits would have to encode t - s' * 2^B mod p: t - 2^B + p when s
        // was 0 (t < 2^B), or t >= 2^B when s was 1. Neither fits in B bits, so no boolean low part exists.
        const need = f(t - s2 * pow2(B));
        expect(need >= pow2(B), `a=${a} b=${b}`).toBe(true);
        // Flip only the top bit; and flip it with the low bits of the wrapped target (the "mod p" attempt).
        for (const low of [bits.slice(0, B), bitsOf(need, B)]) {
          const w = maxWitness(g, 'Max2', B, a, b, [...low, s2]);
          expect(w[wireOf(g, 'main.out')]).toBe(f(a === b ? a : maxSpec('Min2', a, b)));
          expect(violatedConstraints(g.r1cs, w).length, `a=${a} b=${b}`).toBeGreaterThan(0);
        }
        if (B <= 8) {
          // Exhaustive: of all 2^(B+1) bit vectors, exactly the honest one satisfies the R1CS.
          expect(satisfyingMaxOutputs(g, 'Max2', B, a, b)).toEqual([f(maxSpec('Max2', a, b))]);
        } else {
          for (let i = 0; i < 300; i++) {
            const v = r.bits(B + 1);
            if (v === t) continue;
            expect(violatedConstraints(g.r1cs, maxWitness(g, 'Max2', B, a, b, bitsOf(v, B + 1))).length).toBeGreaterThan(0);
          }
        }
      }
    });

    it(`Max2(${B}) / Min2(${B}): outside |a - b| < 2^B no valid witness exists (except the harmless a - b = -2^B)`, async () => {
      for (const kind of ['Max2', 'Min2'] as const) {
        const g = await maxBuild(backend, kind, B);
        const diffs = [pow2(B), pow2(B) + 1n, -pow2(B) - 1n, pow2(B + 1), -pow2(B + 1), pow2(B + 1) - 1n, pow2(100), -pow2(100), HALF];
        for (const a of [0n, 12n, -HALF + pow2(101), HALF - pow2(101)]) {
          for (const d of diffs) {
            const b = a - d;
            if (b < -HALF || b > HALF) continue;
            // t = a - b + 2^B mod p is at least 2^(B+1): B + 1 boolean bits (sum < 2^(B+1) < p) cannot encode it.
            expect(f(d + pow2(B)) >= pow2(B + 1)).toBe(true);
            expect(await tryWitness(g, { a: f(a), b: f(b) }), `${kind}(${B}) a=${a} b=${b}`).toBeNull();
            if (B <= 8) expect(satisfyingMaxOutputs(g, kind, B, a, b), `${kind}(${B}) a=${a} d=${d}`).toEqual([]);
          }
          // a - b = -2^B: t = 0 is representable, the only witness has s = 0 and it is the right answer.
          const b = a + pow2(B);
          const w = await tryWitness(g, { a: f(a), b: f(b) });
          expect(w).not.toBeNull();
          expect(w![wireOf(g, 'main.out')]).toBe(f(maxSpec(kind, a, b)));
          expect(violatedConstraints(g.r1cs, w!)).toEqual([]);
          if (B <= 8) expect(satisfyingMaxOutputs(g, kind, B, a, b)).toEqual([f(maxSpec(kind, a, b))]);
        }
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------------------
// ArgMax

/** ONNX ArgMax: the first maximum, or the last one with select_last_index. */
function argmaxSpec(x: readonly bigint[], last: boolean): number {
  let k = 0;
  for (let i = 1; i < x.length; i++) if (last ? x[i] >= x[k] : x[i] > x[k]) k = i;
  return k;
}

const argmaxBuild = (backend: Backend, N: number, B: number, LAST: number) =>
  build(backend, `argmax-${N}-${B}-${LAST}`, `include "argmax.circom";\ncomponent main {public [x]} = ArgMax(${N}, ${B}, ${LAST});`);

/**
 * The witness ArgMax has once the boolean selector vector s is chosen: the products p[i] = s[i] * x[i], the
 * index, and every difference d[i] = m - x[i] - tie[i] (m = sum of p, tie[i] = the selectors after i, or before
 * i when LAST = 1) are all fixed by s; the bits are the low B bits of d[i] mod p. `fits` says whether this can
 * satisfy the R1CS at all: s sums to 1 and every d[i] lies in [0, 2^B), the only values B boolean bits encode.
 */
function argmaxWitness(g: Built, N: number, B: number, last: boolean, x: readonly bigint[], s: readonly bigint[]): { w: bigint[]; fits: boolean } {
  const w = blank(g);
  let m = 0n;
  let index = 0n;
  for (let i = 0; i < N; i++) {
    w[wireOf(g, `main.x[${i}]`)] = f(x[i]);
    // For N = 2, s[1] is the index itself (index <== s[1], merged by --O1): set below.
    if (g.syms.get(`main.s[${i}]`) !== -1) w[wireOf(g, `main.s[${i}]`)] = s[i];
    w[wireOf(g, `main.p[${i}]`)] = f(s[i] * x[i]);
    m += s[i] * x[i];
    index += BigInt(i) * s[i];
  }
  w[wireOf(g, 'main.index')] = index;
  let fits = s.reduce((a, b) => a + b, 0n) === 1n;
  for (let i = 0; i < N; i++) {
    let tie = 0n;
    for (let j = 0; j < N; j++) if (last ? j < i : j > i) tie += s[j];
    const d = f(m - x[i] - tie);
    if (d >= pow2(B)) fits = false;
    for (let j = 0; j < B; j++) w[wireOf(g, `main.bits[${i}][${j}]`)] = (d >> BigInt(j)) & 1n;
  }
  return { w, fits };
}

const oneHot = (N: number, k: number) => Array.from({ length: N }, (_, i) => (i === k ? 1n : 0n));

/**
 * Every one-hot selector (or, with `all`, every one of the 2^N boolean vectors): the R1CS holds exactly when
 * `fits`. Returns the indices it holds for.
 */
function satisfyingIndices(g: Built, N: number, B: number, last: boolean, x: readonly bigint[], all = false): number[] {
  const ok: number[] = [];
  const vectors = all
    ? Array.from({ length: 2 ** N }, (_, v) => Array.from({ length: N }, (_, i) => BigInt((v >> i) & 1)))
    : Array.from({ length: N }, (_, k) => oneHot(N, k));
  for (const s of vectors) {
    const { w, fits } = argmaxWitness(g, N, B, last, x, s);
    const bad = violatedConstraints(g.r1cs, w);
    expect(bad.length === 0, `s=${s} x=${x}`).toBe(fits);
    if (fits) ok.push(s.indexOf(1n));
  }
  return ok;
}

for (const backend of BACKENDS) describe(`ArgMax (circuits/argmax.circom) [${backend}]`, () => {
  const configs = [
    { N: 2, B: 3 },
    { N: 10, B: 8 },
  ];
  for (const { N, B } of configs) {
    for (const LAST of [0, 1]) {
      const last = LAST === 1;
      const label = `ArgMax(${N}, ${B}, ${LAST})`;

      /** Inputs within the precondition: ties, negative values, spreads up to 2^B - 1, values near +-p/2. */
      function inputs(): bigint[][] {
        const r = rng(3000 + N * 10 + LAST);
        const spread = pow2(B) - 1n;
        const bases = [0n, -1n, 3n, -HALF, HALF - spread, -pow2(70), pow2(70)];
        const xs: bigint[][] = [];
        if (N === 2) {
          // Exhaustive over base + [0, 2^B)^2 for every base.
          for (const base of bases) for (let u = 0n; u <= spread; u++) for (let v = 0n; v <= spread; v++) xs.push([base + u, base + v]);
        } else {
          for (let i = 0; i < 160; i++) {
            const base = i < 2 * bases.length ? bases[i % bases.length] : r.range(-HALF, HALF - spread);
            const x = Array.from({ length: N }, () => base + r.range(0n, spread));
            if (i % 4 === 0) {
              // Full spread: one element at base, another at base + 2^B - 1.
              x[r.int(N)] = base;
              x[r.int(N)] = base + spread;
            }
            if (i % 3 === 0) {
              // Ties at the maximum, 2..4 copies.
              const m = x.reduce((a, b) => (a > b ? a : b));
              for (let c = 0; c < 2 + (i % 4); c++) x[r.int(N)] = m;
            }
            if (i % 7 === 0) x.fill(base + r.range(0n, spread)); // all equal
            xs.push(x);
          }
        }
        return xs;
      }

      it(`${label}: spec (first max / last max), ${N * (B + 3) + (N === 2 ? 1 : 2)} constraints, mutations`, async () => {
        const g = await argmaxBuild(backend, N, B, LAST);
        // For N = 2 the index is 0 * s[0] + 1 * s[1], a plain signal equality that --O1 removes: one fewer.
        expect(g.constraints).toBe(N * (B + 3) + (N === 2 ? 1 : 2));
        expect(g.syms.get('main.s[1]') === -1).toBe(N === 2);
        expectBoolean(g, [
          ...Array.from({ length: N }, (_, i) => (g.syms.get(`main.s[${i}]`) === -1 ? 'main.index' : `main.s[${i}]`)),
          ...Array.from({ length: N * B }, (_, i) => `main.bits[${Math.floor(i / B)}][${i % B}]`),
        ]);
        const xs = inputs();
        let ties = 0;
        let negative = 0;
        for (const x of xs) {
          const w = await witness(g, { x: x.map(f) });
          const want = argmaxSpec(x, last);
          expect(w[wireOf(g, 'main.index')], `${label} x=${x}`).toBe(BigInt(want));
          const m = x[want];
          if (x.filter((v) => v === m).length > 1) ties++;
          if (x.some((v) => v < 0n)) negative++;
        }
        expect(ties).toBeGreaterThan(20);
        expect(negative).toBeGreaterThan(20);

        let n = 0;
        const spread = pow2(B) - 1n;
        const picks = [xs[0], xs[1], xs[Math.floor(xs.length / 2)], xs[xs.length - 1], Array.from({ length: N }, (_, i) => (i % 2 ? -HALF + spread : -HALF))];
        for (const x of picks) n += expectMutationsRejected(g, await witness(g, { x: x.map(f) }), `${label} x=${x}`);
        // wires: N selector bits, N products, N * B bits, the index (the x are public inputs); s[1] is the
        // index when N = 2.
        expect(n).toBe(picks.length * 3 * (N * (B + 2) + (N === 2 ? 0 : 1)));
      });

      it(`${label}: a non-maximal index or the wrong tie, with every other signal consistent, is rejected`, async () => {
        const g = await argmaxBuild(backend, N, B, LAST);
        const xs = inputs();
        const r = rng(4000 + N + LAST);
        const sample = N === 2 ? xs : Array.from({ length: 40 }, () => xs[r.int(xs.length)]);
        let wrongTies = 0;
        let exhaustive = 6;
        for (const x of sample) {
          const want = argmaxSpec(x, last);
          // Sanity of the witness builder: the honest index reproduces the generated witness.
          expect(argmaxWitness(g, N, B, last, x, oneHot(N, want)).w).toEqual(await witness(g, { x: x.map(f) }));
          // All 2^N boolean selectors for N = 2 and for a few inputs of N = 10, the one-hot ones otherwise.
          const all = N === 2 || exhaustive-- > 0;
          expect(satisfyingIndices(g, N, B, last, x, all), `${label} x=${x}`).toEqual([want]);
          const m = x[want];
          wrongTies += x.filter((v) => v === m).length - 1;
        }
        expect(wrongTies).toBeGreaterThan(10);
      });

      it(`${label}: beyond the precondition (spread >= 2^B) a wrong index still never satisfies the R1CS`, async () => {
        const g = await argmaxBuild(backend, N, B, LAST);
        const r = rng(5000 + N + LAST);
        const xs: bigint[][] = [];
        for (const spread of [pow2(B), pow2(B) + 1n, pow2(B + 1), pow2(120)]) {
          for (let i = 0; i < 6; i++) {
            const base = i === 0 ? -HALF : i === 1 ? HALF - spread : r.range(-pow2(60), pow2(60));
            const x = Array.from({ length: N }, () => base + r.range(0n, spread));
            x[i % N] = base;
            x[(i + 1) % N] = base + spread;
            if (i % 2 === 1 && N > 2) x[(i + 3) % N] = base + spread; // a tie at the maximum
            xs.push(x);
          }
        }
        let complete = 0;
        let incomplete = 0;
        for (const x of xs) {
          const want = argmaxSpec(x, last);
          const ok = satisfyingIndices(g, N, B, last, x, N === 2);
          // Sound for every input: only the right index can ever satisfy the constraints...
          expect(ok.every((k) => k === want), `${label} x=${x}`).toBe(true);
          // ...but completeness needs the precondition: often no witness exists at all.
          const w = await tryWitness(g, { x: x.map(f) });
          if (w) {
            expect(w[wireOf(g, 'main.index')]).toBe(BigInt(want));
            complete++;
          } else {
            expect(ok).toEqual([]);
            incomplete++;
          }
        }
        expect(incomplete).toBeGreaterThan(0);
        expect(complete + incomplete).toBe(xs.length);
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------------------
// Lut256

const lutBuild = (backend: Backend, name: string, table: readonly bigint[]) =>
  build(
    backend,
    name,
    `include "lut.circom";
template LutWrap() {
    signal input x;
    signal output out;
    var T[256] = [${table.join(', ')}];
    component l = Lut256(T);
    // Signal-to-signal bindings: removed by --O1 (main.x and main.l.x share a wire), so they cost 0.
    l.x <== x;
    out <== l.out;
}
component main {public [x]} = LutWrap();`,
  );

function randomTable(seed: number): bigint[] {
  const r = rng(seed);
  const t = Array.from({ length: 256 }, (_, i) => {
    switch (i % 4) {
      case 0:
        return r.range(-128n, 127n);
      case 1:
        return r.range(-pow2(40), pow2(40));
      case 2:
        return r.range(-pow2(200), pow2(200));
      default:
        return r.range(-HALF, HALF);
    }
  });
  t[0] = 0n;
  t[17] = -1n;
  t[100] = HALF;
  t[101] = -HALF;
  t[255] = -7n;
  return t;
}

for (const backend of BACKENDS) describe(`Lut256 (circuits/lut.circom) [${backend}]`, () => {
  const table = randomTable(6000);
  // A table with long constant runs (a clamped ramp, as a quantized ReLU6 gives): many multiplexers then choose
  // between equal slices. circom keeps them (their products are not folded), so the count is still 35.
  const ramp = Array.from({ length: 256 }, (_, i) => BigInt(Math.min(Math.max(i - 128, 0), 60)));

  async function allWitnesses(g: Built): Promise<bigint[][]> {
    const ws: bigint[][] = [];
    for (let x = 0; x < 256; x++) ws.push(await witness(g, { x: BigInt(x) }));
    return ws;
  }

  it('random signed table: spec on all 256 inputs, 35 constraints, mutations', async () => {
    const g = await lutBuild(backend, 'lut-random', table);
    // The wrapper's bindings are signal-to-signal (removed): all 35 constraints are the gadget's.
    expect(g.constraints).toBe(35);
    expect(g.syms.get('main.l.x')).toBe(-1); // merged into main.x by --O1
    expectBoolean(g, Array.from({ length: 8 }, (_, i) => `main.l.b[${i}]`));
    const ws = await allWitnesses(g);
    for (let x = 0; x < 256; x++) expect(ws[x][wireOf(g, 'main.out')], `x=${x}`).toBe(f(table[x]));
    let n = 0;
    for (const x of [0, 1, 15, 16, 100, 101, 128, 200, 254, 255]) n += expectMutationsRejected(g, ws[x], `lut x=${x}`);
    // wires: out, 8 bits, 11 monomials, 15 multiplexer outputs (l3 + out: 14 + out).
    expect(n).toBe(10 * 3 * (1 + 8 + 11 + 14));
  });

  it('a clamped-ramp table: spec on all 256 inputs, 35 constraints, mutations', async () => {
    const g = await lutBuild(backend, 'lut-ramp', ramp);
    expect(g.constraints).toBe(35);
    const ws = await allWitnesses(g);
    for (let x = 0; x < 256; x++) expect(ws[x][wireOf(g, 'main.out')], `x=${x}`).toBe(f(ramp[x]));
    for (const x of [0, 127, 128, 129, 188, 189, 255]) expectMutationsRejected(g, ws[x], `ramp x=${x}`);
  });

  it("claiming T[x'] for x' != x (bits and every intermediate consistent with x') is rejected", async () => {
    const g = await lutBuild(backend, 'lut-random', table);
    const ws = await allWitnesses(g);
    const xWire = wireOf(g, 'main.x');
    let recomposition: number | undefined;
    for (const x of [0, 1, 100, 101, 128, 255]) {
      for (let x2 = 0; x2 < 256; x2++) {
        if (x2 === x) continue;
        const w = [...ws[x2]];
        w[xWire] = BigInt(x);
        const bad = violatedConstraints(g.r1cs, w);
        // Exactly one constraint catches it: the recomposition of the bits, always the same row.
        expect(bad.length, `x=${x} x'=${x2}`).toBe(1);
        recomposition ??= bad[0];
        expect(bad[0]).toBe(recomposition);
      }
    }
  });

  it('x >= 256 (or negative): witness generation fails and none of the 256 bit patterns satisfies the R1CS', async () => {
    const g = await lutBuild(backend, 'lut-random', table);
    const ws = await allWitnesses(g);
    const xWire = wireOf(g, 'main.x');
    // Once the 8 boolean bits are chosen, every other signal (monomials, multiplexers, out) is fixed by its
    // constraint, so these 256 witnesses are the only candidates.
    for (const x of [256n, 257n, 511n, 512n, 1000n, pow2(64), HALF, P - 1n, P - 256n]) {
      expect(await tryWitness(g, { x }), `x=${x}`).toBeNull();
      for (let x2 = 0; x2 < 256; x2++) {
        const w = [...ws[x2]];
        w[xWire] = x;
        expect(violatedConstraints(g.r1cs, w).length, `x=${x} bits of ${x2}`).toBeGreaterThan(0);
      }
    }
  });
});
