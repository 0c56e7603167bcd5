/**
 * Test-side equivalence of two constraint systems whose wires are numbered differently: ours (a, from the
 * direct backend) and circom's (b). Wires are matched by signal name; constraints are compared as multisets
 * up to order and scaling. Also builds b's witness from a's, to check circom's R1CS accepts our witness.
 */
import type { LinearCombination, R1cs } from '../../src/compile/r1cs.ts';

export interface EquivalenceSide {
  r1cs: R1cs;
  /**
   * Signal name -> wire. For a (ours) a signal the optimizer removed maps to the wire that replaced it, or -1
   * when a constant replaced it; for b (circom's .sym through readSymbols) a removed signal is -1.
   */
  nameToWire: Map<string, number>;
}

export interface EquivalenceReport {
  /** No constraint only on one side, every b wire mapped, and the same public layout. */
  equal: boolean;
  /**
   * Up to 20 normalised constraints found (more often) in a than in b, readable with a's names (then one
   * line `... and N more (M constraints in all)` when there are more).
   */
  onlyInA: string[];
  /** Up to 20 normalised constraints found (more often) in b than in a (after mapping b's wires into a's). */
  onlyInB: string[];
  /** b wires that cannot be mapped to one wire of a (no name a knows, a maps it to a constant, names disagree). */
  unmappedB: string[];
  /**
   * Differences in what a verifier sees: the header counts (outputs, public and private inputs) and, for the
   * public wires 1..nOutputs+nPubInputs, whether b's wire i is a's wire i (publicSignals order).
   */
  publicLayout: string[];
}

const MAX_REPORTED = 20;

/** b wire -> a wire (-1 where it cannot be mapped; index 0 -> 0), with the reasons for the unmapped ones. */
export function mapWires(a: Pick<EquivalenceSide, 'nameToWire'>, b: { r1cs: Pick<R1cs, 'nWires'>; nameToWire: Map<string, number> }): { bToA: Int32Array; bNames: string[]; unmapped: string[] } {
  const nb = b.r1cs.nWires;
  const bNames: string[] = new Array(nb).fill('');
  const namesOf: string[][] = Array.from({ length: nb }, () => []);
  for (const [name, wire] of b.nameToWire) {
    if (wire < 0) continue;
    if (wire >= nb) throw new RangeError(`b names wire ${wire} (${name}) beyond its ${nb} wires`);
    namesOf[wire].push(name);
  }
  const bToA = new Int32Array(nb).fill(-1);
  bToA[0] = 0;
  bNames[0] = 'one';
  const unmapped: string[] = [];
  for (let w = 1; w < nb; w++) {
    const names = namesOf[w];
    bNames[w] = names[0] ?? `#${w}`;
    if (names.length === 0) {
      unmapped.push(`b wire ${w}: no name in b's symbols`);
      continue;
    }
    const targets = new Map<number, string>();
    for (const n of names) {
      const t = a.nameToWire.get(n);
      if (t !== undefined && !targets.has(t)) targets.set(t, n);
    }
    if (targets.size === 0) unmapped.push(`b wire ${w} (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''}): no name known to a`);
    else if (targets.size > 1) unmapped.push(`b wire ${w}: its names map to different wires of a: ${[...targets].map(([t, n]) => `${n} -> ${t}`).join(', ')}`);
    else {
      const [[t, n]] = [...targets];
      if (t < 0) unmapped.push(`b wire ${w} (${n}): a replaced it by a constant`);
      else bToA[w] = t;
    }
  }
  return { bToA, bNames, unmapped };
}

/**
 * b's witness built from a's: b wire -> a wire -> value (wire 0 = 1). Throws naming the b wires that cannot
 * be mapped (a wire a replaced by a constant has no value to take).
 */
export function witnessForB(a: Pick<EquivalenceSide, 'nameToWire'>, aWitness: readonly bigint[], b: { r1cs: Pick<R1cs, 'nWires'>; nameToWire: Map<string, number> }): bigint[] {
  const { bToA, unmapped } = mapWires(a, b);
  if (unmapped.length) throw new Error(`cannot build b's witness: ${unmapped.length} unmapped wires, e.g. ${unmapped.slice(0, 5).join('; ')}`);
  const out = new Array<bigint>(bToA.length);
  out[0] = 1n;
  for (let w = 1; w < bToA.length; w++) {
    const v = aWitness[bToA[w]];
    if (v === undefined) throw new RangeError(`b wire ${w} maps to a wire ${bToA[w]}, beyond a's witness of ${aWitness.length}`);
    out[w] = v;
  }
  return out;
}

/** Modular inverse by the extended Euclidean algorithm (x != 0 mod p). */
function inverse(x: bigint, p: bigint): bigint {
  let [r0, r1] = [p, ((x % p) + p) % p];
  let [t0, t1] = [0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  if (r0 !== 1n) throw new RangeError(`${x} has no inverse mod ${p}`);
  return t0 < 0n ? t0 + p : t0;
}

/** A sparse LC as parallel arrays, sorted by wire, coefficients in (0, p). */
interface Lc {
  w: number[];
  c: bigint[];
}

class Normaliser {
  private readonly invCache = new Map<bigint, bigint>();
  constructor(readonly p: bigint) {}

  inv(x: bigint): bigint {
    if (x === 1n) return 1n;
    if (x === this.p - 1n) return x;
    let r = this.invCache.get(x);
    if (r === undefined) {
      r = inverse(x, this.p);
      if (this.invCache.size < 100_000) this.invCache.set(x, r);
    }
    return r;
  }

  /** LC with wires translated (map: wire -> target wire), coefficients added and reduced, zeros dropped. */
  lc(src: LinearCombination, map: ((w: number) => number) | null): Lc {
    const p = this.p;
    const acc = new Map<number, bigint>();
    for (const [w0, c0] of src) {
      const w = map ? map(w0) : w0;
      const prev = acc.get(w);
      acc.set(w, prev === undefined ? c0 : prev + c0);
    }
    const wires = [...acc.keys()].sort((x, y) => x - y);
    const out: Lc = { w: [], c: [] };
    for (const w of wires) {
      let c = acc.get(w)!;
      if (c < 0n || c >= p) c = ((c % p) + p) % p;
      if (c !== 0n) {
        out.w.push(w);
        out.c.push(c);
      }
    }
    return out;
  }

  scale(l: Lc, k: bigint): Lc {
    if (k === 1n) return l;
    const p = this.p;
    if (k === p - 1n) return { w: l.w, c: l.c.map((c) => p - c) };
    return { w: l.w, c: l.c.map((c) => (c * k) % p) };
  }

  /** x*L1 + y*L2 (x, y field elements). */
  combine(x: bigint, l1: Lc, y: bigint, l2: Lc): Lc {
    const p = this.p;
    const acc = new Map<number, bigint>();
    for (let i = 0; i < l1.w.length; i++) acc.set(l1.w[i], (x * l1.c[i]) % p);
    for (let i = 0; i < l2.w.length; i++) acc.set(l2.w[i], ((acc.get(l2.w[i]) ?? 0n) + y * l2.c[i]) % p);
    const out: Lc = { w: [], c: [] };
    for (const w of [...acc.keys()].sort((u, v) => u - v)) {
      const c = acc.get(w)!;
      if (c !== 0n) {
        out.w.push(w);
        out.c.push(c);
      }
    }
    return out;
  }

  /** The canonical key of A*B = C: 'L|lc' for a linear one, 'Q|A|B|C' for a quadratic one. */
  key(A: Lc, B: Lc, C: Lc): string {
    const p = this.p;
    const isConst = (l: Lc) => l.w.length === 0 || (l.w.length === 1 && l.w[0] === 0);
    const constOf = (l: Lc) => (l.w.length === 0 ? 0n : l.c[0]);
    if (isConst(A) || isConst(B)) {
      const [k, other] = isConst(A) ? [constOf(A), B] : [constOf(B), A];
      // L = k*other - C = 0
      let L = this.combine(k, other, p - 1n, C);
      if (L.w.length) L = this.scale(L, this.inv(L.c[lead(L)]));
      return `L|${ser(L)}`;
    }
    const alpha = A.c[lead(A)];
    const beta = B.c[lead(B)];
    const sa = ser(this.scale(A, this.inv(alpha)));
    const sb = ser(this.scale(B, this.inv(beta)));
    const sc = ser(this.scale(C, this.inv((alpha * beta) % p)));
    return sa <= sb ? `Q|${sa}|${sb}|${sc}` : `Q|${sb}|${sa}|${sc}`;
  }
}

/** The term scaled to 1: the lowest wire other than the constant one (wire 0 only when it is alone). */
const lead = (l: Lc): number => (l.w[0] === 0 && l.w.length > 1 ? 1 : 0);

const ser = (l: Lc): string => {
  let s = '';
  for (let i = 0; i < l.w.length; i++) s += (i ? ',' : '') + l.w[i] + ':' + l.c[i];
  return s;
};

/** A key back into text: `(x - 2*y) * (z) = (t)` or `x + 3 = 0`, coefficients above p/2 shown negative. */
function readable(key: string, p: bigint, nameOf: (w: number) => string): string {
  const lcText = (s: string) => {
    if (s === '') return '0';
    return s
      .split(',')
      .map((term, i) => {
        const [ws, cs] = term.split(':');
        const w = Number(ws);
        let c = BigInt(cs);
        const neg = c > p / 2n;
        if (neg) c = p - c;
        const body = w === 0 ? `${c}` : c === 1n ? nameOf(w) : `${c}*${nameOf(w)}`;
        return i === 0 ? (neg ? `-${body}` : body) : `${neg ? ' - ' : ' + '}${body}`;
      })
      .join('');
  };
  const parts = key.split('|');
  return parts[0] === 'L' ? `${lcText(parts[1])} = 0` : `(${lcText(parts[1])}) * (${lcText(parts[2])}) = ${lcText(parts[3])}`;
}

/**
 * Compare a (ours) and b (circom's) as constraint systems: b's wires are mapped to a's by signal name, then
 * every constraint is normalised (linear ones, where A or B is a constant, to L = 0 with L's lowest
 * non-constant wire's coefficient 1; quadratic ones with A and B scaled the same way, C divided by both
 * factors, A and B in canonical order) and the two multisets are compared. Constraints that normalise to
 * 0 = 0 are kept (and counted). Reported constraints are the normalised ones, with the index of their first
 * occurrence (a#i / b#j); a count prefix (`2x`) when one side has several more.
 */
export function compareConstraintSystems(a: EquivalenceSide, b: EquivalenceSide): EquivalenceReport {
  const p = a.r1cs.prime;
  const publicLayout: string[] = [];
  if (b.r1cs.prime !== p) publicLayout.push(`prime: a ${p}, b ${b.r1cs.prime}`);
  for (const k of ['nOutputs', 'nPubInputs', 'nPrvInputs'] as const) {
    if (a.r1cs[k] !== b.r1cs[k]) publicLayout.push(`${k}: a ${a.r1cs[k]}, b ${b.r1cs[k]}`);
  }
  const { bToA, bNames, unmapped } = mapWires(a, b);
  const nPublic = b.r1cs.nOutputs + b.r1cs.nPubInputs;
  for (let w = 1; w <= nPublic && w < bToA.length; w++) {
    if (bToA[w] !== w) publicLayout.push(`public wire ${w} (${bNames[w]}) is a's wire ${bToA[w]}`);
  }

  // Unmapped b wires go past a's wires so their constraints cannot match anything of a.
  let offset = a.r1cs.nWires;
  for (const w of a.nameToWire.values()) if (w >= offset) offset = w + 1;
  const mapB = (w: number) => (bToA[w] >= 0 ? bToA[w] : offset + w);
  const aNames = new Map<number, string>();
  for (const [name, w] of a.nameToWire) {
    const prev = aNames.get(w);
    if (w >= 0 && (prev === undefined || name.length < prev.length)) aNames.set(w, name);
  }
  const nameOf = (w: number) => (w === 0 ? 'one' : w >= offset ? `b:${bNames[w - offset]}` : (aNames.get(w) ?? `a#${w}`));

  const norm = new Normaliser(p);
  const counts = new Map<string, number>();
  const firstA = new Map<string, number>();
  const firstB = new Map<string, number>();
  a.r1cs.constraints.forEach(([A, B, C], i) => {
    const k = norm.key(norm.lc(A, null), norm.lc(B, null), norm.lc(C, null));
    const n = counts.get(k) ?? 0;
    counts.set(k, n + 1);
    if (!firstA.has(k)) firstA.set(k, i);
  });
  b.r1cs.constraints.forEach(([A, B, C], i) => {
    const k = norm.key(norm.lc(A, mapB), norm.lc(B, mapB), norm.lc(C, mapB));
    const n = counts.get(k) ?? 0;
    counts.set(k, n - 1);
    if (!firstB.has(k)) firstB.set(k, i);
  });
  const onlyInA: string[] = [];
  const onlyInB: string[] = [];
  // Per side: [distinct differing constraints, constraints counted with multiplicity].
  const total = { a: [0, 0], b: [0, 0] };
  for (const [k, n] of counts) {
    if (n === 0) continue;
    const [list, t] = n > 0 ? [onlyInA, total.a] : [onlyInB, total.b];
    t[0]++;
    t[1] += Math.abs(n);
    if (list.length < MAX_REPORTED) list.push(`${Math.abs(n) > 1 ? `${Math.abs(n)}x ` : ''}[${n > 0 ? `a#${firstA.get(k)}` : `b#${firstB.get(k)}`}] ${readable(k, p, nameOf)}`);
  }
  for (const [list, [distinct, all]] of [[onlyInA, total.a], [onlyInB, total.b]] as const) {
    if (distinct > list.length) list.push(`... and ${distinct - list.length} more (${all} constraints in all)`);
  }
  const nA = total.a[1];
  const nB = total.b[1];
  return {
    equal: nA === 0 && nB === 0 && unmapped.length === 0 && publicLayout.length === 0,
    onlyInA,
    onlyInB,
    unmappedB: unmapped,
    publicLayout,
  };
}
