/**
 * uint8 grid arithmetic shared by the op definitions (src/ops), the quantizer (src/quantize) and the prover:
 * choosing a grid for a range, rounding as ONNX does, and quantizing a float tensor onto a grid. It sits below
 * ops and quantize so that neither has to import the other for it.
 */
import type { U8Quant } from './types.ts';

/** uint8 quantization covering [min, max] (widened to include 0). */
export function u8QuantFor(r: { min: number; max: number }): U8Quant {
  const lo = Math.min(0, r.min);
  const hi = Math.max(0, r.max);
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  const zeroPoint = Math.max(0, Math.min(255, Math.round(-lo / scale)));
  return { kind: 'u8', scale, zeroPoint };
}

/** Round half to even, as ONNX QuantizeLinear does. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Quantize a float input tensor to the model's uint8 input (ONNX QuantizeLinear semantics). */
export function quantizeInput(q: U8Quant, x: ArrayLike<number>): number[] {
  return Array.from(x, (v) => Math.max(0, Math.min(255, roundHalfEven(v / q.scale) + q.zeroPoint)));
}
