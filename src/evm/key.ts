/**
 * What the EVM verifier needs from a zkonnx verification key, checked once: affine BN254 points on their
 * curves (as the EVM precompiles take them), gamma != delta, and the public-signal layout of the key's
 * visibility (src/verify/layout.ts signalLayout: the outputs or their commitment, the input and parameter
 * commitments when hashed, then the input as `plain` or `packed` when public), and for an input with integer
 * (or bool) parts, each part's kind and bounds (EvmKey.integerInput). No node:* imports.
 */
import { BASE_FIELD_PRIME as Q, parseDecimal } from '../field.ts';
import { InputError } from '../errors.ts';
import { sizeOf } from '../ir/types.ts';
import { checkVerificationKey } from '../verify/key.ts';
import {
  isDefaultVisibility, PACK_BYTES, parseVisibility, PUBLIC_INPUT_LAYOUTS, signalLayout, type PublicInputLayout, type SignalLayout, type Visibility,
} from '../verify/layout.ts';
import type { ZkonnxVerificationKey } from '../verify/types.ts';

/** A G1 point as the EVM takes it: affine (x, y); the point at infinity is (0, 0). */
export type EvmG1 = readonly [bigint, bigint];
/** A G2 point as EIP-197 takes it: x = x_im * u + x_re is written (x_im, x_re), likewise y. Infinity: zeros. */
export type EvmG2 = readonly [readonly [bigint, bigint], readonly [bigint, bigint]];

/**
 * One graph input of a key whose input has an integer (or bool) part: where its signals sit and what they hold.
 * A 'u8' part's signals are uint8 values (the contract checks < 256: the circuit assumes it); an 'int' part's
 * are signed integers in [lo, hi] as field elements (a negative x is r + x), which the circuit range-checks
 * (circuits/intrange.circom) and the contract checks only to be canonical (< r).
 */
export interface EvmInputPart {
  name: string;
  dtype?: string;
  shape: number[];
  /** Its first element in the input: its signals are [signals.input.at + offset, ... + count). */
  offset: number;
  count: number;
  kind: 'u8' | 'int';
  /** Bounds of every element: [0, 255] for a uint8 part, the key's lo/hi for an integer part. */
  lo: number;
  hi: number;
  /** A uint8 part's quantization: real = (q - zeroPoint) * scale. */
  u8?: { scale: number; zeroPoint: number };
}

export interface EvmKey {
  alpha: EvmG1;
  beta: EvmG2;
  gamma: EvmG2;
  delta: EvmG2;
  /** IC[0] and one point per public signal. */
  ic: EvmG1[];
  nPublic: number;
  /** Elements of the model output (whether public or hashed: a hashed output is one signal, see `signals`). */
  nOutputs: number;
  /** Elements of the input: uint8 values, or (integerInput) uint8 values and integers. */
  nInputs: number;
  /**
   * The input's parts when one is an integer (or bool) input (then the layout is plain and the input public:
   * one signal per element); null for a uint8-only input, whose contract is the one made before integer inputs.
   */
  integerInput: EvmInputPart[] | null;
  layout: PublicInputLayout;
  /** Public signals carrying the input (0 unless the input is public). */
  inputSignals: number;
  /** Bytes in the last packed signal (PACK_BYTES unless the input length is not a multiple of it); 1 for plain. */
  lastSignalBytes: number;
  /** The key's visibility (DEFAULT_VISIBILITY for a key without one). */
  visibility: Visibility;
  /** Where each part sits among the public signals (signalLayout of the visibility, layout and sizes). */
  signals: SignalLayout;
  /** isDefaultVisibility(visibility): the contract is then exactly the one made before visibilities existed. */
  isDefault: boolean;
}

const fail = (what: string): never => {
  throw new InputError(`Not a usable zkonnx verification key: ${what}.`, {
    hint: 'Pass the verification_key.json that `zkonnx setup` wrote into the artifact directory.',
  });
};

const mod = (a: bigint) => ((a % Q) + Q) % Q;

function coordinate(v: unknown, what: string): bigint {
  const x = parseDecimal(v);
  if (x === null) return fail(`${what} is not a decimal coordinate`);
  if (x >= Q) return fail(`${what} is not below the base field prime`);
  return x;
}

/** y^2 = x^3 + 3 over F_q, or the point at infinity. */
function g1(p: unknown, what: string): EvmG1 {
  if (!Array.isArray(p) || (p.length !== 2 && p.length !== 3)) return fail(`${what} is not a G1 point`);
  const z = p.length === 3 ? coordinate(p[2], `${what}.z`) : 1n;
  if (z === 0n) return [0n, 0n];
  if (z !== 1n) return fail(`${what} is not in affine form (z = 1)`);
  const x = coordinate(p[0], `${what}.x`);
  const y = coordinate(p[1], `${what}.y`);
  if (mod(y * y - x * x * x - 3n) !== 0n) fail(`${what} is not on the BN254 curve`);
  return [x, y];
}

// F_q2 = F_q[u] / (u^2 + 1), elements as [re, im].
type Fq2 = readonly [bigint, bigint];
const f2mul = (a: Fq2, b: Fq2): Fq2 => [mod(a[0] * b[0] - a[1] * b[1]), mod(a[0] * b[1] + a[1] * b[0])];
const f2add = (a: Fq2, b: Fq2): Fq2 => [mod(a[0] + b[0]), mod(a[1] + b[1])];
function powQ(b: bigint, e: bigint): bigint {
  let r = 1n;
  let x = mod(b);
  for (; e > 0n; e >>= 1n, x = (x * x) % Q) if (e & 1n) r = (r * x) % Q;
  return r;
}
/** The twist's b' = 3 / (9 + u). */
const TWIST_B: Fq2 = (() => {
  const inv = powQ(81n + 1n, Q - 2n); // 1 / |9 + u|^2
  return f2mul([3n, 0n], [mod(9n * inv), mod(-inv)]);
})();

/** y^2 = x^3 + b' over F_q2 (the curve of G2), or the point at infinity; returned in EIP-197 order. */
function g2(p: unknown, what: string): EvmG2 {
  const pair = (v: unknown, w: string): Fq2 => {
    if (!Array.isArray(v) || v.length !== 2) return fail(`${w} is not an F_q2 element`);
    return [coordinate(v[0], `${w}[0]`), coordinate(v[1], `${w}[1]`)];
  };
  if (!Array.isArray(p) || (p.length !== 2 && p.length !== 3)) return fail(`${what} is not a G2 point`);
  const z = p.length === 3 ? pair(p[2], `${what}.z`) : ([1n, 0n] as Fq2);
  if (z[0] === 0n && z[1] === 0n) return [[0n, 0n], [0n, 0n]];
  if (z[0] !== 1n || z[1] !== 0n) return fail(`${what} is not in affine form (z = 1)`);
  const x = pair(p[0], `${what}.x`);
  const y = pair(p[1], `${what}.y`);
  const lhs = f2mul(y, y);
  const rhs = f2add(f2mul(f2mul(x, x), x), TWIST_B);
  if (lhs[0] !== rhs[0] || lhs[1] !== rhs[1]) fail(`${what} is not on the BN254 twist curve`);
  return [[x[1], x[0]], [y[1], y[0]]];
}

/**
 * The input's parts when one is an integer input (token ids, a mask), else null. Such a key must be shaped as
 * zkonnx setup writes it (checkVerificationKey: parts that tile the input, integer parts with integer bounds)
 * and have the plain layout and a public input, as the circuit requires (src/emit/circuit.ts).
 */
function integerInputParts(vk: ZkonnxVerificationKey, visibility: Visibility, layout: PublicInputLayout): EvmInputPart[] | null {
  const parts = vk.zkonnx.input.parts;
  if (!Array.isArray(parts) || !parts.some((p) => p?.quant?.kind === 'acc')) return null;
  const problem = checkVerificationKey(vk);
  if (problem) return fail(`field '${problem.field}' ${problem.what}`);
  const intPart = parts.find((p) => p.quant?.kind === 'acc')!;
  if (layout !== 'plain' || visibility.input !== 'public') {
    return fail(`its input '${intPart.name}' is an integer tensor, which needs the plain public-input layout and a public input (the key has ${layout}, input ${visibility.input})`);
  }
  return parts.map((p) => {
    const q = p.quant!;
    const int = q.kind === 'acc';
    return {
      name: p.name, ...(p.dtype !== undefined ? { dtype: p.dtype } : {}), shape: p.shape, offset: p.offset, count: sizeOf(p.shape),
      kind: int ? 'int' : 'u8', lo: int ? q.lo[0] : 0, hi: int ? q.hi[0] : 255,
      ...(q.kind === 'u8' ? { u8: { scale: q.scale, zeroPoint: q.zeroPoint } } : {}),
    };
  });
}

/** "4 outputs and 12 input signals", "an output commitment, an input commitment and a parameter commitment"... */
export function describeSignals(v: Visibility, sl: SignalLayout): string {
  const parts = [v.output === 'hashed' ? 'an output commitment' : `${sl.outputs.count} outputs`];
  if (sl.inputHash >= 0) parts.push('an input commitment');
  if (sl.paramsHash >= 0) parts.push('a parameter commitment');
  if (v.input === 'public') parts.push(`${sl.input.count} input signals`);
  return parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

const sameG2 = (a: EvmG2, b: EvmG2) => a.flat().every((v, i) => v === b.flat()[i]);

/**
 * Check a verification key for export and put its points in EVM form. Throws InputError on anything an EVM
 * verifier could not use or should not be made for: not Groth16 on BN254, no zkonnx section, an unknown
 * visibility, an integer input that is not plain and public or whose parts are malformed (checkVerificationKey), a signal count that disagrees with the input/output shapes, the layout and the visibility, points off their curve or not affine, and a key
 * whose gamma equals delta (no phase-2 contribution: anyone can forge proofs for it).
 *
 * Not checked here (it needs curve arithmetic): that the G2 points are in the order-r subgroup. The EVM's
 * pairing precompile checks that for the proof's B; verifyBundle checks the key's.
 */
export function evmKey(vk: ZkonnxVerificationKey): EvmKey {
  if (!vk || typeof vk !== 'object') return fail('not a JSON object');
  if (vk.protocol !== 'groth16' || vk.curve !== 'bn128') return fail(`protocol ${String(vk.protocol)} on ${String(vk.curve)}, not groth16 on bn128`);
  const meta = vk.zkonnx;
  if (!meta || typeof meta !== 'object' || !meta.input?.shape || !meta.output?.shape) return fail('it has no zkonnx section');
  const layout = meta.publicInputs?.layout ?? 'plain';
  if (!PUBLIC_INPUT_LAYOUTS.includes(layout)) return fail(`unknown public-input layout '${String(layout)}'`);
  const nOutputs = sizeOf(meta.output.shape);
  const nInputs = sizeOf(meta.input.shape);
  if (nOutputs < 1 || nInputs < 1) fail('the input or output has no elements');
  const parsed = parseVisibility(meta.visibility);
  if ('bad' in parsed) return fail(`unknown visibility${parsed.bad ? ` field '${parsed.bad}'` : ''}: ${JSON.stringify(meta.visibility)?.slice(0, 80)}`);
  const visibility: Visibility = parsed;
  const signals = signalLayout(visibility, layout, nInputs, nOutputs);
  const inputSignals = signals.input.count;
  if (meta.publicInputs && meta.publicInputs.signals !== inputSignals) {
    fail(visibility.input === 'public'
      ? `publicInputs.signals is ${meta.publicInputs.signals}, but ${nInputs} inputs in the ${layout} layout take ${inputSignals}`
      : `publicInputs.signals is ${meta.publicInputs.signals}, but a ${visibility.input} input has no public input signals`);
  }
  const integerInput = integerInputParts(vk, visibility, layout);
  const nPublic = signals.total;
  if (vk.nPublic !== nPublic) fail(`nPublic is ${vk.nPublic}, but ${describeSignals(visibility, signals)} make ${nPublic}`);
  if (!Array.isArray(vk.IC) || vk.IC.length !== nPublic + 1) fail(`IC has ${Array.isArray(vk.IC) ? vk.IC.length : 'no'} points, expected ${nPublic + 1}`);
  const key: EvmKey = {
    alpha: g1(vk.vk_alpha_1, 'vk_alpha_1'),
    beta: g2(vk.vk_beta_2, 'vk_beta_2'),
    gamma: g2(vk.vk_gamma_2, 'vk_gamma_2'),
    delta: g2(vk.vk_delta_2, 'vk_delta_2'),
    ic: vk.IC.map((p, i) => g1(p, `IC[${i}]`)),
    nPublic, nOutputs, nInputs, integerInput, layout, inputSignals,
    lastSignalBytes: layout === 'packed' && inputSignals > 0 ? nInputs - (inputSignals - 1) * PACK_BYTES : 1,
    visibility, signals, isDefault: isDefaultVisibility(visibility),
  };
  if (sameG2(key.gamma, key.delta)) fail('gamma equals delta (no phase-2 contribution): anyone can forge proofs for it');
  return key;
}
