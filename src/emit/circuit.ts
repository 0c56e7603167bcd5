/**
 * QuantizedModel -> circuit.circom source. Each layer's op definition emits its own code; this module only
 * declares the public input and output (in the public-input layout asked for: src/verify/layout.ts) and wires
 * the layers in order.
 */
import type { QuantizedModel } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import { qDef } from '../ops/registry.ts';
import type { CircuitWriter } from '../ops/types.ts';
import { PACK_BYTES as PACK, packedSignalBytes, parsePublicInputLayout, type PublicInputLayout } from '../verify/layout.ts';
import { ZKONNX_VERSION } from '../version.ts';

export interface LayerCost {
  /** The model layer's index; -1 for a line that is not a model layer (the input unpacking). */
  index: number;
  name: string;
  kind: string;
  inShape: number[];
  outShape: number[];
  constraints: number;
  formula: string;
  bits: string;
}

export interface EmittedCircuit {
  source: string;
  /** Predicted R1CS constraint count (with --O1): the sum of the op cost formulas plus the outputs. */
  constraints: number;
  layers: LayerCost[];
  /** Constraints binding the public outputs. */
  outputConstraints: number;
  /** Constraints unpacking the public input (0 for the plain layout; else also a line of `layers`). */
  inputConstraints: number;
  publicInputLayout: PublicInputLayout;
  nInputs: number;
  nOutputs: number;
}

/**
 * Binding the public outputs: an output that is a gadget's output signal merges with it (--O1
 * removes the equality), so it costs nothing; anything else (a linear combination, a constant, a public
 * input passed through) costs one constraint, since public signals are never optimized away. In the packed
 * layout an input byte is an UnpackBytes output, so it merges too, unless it is the only byte of its packed
 * signal (it is then that public signal).
 */
export const OUTPUT_COST_FORMULA = '1 per output element, except 0 for one that is a gadget\'s output signal (a packed input byte is one)';

const isComponentOutput = (expr: string) => /^[A-Za-z_][A-Za-z0-9_]*(\[\d+\])?\.[A-Za-z_][A-Za-z0-9_]*(\[\d+\])?$/.test(expr);
/** A single signal (a component's, or a public input): binding it to a template input costs nothing with --O1. */
const isBareSignal = (expr: string) => isComponentOutput(expr) || /^in\[\d+\]$/.test(expr);

/**
 * Unpacking the packed public input (circuits/pack.circom, UnpackBytes(N) per packed signal of N bytes): 8
 * booleanity rows per byte (7 bit signals; the top bit is the byte minus the low bits, constrained to 0 or 128)
 * and 1 row recomposing each packed signal from its bytes. For a signal holding a single byte that row is the
 * equality packed == byte, which --O1 removes.
 */
export const UNPACK_COST_FORMULA = '8 per input byte + 1 per packed signal of 2 or more bytes';

/** Constraints of the packed layout's unpacking: 8 * nInputs + ceil(nInputs / 31) - (1 if nInputs % 31 == 1). */
export function unpackConstraints(nInputs: number): number {
  return packedSignalBytes(nInputs).reduce((a, n) => a + 8 * n + (n >= 2 ? 1 : 0), 0);
}

/**
 * The constraints of the model's gadgets (the op cost formulas) and of the packed input's unpacking, without
 * writing the circuit: a lower bound of emitCircuit's `constraints`, which adds the bindings and the outputs
 * (at most one constraint each per element). Lets size limits refuse a model before its source is built.
 */
export function gadgetConstraints(model: QuantizedModel, layout: PublicInputLayout = 'plain'): number {
  const unpack = layout === 'packed' ? unpackConstraints(sizeOf(model.input.shape)) : 0;
  return model.layers.reduce((a, l) => a + qDef(l).constraints(l), unpack);
}

/** Up to this many multiply-accumulates, linear layers are unrolled (the witness code stays far below V8's limit). */
export const UNROLL_TERMS = 60_000;

export interface EmitOptions {
  /**
   * Unrolled linear layers (fastest to compile) or loops (small witness code). Default: unrolled up to
   * UNROLL_TERMS multiply-accumulates. Without a witness generator (r1cs only) there is no code to keep small.
   */
  unroll?: boolean;
  /** How the input appears among the public signals (src/verify/layout.ts). Default 'plain'. */
  publicInputs?: PublicInputLayout;
}

/**
 * Emit the circuit. Cost: the sum of the op cost formulas, plus the output bindings (OUTPUT_COST_FORMULA),
 * plus, for the packed layout, the input unpacking (UNPACK_COST_FORMULA); `constraints` is exactly the row
 * count circom --O1 produces (the tests compare).
 */
export function emitCircuit(model: QuantizedModel, opts: EmitOptions = {}): EmittedCircuit {
  const layout = opts.publicInputs ?? 'plain';
  if (parsePublicInputLayout(layout) === undefined) throw new TypeError(`unknown public-input layout '${String(layout)}'`);
  const body: string[] = [];
  const includes = new Set<string>();
  let counter = 0;
  let bindings = 0;
  // Multiply-accumulate terms of the linear layers: unrolled, each costs ~60 bytes of witness code.
  const terms = model.layers.reduce((a, l) => a + (l.kind === 'dense' || l.kind === 'conv' ? qDef(l).terms?.(l) ?? 0 : 0), 0);
  const w: CircuitWriter = {
    unroll: opts.unroll ?? terms <= UNROLL_TERMS,
    fresh: (prefix) => `${prefix}${counter++}`,
    line: (t) => void body.push(`    ${t}`),
    include: (f) => void includes.add(f),
    bind: (target, expr) => {
      body.push(`    ${target} <== ${expr};`);
      // No identifier at all: a constant expression, which circom folds.
      if (!isBareSignal(expr) && /[A-Za-z_]/.test(expr)) bindings++;
    },
  };
  const nInputs = sizeOf(model.input.shape);
  const nOutputs = sizeOf(model.output.shape);
  const env = new Map<string, string[]>([[model.input.name, Array.from({ length: nInputs }, (_, i) => `in[${i}]`)]]);
  // Packed: `in` is a private signal array, the bytes of the public `packed` signals. Every binding below is
  // signal-to-signal (removed by --O1); the cost is the gadget's own.
  const header: string[] = [];
  const unpack: LayerCost[] = [];
  /** Inputs that are a gadget's output (a byte of a packed signal of 2+ bytes): an output bound to one merges. */
  const privateInput = (expr: string) => {
    const m = /^in\[(\d+)\]$/.exec(expr);
    return layout === 'packed' && !!m && packedSignalBytes(nInputs)[Math.floor(Number(m[1]) / PACK)] >= 2;
  };
  if (layout === 'packed') {
    const slots = packedSignalBytes(nInputs);
    includes.add('pack.circom');
    header.push(
      `    // public input: the ${nInputs} uint8 values packed ${PACK} per signal, little-endian (src/verify/layout.ts)`,
      `    signal input packed[${slots.length}];`,
      `    signal output out[${nOutputs}];`,
      `    signal in[${nInputs}];`,
    );
    slots.forEach((n, j) => {
      header.push(
        `    component unpack${j} = UnpackBytes(${n});`,
        `    unpack${j}.packed <== packed[${j}];`,
        `    for (var i = 0; i < ${n}; i++) in[${j * PACK} + i] <== unpack${j}.out[i];`,
      );
    });
    unpack.push({
      index: -1, name: 'input-unpack', kind: 'unpack', inShape: [slots.length], outShape: model.input.shape,
      constraints: unpackConstraints(nInputs), formula: UNPACK_COST_FORMULA, bits: `${nInputs} x 8`,
    });
  } else {
    header.push(`    signal input in[${nInputs}];`, `    signal output out[${nOutputs}];`);
  }
  const layers: LayerCost[] = model.layers.map((l, index) => {
    const def = qDef(l);
    const before = bindings;
    env.set(l.output, def.emit(l, l.inputs.map((n) => env.get(n)!), w));
    return {
      index, name: l.name, kind: l.kind, inShape: l.inShape, outShape: l.outShape,
      constraints: def.constraints(l) + bindings - before, formula: def.costFormula, bits: def.bitsSummary(l),
    };
  });
  const x = env.get(model.outputTensor)!;
  body.push('    // public outputs');
  x.forEach((expr, k) => body.push(`    out[${k}] <== ${expr};`));
  // A gadget's output signal merges with the first public output bound to it; a repeat costs 1 (two public
  // signals cannot be merged), as does anything else.
  const merged = new Set<string>();
  const outCost = x.filter((expr) => {
    if (!(isComponentOutput(expr) || privateInput(expr)) || merged.has(expr)) return true;
    merged.add(expr);
    return false;
  }).length;
  const source = [
    'pragma circom 2.1.0;',
    `// Generated by zkonnx ${ZKONNX_VERSION} — do not edit.`,
    `// model: ${model.name} sha256 ${model.sha256}`,
    `// calibration: ${model.calibration.source}, ${model.calibration.samples} samples, sha256 ${model.calibration.sha256}`,
    ...[...includes].map((f) => `include "${f}";`),
    '',
    'template Main() {',
    ...header,
    ...body,
    '}',
    '',
    `component main {public [${layout === 'packed' ? 'packed' : 'in'}]} = Main();`,
    '',
  ].join('\n');
  const all = [...unpack, ...layers];
  const inputConstraints = unpack.reduce((a, l) => a + l.constraints, 0);
  const constraints = all.reduce((a, l) => a + l.constraints, 0) + outCost;
  return { source, constraints, layers: all, outputConstraints: outCost, inputConstraints, publicInputLayout: layout, nInputs, nOutputs };
}
