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

/**
 * The concatenated output's floats, per part: name, shape, dtype, whether a Softmax was left out, the label
 * table of a class-index output, and values.
 */
export function outputPartsOf(spec: TensorSpec & { parts?: TensorPart[] }, values: readonly number[]): { name: string; shape: number[]; dtype?: string; softmaxOmitted?: string; labels?: string[] | number[]; values: number[] }[] {
  return partsOf(spec).map((p) => ({
    name: p.name,
    shape: p.shape,
    ...(p.dtype ? { dtype: p.dtype } : {}),
    ...(p.softmaxOmitted ? { softmaxOmitted: p.softmaxOmitted } : {}),
    ...(p.labels ? { labels: p.labels } : {}),
    values: values.slice(p.offset, p.offset + sizeOf(p.shape)),
  }));
}

/** Whether a bundle shows per-output `parts` for this output spec: several outputs, a left-out Softmax, or a label table. */
export function showsOutputParts(spec: TensorSpec & { parts?: TensorPart[] }): boolean {
  return spec.parts !== undefined || spec.softmaxOmitted !== undefined || spec.labels !== undefined;
}

/** What withOutputLabels reads of a float or quantized model: its layers and its output's tensors. */
interface LabelledModel {
  layers: readonly { kind: string; output: string; labels?: string[] | number[] }[];
  output: TensorSpec & { tensor?: string; parts?: (TensorPart & { tensor?: string })[] };
  outputTensor?: string;
}

/**
 * The label tables of a model's graph outputs, by output name: an output computed by a 'classlabels' layer
 * (src/ops/trees.ts: a classifier's class index with string or int64 labels) has that layer's table.
 */
export function outputLabelTables(model: LabelledModel): Map<string, string[] | number[]> {
  const byTensor = new Map<string, string[] | number[]>();
  for (const l of model.layers) if (l.kind === 'classlabels' && l.labels) byTensor.set(l.output, l.labels);
  const out = new Map<string, string[] | number[]>();
  const whole = model.outputTensor ?? model.output.tensor;
  for (const p of partsOf(model.output)) {
    const t = (p as { tensor?: string }).tensor ?? whole;
    const table = t === undefined ? undefined : byTensor.get(t);
    if (table) out.set(p.name, table);
  }
  return out;
}

/**
 * An output spec with exactly these label tables (by output name): each part (or the single output) gets the
 * table named for it, and loses any other. Pure; the spec's other fields are kept.
 */
export function withLabelTables<S extends TensorSpec & { parts?: TensorPart[] }>(spec: S, tables: ReadonlyMap<string, string[] | number[]>): S {
  const put = <T extends TensorSpec>(t: T): T => {
    const { labels: _old, ...rest } = t;
    const table = tables.get(t.name);
    return (table ? { ...rest, labels: table } : rest) as T;
  };
  return spec.parts ? { ...spec, parts: spec.parts.map(put) } : put(spec);
}

/** The label tables a spec states, by output name. */
export function labelTablesOf(spec: TensorSpec & { parts?: TensorPart[] }): Map<string, string[] | number[]> {
  const m = new Map<string, string[] | number[]>();
  for (const p of partsOf(spec)) if (p.labels) m.set(p.name, p.labels);
  return m;
}

/**
 * The model with its output's label tables (outputLabelTables) on the output spec: the quantized model's
 * output part for a classifier's label output gets `labels` (index -> label). Idempotent.
 */
export function withOutputLabels<M extends LabelledModel>(model: M): M {
  const tables = outputLabelTables(model);
  if (tables.size === 0 && labelTablesOf(model.output).size === 0) return model;
  return { ...model, output: withLabelTables(model.output, tables) };
}
