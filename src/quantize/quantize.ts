/**
 * Post-training static quantization (see README "Quantization scheme"):
 * - activations: uint8, per-tensor scale and zero point from the calibrated min/max (0 always included);
 *   after a ReLU the zero point is 0; a pre-quantized model's own scales and zero points where it has them;
 * - weights: int8, symmetric, per output channel (or the model's own integers); bias: integer at scale
 *   s_in * s_w[j];
 * - linear steps (dense, conv, average pooling, elementwise affine maps) produce wide integer accumulators,
 *   and consecutive linear steps stay accumulators: only a non-linear step needs uint8;
 * - ReLU/Clip on an accumulator are deferred to its requantization (a clamp), so a max-pool in between runs
 *   on the accumulator and only the pooled values are requantized;
 * - requantization: integer multiplier M and shift S per element, M / 2^S ~ s_acc / s_out, with M of
 *   `multiplierBits` bits.
 * An accumulator that reaches the graph output is not requantized: the logits stay wide integers.
 * Afterwards, Gathers of constant tables that nothing reads are dropped, and exact integer tables gathered at the
 * same index share one one-hot selector (shareTableSelectors).
 */
import { createHash } from 'node:crypto';
import { InputError, UnsupportedModelError, type ModelIssue } from '../errors.ts';
import type { AccQuant, CalibrationInfo, FloatModel, QLayer, QuantizedModel, QuantPart, TensorQuant, U8Quant } from '../ir/types.ts';
import { partsOf, withOutputLabels } from '../ir/io.ts';
import { firstNonFinite, sizeOf } from '../ir/types.ts';
import { u8QuantFor } from '../ir/quant.ts';
import { floatDef } from '../ops/registry.ts';
import { makeClamp } from '../ops/clip.ts';
import { makeRequant, MAX_REQUANT_BITS } from '../ops/requant.ts';
import type { CalibratedRange, QState, QuantizeContext } from '../ops/types.ts';
import { runFloatAll } from '../reference/float.ts';

export interface QuantizeOptions {
  /** Bits of the requantization multiplier M (precision of each channel's scale). Default 10. */
  multiplierBits?: number;
  /** Where the calibration samples came from; recorded in the manifest. Default 'file'. */
  calibrationSource?: CalibrationInfo['source'];
  /**
   * The linear layers' weights and biases become private signals committed to by a hash (param visibility
   * 'hashed'): their inputs are uint8 and their output bounds hold for every admissible weight set.
   */
  privateParams?: boolean;
  /**
   * Bounds of integer graph inputs by name, [lo, hi] (e.g. [0, vocab - 1] for token ids), instead of min..max
   * over the calibration samples: the circuit range-checks every element to them. They must hold the samples.
   */
  inputBounds?: Record<string, [number, number]>;
}

export const DEFAULT_MULTIPLIER_BITS = 10;

// The grid helpers live below both src/ops and src/quantize; re-exported here, where users look for them.
export { quantizeInput, roundHalfEven, u8QuantFor } from '../ir/quant.ts';

/**
 * Calibrated ranges of every tensor (the model input and every layer output), by tensor name. Refuses a
 * sample that is not finite (InputError) and a model whose float computation is not (UnsupportedModelError,
 * naming the first layer that computes NaN or Infinity): a comparison with NaN is false, so a NaN would
 * otherwise vanish from the ranges silently.
 */
export function calibrate(model: FloatModel, samples: ArrayLike<number>[]): Map<string, CalibratedRange> {
  if (samples.length === 0) throw new InputError('Calibration needs at least one sample.');
  const ranges = new Map<string, CalibratedRange>();
  samples.forEach((s, k) => {
    const badInput = firstNonFinite(Array.from(s), undefined, 'input');
    if (badInput) throw new InputError(`Calibration sample ${k} is not finite: ${badInput}.`, { hint: 'Inputs must be finite numbers.' });
    const all = runFloatAll(model, s);
    for (const layer of model.layers) {
      const bad = firstNonFinite(all.get(layer.output), undefined, 'output');
      if (bad) {
        throw new UnsupportedModelError([{
          node: layer.name, op: layer.kind,
          message: `computes a non-finite value on calibration sample ${k} (${bad}): the float model overflows float64 (weights or activations too large) or divides by zero`,
        }]);
      }
    }
    for (const [name, v] of all) {
      let r = ranges.get(name);
      if (!r) ranges.set(name, (r = { min: Infinity, max: -Infinity }));
      for (let i = 0; i < v.length; i++) {
        if (v[i] < r.min) r.min = v[i];
        if (v[i] > r.max) r.max = v[i];
      }
    }
  });
  return ranges;
}

/** Thrown once a layer's problem is reported: the layer gets no output state, and the layers reading it are skipped. */
class LayerFailed extends Error {}

export function calibrationHash(samples: ArrayLike<number>[]): string {
  const h = createHash('sha256');
  for (const s of samples) h.update(new Uint8Array(Float64Array.from(s).buffer));
  return h.digest('hex');
}

/** The integer view of a uint8 tensor as an accumulator: x - zp, scale s. */
export function u8AsAcc(q: U8Quant, size: number): AccQuant {
  return { kind: 'acc', scales: new Array(size).fill(q.scale), lo: new Array(size).fill(-q.zeroPoint), hi: new Array(size).fill(255 - q.zeroPoint) };
}

/** The uint8 grid a tensor is requantized to: the one a pending QuantizeLinear fixed, else its calibrated range within its pending clamp. */
function targetQuant(s: QState, r: CalibratedRange): U8Quant {
  const c = s.clamp ?? { lo: -Infinity, hi: Infinity };
  return c.quant ?? u8QuantFor({ min: Math.max(r.min, c.lo), max: Math.min(r.max, c.hi) });
}

/**
 * Quantize a float model given calibration samples (flat input arrays). Deterministic: the same model and
 * samples give the same integer model.
 */
export function quantizeModel(model: FloatModel, samples: ArrayLike<number>[], opts: QuantizeOptions = {}): QuantizedModel {
  const multiplierBits = opts.multiplierBits ?? DEFAULT_MULTIPLIER_BITS;
  if (!Number.isInteger(multiplierBits) || multiplierBits < 2 || multiplierBits > 31) {
    throw new InputError(`multiplier bits must be an integer from 2 to 31, got ${multiplierBits}.`);
  }
  const ranges = calibrate(model, samples);
  const range = (t: string): CalibratedRange => ranges.get(t) ?? { min: 0, max: 0 };
  const issues: ModelIssue[] = [];
  const layers: QLayer[] = [];
  const states = new Map<string, QState>();
  // Each graph input: a float input is uint8 (a QuantizeLinear right on it fixes its grid; otherwise it is
  // calibrated); an integer or bool input is carried exactly, an accumulator of scale 1 whose bounds (bool
  // [0, 1], else min..max over the calibration samples) the circuit range-checks every element to.
  const inParts: QuantPart[] = partsOf(model.input).map((p) => {
    let quant: TensorQuant;
    const size = sizeOf(p.shape);
    if (p.dtype !== undefined) {
      const r = range(p.name);
      const given = opts.inputBounds?.[p.name];
      const lo = given ? given[0] : p.dtype === 'bool' ? 0 : Math.floor(r.min);
      const hi = given ? given[1] : p.dtype === 'bool' ? 1 : Math.ceil(r.max);
      if (given && !(Number.isSafeInteger(lo) && Number.isSafeInteger(hi) && lo <= r.min && r.max <= hi && hi - lo < 2 ** 52)) {
        throw new InputError(`The bounds [${lo}, ${hi}] given for input '${p.name}' must be integers that hold its calibration values (${r.min}..${r.max}).`);
      }
      quant = { kind: 'acc', scales: new Array(size).fill(1), lo: new Array(size).fill(lo), hi: new Array(size).fill(hi) };
    } else {
      const fq = model.layers.find((l) => l.kind === 'fakequant' && l.inputs[0] === p.name);
      quant = fq && fq.kind === 'fakequant' ? { kind: 'u8', scale: fq.scale, zeroPoint: fq.zeroPoint } : u8QuantFor(range(p.name));
    }
    states.set(p.name, { tensor: p.name, shape: p.shape, quant, label: 'input' });
    return { ...p, quant };
  });
  for (const name of Object.keys(opts.inputBounds ?? {})) {
    if (!inParts.some((p) => p.name === name && p.dtype !== undefined)) {
      throw new InputError(`Bounds were given for '${name}', which is not an integer input of the model.`, { hint: `Its integer inputs: ${inParts.filter((p) => p.dtype !== undefined).map((p) => `'${p.name}'`).join(', ') || 'none'}.` });
    }
  }
  const firstU8 = inParts.find((p) => p.quant?.kind === 'u8')?.quant as U8Quant | undefined;
  const inQuant: U8Quant = firstU8 ?? { kind: 'u8', scale: 1, zeroPoint: 0 };
  let requants = 0;

  /**
   * Requantize a tensor to uint8 `out` (an accumulator, or uint8 with other parameters), then apply what its
   * pending clamp needs beyond the requantization's own [0, 255] as a uint8 clamp. Checks the multipliers and
   * bit widths the circuit can take.
   */
  const requantState = (s: QState, out: U8Quant, name: string): QState & { quant: U8Quant } => {
    const size = sizeOf(s.shape);
    const inQ = s.quant.kind === 'acc' ? s.quant : u8AsAcc(s.quant, size);
    const inOffset = s.quant.kind === 'u8' ? s.quant.zeroPoint : 0;
    const relu = !!s.clamp && s.clamp.lo === 0 && out.zeroPoint === 0;
    const tensor = `${s.tensor}#q${requants++}`;
    const bad = firstNonFinite({ in: inQ, out });
    if (bad) {
      issues.push({ node: name, op: 'requant', message: `the scales or bounds to requantize are not finite (${bad}): weights or calibrated ranges beyond float64` });
      throw new LayerFailed();
    }
    const rq = makeRequant(name, s.tensor, tensor, s.shape, inQ, inOffset, out, relu, multiplierBits);
    // Written so that NaN fails them (every comparison with NaN is false).
    if (!rq.multipliers.every((m) => Number.isSafeInteger(m)) || !rq.bits.every((kk) => kk <= MAX_REQUANT_BITS)) {
      issues.push({ node: name, op: 'requant', message: `requantization needs a multiplier above 2^53 or more than ${MAX_REQUANT_BITS} bits (the calibrated output range is too small for the accumulator scale)` });
    }
    layers.push(rq);
    let st: QState & { quant: U8Quant } = { tensor, shape: s.shape, quant: out, label: name };
    if (s.clamp) {
      // Bounds on the uint8 grid, kept inside [0, 255] (a clamp that misses the grid pins to an end).
      const qlo = Math.min(255, Math.max(0, Math.ceil(s.clamp.lo / out.scale + out.zeroPoint - 1e-9)));
      const qhi = Math.max(qlo, Math.min(255, Math.floor(s.clamp.hi / out.scale + out.zeroPoint + 1e-9)));
      if (qlo > 0 || qhi < 255) {
        const ct = `${tensor}#c`;
        layers.push(makeClamp(`${name}:clamp`, tensor, ct, s.shape, out, qlo, qhi));
        st = { ...st, tensor: ct };
      }
    }
    return st;
  };

  model.layers.forEach((layer) => {
    // A layer reading the output of one that failed (its problem already reported) cannot be quantized.
    if (issues.length && layer.inputs.some((t) => !states.has(t))) return;
    const report = (message: string) => void issues.push({ node: layer.name, op: layer.kind, message });
    const stateOf = (k: number): QState => {
      const s = states.get(layer.inputs[k]);
      if (!s) throw new Error(`internal: no quantization state for tensor '${layer.inputs[k]}'`);
      return s;
    };
    const put = (floatName: string, s: QState) => void states.set(floatName, s);

    /** Requantize input k (an accumulator, or uint8 with other parameters) to `out`, applying its clamp. */
    const requantInput = (k: number, out: U8Quant, name: string, replace = true): QState & { quant: U8Quant } => {
      const st = requantState(stateOf(k), out, name);
      // The requantized tensor serves every later reader of the input (one quantization per tensor), except
      // for a QuantizeLinear, whose grid belongs to its output only.
      if (replace) put(layer.inputs[k], st);
      return st;
    };

    const ctx: QuantizeContext = {
      multiplierBits,
      privateParams: opts.privateParams ?? false,
      input: stateOf,
      range,
      outRange: range(layer.output),
      ensureU8(k = 0) {
        const s = stateOf(k);
        if (s.quant.kind === 'u8' && !s.clamp) return s as QState & { quant: U8Quant };
        return requantInput(k, targetQuant(s, range(layer.inputs[k])), s.label);
      },
      requantTo(k, q, name) {
        const s = stateOf(k);
        if (s.quant.kind === 'u8' && !s.clamp && s.quant.scale === q.scale && s.quant.zeroPoint === q.zeroPoint) return s as QState & { quant: U8Quant };
        return requantInput(k, q, s.clamp ? `${s.label}+${name}` : name, false);
      },
      settle(k = 0) {
        const s = stateOf(k);
        return s.clamp ? this.ensureU8(k) : s;
      },
      push(q, extra = {}) {
        const bad = firstNonFinite(q);
        if (bad) {
          report(`quantization gives a non-finite ${bad}: the weights' or activations' scales under- or overflow float64`);
          throw new LayerFailed();
        }
        layers.push(q);
        put(layer.output, { tensor: q.output, shape: q.outShape, quant: q.outQuant, clamp: extra.clamp, label: extra.label ?? layer.name });
      },
      alias(k, extra = {}) {
        const s = extra.state ?? stateOf(k);
        put(layer.output, { ...s, shape: extra.shape ?? s.shape, clamp: extra.clamp ?? s.clamp, label: extra.label ?? s.label });
      },
      issue: report,
    };
    try {
      floatDef(layer).quantize(layer, ctx);
    } catch (e) {
      if (e instanceof LayerFailed) return;
      throw e;
    }
    if (!states.has(layer.output) && !issues.some((i) => i.node === layer.name)) {
      throw new Error(`internal: layer '${layer.name}' produced no quantized output`);
    }
  });
  if (issues.length) throw new UnsupportedModelError(issues);

  // The output: apply a pending clamp (a final ReLU); otherwise keep accumulators wide.
  const settleOutput = (tensor: string): QState => {
    let out = states.get(tensor)!;
    if (out.clamp) {
      try {
        out = requantState(out, targetQuant(out, range(tensor)), out.label);
      } catch (e) {
        if (!(e instanceof LayerFailed)) throw e;
      }
    }
    return out;
  };
  let output: QuantizedModel['output'];
  let outputTensor: string;
  const spec = { name: model.output.name, shape: model.output.shape, ...(model.output.dtype ? { dtype: model.output.dtype } : {}), ...(model.output.softmaxOmitted ? { softmaxOmitted: model.output.softmaxOmitted } : {}) };
  if (!model.output.parts) {
    const out = settleOutput(model.output.tensor);
    if (issues.length) throw new UnsupportedModelError(issues);
    if (sizeOf(out.shape) !== sizeOf(model.output.shape)) throw new Error('internal: output size mismatch after quantization');
    output = { ...spec, quant: out.quant };
    outputTensor = out.tensor;
  } else {
    // Several outputs: one accumulator vector (a uint8 output is shifted by its zero point, one constraint per
    // element at the output binding), so the concatenation has one dequantization, q[i] * scales[i].
    const acc: AccQuant = { kind: 'acc', scales: [], lo: [], hi: [] };
    const parts: QuantPart[] = model.output.parts.map((p, k) => {
      const out = settleOutput(p.tensor);
      const size = sizeOf(p.shape);
      if (sizeOf(out.shape) !== size) throw new Error('internal: output size mismatch after quantization');
      let tensor = out.tensor;
      let quant: AccQuant;
      if (out.quant.kind === 'u8') {
        quant = u8AsAcc(out.quant, size);
        tensor = `${out.tensor}#out${k}`;
        layers.push({
          kind: 'affine', name: `${p.name}:output`, inputs: [out.tensor], output: tensor, inShape: out.shape, outShape: out.shape,
          multipliers: [new Array(size).fill(1)], offsets: [out.quant.zeroPoint], bias: new Array(size).fill(0), outQuant: quant,
        } as QLayer);
      } else quant = out.quant;
      acc.scales.push(...quant.scales);
      acc.lo.push(...quant.lo);
      acc.hi.push(...quant.hi);
      // The concatenation's quant dequantizes every part; a part names its tensor only.
      return { ...p, tensor };
    });
    if (issues.length) throw new UnsupportedModelError(issues);
    output = { ...spec, quant: acc, parts };
    outputTensor = '';
  }
  pruneUnreadTableLookups(layers, outputTensor || undefined, output);
  shareTableSelectors(layers);
  // A classifier's label table travels with its output part (the key and every bundle then state it).
  return withOutputLabels({
    name: model.name,
    sha256: model.sha256,
    opset: model.opset,
    input: { name: model.input.name, shape: model.input.shape, ...(model.input.dtype ? { dtype: model.input.dtype } : {}), quant: inQuant, ...(model.input.parts ? { parts: inParts } : {}) },
    output,
    outputTensor,
    layers,
    calibration: { source: opts.calibrationSource ?? 'file', samples: samples.length, sha256: calibrationHash(samples) },
    multiplierBits,
    notes: model.notes,
    ...(opts.privateParams ? { params: 'hashed' as const } : {}),
  });
}

/**
 * Drop Gathers of a constant table whose result no layer reads (a threshold table that a comparison reads through
 * its own selector, src/ops/arith.ts): they would only repeat that selector's proof that the index is in range.
 */
function pruneUnreadTableLookups(layers: QLayer[], outputTensor: string | undefined, output: QuantizedModel['output']): void {
  const outs = new Set<string>([...(outputTensor ? [outputTensor] : []), ...(output.parts ?? []).flatMap((p) => (p.tensor ? [p.tensor] : []))]);
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i];
    if (l.kind !== 'lookup' || !l.table || outs.has(l.output)) continue;
    if (layers.some((m) => m.inputs.includes(l.output))) continue;
    layers.splice(i, 1);
  }
}

/**
 * Gathers of exact integer tables (node ids, features, children, grid thresholds of a tree traversal) at the
 * same index tensor, along axis 0 with the same rows, become one lookup of their tables side by side: one one-hot
 * selector per index element (R + 2) instead of one per table; each original output is then a routing 'gather'
 * of its columns (0 constraints). The values are the same integers, so the reference and the circuit agree.
 */
function shareTableSelectors(layers: QLayer[]): void {
  type L = Extract<QLayer, { kind: 'lookup' }>;
  const shareable = (l: QLayer): l is L =>
    l.kind === 'lookup' && !!l.table && !l.strides && l.axis === 0 && l.outQuant.kind === 'acc' && l.outQuant.scales.every((v) => v === 1);
  const keyOf = (l: L) => JSON.stringify([l.inputs[0], l.dataShape[0], l.inShape, l.lo, l.count, l.perIndex ?? null]);
  const groups = new Map<string, L[]>();
  for (const l of layers) if (shareable(l)) groups.set(keyOf(l), [...(groups.get(keyOf(l)) ?? []), l]);
  for (const g of groups.values()) {
    if (g.length < 2) continue;
    const n = g[0].dataShape[0];
    const K = sizeOf(g[0].inShape);
    const posts = g.map((l) => sizeOf(l.dataShape.slice(1)));
    const P = posts.reduce((a, b) => a + b, 0);
    const table: number[] = new Array(n * P);
    const quant: AccQuant = { kind: 'acc', scales: new Array(K * P).fill(1), lo: new Array(K * P), hi: new Array(K * P) };
    const merged = `${g[0].output}#shared`;
    const routes: QLayer[] = [];
    let off = 0;
    g.forEach((l, m) => {
      const post = posts[m];
      const q = l.outQuant as AccQuant;
      for (let r = 0; r < n; r++) for (let c = 0; c < post; c++) table[r * P + off + c] = l.table![r * post + c];
      const index = new Int32Array(K * post);
      for (let k = 0; k < K; k++) for (let c = 0; c < post; c++) {
        index[k * post + c] = k * P + off + c;
        quant.lo[k * P + off + c] = q.lo[k * post + c];
        quant.hi[k * P + off + c] = q.hi[k * post + c];
      }
      routes.push({ kind: 'gather', name: `${l.name}:shared`, inputs: [merged], output: l.output, inShape: [K * P], outShape: l.outShape, index, padValue: 0, inOffsets: [0], outQuant: q } as QLayer);
      off += post;
    });
    const first = layers.indexOf(g[0]);
    const lookup: L = { ...g[0], name: g.map((l) => l.name).join('+'), output: merged, outShape: [K * P], dataShape: [n, P], table, outQuant: quant };
    for (const l of g) layers.splice(layers.indexOf(l), 1);
    layers.splice(first, 0, lookup, ...routes);
  }
}
