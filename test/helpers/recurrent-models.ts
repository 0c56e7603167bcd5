/**
 * Small ONNX models with LSTM / GRU / RNN nodes for test/recurrent.test.ts, shaped as torch.onnx exports them
 * (Transpose of a batch_first input or layout 1, ConstantOfShape initial states, Squeeze of num_directions).
 * Weights are seeded uniform(-1/sqrt(H), 1/sqrt(H)) as PyTorch initializes them.
 */
import { buildOnnxModel, type ModelSpec, type NodeSpec } from '../../src/onnx/builder.ts';
import { ModelBuilder } from './model-builder.ts';

export interface RecurrentModel {
  name: string;
  bytes: Uint8Array;
  inputName: string;
  inputShape: number[];
}

export type Cell = 'LSTM' | 'GRU' | 'RNN';
export type Direction = 'forward' | 'reverse' | 'bidirectional';
const GATES: Record<Cell, number> = { LSTM: 4, GRU: 3, RNN: 1 };

export interface CellOptions {
  cell: Cell;
  hidden: number;
  direction?: Direction;
  layout?: 0 | 1;
  /** Initial h (and c): 'none' (absent), 'zeros' (ConstantOfShape), 'const' (non-zero initializer). */
  init?: 'none' | 'zeros' | 'const';
  linearBeforeReset?: 0 | 1;
  noBias?: boolean;
  /** Which output the rest of the graph reads (cell() returns its name). */
  use?: 'Y' | 'Y_h' | 'Y_c';
  /** Further outputs written (named `${node}.Y_h` etc.). */
  also?: ('Y' | 'Y_h' | 'Y_c')[];
  /** Extra attributes (e.g. sequence_lens is an input: see seqLens). */
  attrs?: NodeSpec['attrs'];
  /** sequence_lens as a constant input: true = the full length, a number = that length. */
  seqLens?: boolean | number;
  /** The activations attribute (written as STRINGS) and activation_alpha / activation_beta. */
  activations?: string[];
  alphas?: number[];
  betas?: number[];
  clip?: number;
  /** LSTM input_forget 1. */
  inputForget?: boolean;
  /** LSTM peepholes P: seeded non-zero values (scale 0.5). */
  peepholes?: boolean;
  /** Batch size of x (default 1; zkonnx refuses more). */
  batch?: number;
}

class Builder extends ModelBuilder {

  /** One recurrent node reading x ([seq, 1, I] for layout 0, [1, seq, I] for 1); returns the used output's name. */
  cell(name: string, x: string, seq: number, I: number, o: CellOptions): string {
    const H = o.hidden;
    const G = GATES[o.cell];
    const D = o.direction === 'bidirectional' ? 2 : 1;
    const a = 1 / Math.sqrt(H);
    const W = this.init(`${name}.W`, [D, G * H, I], this.rand(D * G * H * I, a));
    const R = this.init(`${name}.R`, [D, G * H, H], this.rand(D * G * H * H, a));
    const B = o.noBias ? '' : this.init(`${name}.B`, [D, 2 * G * H], this.rand(D * 2 * G * H, a));
    const sl = o.seqLens !== undefined && o.seqLens !== false ? this.init(`${name}.sl`, [1], [o.seqLens === true ? seq : o.seqLens], 'int32') : '';
    const stateShape = o.layout === 1 ? [1, D, H] : [D, 1, H];
    const state = (tag: string): string => {
      if (!o.init || o.init === 'none') return '';
      if (o.init === 'zeros') {
        const shape = this.init(`${name}.${tag}.shape`, [3], stateShape, 'int64');
        return this.node('ConstantOfShape', `${name}.${tag}`, [shape], { value: { tensor: { dims: [1], data: [0] } } });
      }
      return this.init(`${name}.${tag}`, stateShape, this.rand(D * H, 0.5));
    };
    const h0 = state('h0');
    const inputs = [x, W, R, B, sl, h0];
    if (o.cell === 'LSTM') inputs.push(state('c0'));
    if (o.cell === 'LSTM' && o.peepholes) inputs.push(this.init(`${name}.P`, [D, 3 * H], this.rand(D * 3 * H, 0.5)));
    while (inputs.length && inputs[inputs.length - 1] === '') inputs.pop();
    const attrs: NodeSpec['attrs'] = { hidden_size: H, ...(o.attrs ?? {}) };
    if (o.activations) attrs.activations = { strings: o.activations };
    if (o.alphas) attrs.activation_alpha = { floats: o.alphas };
    if (o.betas) attrs.activation_beta = { floats: o.betas };
    if (o.clip !== undefined) attrs.clip = { float: o.clip };
    if (o.inputForget) attrs.input_forget = 1;
    if (o.direction && o.direction !== 'forward') attrs.direction = o.direction;
    if (o.layout) attrs.layout = o.layout;
    if (o.cell === 'GRU' && o.linearBeforeReset) attrs.linear_before_reset = 1;
    const used: string[] = [o.use ?? 'Y', ...(o.also ?? [])];
    const outs = (['Y', 'Y_h', ...(o.cell === 'LSTM' ? ['Y_c'] : [])] as const).map((k) => (used.includes(k) ? `${name}.${k}` : ''));
    while (outs.length && outs[outs.length - 1] === '') outs.pop();
    this.node(o.cell, name, inputs, attrs, outs);
    return `${name}.${o.use ?? 'Y'}`;
  }

  model(name: string, inputShape: number[], output: string, outShape: number[], opset: number): RecurrentModel {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', shape: inputShape }],
      outputs: [{ name: output, shape: outShape }],
      initializers: this.inits,
      nodes: this.nodes,
      opset,
      graphName: name,
    };
    return { name, bytes: buildOnnxModel(spec), inputName: 'x', inputShape };
  }
}

/**
 * A single recurrent node on a batch_first input x [1, seq, I]: a Transpose to [seq, 1, I] (layout 0) or the
 * layout 1 attribute (opset 14), then the chosen output.
 */
export function cellModel(name: string, seq: number, I: number, o: CellOptions, seed = 5): RecurrentModel {
  const b = new Builder(seed);
  const layout = o.layout ?? 0;
  const x = layout === 0 ? b.node('Transpose', 'tr', ['x'], { perm: [1, 0, 2] }) : 'x';
  const out = b.cell('rnn', x, seq, I, o);
  const D = o.direction === 'bidirectional' ? 2 : 1;
  const use = o.use ?? 'Y';
  const shape = use === 'Y' ? (layout === 0 ? [seq, D, 1, o.hidden] : [1, seq, D, o.hidden]) : layout === 0 ? [D, 1, o.hidden] : [1, D, o.hidden];
  return b.model(name, [o.batch ?? 1, seq, I], out, shape, layout === 1 ? 14 : 13);
}

/**
 * The end-to-end model: x [1, 4, 3] -> Transpose -> LSTM forward (h 4, zero initial states from ConstantOfShape)
 * -> Squeeze num_directions -> GRU reverse (linear_before_reset 1) -> Squeeze -> RNN bidirectional -> Y_h [2, 1, 4].
 */
export function stackModel(): RecurrentModel {
  const b = new Builder(11);
  const seq = 4;
  const H = 4;
  const x = b.node('Transpose', 'tr', ['x'], { perm: [1, 0, 2] });
  const axes = b.init('axes1', [1], [1], 'int64');
  const y1 = b.cell('lstm', x, seq, 3, { cell: 'LSTM', hidden: H, init: 'zeros' });
  const s1 = b.node('Squeeze', 'sq1', [y1, axes]);
  const y2 = b.cell('gru', s1, seq, H, { cell: 'GRU', hidden: H, direction: 'reverse', linearBeforeReset: 1 });
  const s2 = b.node('Squeeze', 'sq2', [y2, axes]);
  const y3 = b.cell('rnn', s2, seq, H, { cell: 'RNN', hidden: H, direction: 'bidirectional', use: 'Y_h', init: 'zeros' });
  return b.model('stack', [1, seq, 3], y3, [2, 1, H], 13);
}

/**
 * The two other rows of the direction Latin square (stackModel is LSTM forward / GRU reverse / RNN
 * bidirectional), with the attributes of issue 14's follow-up in use, seq 3, and every output kind read:
 * - 'square-b': x [1, 3, 2] -> LSTM reverse (h 3, peepholes, clip 0.9, Y and Y_c) -> GRU bidirectional
 *   (linear_before_reset 0, h 2, Y and Y_h) -> Reshape [3, 1, 4] -> RNN forward (h 2, Relu, Y_h);
 *   output Concat(Y_c, GRU Y_h, RNN Y_h) [1, 9].
 * - 'square-c': x [1, 3, 2] -> LSTM bidirectional (h 2, input_forget, HardSigmoid gates, Y and Y_h) ->
 *   Reshape [3, 1, 4] -> GRU forward (linear_before_reset 1, h 3, constant initial h, Y) -> RNN reverse (h 2,
 *   Y, sequence_lens 2 of 3); output Concat(RNN Y, LSTM Y_h) [1, 10].
 */
export function squareModels(): RecurrentModel[] {
  const seq = 3;
  const flat = (b: Builder, name: string, x: string, n: number) => b.node('Reshape', name, [x, b.init(`${name}.shape`, [2], [1, n], 'int64')]);
  const b = new Builder(23);
  const x = b.node('Transpose', 'tr', ['x'], { perm: [1, 0, 2] });
  const axes = b.init('axes1', [1], [1], 'int64');
  const y1 = b.cell('lstm', x, seq, 2, { cell: 'LSTM', hidden: 3, direction: 'reverse', peepholes: true, clip: 0.9, init: 'zeros', also: ['Y_c'] });
  const s1 = b.node('Squeeze', 'sq1', [y1, axes]);
  const y2 = b.cell('gru', s1, seq, 3, { cell: 'GRU', hidden: 2, direction: 'bidirectional', also: ['Y_h'] });
  const r2 = b.node('Reshape', 'r2', [y2, b.init('r2.shape', [3], [seq, 1, 4], 'int64')]);
  const y3 = b.cell('rnn', r2, seq, 4, { cell: 'RNN', hidden: 2, use: 'Y_h', activations: ['Relu'] });
  b.node('Concat', 'out', [flat(b, 'f1', 'lstm.Y_c', 3), flat(b, 'f2', 'gru.Y_h', 4), flat(b, 'f3', y3, 2)], { axis: 1 });
  const mB = b.model('square-b', [1, seq, 2], 'out', [1, 9], 13);

  const c = new Builder(29);
  const xc = c.node('Transpose', 'tr', ['x'], { perm: [1, 0, 2] });
  const z1 = c.cell('lstm', xc, seq, 2, { cell: 'LSTM', hidden: 2, direction: 'bidirectional', inputForget: true, activations: ['HardSigmoid', 'Tanh', 'Tanh', 'HardSigmoid', 'Tanh', 'Tanh'], also: ['Y_h'] });
  const q1 = c.node('Reshape', 'r1', [z1, c.init('r1.shape', [3], [seq, 1, 4], 'int64')]);
  const z2 = c.cell('gru', q1, seq, 4, { cell: 'GRU', hidden: 3, linearBeforeReset: 1, init: 'const' });
  const q2 = c.node('Squeeze', 'sq2', [z2, c.init('axes1', [1], [1], 'int64')]);
  const z3 = c.cell('rnn', q2, seq, 3, { cell: 'RNN', hidden: 2, direction: 'reverse', seqLens: 2 });
  c.node('Concat', 'out', [flat(c, 'f1', z3, 6), flat(c, 'f2', 'lstm.Y_h', 4)], { axis: 1 });
  const mC = c.model('square-c', [1, seq, 2], 'out', [1, 10], 13);
  return [mB, mC];
}
