/** Output dequantization, shared by prover and verifier (no node:* imports). */
import type { TensorQuant } from '../ir/types.ts';

export function dequantizeOutput(q: TensorQuant, v: readonly (bigint | number)[]): number[] {
  return v.map((x, i) => (q.kind === 'u8' ? (Number(x) - q.zeroPoint) * q.scale : Number(x) * q.scales[i]));
}
