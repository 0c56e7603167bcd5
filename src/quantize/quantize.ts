/**
 * Post-training static quantization (see README "Quantization scheme"):
 * - activations: uint8, per-tensor scale and zero point from the calibrated min/max (0 always included);
 *   after a ReLU the zero point is 0;
 * - weights: int8, symmetric, per output channel; bias: integer at scale s_in * s_w[j];
 * - requantization: integer multiplier M and shift S per channel, M / 2^S ~ s_acc[j] / s_out, with M of
 *   `multiplierBits` bits; the effective scale is exact because the integer semantics define it.
 * A dense output that reaches the graph output is not requantized: the logits stay wide integers.
 */
import { createHash } from 'node:crypto';
import { InputError, UnsupportedModelError, type ModelIssue } from '../errors.ts';
import type { CalibrationInfo, FloatModel, QLayer, QuantizedModel, TensorQuant, U8Quant } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import { floatDef } from '../ops/registry.ts';
import { makeRequant, MAX_REQUANT_BITS } from '../ops/requant.ts';
import type { CalibratedRange, QuantizeContext } from '../ops/types.ts';
import { runFloatLayers } from '../reference/float.ts';

export interface QuantizeOptions {
  /** Bits of the requantization multiplier M (precision of each channel's scale). Default 10. */
  multiplierBits?: number;
  /** Where the calibration samples came from; recorded in the manifest. Default 'file'. */
  calibrationSource?: CalibrationInfo['source'];
}

export const DEFAULT_MULTIPLIER_BITS = 10;

/** uint8 quantization covering [min, max] (widened to include 0). */
export function u8QuantFor(r: CalibratedRange): U8Quant {
  const lo = Math.min(0, r.min);
  const hi = Math.max(0, r.max);
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  const zeroPoint = Math.max(0, Math.min(255, Math.round(-lo / scale)));
  return { kind: 'u8', scale, zeroPoint };
}

/** Calibrated ranges: [input range, output range of layer 0, layer 1, ...]. */
export function calibrate(model: FloatModel, samples: ArrayLike<number>[]): CalibratedRange[] {
  if (samples.length === 0) throw new InputError('Calibration needs at least one sample.');
  const ranges: CalibratedRange[] = Array.from({ length: model.layers.length + 1 }, () => ({ min: Infinity, max: -Infinity }));
  const widen = (r: CalibratedRange, v: ArrayLike<number>) => {
    for (let i = 0; i < v.length; i++) {
      if (v[i] < r.min) r.min = v[i];
      if (v[i] > r.max) r.max = v[i];
    }
  };
  for (const s of samples) {
    widen(ranges[0], s);
    runFloatLayers(model, s).forEach((o, i) => widen(ranges[i + 1], o));
  }
  return ranges;
}

export function calibrationHash(samples: ArrayLike<number>[]): string {
  const h = createHash('sha256');
  for (const s of samples) h.update(new Uint8Array(Float64Array.from(s).buffer));
  return h.digest('hex');
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
  const issues: ModelIssue[] = [];
  const inQuant = u8QuantFor(ranges[0]);
  const layers: QLayer[] = [];
  let state: { shape: number[]; quant: TensorQuant } = { shape: model.input.shape, quant: inQuant };

  model.layers.forEach((layer, i) => {
    const ctx: QuantizeContext = {
      get state() {
        return state;
      },
      multiplierBits,
      inRange: ranges[i],
      outRange: ranges[i + 1],
      push(q) {
        layers.push(q);
        state = { shape: q.outShape, quant: q.outQuant };
      },
      ensureU8(name, o = {}) {
        const q = state.quant;
        if (q.kind === 'u8') return q;
        // ReLU fused here: the requantized tensor is this layer's (ReLU) output; otherwise the incoming one.
        const out = o.relu ? u8QuantFor({ min: 0, max: ranges[i + 1].max }) : u8QuantFor(ranges[i]);
        const rq = makeRequant(name, state.shape, q, out, !!o.relu, multiplierBits);
        // The circuit needs exact integer multipliers and a decomposition far below the field size.
        if (rq.multipliers.some((m) => !Number.isSafeInteger(m)) || rq.bits.some((k) => k > MAX_REQUANT_BITS)) {
          this.issue(`requantization needs a multiplier above 2^53 or more than ${MAX_REQUANT_BITS} bits (the calibrated output range is too small for the accumulator scale)`);
        }
        this.push(rq);
        return out;
      },
      issue: (message) => void issues.push({ node: layer.name, op: layer.kind, message }),
    };
    floatDef(layer).quantize(layer, ctx);
  });
  if (issues.length) throw new UnsupportedModelError(issues);
  if (sizeOf(state.shape) !== sizeOf(model.output.shape)) throw new Error('internal: output size mismatch after quantization');
  return {
    name: model.name,
    sha256: model.sha256,
    opset: model.opset,
    input: { ...model.input, quant: inQuant },
    output: { ...model.output, quant: state.quant },
    layers,
    calibration: { source: opts.calibrationSource ?? 'file', samples: samples.length, sha256: calibrationHash(samples) },
    multiplierBits,
  };
}

/** Quantize a float input tensor to the model's uint8 input. */
export function quantizeInput(q: U8Quant, x: ArrayLike<number>): number[] {
  return Array.from(x, (v) => Math.max(0, Math.min(255, Math.round(v / q.scale) + q.zeroPoint)));
}
