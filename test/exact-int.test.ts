/**
 * Exact integer tensors (accumulators of scale 1: ArgMax outputs, integer tables, node ids) are what a Cast to an
 * integer type, a Gather index and a Where condition accept as integers. A fractional constant added to one must
 * not round it back to scale 1: onnxruntime truncates (Cast of 1.6 is 1), a rounded scale-1 value would be 2 and the
 * circuit would prove another row. Such a graph is refused by name instead; integer arithmetic stays exact.
 */
import { describe, expect, it } from 'vitest';
import { importGraph } from '../src/ir/import.ts';
import { buildOnnxModel } from '../src/onnx/builder.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { quantizeInput, quantizeModel } from '../src/quantize/quantize.ts';
import { runInteger } from '../src/reference/integer.ts';
import { dequantizeOutput } from '../src/verify/dequantize.ts';
import { runOrtAll } from './helpers/tree-models.ts';

/** x[1,4] -> ArgMax -> Cast(float) -> Add c -> Cast(int64) -> Gather(table [10, 20, 30, 40]). */
function argmaxPlus(c: number): Uint8Array {
  return buildOnnxModel({
    inputs: [{ name: 'x', shape: [1, 4] }], outputs: [{ name: 'y', shape: [1, 1] }],
    initializers: [{ name: 'c', dims: [1], data: [c] }, { name: 'table', dims: [5, 1], data: [10, 20, 30, 40, 50] }],
    nodes: [
      { op: 'ArgMax', inputs: ['x'], outputs: ['am'], attrs: { axis: 1, keepdims: 0 } },
      { op: 'Cast', inputs: ['am'], outputs: ['amf'], attrs: { to: 1 } },
      { op: 'Add', inputs: ['amf', 'c'], outputs: ['s'] },
      { op: 'Cast', inputs: ['s'], outputs: ['si'], attrs: { to: 7 } },
      { op: 'Gather', inputs: ['table', 'si'], outputs: ['y'], attrs: { axis: 0 } },
    ],
  });
}

const cal = [Float64Array.of(1, 0, 0, 0), Float64Array.of(0, 1, 0, 0), Float64Array.of(0, 0, 1, 0), Float64Array.of(0, 0, 0, 1)];

describe('exact integers', () => {
  it('ArgMax + 0.6 cast to int64 (onnxruntime truncates) is refused, not proven as a rounded index', async () => {
    const bytes = argmaxPlus(0.6);
    expect((await runOrtAll(bytes, [0.9, 0.1, 0.2, 0.3], ['y'])).y).toEqual([10]);
    expect(() => quantizeModel(importGraph(loadOnnx(bytes)), cal)).toThrow(/casts real values to an integer type/);
  });

  it('ArgMax + 1 stays an exact integer: the same rows as onnxruntime for every class', async () => {
    const bytes = argmaxPlus(1);
    const q = quantizeModel(importGraph(loadOnnx(bytes)), cal);
    for (const x of cal) {
      const want = (await runOrtAll(bytes, x, ['y'])).y;
      expect(dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)))).toEqual(want);
    }
  });
});
