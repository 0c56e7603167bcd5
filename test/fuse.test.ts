/**
 * GELU written with Erf (src/ops/elementwise-fuse.ts): each spelling exporters use becomes one Gelu, and the
 * imported model still computes what onnxruntime computes; a near miss (another constant, an intermediate read
 * elsewhere) is left as it is.
 */
import { describe, expect, it } from 'vitest';
import { importGraph } from '../src/ir/import.ts';
import { buildOnnxModel, mulberry32, type NodeSpec } from '../src/onnx/builder.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { fuseGeluErf } from '../src/ops/elementwise-fuse.ts';
import { runFloat } from '../src/reference/float.ts';
import { runOrt } from './helpers/ort.ts';

const s = (name: string, v: number) => ({ name, dims: [], data: [v] });

function model(tail: NodeSpec[], consts: { name: string; dims: number[]; data: number[] }[], out = 'y', extraOut = false) {
  const rnd = mulberry32(9);
  return buildOnnxModel({
    inputs: [{ name: 'x0', shape: [1, 6] }],
    outputs: [{ name: out, shape: [1, 6] }, ...(extraOut ? [{ name: 'e', shape: [1, 6] }] : [])],
    initializers: [{ name: 'W', dims: [6, 6], data: Array.from({ length: 36 }, () => 2 * rnd() - 1) }, ...consts],
    nodes: [{ op: 'MatMul', name: 'mm', inputs: ['x0', 'W'], outputs: ['x'] }, ...tail],
    opset: 13,
  });
}

const erfPart = (scaleOp: 'Div' | 'Mul', c: number): NodeSpec[] => [
  { op: scaleOp, name: 'scale', inputs: ['x', 'c'], outputs: ['d'] },
  { op: 'Erf', name: 'erf', inputs: ['d'], outputs: ['e'] },
  { op: 'Add', name: 'add', inputs: ['one', 'e'], outputs: ['a'] },
];

const cases: [string, NodeSpec[], number, 'Div' | 'Mul'][] = [
  ['Mul(Mul(x, a), 0.5) (torch.onnx nn.GELU)', [{ op: 'Mul', name: 'm', inputs: ['x', 'a'], outputs: ['m'] }, { op: 'Mul', name: 'h', inputs: ['m', 'half'], outputs: ['y'] }], Math.SQRT2, 'Div'],
  ['Mul(x, Mul(a, 0.5))', [{ op: 'Mul', name: 'm', inputs: ['half', 'a'], outputs: ['m'] }, { op: 'Mul', name: 'h', inputs: ['m', 'x'], outputs: ['y'] }], Math.SQRT2, 'Div'],
  ['Mul(Mul(x, 0.5), a) (Hugging Face), scale by Mul 1/sqrt 2', [{ op: 'Mul', name: 'xh', inputs: ['x', 'half'], outputs: ['t'] }, { op: 'Mul', name: 'h', inputs: ['a', 't'], outputs: ['y'] }], Math.SQRT1_2, 'Mul'],
];

const x = [[-3, -1.2, -0.3, 0, 0.7, 2.5], [1, -2, 0.1, -0.05, 3, -4]];

describe('GELU written with Erf', () => {
  for (const [title, tail, c, op] of cases) {
    it(`${title} becomes one Gelu, same values as onnxruntime`, async () => {
      const bytes = model([...erfPart(op, c), ...tail], [s('c', c), s('one', 1), s('half', 0.5)]);
      const fused = fuseGeluErf(loadOnnx(bytes));
      expect(fused.nodes.map((n) => n.op)).toEqual(['MatMul', 'Gelu']);
      const m = importGraph(loadOnnx(bytes));
      expect(m.layers.map((l) => l.kind)).toEqual(['dense', 'lut']);
      for (const v of x) {
        const want = await runOrt(bytes, 'x0', [1, 6], v);
        const got = runFloat(m, v);
        want.forEach((w, i) => expect(Math.abs(got[i] - w)).toBeLessThan(1e-5 * (1 + Math.abs(w))));
      }
    });
  }

  it('a near miss is left as it is: another constant, or an intermediate that is also a graph output', async () => {
    const tail: NodeSpec[] = [{ op: 'Mul', name: 'm', inputs: ['x', 'a'], outputs: ['m'] }, { op: 'Mul', name: 'h', inputs: ['m', 'half'], outputs: ['y'] }];
    const other = model([...erfPart('Div', 1.5), ...tail], [s('c', 1.5), s('one', 1), s('half', 0.5)]);
    expect(fuseGeluErf(loadOnnx(other)).nodes.some((n) => n.op === 'Gelu')).toBe(false);
    const shared = model([...erfPart('Div', Math.SQRT2), ...tail], [s('c', Math.SQRT2), s('one', 1), s('half', 0.5)], 'y', true);
    expect(fuseGeluErf(loadOnnx(shared)).nodes.some((n) => n.op === 'Gelu')).toBe(false);
    const halfWrong = model([...erfPart('Div', Math.SQRT2), ...tail], [s('c', Math.SQRT2), s('one', 1), s('half', 0.25)]);
    expect(fuseGeluErf(loadOnnx(halfWrong)).nodes.some((n) => n.op === 'Gelu')).toBe(false);
    // Unfused, the model still imports and matches onnxruntime.
    const m = importGraph(loadOnnx(other));
    const want = await runOrt(other, 'x0', [1, 6], x[0]);
    const got = runFloat(m, x[0]);
    want.forEach((w, i) => expect(Math.abs(got[i] - w)).toBeLessThan(1e-5 * (1 + Math.abs(w))));
  });
});
