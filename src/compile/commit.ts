/**
 * commitModel: the commitment to a model's parameters (`zkonnx commit-model`), for circuits compiled with
 * `--param-visibility hashed`, and the weight set (ParamSet) a prover needs to prove with it.
 *
 * - Alone (with a calibration set): the model is quantized exactly as `compile --param-visibility hashed`
 *   quantizes it (same calibration, same multiplier bits): the commitment is the one its proofs carry.
 * - `like: DIR` (a directory compiled with hashed parameters): the model's Gemm/MatMul/Conv weights and biases
 *   are put on DIR's grid (its weight scales, accumulator scales and input zero points), so the weight set
 *   proves under DIR's key. Everything else (activations, requantization scales, other constants) is DIR's.
 *   A weight set fits when it has DIR's linear layers in order (same kinds and sizes), every weight in
 *   [-128, 127] on that grid and every bias within the layer's bias bits (src/ir/params.ts paramSetProblem):
 *   a weight beyond the grid is refused, naming the layer, never clamped.
 */
import { readQuantizedModel, readManifest, visibilityOf } from '../artifacts/manifest.ts';
import { InputError } from '../errors.ts';
import { flattenCalibration } from '../io/input.ts';
import type { ConvLayer, DenseLayer, QuantizedModel, U8Quant } from '../ir/types.ts';
import { paramLayers, paramSetOf, paramSetProblem, paramsCommitment, PARAM_SET_FORMAT, withParamSet, type ParamSet } from '../ir/params.ts';
import { DEFAULT_MULTIPLIER_BITS, quantizeModel } from '../quantize/quantize.ts';
import { loadModelFile } from './model.ts';

export interface CommitModelOptions {
  /** Calibration (as for compileModel): needed without `like`. */
  calibration?: Float64Array[] | { json: unknown; source: string };
  multiplierBits?: number;
  /** An artifact directory compiled with hashed parameters: put the weights on its grid. */
  like?: string;
}

export interface CommitModelResult {
  /** The parameter commitment (decimal), as the circuit's paramsHash public signal states it. */
  commitment: string;
  params: ParamSet;
  weights: number;
  biases: number;
}

/** The uint8 grid of a layer's input tensor in a quantized model (a requantization's output, or the model input). */
function inputGrid(model: QuantizedModel, tensor: string): U8Quant | undefined {
  const part = model.input.parts?.find((p) => p.name === tensor);
  if (part) return part.quant?.kind === 'u8' ? part.quant : undefined;
  if (!model.input.parts && tensor === model.input.name) return model.input.quant;
  const producer = model.layers.find((l) => l.output === tensor);
  return producer?.outQuant.kind === 'u8' ? producer.outQuant : undefined;
}

export async function commitModel(modelPath: string, opts: CommitModelOptions = {}): Promise<CommitModelResult> {
  const { model } = await loadModelFile(modelPath);
  let q: QuantizedModel;
  if (opts.like === undefined) {
    if (!opts.calibration) throw new InputError('commit-model needs the calibration set the model is compiled with (--calibration FILE), or an artifact directory to commit on its grid (--like DIR).');
    const samples = Array.isArray(opts.calibration) ? opts.calibration : flattenCalibration(opts.calibration.json, model.input, opts.calibration.source);
    q = quantizeModel(model, samples, { multiplierBits: opts.multiplierBits ?? DEFAULT_MULTIPLIER_BITS, privateParams: true });
  } else {
    const dir = opts.like;
    const m = await readManifest(dir);
    if (visibilityOf(m).params !== 'hashed') {
      throw new InputError(`'${dir}' was compiled with fixed parameters: there is no parameter commitment to make for it.`, { hint: 'Compile with --param-visibility hashed.' });
    }
    const base = await readQuantizedModel(dir);
    q = withParamSet(base, onGrid(model.layers.filter((l): l is DenseLayer | ConvLayer => l.kind === 'dense' || l.kind === 'conv'), base, modelPath, dir));
  }
  const params = paramSetOf(q);
  const problem = paramSetProblem(q, params);
  if (problem) throw new InputError(`'${modelPath}': its weight set ${problem}.`);
  return { commitment: paramsCommitment(q).toString(), params, weights: params.layers.reduce((a, l) => a + l.weights.length, 0), biases: params.layers.reduce((a, l) => a + l.bias.length, 0) };
}

/**
 * The float layers' weights and biases on the grid of `base`'s private-parameter layers (in order): weight
 * w -> round(w * inScale / accScale_j) as the quantizer computes it, bias b -> round(b / accScale_j), and for
 * dense layers the input zero point folded in (- zp * sum_i W[j][i]). InputError naming the layer and value
 * when the structure differs or a value leaves the circuit's range.
 */
function onGrid(floats: (DenseLayer | ConvLayer)[], base: QuantizedModel, modelPath: string, dir: string): ParamSet {
  const targets = paramLayers(base);
  const hint = `The model must be a variant of the one compiled in '${dir}' (same architecture), with weights the grid can hold; otherwise compile it on its own.`;
  if (floats.length !== targets.length) {
    throw new InputError(`'${modelPath}' has ${floats.length} Gemm/MatMul/Conv layers, the circuit in '${dir}' takes parameters for ${targets.length}.`, { hint });
  }
  const layers: ParamSet['layers'] = [];
  targets.forEach((t, k) => {
    const f = floats[k];
    if (f.kind !== t.kind || f.weights.length !== t.weights.length || f.bias.length !== t.bias.length) {
      throw new InputError(`'${modelPath}': layer '${f.name}' (${f.kind}, ${f.weights.length} weights) does not match the circuit's layer ${k} '${t.name}' (${t.kind}, ${t.weights.length} weights).`, { hint });
    }
    const grid = inputGrid(base, t.inputs[0]);
    if (!grid) throw new InputError(`The circuit in '${dir}' has no uint8 grid for the input of layer '${t.name}'.`, { hint: 'Recompile it with this version of zkonnx.' });
    const channels = t.bias.length;
    const per = t.weights.length / channels;
    // The accumulator scale of channel j: dense outputs are channels; conv outputs are channel-major positions.
    const accScale = (j: number) => (t.kind === 'dense' ? t.outQuant.scales[j] : t.outQuant.scales[j * (t.outQuant.scales.length / channels)]);
    const weights: number[] = [];
    const bias: number[] = [];
    for (let j = 0; j < channels; j++) {
      let sumW = 0;
      for (let i = 0; i < per; i++) {
        const w = Math.round((f.weights[j * per + i] * grid.scale) / accScale(j));
        if (!(w >= -128 && w <= 127)) {
          throw new InputError(`'${modelPath}': weight ${j * per + i} of layer '${f.name}' is ${f.weights[j * per + i]}, ${w} on the grid of '${dir}', outside int8.`, { hint });
        }
        weights.push(w);
        sumW += w;
      }
      const b = Math.round(f.bias[j] / accScale(j)) - (t.kind === 'dense' ? t.privateParams!.inZeroPoint * sumW : 0);
      bias.push(b);
    }
    layers.push({ name: t.name, kind: t.kind, weights, bias });
  });
  const set: ParamSet = { format: PARAM_SET_FORMAT, commitment: '', layers };
  const problem = paramSetProblem(base, set);
  if (problem) throw new InputError(`'${modelPath}' on the grid of '${dir}': its weight set ${problem}.`, { hint });
  set.commitment = paramsCommitment(withParamSet(base, set)).toString();
  return set;
}
