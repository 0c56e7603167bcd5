/**
 * Exact integer tensors (accumulators of scale 1: ArgMax outputs, integer tables, node ids) are what a Cast to an
 * integer type, a Gather index and a Where condition accept as integers. A fractional constant added to one must
 * not round it back to scale 1: onnxruntime truncates (Cast of 1.6 is 1), a rounded scale-1 value would be 2 and the
 * circuit would prove another row. Such a graph is refused by name instead; integer arithmetic stays exact. And an
 * Equal of a uint8 input with a constant decides on the grid's float32 values as onnxruntime does.
 */
import { describe, expect, it } from 'vitest';
import { importGraph } from '../src/ir/import.ts';
import { buildOnnxModel } from '../src/onnx/builder.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { quantizeInput, quantizeModel } from '../src/quantize/quantize.ts';
import { runInteger } from '../src/reference/integer.ts';
import { dequantizeOutput } from '../src/verify/dequantize.ts';
import { runOrtAll } from './helpers/tree-models.ts';

/** x[1,4] -> ArgMax -> Cast(float) -> Where(am > 1.5, am, c) -> Cast(int64) -> Gather(table). */
function argmaxWhere(c: number): Uint8Array {
  return buildOnnxModel({
    inputs: [{ name: 'x', shape: [1, 4] }], outputs: [{ name: 'y', shape: [1, 1] }],
    initializers: [{ name: 'c', dims: [1], data: [c] }, { name: 'th', dims: [1], data: [1.5] }, { name: 'table', dims: [5, 1], data: [10, 20, 30, 40, 50] }],
    nodes: [
      { op: 'ArgMax', inputs: ['x'], outputs: ['am'], attrs: { axis: 1, keepdims: 0 } },
      { op: 'Cast', inputs: ['am'], outputs: ['amf'], attrs: { to: 1 } },
      { op: 'Greater', inputs: ['amf', 'th'], outputs: ['cond'] },
      { op: 'Where', inputs: ['cond', 'amf', 'c'], outputs: ['s'] },
      { op: 'Cast', inputs: ['s'], outputs: ['si'], attrs: { to: 7 } },
      { op: 'Gather', inputs: ['table', 'si'], outputs: ['y'], attrs: { axis: 0 } },
    ],
  });
}

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

  it('Where(am > 1.5, am, 2.5) cast to int64 is refused; with an integer constant it is exact and matches onnxruntime', async () => {
    expect((await runOrtAll(argmaxWhere(2.5), [0.9, 0.1, 0.2, 0.3], ['y'])).y).toEqual([30]);
    expect(() => quantizeModel(importGraph(loadOnnx(argmaxWhere(2.5))), cal)).toThrow(/casts real values to an integer type/);
    const bytes = argmaxWhere(4);
    const q = quantizeModel(importGraph(loadOnnx(bytes)), cal);
    for (const x of cal) {
      expect(dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x)))).toEqual((await runOrtAll(bytes, x, ['y'])).y);
    }
  });

  it('Equal of a uint8 input with a constant decides as onnxruntime on every grid value (a threshold one ulp off a grid point never matches)', async () => {
    const t = Math.fround(1 + 2 ** -23);
    const bytes = buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 1] }], outputs: [{ name: 'y', shape: [1, 2] }],
      initializers: [{ name: 'a', dims: [1], data: [1] }, { name: 'b', dims: [1], data: [t] }],
      nodes: [
        { op: 'Equal', inputs: ['x', 'a'], outputs: ['ea'] }, { op: 'Equal', inputs: ['x', 'b'], outputs: ['eb'] },
        { op: 'Cast', inputs: ['ea'], outputs: ['fa'], attrs: { to: 1 } }, { op: 'Cast', inputs: ['eb'], outputs: ['fb'], attrs: { to: 1 } },
        { op: 'Concat', inputs: ['fa', 'fb'], outputs: ['y'], attrs: { axis: 1 } },
      ],
    });
    const q = quantizeModel(importGraph(loadOnnx(bytes)), [Float64Array.of(0), Float64Array.of(3)]);
    let ones = 0;
    for (let n = 0; n < 256; n++) {
      const xf = Math.fround((n - q.input.quant.zeroPoint) * q.input.quant.scale);
      const want = (await runOrtAll(bytes, [xf], ['y'])).y as number[];
      expect(runInteger(q, quantizeInput(q.input.quant, Float64Array.of(xf)))).toEqual(want);
      ones += want[0];
    }
    expect(ones).toBe(1); // the grid holds 1.0 exactly once; t is never matched
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
