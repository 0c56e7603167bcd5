/**
 * A model's graph inputs and outputs as the circuit sees them: the input vector is the concatenation of the
 * graph inputs (declaration order), the output vector the concatenation of the graph outputs. A model with
 * one float input (one output) has no `parts`: the tensor is the whole vector, as before.
 */
import { InputError } from '../errors.ts';
import { quantizeInput } from './quant.ts';
import type { AccQuant, IoSpec, QuantPart, TensorPart, TensorQuant, TensorSpec, U8Quant } from './types.ts';
import { sizeOf } from './types.ts';

/** The tensors of an input or output: its parts, or the spec itself as one part at offset 0. */
export function partsOf<P extends TensorPart = TensorPart>(spec: TensorSpec & { parts?: P[] }): (P | (TensorSpec & { offset: number }))[] {
  return spec.parts ?? [{ ...spec, offset: 0 }];
}

/** Split a flat vector into its parts' slices, by tensor name. */
export function splitByPart<T extends { slice(a: number, b: number): T }>(spec: IoSpec, flat: T): Map<string, T> {
  const m = new Map<string, T>();
  for (const p of partsOf(spec)) m.set(p.name, flat.slice(p.offset, p.offset + sizeOf(p.shape)));
  return m;
}

/** An integer (or bool) input part: an accumulator of scale 1 whose lo/hi bound every element. */
export const isIntegerPart = (p: { quant?: TensorQuant }): p is { quant: AccQuant } & QuantPart => p.quant?.kind === 'acc';

/** Bounds of an integer part (all its elements share them). */
export function integerBounds(p: { quant: AccQuant }): { lo: number; hi: number } {
  return { lo: p.quant.lo[0] ?? 0, hi: p.quant.hi[0] ?? 0 };
}

/**
 * The circuit's integer input for a flat (concatenated) float input: uint8 parts quantized on their grid,
 * integer parts as they are, each checked to be an integer within the part's bounds (InputError naming the
 * input, the element and the bounds).
 */
export function quantizeModelInput(spec: { quant: U8Quant; parts?: QuantPart[]; name: string; shape: number[] }, flat: ArrayLike<number>): number[] {
  if (!spec.parts) return quantizeInput(spec.quant, flat);
  const out: number[] = [];
  for (const p of spec.parts) {
    const n = sizeOf(p.shape);
    const slice = Array.from({ length: n }, (_, i) => flat[p.offset + i]);
    if (p.quant?.kind !== 'acc') {
      out.push(...quantizeInput(p.quant ?? spec.quant, slice));
      continue;
    }
    const { lo, hi } = integerBounds(p as { quant: AccQuant });
    slice.forEach((v, i) => {
      if (!Number.isInteger(v)) throw new InputError(`input '${p.name}' element ${i} is ${v}, not an integer (the input is ${p.dtype ?? 'an integer tensor'}).`);
      if (v < lo || v > hi) {
        throw new InputError(`input '${p.name}' element ${i} is ${v}, outside the bounds [${lo}, ${hi}] the circuit range-checks it to.`, {
          hint: `The bounds come from the calibration set (min..max of '${p.name}'${p.dtype === 'bool' ? '; bool is [0, 1]' : ''}); recompile with a calibration set that covers ${v}.`,
        });
      }
      out.push(v);
    });
  }
  return out;
}

/** The concatenated output's floats, per part: name, shape, dtype, whether a Softmax was left out, and values. */
export function outputPartsOf(spec: TensorSpec & { parts?: TensorPart[] }, values: readonly number[]): { name: string; shape: number[]; dtype?: string; softmaxOmitted?: string; values: number[] }[] {
  return partsOf(spec).map((p) => ({
    name: p.name,
    shape: p.shape,
    ...(p.dtype ? { dtype: p.dtype } : {}),
    ...(p.softmaxOmitted ? { softmaxOmitted: p.softmaxOmitted } : {}),
    values: values.slice(p.offset, p.offset + sizeOf(p.shape)),
  }));
}
