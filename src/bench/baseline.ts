/**
 * The circomlib-ml construction of a model, emitted for `zkonnx bench --baseline`: weights and biases as
 * private signal inputs (one constraint per multiply-accumulate), ReLU as Num2Bits(254) + Sign (517
 * constraints), max-pooling as GreaterThan(252) comparisons (1,015 for 2x2), sum pooling and reshapes free,
 * no requantization (values grow in the field, as circomlib-ml's only rescaling is an asserted division).
 * For the 784-56-10 MLP this is 43,904 + 56 x 517 + 560 = 73,416 non-linear constraints, the published
 * figure. Templates: circuits/baseline.circom. Only for measuring: like circomlib-ml, it is not sound.
 */
import type { FloatModel } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import { poolWindows } from '../ops/pool.ts';
import { ZKONNX_VERSION } from '../version.ts';

export const BASELINE_RELU = 517;
/** circomlib-ml Max(n): n comparisons, each GreaterThan(252) (253) and a Switcher (1); --O1 removes one. */
export const baselineMaxCost = (n: number): number => 254 * n - 1;

/** Weights are fixed-point integers, scale 2^8, as circomlib-ml models carry them. */
const WEIGHT_SCALE = 256;

export interface BaselineLayer {
  name: string;
  kind: string;
  nonLinear: number;
}

export interface BaselineCircuit {
  source: string;
  /** Predicted non-linear constraints (what circom reports as non-linear). */
  nonLinear: number;
  layers: BaselineLayer[];
  /** The private inputs (weights, biases) of the witness. */
  privateInputs: Record<string, number[]>;
}

export class BaselineUnsupported extends Error {}

export function emitBaseline(model: FloatModel): BaselineCircuit {
  const lines: string[] = [];
  const decl: string[] = [];
  const priv: Record<string, number[]> = {};
  const layers: BaselineLayer[] = [];
  const env = new Map<string, string>(); // tensor -> circom var array holding it
  env.set(model.input.name, 'in');
  let k = 0;
  const line = (t: string) => void lines.push(`    ${t}`);
  for (const l of model.layers) {
    const X = env.get(l.inputs[0]);
    if (!X || l.inputs.length !== 1) throw new BaselineUnsupported(`layer '${l.name}' (${l.kind}) has no circomlib-ml equivalent here`);
    const id = `L${k++}`;
    const nOut = sizeOf(l.outShape);
    switch (l.kind) {
      case 'dense': {
        const [n, m] = [l.outSize, l.inSize];
        priv[`${id}_w`] = Array.from(l.weights, (w) => Math.round(w * WEIGHT_SCALE));
        priv[`${id}_b`] = Array.from(l.bias, (b) => Math.round(b * WEIGHT_SCALE));
        decl.push(`signal input ${id}_w[${n * m}];`, `signal input ${id}_b[${n}];`);
        line(`// ${l.name}: dense ${m} -> ${n}, weights as private inputs (${n * m} multiply-accumulates)`);
        line(`signal ${id}_m[${n}][${m}];`);
        line(`var ${id}[${n}];`);
        line(`for (var j = 0; j < ${n}; j++) {`);
        line(`    var s = ${id}_b[j];`);
        line(`    for (var i = 0; i < ${m}; i++) { ${id}_m[j][i] <== ${X}[i] * ${id}_w[j * ${m} + i]; s += ${id}_m[j][i]; }`);
        line(`    ${id}[j] = s;`);
        line(`}`);
        layers.push({ name: l.name, kind: 'dense', nonLinear: n * m });
        break;
      }
      case 'conv': {
        if (l.inShape.length !== 4) throw new BaselineUnsupported(`conv '${l.name}' is 1-D (circomlib-ml's Conv2D is 2-D)`);
        if (l.pads.some((p) => p !== 0) || l.group !== 1 || l.dilations.some((d) => d !== 1)) {
          throw new BaselineUnsupported(`conv '${l.name}' has padding, groups or dilations (circomlib-ml's Conv2D has none)`);
        }
        const [, C, H, W] = l.inShape;
        const [, M, OH, OW] = l.outShape;
        const [kh, kw] = l.kernel;
        const [sh, sw] = l.strides;
        const taps = C * kh * kw;
        priv[`${id}_w`] = Array.from(l.weights, (w) => Math.round(w * WEIGHT_SCALE));
        priv[`${id}_b`] = Array.from(l.bias, (b) => Math.round(b * WEIGHT_SCALE));
        decl.push(`signal input ${id}_w[${l.weights.length}];`, `signal input ${id}_b[${M}];`);
        line(`// ${l.name}: conv ${C} -> ${M}, ${kh}x${kw}, weights as private inputs (${nOut * taps} multiply-accumulates)`);
        line(`signal ${id}_m[${nOut}][${taps}];`);
        line(`var ${id}[${nOut}];`);
        line(`for (var co = 0; co < ${M}; co++) { for (var oy = 0; oy < ${OH}; oy++) { for (var ox = 0; ox < ${OW}; ox++) {`);
        line(`    var o = (co * ${OH} + oy) * ${OW} + ox;`);
        line(`    var s = ${id}_b[co];`);
        line(`    for (var ci = 0; ci < ${C}; ci++) { for (var ky = 0; ky < ${kh}; ky++) { for (var kx = 0; kx < ${kw}; kx++) {`);
        line(`        var t = (ci * ${kh} + ky) * ${kw} + kx;`);
        line(`        ${id}_m[o][t] <== ${X}[ci * ${H * W} + (oy * ${sh} + ky) * ${W} + ox * ${sw} + kx] * ${id}_w[co * ${taps} + t];`);
        line(`        s += ${id}_m[o][t];`);
        line(`    } } }`);
        line(`    ${id}[o] = s;`);
        line(`} } }`);
        layers.push({ name: l.name, kind: 'conv', nonLinear: nOut * taps });
        break;
      }
      case 'clip': {
        if (l.lo !== 0 || l.hi !== Infinity) throw new BaselineUnsupported(`Clip '${l.name}' (circomlib-ml has ReLU only)`);
        line(`// ${l.name}: ReLU, Num2Bits(254) + Sign (${BASELINE_RELU} each)`);
        line(`component ${id}_r[${nOut}];`);
        line(`var ${id}[${nOut}];`);
        line(`for (var i = 0; i < ${nOut}; i++) { ${id}_r[i] = BaselineReLU(); ${id}_r[i].in <== ${X}[i]; ${id}[i] = ${id}_r[i].out; }`);
        layers.push({ name: l.name, kind: 'relu', nonLinear: nOut * BASELINE_RELU });
        break;
      }
      case 'maxpool': {
        if (l.pads.some((p) => p !== 0)) throw new BaselineUnsupported(`MaxPool '${l.name}' has padding`);
        const wins = poolWindows(l, l.inShape, l.outShape);
        const n = wins[0].length;
        line(`// ${l.name}: max-pool, GreaterThan(252) comparisons (${baselineMaxCost(n)} per window)`);
        line(`component ${id}_p[${wins.length}];`);
        line(`var ${id}[${wins.length}];`);
        wins.forEach((win, o) => {
          line(`${id}_p[${o}] = BaselineMax(${n});`);
          win.forEach((i, t) => line(`${id}_p[${o}].in[${t}] <== ${X}[${i}];`));
          line(`${id}[${o}] = ${id}_p[${o}].out;`);
        });
        layers.push({ name: l.name, kind: 'maxpool', nonLinear: wins.length * baselineMaxCost(n) });
        break;
      }
      case 'avgpool': {
        const wins = poolWindows(l, l.inShape, l.outShape);
        line(`// ${l.name}: sum pooling (circomlib-ml divides with an asserted remainder: 0 constraints)`);
        line(`var ${id}[${wins.length}];`);
        wins.forEach((win, o) => line(`${id}[${o}] = ${win.map((i) => `${X}[${i}]`).join(' + ')};`));
        layers.push({ name: l.name, kind: 'avgpool', nonLinear: 0 });
        break;
      }
      case 'reshape':
        env.set(l.output, X);
        continue;
      default:
        throw new BaselineUnsupported(`layer '${l.name}' (${l.kind}) has no circomlib-ml equivalent here`);
    }
    env.set(l.output, id);
  }
  const outArr = env.get(model.output.tensor)!;
  const nIn = sizeOf(model.input.shape);
  const nOut = sizeOf(model.output.shape);
  const source = [
    'pragma circom 2.1.0;',
    `// circomlib-ml baseline generated by zkonnx ${ZKONNX_VERSION} bench --baseline — do not edit; not sound, for measurement only.`,
    `// model: ${model.name} sha256 ${model.sha256}`,
    'include "baseline.circom";',
    '',
    'template Main() {',
    `    signal input in[${nIn}];`,
    ...decl.map((d) => `    ${d}`),
    `    signal output out[${nOut}];`,
    ...lines,
    `    for (var i = 0; i < ${nOut}; i++) out[i] <== ${outArr}[i];`,
    '}',
    '',
    'component main {public [in]} = Main();',
    '',
  ].join('\n');
  return { source, nonLinear: layers.reduce((a, l) => a + l.nonLinear, 0), layers, privateInputs: priv };
}
