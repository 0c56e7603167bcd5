/**
 * Small ONNX models with LSTM / GRU / RNN nodes for test/recurrent.test.ts, shaped as torch.onnx exports them
 * (Transpose of a batch_first input or layout 1, ConstantOfShape initial states, Squeeze of num_directions).
 * Weights are seeded uniform(-1/sqrt(H), 1/sqrt(H)) as PyTorch initializes them.
 */
import { buildOnnxModel, mulberry32, type InitializerSpec, type ModelSpec, type NodeSpec } from '../../src/onnx/builder.ts';

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
  /** Which output the rest of the graph reads. */
  use?: 'Y' | 'Y_h' | 'Y_c';
  /** Extra attributes (e.g. sequence_lens is an input: see seqLens). */
  attrs?: NodeSpec['attrs'];
  seqLens?: boolean;
}

class Builder {
  readonly inits: InitializerSpec[] = [];
  readonly nodes: NodeSpec[] = [];
  private readonly rnd: () => number;
  constructor(seed: number) {
    this.rnd = mulberry32(seed);
  }
  rand(n: number, a: number): number[] {
    return Array.from({ length: n }, () => (2 * this.rnd() - 1) * a);
  }
  init(name: string, dims: number[], data: number[], dataType?: InitializerSpec['dataType']): string {
    this.inits.push({ name, dims, data, dataType });
    return name;
  }
  node(op: string, name: string, inputs: string[], attrs?: NodeSpec['attrs'], outputs?: string[]): string {
    this.nodes.push({ op, name, inputs, outputs: outputs ?? [name], attrs });
    return (outputs ?? [name])[0];
  }

  /** One recurrent node reading x ([seq, 1, I] for layout 0, [1, seq, I] for 1); returns the used output's name. */
  cell(name: string, x: string, seq: number, I: number, o: CellOptions): string {
    const H = o.hidden;
    const G = GATES[o.cell];
    const D = o.direction === 'bidirectional' ? 2 : 1;
    const a = 1 / Math.sqrt(H);
    const W = this.init(`${name}.W`, [D, G * H, I], this.rand(D * G * H * I, a));
    const R = this.init(`${name}.R`, [D, G * H, H], this.rand(D * G * H * H, a));
    const B = o.noBias ? '' : this.init(`${name}.B`, [D, 2 * G * H], this.rand(D * 2 * G * H, a));
    const sl = o.seqLens ? this.init(`${name}.sl`, [1], [seq], 'int32') : '';
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
    while (inputs.length && inputs[inputs.length - 1] === '') inputs.pop();
    const attrs: NodeSpec['attrs'] = { hidden_size: H, ...(o.attrs ?? {}) };
    if (o.direction && o.direction !== 'forward') attrs.direction = o.direction;
    if (o.layout) attrs.layout = o.layout;
    if (o.cell === 'GRU' && o.linearBeforeReset) attrs.linear_before_reset = 1;
    const outs = [`${name}.Y`, `${name}.Y_h`, ...(o.cell === 'LSTM' ? [`${name}.Y_c`] : [])].map((n) => (n.endsWith(o.use ?? 'Y') ? n : ''));
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
  return b.model(name, [1, seq, I], out, shape, layout === 1 ? 14 : 13);
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
