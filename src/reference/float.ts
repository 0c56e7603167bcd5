/** Float execution of the imported model: used for calibration and to compare against onnxruntime. */
import { splitByPart } from '../ir/io.ts';
import type { FloatModel } from '../ir/types.ts';
import { floatDef } from '../ops/registry.ts';

/**
 * Run the float model on its flat input (the graph inputs concatenated in declaration order, integer inputs
 * as their integer values); returns every tensor (each input and each layer's output) by name.
 */
export function runFloatAll(model: FloatModel, input: ArrayLike<number>): Map<string, Float64Array> {
  const env = new Map<string, Float64Array>(splitByPart(model.input, Float64Array.from(input)));
  for (const l of model.layers) {
    env.set(l.output, floatDef(l).forward(l, l.inputs.map((n) => env.get(n)!)));
  }
  return env;
}

/** The model's output: with several graph outputs, their concatenation in declaration order. */
export function runFloat(model: FloatModel, input: ArrayLike<number>): Float64Array {
  return floatOutput(model, runFloatAll(model, input));
}

/** The (concatenated) output out of runFloatAll's tensors. */
export function floatOutput(model: FloatModel, env: Map<string, Float64Array>): Float64Array {
  const parts = model.output.parts;
  if (!parts) return env.get(model.output.tensor)!;
  const out = new Float64Array(model.output.shape[0]);
  for (const p of parts) out.set(env.get(p.tensor)!, p.offset);
  return out;
}
