/** Float execution of the imported model: used for calibration and to compare against onnxruntime. */
import type { FloatModel } from '../ir/types.ts';
import { floatDef } from '../ops/registry.ts';

/** Run the float model; returns every tensor (the input and each layer's output) by name. */
export function runFloatAll(model: FloatModel, input: ArrayLike<number>): Map<string, Float64Array> {
  const env = new Map<string, Float64Array>([[model.input.name, Float64Array.from(input)]]);
  for (const l of model.layers) {
    env.set(l.output, floatDef(l).forward(l, l.inputs.map((n) => env.get(n)!)));
  }
  return env;
}

export function runFloat(model: FloatModel, input: ArrayLike<number>): Float64Array {
  return runFloatAll(model, input).get(model.output.tensor)!;
}
