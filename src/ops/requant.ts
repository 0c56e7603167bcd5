/**
 * Requantization of an accumulator to uint8 (with ReLU fused when the zero point is 0), per channel j:
 *
 *   y = clamp(floor((acc * M + 2^(S-1)) / 2^S) + zp, 0, 255)
 *
 * Circuit (circuits/requant.circom): u = acc * M + C with C = 2^(S-1) + (zp + 2^m) * 2^S is decomposed into
 * K = S + m + 1 constrained bits. The low S bits are the remainder (so 0 <= r < 2^S is enforced), bits
 * S..S+m-1 hold the unclamped value when it is not negative, the top bit says "not negative", and the bits
 * S+8..K-2 say "above 255". m >= 8 is the smallest width with -2^m <= unclamped value < 2^m over the exact
 * accumulator bounds, so u always lies in [0, 2^K) and the decomposition is unique (K is far below 253).
 *
 * Cost per element: K + 5 constraints when m > 8 ("wide"), K + 2 when m == 8 ("narrow"), plus 1 for binding
 * the component's input u to M * acc + C (counted by CircuitWriter.bind); 0 when the accumulator is a
 * constant (all weights zero).
 */
import type { AccQuant, QRequant, U8Quant } from '../ir/types.ts';
import type { QLayerDef } from './types.ts';

export interface RequantChannel {
  multiplier: number;
  shift: number;
  /** m: width of the unclamped value's two's-complement-with-offset field. */
  m: number;
  bits: number;
}

const floorDiv = (a: bigint, s: number): bigint => a >> BigInt(s);

/** The template's precondition: K well below the 254-bit field, so the bit decomposition is unique. */
export const MAX_REQUANT_BITS = 252;

/** Pick M, S and the bit width for one channel. */
export function requantChannel(accScale: number, lo: number, hi: number, out: U8Quant, multiplierBits: number): RequantChannel {
  const r = accScale / out.scale;
  let shift = multiplierBits - 1 - Math.floor(Math.log2(r));
  if (shift < 1) shift = 1;
  if (shift > 200) shift = 200;
  const multiplier = Math.max(1, Math.round(r * 2 ** shift));
  const yLo = Number(floorDiv(BigInt(lo) * BigInt(multiplier) + (1n << BigInt(shift - 1)), shift)) + out.zeroPoint;
  const yHi = Number(floorDiv(BigInt(hi) * BigInt(multiplier) + (1n << BigInt(shift - 1)), shift)) + out.zeroPoint;
  let m = 8;
  while (yLo < -(2 ** m) || yHi >= 2 ** m) m++;
  return { multiplier, shift, m, bits: shift + m + 1 };
}

/** The integer requantization of one value: the specification. */
export function requantValue(acc: bigint, multiplier: number, shift: number, zeroPoint: number): number {
  const q = floorDiv(acc * BigInt(multiplier) + (1n << BigInt(shift - 1)), shift) + BigInt(zeroPoint);
  return q < 0n ? 0 : q > 255n ? 255 : Number(q);
}

export function makeRequant(
  name: string, input: string, output: string, shape: number[], inQuant: AccQuant, inOffset: number, outQuant: U8Quant, relu: boolean, multiplierBits: number,
): QRequant {
  const n = inQuant.scales.length;
  const multipliers: number[] = [];
  const shifts: number[] = [];
  const bits: number[] = [];
  for (let j = 0; j < n; j++) {
    const c = requantChannel(inQuant.scales[j], inQuant.lo[j], inQuant.hi[j], outQuant, multiplierBits);
    multipliers.push(c.multiplier);
    shifts.push(c.shift);
    bits.push(c.bits);
  }
  return { kind: 'requant', name, inputs: [input], output, inShape: shape, outShape: shape, size: n, relu, inOffset, multipliers, shifts, bits, inQuant, outQuant };
}

const isConstant = (l: QRequant, j: number): boolean => l.inQuant.lo[j] === l.inQuant.hi[j];
const midWidth = (l: QRequant, j: number): number => l.bits[j] - 1 - l.shifts[j];

export function channelConstraints(l: QRequant, j: number): number {
  if (isConstant(l, j)) return 0;
  return midWidth(l, j) > 8 ? l.bits[j] + 5 : l.bits[j] + 2;
}

export const requantQ: QLayerDef<QRequant> = {
  reference(l, [x]) {
    return x.map((v, j) => requantValue(BigInt(v - l.inOffset), l.multipliers[j], l.shifts[j], l.outQuant.zeroPoint));
  },

  emit(l, [x], w) {
    w.include('requant.circom');
    w.line(`// ${l.name}: requantize ${l.size} channels to uint8${l.relu ? ' with fused ReLU' : ''}`);
    const prefix = w.fresh('rq');
    return x.map((expr, j) => {
      if (isConstant(l, j)) return String(requantValue(BigInt(l.inQuant.lo[j]), l.multipliers[j], l.shifts[j], l.outQuant.zeroPoint));
      const s = l.shifts[j];
      const m = midWidth(l, j);
      const c = (1n << BigInt(s - 1)) + (BigInt(l.outQuant.zeroPoint) + (1n << BigInt(m))) * (1n << BigInt(s));
      const tpl = m > 8 ? 'RequantU8Wide' : 'RequantU8Narrow';
      const id = `${prefix}_${j}`;
      w.line(`component ${id} = ${tpl}(${l.bits[j]}, ${s});`);
      const e = l.inOffset ? `${expr} - ${l.inOffset}` : expr;
      w.bind(`${id}.u`, `${BigInt(l.multipliers[j])} * (${e}) + ${c}`);
      return `${id}.out`;
    });
  },

  constraints(l) {
    let total = 0;
    for (let j = 0; j < l.size; j++) total += channelConstraints(l, j);
    return total;
  },
  costFormula: 'per element: K + 5 (wide, m > 8) or K + 2 (narrow, m = 8), K = S + m + 1 bits, plus 1 binding u = M*acc + C; 0 if constant',
  bitsSummary(l) {
    const ks = l.bits;
    return `K ${Math.min(...ks)}..${Math.max(...ks)}, M ${Math.min(...l.multipliers)}..${Math.max(...l.multipliers)}`;
  },
};
