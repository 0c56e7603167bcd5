/**
 * circuits/requant.circom on its own: both variants against requantValue (the bigint spec) over whole
 * accumulator ranges, their exact constraint counts, and rejection of out-of-range remainders.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { compileCircuit } from '../src/compile/compile.ts';
import { readR1csFile, violatedConstraints, readSymbols } from '../src/compile/r1cs.ts';
import { FIELD_PRIME } from '../src/field.ts';
import { requantChannel, requantValue } from '../src/ops/requant.ts';
import { computeWitness } from '../src/prove/witness.ts';

const DIR = 'artifacts/test/gadget';

interface Case {
  name: string;
  lo: number;
  hi: number;
  accScale: number;
  zp: number;
  wide: boolean;
}

const cases: Case[] = [
  // Output range far beyond 255 on both sides: the wide variant with the is-zero overflow check.
  { name: 'wide', lo: -300_000, hi: 250_000, accScale: 0.001, zp: 0, wide: true },
  // A non-zero zero point (no ReLU): clamps at 0 and 255 around it.
  { name: 'wide-zp', lo: -90_000, hi: 90_000, accScale: 0.002, zp: 77, wide: true },
  // Narrow: the unclamped value stays in [-256, 256), so no overflow bits.
  { name: 'narrow', lo: -20_000, hi: 20_000, accScale: 0.0012749, zp: 0, wide: false },
];

describe('RequantU8 gadget', () => {
  for (const c of cases) {
    it(`${c.name}: matches requantValue on the whole range; K + ${c.wide ? 5 : 2} constraints`, async () => {
      const out = { kind: 'u8' as const, scale: 0.1, zeroPoint: c.zp };
      const ch = requantChannel(c.accScale, c.lo, c.hi, out, 10);
      expect(ch.m > 8).toBe(c.wide);
      const C = (1n << BigInt(ch.shift - 1)) + (BigInt(c.zp) + (1n << BigInt(ch.m))) * (1n << BigInt(ch.shift));
      const dir = `${DIR}/${c.name}`;
      await mkdir(dir, { recursive: true });
      const tpl = c.wide ? 'RequantU8Wide' : 'RequantU8Narrow';
      await writeFile(`${dir}/circuit.circom`, `pragma circom 2.1.0;\ninclude "requant.circom";\ncomponent main {public [u]} = ${tpl}(${ch.bits}, ${ch.shift});\n`);
      const u = (acc: number) => ({ u: BigInt(acc) * BigInt(ch.multiplier) + C });
      const rep = await compileCircuit(`${dir}/circuit.circom`, dir, 'wasm');
      // Standalone, u is a public input, so no binding constraint: K + 5 (wide) or K + 2 (narrow).
      expect(rep.constraints).toBe(ch.bits + (c.wide ? 5 : 2));

      const accs = new Set<number>([c.lo, c.hi, 0, -1, 1]);
      const step = Math.max(1, Math.floor((c.hi - c.lo) / 1500));
      for (let a = c.lo; a <= c.hi; a += step) accs.add(a);
      // Values around every clamp boundary and rounding edge.
      for (const y of [-1, 0, 1, 254, 255, 256]) {
        const center = Math.round(((y - c.zp) * 2 ** ch.shift) / ch.multiplier);
        for (let d = -3; d <= 3; d++) if (center + d >= c.lo && center + d <= c.hi) accs.add(center + d);
      }
      let low = 0;
      let high = 0;
      for (const a of accs) {
        const w = await computeWitness(`${dir}/circuit_js/circuit.wasm`, u(a));
        const want = requantValue(BigInt(a), ch.multiplier, ch.shift, c.zp);
        expect(w.values[1], `acc ${a}`).toBe(BigInt(want));
        if (want === 0) low++;
        if (want === 255) high++;
      }
      expect(low).toBeGreaterThan(0);
      expect(high).toBeGreaterThan(0);

      // A remainder that is out of range cannot be encoded: flipping any bit, or setting one to 2, fails.
      const r1cs = await readR1csFile(`${dir}/circuit.r1cs`);
      const syms = await readSymbols(`${dir}/circuit.sym`);
      const w = (await computeWitness(`${dir}/circuit_js/circuit.wasm`, u(c.lo + 12345))).values;
      expect(violatedConstraints(r1cs, w)).toEqual([]);
      for (let i = 0; i < ch.bits; i++) {
        const wire = syms.get(`main.bits[${i}]`)!;
        for (const v of [1n - w[wire], 2n, FIELD_PRIME - 1n]) {
          const m = [...w];
          m[wire] = v;
          expect(violatedConstraints(r1cs, m).length).toBeGreaterThan(0);
        }
      }
      // Every other computed signal (out, and inv / isZero / fill in the wide variant), at both clamps and
      // in between: any single change breaks a constraint, except inv when the value it inverts is 0.
      const firstPrivate = 1 + r1cs.nOutputs + r1cs.nPubInputs + r1cs.nPrvInputs;
      const names = new Map([...syms].filter(([, wire]) => wire >= 0).map(([n, wire]) => [wire, n]));
      let mutated = 0;
      for (const a of [c.lo, c.hi, Math.round((c.lo + c.hi) / 3)]) {
        const wa = (await computeWitness(`${dir}/circuit_js/circuit.wasm`, u(a))).values;
        for (let wire = 1; wire < r1cs.nWires; wire++) {
          if (wire > r1cs.nOutputs && wire < firstPrivate) continue; // the public input u itself
          const name = names.get(wire) ?? `wire ${wire}`;
          if (name === 'main.inv' && wa[syms.get('main.isZero')!] === 1n) continue;
          for (const d of [1n, FIELD_PRIME - 1n]) {
            const m = [...wa];
            m[wire] = (m[wire] + d) % FIELD_PRIME;
            expect(violatedConstraints(r1cs, m).length, `${name} at acc ${a}`).toBeGreaterThan(0);
            mutated++;
          }
        }
      }
      expect(mutated).toBeGreaterThan(6 * ch.bits);
    });
  }
});
