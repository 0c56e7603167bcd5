/**
 * A small reader for circom's .r1cs format and an exact constraint checker (bigint). Used by tests
 * (witness mutation) and benchmarks; snarkjs never needs it.
 */
import { readFile } from 'node:fs/promises';
import { FIELD_PRIME } from '../field.ts';
import { readBigLE, readBinFile } from '../artifacts/binfile.ts';

export type LinearCombination = Map<number, bigint>;

export interface R1cs {
  prime: bigint;
  nWires: number;
  nOutputs: number;
  nPubInputs: number;
  nPrvInputs: number;
  constraints: [LinearCombination, LinearCombination, LinearCombination][];
}

export async function readR1csFile(path: string): Promise<R1cs> {
  const buf = await readFile(path);
  const { view: dv, sections } = readBinFile(buf, 'r1cs');
  const h = sections.get(1);
  const constraintsAt = sections.get(2)?.at;
  if (!h || constraintsAt === undefined) throw new Error(`${path}: missing header or constraints section`);
  const n8 = dv.getUint32(h.at, true);
  const readBig = (at: number) => readBigLE(dv, at, n8);
  const o = h.at + 4 + n8;
  const header: Omit<R1cs, 'constraints'> = {
    prime: readBig(h.at + 4),
    nWires: dv.getUint32(o, true),
    nOutputs: dv.getUint32(o + 4, true),
    nPubInputs: dv.getUint32(o + 8, true),
    nPrvInputs: dv.getUint32(o + 12, true),
  };
  const nConstraints = dv.getUint32(o + 24, true);
  const constraints: R1cs['constraints'] = [];
  let p = constraintsAt;
  const readLc = (): LinearCombination => {
    const n = dv.getUint32(p, true);
    p += 4;
    const lc: LinearCombination = new Map();
    for (let i = 0; i < n; i++) {
      const wire = dv.getUint32(p, true);
      lc.set(wire, readBig(p + 4));
      p += 4 + n8;
    }
    return lc;
  };
  for (let c = 0; c < nConstraints; c++) constraints.push([readLc(), readLc(), readLc()]);
  return { ...header, constraints };
}

const evalLc = (lc: LinearCombination, w: readonly bigint[], p: bigint) => {
  let s = 0n;
  for (const [wire, coeff] of lc) s += coeff * w[wire];
  return s % p;
};

/** Indices of the constraints that the witness violates (A*B != C mod p). */
export function violatedConstraints(r1cs: R1cs, witness: readonly bigint[], only?: Iterable<number>): number[] {
  const p = r1cs.prime ?? FIELD_PRIME;
  const bad: number[] = [];
  const idx = only ?? r1cs.constraints.keys();
  for (const i of idx) {
    const [a, b, c] = r1cs.constraints[i];
    if ((evalLc(a, witness, p) * evalLc(b, witness, p) - evalLc(c, witness, p)) % p !== 0n) bad.push(i);
  }
  return bad;
}

/** For each wire, the constraints it appears in (to re-check only those after a mutation). */
export function constraintsByWire(r1cs: R1cs): number[][] {
  const by: number[][] = Array.from({ length: r1cs.nWires }, () => []);
  r1cs.constraints.forEach(([a, b, c], i) => {
    const seen = new Set<number>([...a.keys(), ...b.keys(), ...c.keys()]);
    for (const w of seen) by[w].push(i);
  });
  return by;
}

/** Parse circuit.sym: signal name -> wire index (-1 when the optimizer removed the signal). */
export async function readSymbols(path: string): Promise<Map<string, number>> {
  const text = await readFile(path, 'utf8');
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const parts = line.split(',');
    if (parts.length >= 4) m.set(parts.slice(3).join(','), Number(parts[1]));
  }
  return m;
}
