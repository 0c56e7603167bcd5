/**
 * The ai.onnx.ml ops that skl2onnx / onnxmltools write around models (src/ops/ml.ts): Scaler, Binarizer, Imputer,
 * ArrayFeatureExtractor, FeatureVectorizer, LinearRegressor, LinearClassifier, Normalizer (L1 of probabilities),
 * LabelEncoder (class index -> label). Each is imported as existing layers (constant-weight linear maps, routing,
 * comparisons, tables, the tree ensembles' label helpers of src/ops/trees.ts); no layer kind of its own.
 */
import { sizeOf } from '../ir/types.ts';
import { attrFloat, attrInt, checkKnownAttrs, getter } from './attrs.ts';
import { binaryFromScore, labelFromScores, pushClassLabels, scores } from './trees.ts';
import type { ImportContext, OpImporter } from './types.ts';

/** A per-feature attribute (length 1: every feature; length C: one per feature) spread over n elements of C features. */
function perFeature(ctx: ImportContext, name: string, v: number[], n: number, C: number): Float64Array | undefined {
  if (v.length !== 1 && v.length !== C) return void ctx.issue(`${name} has ${v.length} values; expected 1 or ${C} (one per feature)`);
  return Float64Array.from({ length: n }, (_, i) => Math.fround(v.length === 1 ? v[0] : v[i % C]));
}

/** The node's input as [rows, C] with one row (what these ml ops are proven for), or an issue. */
function oneRow(ctx: ImportContext): { name: string; shape: number[]; C: number } | undefined {
  const x = ctx.current;
  if (!x) return void ctx.issue('the input must be an activation');
  const C = x.shape[x.shape.length - 1];
  if (sizeOf(x.shape) !== C) return void ctx.issue(`only one row is supported (input shape [${x.shape}])`);
  return { name: x.name, shape: x.shape, C };
}

export const mlImporters: OpImporter[] = [
  {
    // Y = (X - offset) * scale, per feature: one affine layer (0 constraints).
    onnxOps: ['Scaler'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['offset', 'scale']);
      const g = getter(node, ctx);
      const x = ctx.current;
      if (!x) return ctx.issue('the input must be an activation');
      const n = sizeOf(x.shape);
      const C = x.shape[x.shape.length - 1];
      const scale = perFeature(ctx, 'scale', g.floats('scale') ?? [1], n, C);
      const offset = perFeature(ctx, 'offset', g.floats('offset') ?? [0], n, C);
      if (!scale || !offset) return;
      ctx.push({ kind: 'affine', name: node.name, inputs: [x.name], output: node.outputs[0], inShape: x.shape, outShape: x.shape, coefs: [scale], bias: offset.map((o, i) => -o * scale[i]) });
    },
  },
  {
    // Y = X > threshold ? 1 : 0 per element: one compare layer (B + 2 constraints per element).
    onnxOps: ['Binarizer'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['threshold']);
      const x = ctx.current;
      if (!x) return ctx.issue('the input must be an activation');
      const n = sizeOf(x.shape);
      const t = Math.fround(attrFloat(node, ctx, 'threshold', 0));
      ctx.push({ kind: 'compare', name: node.name, inputs: [x.name], output: node.outputs[0], inShape: x.shape, outShape: x.shape, op: 'gt', ia: Array.from({ length: n }, (_, i) => i), ib: [], threshold: new Array(n).fill(t) });
    },
  },
  {
    // Values equal to replaced_value_float become imputed_value_floats (per feature): compare eq + select. A NaN
    // replaced value (skl2onnx's SimpleImputer for np.nan) changes nothing here: a quantized input is never NaN.
    onnxOps: ['Imputer'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['imputed_value_floats', 'replaced_value_float', 'imputed_value_int64s', 'replaced_value_int64']);
      if (node.attrs.has('imputed_value_int64s')) return ctx.issue('integer imputation (imputed_value_int64s) is not supported: zkonnx reads float features');
      const g = getter(node, ctx);
      const x = ctx.current;
      if (!x) return ctx.issue('the input must be an activation');
      const r = attrFloat(node, ctx, 'replaced_value_float', 0);
      if (Number.isNaN(r)) {
        ctx.note(`Imputer '${node.name}' is left out: it replaces NaN, and a quantized input is never NaN`);
        return ctx.alias();
      }
      const n = sizeOf(x.shape);
      const imputed = perFeature(ctx, 'imputed_value_floats', g.floats('imputed_value_floats') ?? [], n, x.shape[x.shape.length - 1]);
      if (!imputed) return;
      const idx = Array.from({ length: n }, (_, i) => i);
      const c = `${node.name}#missing`;
      ctx.push({ kind: 'compare', name: c, inputs: [x.name], output: c, inShape: x.shape, outShape: x.shape, op: 'eq', ia: idx, ib: [], threshold: new Array(n).fill(Math.fround(r)) });
      ctx.push({ kind: 'select', name: node.name, inputs: [c, x.name], output: node.outputs[0], inShape: x.shape, outShape: x.shape, ic: idx, ia: [], ib: idx, aConst: Array.from(imputed) });
    },
  },
  {
    // Y = X[..., indices] for constant indices: one routing layer (0 constraints).
    onnxOps: ['ArrayFeatureExtractor'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, []);
      const x = ctx.activation(node.inputs[0]);
      const ind = ctx.constant(node.inputs[1]);
      if (!x) return ctx.issue('the data input must be an activation');
      if (!ind) return ctx.issue('the indices must be a constant (an initializer)');
      const C = x.shape[x.shape.length - 1];
      const rows = sizeOf(x.shape) / C;
      const k = Array.from(ind.data);
      const bad = k.findIndex((v) => !Number.isInteger(v) || v < 0 || v >= C);
      if (bad >= 0) return ctx.issue(`index ${k[bad]} is out of range 0..${C - 1}`);
      const outShape = [...x.shape.slice(0, -1), k.length];
      const index = Int32Array.from({ length: rows * k.length }, (_, i) => Math.floor(i / k.length) * C + k[i % k.length]);
      ctx.push({ kind: 'gather', name: node.name, inputs: [x.name], output: node.outputs[0], inShape: x.shape, outShape, index, padValue: 0 });
    },
  },
  {
    // The inputs' rows side by side, each cut or zero-padded to its inputdimensions entry (as onnxruntime): one
    // routing layer (0 constraints).
    onnxOps: ['FeatureVectorizer'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['inputdimensions']);
      const dims = getter(node, ctx).ints('inputdimensions') ?? [];
      if (dims.length !== node.inputs.length) return ctx.issue(`inputdimensions has ${dims.length} entries for ${node.inputs.length} inputs`);
      const acts = node.inputs.map((n) => ctx.activation(n));
      if (acts.some((a) => !a)) return ctx.issue('every input must be an activation (computed from the model input)');
      const index: number[] = [];
      let offset = 0;
      let pad = false;
      for (const [k, a] of acts.entries()) {
        const C = a!.shape[a!.shape.length - 1];
        if (sizeOf(a!.shape) !== C) return ctx.issue(`only one row is supported (input ${k} has shape [${a!.shape}])`);
        for (let j = 0; j < dims[k]; j++) {
          if (j < C) index.push(offset + j);
          else {
            index.push(-1);
            pad = true;
          }
        }
        offset += C;
      }
      ctx.push({ kind: 'route', name: node.name, inputs: acts.map((a) => a!.name), output: node.outputs[0], inShape: acts[0]!.shape, outShape: [1, index.length], index: Int32Array.from(index), consts: pad ? Float64Array.of(0) : new Float64Array(0) });
    },
  },
  {
    // Y = X W^T + intercepts (targets outputs): one dense layer (0 constraints).
    onnxOps: ['LinearRegressor'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['coefficients', 'intercepts', 'targets', 'post_transform']);
      const g = getter(node, ctx);
      const x = oneRow(ctx);
      if (!x) return;
      const post = g.str('post_transform', 'NONE');
      if (post !== 'NONE') return ctx.issue(`post_transform ${post} is not supported (NONE)`);
      const T = attrInt(node, ctx, 'targets', 1);
      const w = g.floats('coefficients') ?? [];
      const b = g.floats('intercepts') ?? [];
      if (w.length !== T * x.C) return ctx.issue(`coefficients has ${w.length} values; expected targets x features = ${T} x ${x.C}`);
      if (b.length && b.length !== T) return ctx.issue(`intercepts has ${b.length} values; expected ${T} (targets)`);
      ctx.push({ kind: 'dense', name: node.name, inputs: [x.name], output: node.outputs[0], inShape: x.shape, outShape: [1, T], inSize: x.C, outSize: T, weights: Float64Array.from(w, Math.fround), bias: Float64Array.from({ length: T }, (_, j) => Math.fround(b[j] ?? 0)) });
    },
  },
  {
    // scores = X W^T + intercepts (E rows), post_transform NONE/LOGISTIC/SOFTMAX; label = ArgMax with its labels.
    // One row and two labels: onnxruntime's binary form (label 1 iff s > 0; scores [1 - s, s], with LOGISTIC
    // [1 - sigmoid(s), sigmoid(s)]).
    onnxOps: ['LinearClassifier'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['coefficients', 'intercepts', 'classlabels_ints', 'classlabels_strings', 'multi_class', 'post_transform']);
      const g = getter(node, ctx);
      const x = oneRow(ctx);
      if (!x) return;
      const post = g.str('post_transform', 'NONE');
      if (!['NONE', 'LOGISTIC', 'SOFTMAX'].includes(post)) return ctx.issue(`post_transform ${post} is not supported (NONE, LOGISTIC, SOFTMAX)`);
      const intLabels = g.ints('classlabels_ints');
      const strLabels = g.strings('classlabels_strings');
      const nLabels = intLabels?.length ?? strLabels?.length ?? 0;
      if (!nLabels) return ctx.issue('needs classlabels_ints or classlabels_strings');
      const b = g.floats('intercepts') ?? [];
      const E = b.length;
      const w = g.floats('coefficients') ?? [];
      if (!E || w.length !== E * x.C) return ctx.issue(`coefficients has ${w.length} values and intercepts ${E}; expected classes x features = ${E} x ${x.C} coefficients`);
      const binary = E === 1 && nLabels === 2;
      if (!binary && E !== nLabels) return ctx.issue(`${E} score rows for ${nLabels} labels (onnxruntime pairs them one to one, or one row with two labels)`);
      if (binary && post === 'SOFTMAX') return ctx.issue('post_transform SOFTMAX with one score row (binary) is not supported (NONE, LOGISTIC)');
      const raw = `${node.name}#scores`;
      const rawName = binary || post !== 'NONE' || !node.outputs[1] ? raw : node.outputs[1];
      ctx.push({ kind: 'dense', name: rawName === node.outputs[1] ? node.name : raw, inputs: [x.name], output: rawName, inShape: x.shape, outShape: [1, E], inSize: x.C, outSize: E, weights: Float64Array.from(w, Math.fround), bias: Float64Array.from(b, Math.fround) });
      if (binary) return binaryFromScore(node, ctx, raw, { post, scoreOut: node.outputs[1] || undefined, decideAt: 0, noneScores: 'oneMinus', intLabels, strLabels });
      const scoreOut = node.outputs[1];
      if (scoreOut && post !== 'NONE') {
        const shape = [1, E];
        if (post === 'LOGISTIC') ctx.push({ kind: 'lut', name: node.name, inputs: [raw], output: scoreOut, inShape: shape, outShape: shape, fn: 'sigmoid', alpha: 0 });
        else ctx.push({ kind: 'softmax', name: node.name, inputs: [raw], output: scoreOut, inShape: shape, outShape: shape, axes: [1], log: false });
      }
      if (node.outputs[0]) labelFromScores(node, ctx, rawName, E, node.outputs[0], intLabels, strLabels);
    },
  },
  {
    // A class index (an ArgMax of C scores, e.g. after TreeEnsemble of opset 5, as the spec suggests) mapped to
    // labels: int64 keys -> strings or int64s. The table over 0..C-1 (a key absent: the default) is a label
    // table ('classlabels', 0 constraints: the circuit proves the index), or an affine map when the int64
    // labels are an arithmetic progression (the proven value is then the label itself).
    onnxOps: ['LabelEncoder'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['keys_int64s', 'values_strings', 'values_int64s', 'default_string', 'default_int64', 'keys_strings', 'keys_floats', 'values_floats', 'default_float', 'keys_tensor', 'values_tensor', 'default_tensor']);
      const g = getter(node, ctx);
      const x = ctx.current;
      if (!x) return ctx.issue('the input must be an activation');
      const prod = ctx.layerOf(x.name);
      if (prod?.kind !== 'argmax' || sizeOf(x.shape) !== 1) {
        return ctx.issue('only a class index is supported: the input must be one ArgMax value (string keys and float keys or values are not)');
      }
      const C = sizeOf(prod.inShape);
      const keys = g.ints('keys_int64s') ?? (node.attrs.get('keys_tensor')?.type === 'tensor' ? g.tensor('keys_tensor') : undefined);
      const strValues = g.strings('values_strings');
      const intValues = g.ints('values_int64s') ?? (node.attrs.get('values_tensor')?.type === 'tensor' ? g.tensor('values_tensor') : undefined);
      if (!keys || !(strValues || intValues)) return ctx.issue('needs int64 keys (keys_int64s or keys_tensor) and string or int64 values (values_strings, values_int64s or values_tensor)');
      const values: (string | number)[] = strValues ?? intValues!;
      if (values.length !== keys.length) return ctx.issue(`${keys.length} keys and ${values.length} values`);
      const map = new Map<number, string | number>();
      keys.forEach((k, i) => map.set(k, values[i]));
      const dflt: string | number = strValues ? g.str('default_string', '_Unused') : g.int('default_int64', -1);
      const table = Array.from({ length: C }, (_, k) => map.get(k) ?? dflt);
      if (strValues) return pushClassLabels(node, ctx, x.name, node.outputs[0], table as string[]);
      const ints = table as number[];
      const step = C > 1 ? ints[1] - ints[0] : 1;
      if (ints.every((v, i) => v === ints[0] + i * step)) {
        return ctx.push({ kind: 'affine', name: node.name, inputs: [x.name], output: node.outputs[0], inShape: x.shape, outShape: x.shape, coefs: [Float64Array.of(step)], bias: Float64Array.of(ints[0]) });
      }
      pushClassLabels(node, ctx, x.name, node.outputs[0], ints);
    },
  },
  {
    // L1 of probabilities (what skl2onnx writes after a LinearClassifier's LOGISTIC or SOFTMAX): a sum (dense,
    // 0 constraints) and a division (src/ops/arith.ts divide); after a Softmax the sum is 1 and the node is left
    // out. MAX, L2, and L1 of a tensor that may be negative are refused by name.
    onnxOps: ['Normalizer'],
    importNode(node, ctx) {
      checkKnownAttrs(node, ctx, ['norm']);
      const norm = getter(node, ctx).str('norm', 'MAX');
      const x = oneRow(ctx);
      if (!x) return;
      const prod = ctx.layerOf(x.name);
      const sigmoid = prod?.kind === 'lut' && prod.fn === 'sigmoid';
      const softmax = prod?.kind === 'softmax' && !prod.log;
      if (norm !== 'L1' || !(sigmoid || softmax)) {
        return ctx.issue(`Normalizer (norm ${norm}) divides each row by its ${norm === 'L1' ? 'L1 norm, here of values that may be negative' : `${norm === 'L2' ? 'L2 norm' : 'max'}`}; zkonnx proves norm L1 of probabilities only (after a Sigmoid or Softmax, as skl2onnx writes it); normalize outside the proof, or export the ONNX ops it stands for (ReduceL1/ReduceL2, Div)`);
      }
      if (softmax) {
        ctx.note(`Normalizer '${node.name}' (L1) is left out: its input is a Softmax, whose L1 norm is 1`);
        return ctx.alias();
      }
      const sum = `${node.name}#sum`;
      ctx.push({ kind: 'dense', name: sum, inputs: [x.name], output: sum, inShape: x.shape, outShape: [1, 1], inSize: x.C, outSize: 1, weights: new Float64Array(x.C).fill(1), bias: new Float64Array(1) });
      ctx.push({ kind: 'divide', name: node.name, inputs: [x.name, sum], output: node.outputs[0], inShape: x.shape, outShape: x.shape, ia: Array.from({ length: x.C }, (_, i) => i), ib: new Array(x.C).fill(0) });
    },
  },
];
