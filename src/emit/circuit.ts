/**
 * QuantizedModel -> circuit.circom source. Each layer's op definition emits its own code; this module only
 * declares the public input and output (in the public-input layout asked for: src/verify/layout.ts) and wires
 * the layers in order.
 */
import type { QuantizedModel } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import { qDef } from '../ops/registry.ts';
import type { CircuitWriter } from '../ops/types.ts';
import { bitsFor } from '../ops/types.ts';
import { integerBounds, isIntegerPart, partsOf } from '../ir/io.ts';
import { DEFAULT_VISIBILITY, PACK_BYTES as PACK, packedSignalBytes, parsePublicInputLayout, type PublicInputLayout, type Visibility } from '../verify/layout.ts';
import { COMMITMENT_COST_FORMULA, commitmentCost, TAG_INPUT, TAG_OUTPUT, TAG_PARAMS } from '../verify/commitment.ts';
import { paramLayout, paramsLengthWord } from '../ir/params.ts';
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
  /**
   * Constraints unpacking the public input (0 for the plain layout; else also a line of `layers`) and
   * range-checking integer inputs (also lines of `layers`).
   */
  inputConstraints: number;
  publicInputLayout: PublicInputLayout;
  visibility: Visibility;
  /** Constraints of the visibility machinery (range checks, unpacking, commitments), also lines of `layers`. */
  visibilityConstraints: number;
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
export function gadgetConstraints(model: QuantizedModel, layout: PublicInputLayout = 'plain', visibility: Visibility = DEFAULT_VISIBILITY): number {
  const unpack = layout === 'packed' && visibility.input === 'public' ? unpackConstraints(sizeOf(model.input.shape)) : 0;
  const extra = visibilityLines(model, visibility).reduce((a, l) => a + l.constraints, 0);
  const ints = integerInputLines(model).reduce((a, l) => a + l.constraints, 0);
  return model.layers.reduce((a, l) => a + qDef(l).constraints(l), unpack + extra + ints);
}

/**
 * Range check of an integer input element with bounds [lo, hi] (circuits/intrange.circom OffsetRange), B the
 * bits of hi - lo: B + 1 when hi - lo + 1 == 2^B (one check), else 2 (B + 1); a bool input ([0, 1]) costs 1.
 */
export const INT_INPUT_COST_FORMULA = 'per element: B + 1 if hi - lo + 1 = 2^B, else 2 (B + 1), B = bits(hi - lo); bool [0, 1]: 1';

/** The checks of one integer input part: bits, whether the upper bound needs its own check, cost per element. */
export function integerRangeOf(lo: number, hi: number): { bits: number; upper: boolean; perElement: number } {
  const d = hi - lo;
  const bits = bitsFor(d);
  const upper = 2 ** bits !== d + 1;
  const one = bits + 1 - (bits === 1 && lo === 0 ? 1 : 0);
  return { bits, upper, perElement: upper ? one + bits + 1 : one };
}

/** The cost lines of the integer inputs' range checks (one per integer input part). */
export function integerInputLines(model: QuantizedModel): LayerCost[] {
  return (model.input.parts ?? []).filter(isIntegerPart).map((p) => {
    const { lo, hi } = integerBounds(p);
    const r = integerRangeOf(lo, hi);
    const n = sizeOf(p.shape);
    return {
      index: -1, name: `${p.name}:range`, kind: 'input-range', inShape: p.shape, outShape: p.shape,
      constraints: n * r.perElement, formula: INT_INPUT_COST_FORMULA, bits: `${p.dtype ?? 'int'} [${lo}, ${hi}], ${r.bits}b${r.upper ? ' x 2' : ''}`,
    };
  });
}

/** Range check of a private bias (circuits/range.circom SignedRange). */
export const BIAS_RANGE_COST_FORMULA = 'biasBits + 1 per bias';

/**
 * The cost lines of the visibility settings (without the output bindings into the output hash, which depend
 * on the emitted expressions): the input's range checks and commitment, the parameters' range checks and
 * commitment, the output commitment.
 */
export function visibilityLines(model: QuantizedModel, v: Visibility): LayerCost[] {
  const nIn = sizeOf(model.input.shape);
  const nOut = sizeOf(model.output.shape);
  const lines: LayerCost[] = [];
  const line = (name: string, kind: string, constraints: number, formula: string, bits: string, inShape: number[], outShape: number[]) =>
    lines.push({ index: -1, name, kind, inShape, outShape, constraints, formula, bits });
  if (v.input !== 'public') {
    const e = packedSignalBytes(nIn).length;
    line('input-range', 'unpack', unpackConstraints(nIn), `${UNPACK_COST_FORMULA} (the ${v.input} input, range-checked to uint8)`, `${nIn} x 8`, [e], model.input.shape);
    if (v.input === 'hashed') line('input-commit', 'commit', commitmentCost(e), COMMITMENT_COST_FORMULA, `${e} elements`, [e], [1]);
  }
  if (v.params === 'hashed') {
    const p = paramLayout(model);
    const e = packedSignalBytes(p.nWeights).length;
    line('params-range', 'unpack', unpackConstraints(p.nWeights), `${UNPACK_COST_FORMULA} (${p.nWeights} int8 weights as bytes)`, `${p.nWeights} x 8`, [e], [p.nWeights]);
    const biasCost = p.layers.reduce((a, l) => a + l.biases * (l.biasBits + 1), 0);
    line('params-bias-range', 'range', biasCost, BIAS_RANGE_COST_FORMULA, p.layers.map((l) => `${l.biases} x ${l.biasBits}`).join(', ') || '0', [p.nBiases], [p.nBiases]);
    line('params-commit', 'commit', commitmentCost(e + p.nBiases), COMMITMENT_COST_FORMULA, `${e + p.nBiases} elements`, [e + p.nBiases], [1]);
  }
  if (v.output === 'hashed') line('output-commit', 'commit', commitmentCost(nOut), COMMITMENT_COST_FORMULA, `${nOut} elements`, model.output.shape, [1]);
  return lines;
}

/**
 * circom lines unpacking the private packed signals `packed` (one per 31 bytes) into the byte signals `bytes`
 * (declared by the caller), each range-checked (circuits/pack.circom): full slots in a component array, the
 * remainder in one more component. Cost: unpackConstraints(n).
 */
function unpackLines(prefix: string, packed: string, bytes: string, n: number): string[] {
  const slots = packedSignalBytes(n);
  const full = slots.filter((b) => b === PACK).length;
  const out: string[] = [];
  if (full) {
    out.push(
      `    component ${prefix}[${full}];`,
      `    for (var j = 0; j < ${full}; j++) {`,
      `        ${prefix}[j] = UnpackBytes(${PACK});`,
      `        ${prefix}[j].packed <== ${packed}[j];`,
      `        for (var i = 0; i < ${PACK}; i++) ${bytes}[j * ${PACK} + i] <== ${prefix}[j].out[i];`,
      `    }`,
    );
  }
  if (full < slots.length) {
    const r = slots[full];
    out.push(
      `    component ${prefix}Last = UnpackBytes(${r});`,
      `    ${prefix}Last.packed <== ${packed}[${full}];`,
      `    for (var i = 0; i < ${r}; i++) ${bytes}[${full * PACK} + i] <== ${prefix}Last.out[i];`,
    );
  }
  return out;
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
  /**
   * What the public signals show of the input, output and parameters (src/verify/layout.ts). Default: all
   * public, constant weights. Hashed parameters need a model quantized with `privateParams`.
   */
  visibility?: Visibility;
}

/**
 * Emit the circuit. Cost: the sum of the op cost formulas, plus the output bindings (OUTPUT_COST_FORMULA),
 * plus, for the packed layout, the input unpacking (UNPACK_COST_FORMULA); `constraints` is exactly the row
 * count circom --O1 produces (the tests compare).
 */
export function emitCircuit(model: QuantizedModel, opts: EmitOptions = {}): EmittedCircuit {
  const layout = opts.publicInputs ?? 'plain';
  if (parsePublicInputLayout(layout) === undefined) throw new TypeError(`unknown public-input layout '${String(layout)}'`);
  const vis = opts.visibility ?? DEFAULT_VISIBILITY;
  if ((vis.params === 'hashed') !== (model.params === 'hashed')) {
    throw new TypeError(`parameter visibility '${vis.params}' needs a model quantized ${vis.params === 'hashed' ? 'with' : 'without'} private parameters`);
  }
  const body: string[] = [];
  const includes = new Set<string>();
  let counter = 0;
  let bindings = 0;
  // Multiply-accumulate terms of the linear layers (each op says its own): unrolled, each costs ~60 bytes of witness code.
  const terms = model.layers.reduce((a, l) => a + (qDef(l).terms?.(l) ?? 0), 0);
  const pl = vis.params === 'hashed' ? paramLayout(model) : undefined;
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
    ...(pl ? {
      params: {
        weights: 'wByte', biases: 'wBias',
        offset: (name: string) => {
          const slot = pl.layers.find((l) => l.name === name);
          if (!slot) throw new Error(`internal: no parameter slot for layer '${name}'`);
          return { weight: slot.weight, bias: slot.bias };
        },
      },
    } : {}),
  };
  const nInputs = sizeOf(model.input.shape);
  const nOutputs = sizeOf(model.output.shape);
  const intParts = (model.input.parts ?? []).filter(isIntegerPart);
  if (intParts.length && (layout !== 'plain' || vis.input !== 'public')) {
    throw new TypeError(`integer input '${intParts[0].name}' needs the plain public-input layout and a public input (its values are not bytes)`);
  }
  const env = new Map<string, string[]>();
  for (const p of partsOf(model.input)) env.set(p.name, Array.from({ length: sizeOf(p.shape) }, (_, i) => `in[${p.offset + i}]`));
  // Declarations: main's outputs first (their order is the public signals' order: src/verify/layout.ts
  // signalLayout), then its inputs.
  const header: string[] = [];
  header.push(vis.output === 'hashed'
    ? '    signal output outHash; // commitment to the outputs (TAG_OUTPUT)'
    : `    signal output out[${nOutputs}];`);
  if (vis.input === 'hashed') header.push('    signal output inHash; // salted commitment to the input (TAG_INPUT)');
  if (vis.params === 'hashed') header.push('    signal output paramsHash; // commitment to the weights and biases (TAG_PARAMS)');
  const unpack: LayerCost[] = [];
  /** Inputs that are a gadget's output (a byte of a packed signal of 2+ bytes): an output bound to one merges. */
  const privateInput = (expr: string) => {
    const m = /^in\[(\d+)\]$/.exec(expr);
    return (layout === 'packed' || vis.input !== 'public') && !!m && packedSignalBytes(nInputs)[Math.floor(Number(m[1]) / PACK)] >= 2;
  };
  if (vis.input !== 'public') {
    // Hashed or private: `in` is private, unpacked from private packed signals, so every byte is range-checked.
    const e = packedSignalBytes(nInputs).length;
    includes.add('pack.circom');
    header.push(
      `    // ${vis.input} input: the ${nInputs} uint8 values packed ${PACK} per private signal, each byte range-checked`,
      `    signal input inPacked[${e}];`,
    );
    if (vis.input === 'hashed') header.push('    signal input inSalt;');
    header.push(`    signal in[${nInputs}];`, ...unpackLines('inUnpack', 'inPacked', 'in', nInputs));
    if (vis.input === 'hashed') {
      includes.add('hash.circom');
      header.push(
        `    component inCommit = ZkonnxHash(${e}, ${TAG_INPUT}, ${nInputs});`,
        `    for (var j = 0; j < ${e}; j++) inCommit.in[j] <== inPacked[j];`,
        '    inCommit.salt <== inSalt;',
        '    inHash <== inCommit.out;',
      );
    }
  } else if (layout === 'packed') {
    // Packed: `in` is a private signal array, the bytes of the public `packed` signals. Every binding below is
    // signal-to-signal (removed by --O1); the cost is the gadget's own.
    const slots = packedSignalBytes(nInputs);
    includes.add('pack.circom');
    header.push(
      `    // public input: the ${nInputs} uint8 values packed ${PACK} per signal, little-endian (src/verify/layout.ts)`,
      `    signal input packed[${slots.length}];`,
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
    header.push(`    signal input in[${nInputs}];`);
  }
  // Integer inputs: every element range-checked to its part's bounds (circuits/intrange.circom).
  intParts.forEach((p, k) => {
    const { lo, hi } = integerBounds(p);
    const r = integerRangeOf(lo, hi);
    const n = sizeOf(p.shape);
    includes.add('intrange.circom');
    header.push(
      `    // integer input '${p.name.replace(/[\r\n]/g, ' ')}' (${p.dtype ?? 'int'}): each element in [${lo}, ${hi}]`,
      `    component intLo${k}[${n}];`,
      ...(r.upper ? [`    component intHi${k}[${n}];`] : []),
      `    for (var i = 0; i < ${n}; i++) {`,
      `        intLo${k}[i] = OffsetRange(${r.bits}, ${-lo}, 1);`,
      `        intLo${k}[i].in <== in[${p.offset} + i];`,
      ...(r.upper ? [`        intHi${k}[i] = OffsetRange(${r.bits}, ${hi}, -1);`, `        intHi${k}[i].in <== in[${p.offset} + i];`] : []),
      '    }',
    );
  });
  const intLines = integerInputLines(model);
  if (pl) {
    const e = packedSignalBytes(pl.nWeights).length;
    includes.add('pack.circom');
    includes.add('range.circom');
    includes.add('hash.circom');
    header.push(
      `    // private parameters: ${pl.nWeights} int8 weights as bytes w + 128 (packed ${PACK} per signal, range-checked) and ${pl.nBiases} biases`,
      `    signal input wPacked[${e}];`,
      `    signal input wBias[${pl.nBiases}];`,
      `    signal wByte[${pl.nWeights}];`,
      ...unpackLines('wUnpack', 'wPacked', 'wByte', pl.nWeights),
    );
    pl.layers.forEach((l, k) => {
      header.push(
        `    // ${l.name}: ${l.biases} biases of ${l.biasBits} bits`,
        `    component wRange${k}[${l.biases}];`,
        `    for (var j = 0; j < ${l.biases}; j++) {`,
        `        wRange${k}[j] = SignedRange(${l.biasBits});`,
        `        wRange${k}[j].in <== wBias[${l.bias} + j];`,
        '    }',
      );
    });
    header.push(
      `    component wCommit = ZkonnxHash(${e + pl.nBiases}, ${TAG_PARAMS}, ${paramsLengthWord(pl.nWeights, pl.nBiases)});`,
      `    for (var j = 0; j < ${e}; j++) wCommit.in[j] <== wPacked[j];`,
      `    for (var j = 0; j < ${pl.nBiases}; j++) wCommit.in[${e} + j] <== wBias[j];`,
      '    wCommit.salt <== 0;',
      '    paramsHash <== wCommit.out;',
    );
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
  const x = model.output.parts ? model.output.parts.flatMap((p) => env.get(p.tensor!)!) : env.get(model.outputTensor)!;
  let outCost: number;
  if (vis.output === 'hashed') {
    includes.add('hash.circom');
    body.push('    // the outputs, committed to (one public signal)', `    component outCommit = ZkonnxHash(${nOutputs}, ${TAG_OUTPUT}, ${nOutputs});`);
    // Private template inputs: a bare signal or a constant merges (--O1), anything else costs one row.
    const before = bindings;
    x.forEach((expr, k) => w.bind(`outCommit.in[${k}]`, expr));
    outCost = bindings - before;
    body.push('    outCommit.salt <== 0;', '    outHash <== outCommit.out;');
  } else {
    body.push('    // public outputs');
    x.forEach((expr, k) => body.push(`    out[${k}] <== ${expr};`));
    // A gadget's output signal merges with the first public output bound to it; a repeat costs 1 (two public
    // signals cannot be merged), as does anything else.
    const merged = new Set<string>();
    outCost = x.filter((expr) => {
      if (!(isComponentOutput(expr) || privateInput(expr)) || merged.has(expr)) return true;
      merged.add(expr);
      return false;
    }).length;
  }
  const publics = vis.input !== 'public' ? [] : [layout === 'packed' ? 'packed' : 'in'];
  const source = [
    'pragma circom 2.1.0;',
    `// Generated by zkonnx ${ZKONNX_VERSION} — do not edit.`,
    `// model: ${model.name} sha256 ${model.sha256}`,
    `// calibration: ${model.calibration.source}, ${model.calibration.samples} samples, sha256 ${model.calibration.sha256}`,
    `// visibility: input ${vis.input}, output ${vis.output}, params ${vis.params}`,
    ...[...includes].map((f) => `include "${f}";`),
    '',
    'template Main() {',
    ...header,
    ...body,
    '}',
    '',
    publics.length ? `component main {public [${publics.join(', ')}]} = Main();` : 'component main = Main();',
    '',
  ].join('\n');
  const vlines = visibilityLines(model, vis);
  const outLine = vlines.find((l) => l.name === 'output-commit');
  if (outLine) outLine.constraints += outCost;
  const all = [...unpack, ...intLines, ...vlines, ...layers];
  const inputConstraints = [...unpack, ...intLines].reduce((a, l) => a + l.constraints, 0);
  const visibilityConstraints = vlines.reduce((a, l) => a + l.constraints, 0);
  const constraints = all.reduce((a, l) => a + l.constraints, 0) + (vis.output === 'hashed' ? 0 : outCost);
  return {
    source, constraints, layers: all, outputConstraints: vis.output === 'hashed' ? 0 : outCost, inputConstraints, visibilityConstraints,
    publicInputLayout: layout, visibility: vis, nInputs, nOutputs,
  };
}
