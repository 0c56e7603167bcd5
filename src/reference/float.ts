/** Float execution of the imported model: used for calibration and to compare against onnxruntime. */
import type { FloatModel } from '../ir/types.ts';
import { floatDef } from '../ops/registry.ts';

/** Run the float model; returns the output of every layer (index i = output of layers[i]). */
export function runFloatLayers(model: FloatModel, input: ArrayLike<number>): Float64Array[] {
  let x: Float64Array = Float64Array.from(input);
  const outs: Float64Array[] = [];
  for (const l of model.layers) {
    x = floatDef(l).forward(l, x);
    outs.push(x);
  }
  return outs;
}

export function runFloat(model: FloatModel, input: ArrayLike<number>): Float64Array {
  const outs = runFloatLayers(model, input);
  return outs[outs.length - 1];
}
