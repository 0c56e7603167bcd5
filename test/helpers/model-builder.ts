/**
 * The common core of the test helpers' ONNX model writers (ops, norm, recurrent, ops-more, elementwise models):
 * seeded random weights, initializers and nodes, written with src/onnx/builder.ts. Each helper extends it with the
 * layers it needs (gemm, conv, reshape, recurrent cells, ...).
 */
import { mulberry32, type InitializerSpec, type NodeSpec } from '../../src/onnx/builder.ts';

export class ModelBuilder {
  readonly inits: InitializerSpec[] = [];
  readonly nodes: NodeSpec[] = [];
  private readonly rnd: () => number;
  constructor(seed: number) {
    this.rnd = mulberry32(seed);
  }
  /** n values uniform in [center - a, center + a). */
  rand(n: number, a: number, center = 0): number[] {
    return Array.from({ length: n }, () => center + (2 * this.rnd() - 1) * a);
  }
  init(name: string, dims: number[], data: number[], dataType?: InitializerSpec['dataType']): string {
    this.inits.push({ name, dims, data, dataType });
    return name;
  }
  /** A node whose (first) output is `name`, or `outputs`; returns its first output. */
  node(op: string, name: string, inputs: string[], attrs?: NodeSpec['attrs'], outputs?: string[]): string {
    this.nodes.push({ op, name, inputs, outputs: outputs ?? [name], attrs });
    return (outputs ?? [name])[0];
  }
}
