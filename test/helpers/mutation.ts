/**
 * The witness-mutation soundness check the circuit tests share.
 *
 * What it proves, for a compiled artifact directory and each given witness input: the witness the circuit's own
 * generator computes satisfies every R1CS constraint, and no single output wire or private (computed) wire can be
 * changed by any of the deltas (default +1, -1 and +2^64, mod p) while every constraint stays satisfied. So for these
 * inputs, each such wire is pinned by the constraints given the others: a prover cannot alter one value alone
 * (a wrong output, a wrong comparison bit, a wrong quotient, ...) and still produce a valid proof.
 *
 * What it does not prove: it changes one wire at a time (a coordinated change of several wires is not tried), only
 * by the deltas given, and only around the witnesses of the given inputs. Public and private input wires are not
 * mutated (they are the statement, not something the circuit computes). It skips free helpers, counted in
 * `freeHelpers`: an IsZero-style inverse wire `<x>.inv` when its sibling `<x>.isZero` is 1 or its sibling `<x>.d` is
 * 0 in that witness. There the value being inverted is zero and `inv` multiplies only that zero, so any value of it
 * satisfies the constraints and none reaches any other signal. With `sample`, only a seeded sample of the private
 * wires is mutated (every output still is). With `only`, only the wires with a symbol name it accepts.
 *
 * Each mutation re-checks only the constraints the mutated wire appears in (every other row is unchanged).
 */
import { expect } from 'vitest';
import { artifactPath } from '../../src/artifacts/paths.ts';
import { constraintsByWire, readR1csFile, readSymbols, violatedConstraints } from '../../src/compile/r1cs.ts';
import { FIELD_PRIME } from '../../src/field.ts';
import { mulberry32 } from '../../src/onnx/builder.ts';
import { artifactWitness } from '../../src/prove/witness.ts';

/** A witness input as artifactWitness takes it (e.g. `{ in: x }`). */
export type WitnessInput = Parameters<typeof artifactWitness>[1];

export interface MutationOptions {
  /** Added (mod p) to one wire at a time; default +1, -1 (p - 1) and +2^64. */
  deltas?: readonly bigint[];
  /** Mutate `count` distinct private wires drawn with mulberry32(seed) (the same ones for every input) instead of all of them; every output is still mutated. */
  sample?: { count: number; seed: number };
  /** Mutate only the output/private wires with a symbol name (any of the wire's names) this accepts. */
  only?: (name: string) => boolean;
  /** Called with each honest witness after it is checked against every constraint (e.g. to compare its outputs with the integer reference). */
  onWitness?: (values: readonly bigint[], index: number) => void;
}

export interface MutationResult {
  /** Mutations made, each rejected by a constraint (over all witnesses and deltas). */
  mutations: number;
  /** Free inverse helpers skipped (over all witnesses). */
  freeHelpers: number;
  /** Wires considered per witness: outputs + private wires (or the sample), after `only`; free helpers are among them. */
  wiresPerWitness: number;
  /** All wires of the circuit (the constant one, outputs, inputs, private). */
  nWires: number;
  /** The mutated wires' names normalized (`main.` dropped, numbers as `#`, indices as `[]`), e.g. `lrq#.bits[]`. */
  kinds: Set<string>;
}

export const DEFAULT_DELTAS: readonly bigint[] = [1n, FIELD_PRIME - 1n, 2n ** 64n];

/** A signal name normalized to its kind: `main.lrq3.bits[12]` -> `lrq#.bits[]`. */
export function signalKind(name: string): string {
  return name.replace(/^main\./, '').replace(/\d+/g, '#').replace(/\[#\]/g, '[]');
}

const showDelta = (d: bigint) => (d > FIELD_PRIME / 2n ? `-${FIELD_PRIME - d}` : `+${d}`);

/**
 * For each input: artifactWitness(dir, input) satisfies every constraint, and each output or private wire (see
 * MutationOptions) changed by each delta breaks one. Throws naming the wire, the delta and the input for a mutation
 * that satisfies every constraint.
 */
export async function mutateWitnessWires(dir: string, witnessInputs: readonly WitnessInput[], opts: MutationOptions = {}): Promise<MutationResult> {
  const deltas = opts.deltas ?? DEFAULT_DELTAS;
  const r1cs = await readR1csFile(artifactPath(dir, 'r1cs'));
  const syms = await readSymbols(artifactPath(dir, 'sym'));
  const byWire = constraintsByWire(r1cs);
  const namesOf = new Map<number, string[]>();
  for (const [name, wire] of syms) if (wire >= 0) namesOf.set(wire, [...(namesOf.get(wire) ?? []), name]);
  const firstPrivate = 1 + r1cs.nOutputs + r1cs.nPubInputs + r1cs.nPrvInputs;
  const nPrivate = r1cs.nWires - firstPrivate;
  let privates: number[];
  if (opts.sample) {
    const rnd = mulberry32(opts.sample.seed);
    const sample = new Set<number>();
    while (sample.size < Math.min(opts.sample.count, nPrivate)) sample.add(firstPrivate + Math.floor(rnd() * nPrivate));
    privates = [...sample];
  } else {
    privates = Array.from({ length: nPrivate }, (_, i) => firstPrivate + i);
  }
  let wires = [...Array.from({ length: r1cs.nOutputs }, (_, i) => 1 + i), ...privates];
  const only = opts.only;
  if (only) wires = wires.filter((wire) => (namesOf.get(wire) ?? []).some(only));
  const nameOf = (wire: number) => namesOf.get(wire)?.[0] ?? `wire ${wire}`;
  // The siblings that make an `.inv` wire free, looked up once.
  const freeIf = new Map<number, { d?: number; isZero?: number }>();
  for (const wire of wires) {
    const name = nameOf(wire);
    if (!name.endsWith('.inv')) continue;
    const base = name.slice(0, -'.inv'.length);
    const d = syms.get(`${base}.d`);
    const isZero = syms.get(`${base}.isZero`);
    freeIf.set(wire, { d: d !== undefined && d >= 0 ? d : undefined, isZero: isZero !== undefined && isZero >= 0 ? isZero : undefined });
  }

  let mutations = 0;
  let freeHelpers = 0;
  const kinds = new Set<string>();
  for (const [index, input] of witnessInputs.entries()) {
    const w = (await artifactWitness(dir, input)).values;
    expect(violatedConstraints(r1cs, w), `${dir}: the honest witness of input ${index}`).toEqual([]);
    opts.onWitness?.(w, index);
    const m = [...w];
    for (const wire of wires) {
      const free = freeIf.get(wire);
      if (free && ((free.d !== undefined && w[free.d] === 0n) || (free.isZero !== undefined && w[free.isZero] === 1n))) {
        freeHelpers++;
        continue;
      }
      kinds.add(signalKind(nameOf(wire)));
      for (const delta of deltas) {
        m[wire] = (w[wire] + delta) % FIELD_PRIME;
        const broken = violatedConstraints(r1cs, m, byWire[wire]).length > 0;
        m[wire] = w[wire];
        if (!broken) throw new Error(`${dir}: mutating ${nameOf(wire)} (wire ${wire}) by ${showDelta(delta)} satisfies every constraint (input ${index})`);
        mutations++;
      }
    }
  }
  return { mutations, freeHelpers, wiresPerWitness: wires.length, nWires: r1cs.nWires, kinds };
}
