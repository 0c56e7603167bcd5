/**
 * calldata(bundle): the ABI-encoded call of the generated verifier's verifyProof (or verifyAndDecode) for a
 * proof bundle. No node:* imports (runs in a browser); keccak-256 from @noble/hashes.
 *
 * The public signals go in the bundle's order, which is the key's signalLayout for every visibility (outputs
 * or their commitment, the input and parameter commitments, then a public input): the encoding does not
 * depend on it. What does: verifyAndDecode exists only in the contract of a key with a public output, and a
 * bundle's stated commitments must be the signals their layout puts them at (checked, with the key when given,
 * else with the visibility the bundle states). An integer input's signals (token ids, a mask: a negative x is
 * r + x) are canonical field elements like any other and go in as they are.
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { InputError } from '../errors.ts';
import { parseCanonicalCoordinate, parseCanonicalSignal } from '../field.ts';
import { sizeOf } from '../ir/types.ts';
import { parsePublicInputLayout, parseVisibility, signalLayout, type PublicInputLayout, type SignalLayout, type Visibility } from '../verify/layout.ts';
import { BUNDLE_FORMAT, type ProofBundle, type ZkonnxVerificationKey } from '../verify/types.ts';

export type VerifierMethod = 'verifyProof' | 'verifyAndDecode';

export interface VerifierCalldata {
  /** pi_a as (x, y), 0x-prefixed 32-byte hex. */
  a: [string, string];
  /** pi_b in the EVM's order: [[x_im, x_re], [y_im, y_re]] (snarkjs' pi_b pairs swapped). */
  b: [[string, string], [string, string]];
  c: [string, string];
  publicSignals: string[];
  /** The whole call: 4-byte selector + ABI encoding, 0x-prefixed hex. */
  calldata: string;
  /** The Solidity signature the selector is taken from. */
  signature: string;
}

const word = (v: bigint) => v.toString(16).padStart(64, '0');
const hex32 = (v: bigint) => `0x${word(v)}`;
const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** The 4-byte selector (0x-hex) of a Solidity function signature. */
export function functionSelector(signature: string): string {
  return `0x${toHex(keccak_256(new TextEncoder().encode(signature)).slice(0, 4))}`;
}

export interface VerifierCallArgs {
  a: readonly [bigint, bigint];
  /** Already in EVM order ([[x_im, x_re], [y_im, y_re]]). */
  b: readonly [readonly [bigint, bigint], readonly [bigint, bigint]];
  c: readonly [bigint, bigint];
  publicSignals: readonly bigint[];
}

/**
 * ABI-encode a call of `method(uint256[2], uint256[2][2], uint256[2], uint256[N])` with any 256-bit values
 * (nothing is range-checked beyond fitting in 256 bits: the contract is the one that checks). All
 * arguments are static, so the encoding is the selector followed by the words in order.
 */
export function encodeVerifierCall(args: VerifierCallArgs, method: VerifierMethod = 'verifyProof'): string {
  const words = [...args.a, ...args.b[0], ...args.b[1], ...args.c, ...args.publicSignals];
  for (const w of words) if (typeof w !== 'bigint' || w < 0n || w >= 1n << 256n) throw new InputError(`${String(w)} is not a uint256.`);
  const sig = `${method}(uint256[2],uint256[2][2],uint256[2],uint256[${args.publicSignals.length}])`;
  return functionSelector(sig) + words.map(word).join('');
}

function coord(v: unknown, what: string): bigint {
  const x = parseCanonicalCoordinate(v);
  if (x === null) throw new InputError(`The bundle's proof is malformed: ${what} is not a canonical coordinate.`);
  return x;
}

/** Affine (x, y) of a snarkjs point [x, y] or [x, y, 1]. */
function affine<T>(p: unknown, what: string, one: (z: unknown) => boolean, take: (x: unknown, w: string) => T): [T, T] {
  if (!Array.isArray(p) || (p.length !== 2 && p.length !== 3) || (p.length === 3 && !one(p[2]))) {
    throw new InputError(`The bundle's proof is malformed: ${what} is not an affine point.`);
  }
  return [take(p[0], `${what}.x`), take(p[1], `${what}.y`)];
}

/**
 * The visibility and signal layout a bundle is encoded for: the key's when given (evmKey checks it), else the
 * bundle's own statements (circuit.visibility, absent = default; circuit.publicInputs.layout, absent = plain;
 * sizes from quantization), or null when the bundle states too little to place its parts.
 */
function bundleLayout(bundle: ProofBundle, vk: ZkonnxVerificationKey | undefined): { visibility: Visibility; signals: SignalLayout } | null {
  // The key's section is read as verifyBundle reads it; its points are not checked here (exportSolidity does).
  const meta = vk?.zkonnx;
  if (vk && (!meta || typeof meta !== 'object')) throw new InputError('Not a zkonnx verification key: it has no zkonnx section.');
  const circuit = bundle.circuit as Partial<ProofBundle['circuit']> | undefined;
  const v = parseVisibility(meta ? meta.visibility : circuit?.visibility);
  const whose = meta ? 'The verification key names' : 'The bundle states';
  if ('bad' in v) throw new InputError(`${whose} an unknown visibility${v.bad ? ` (field '${v.bad}')` : ''}.`);
  const stated = meta ? meta.publicInputs : circuit?.publicInputs;
  const layout: PublicInputLayout | undefined = stated === undefined ? 'plain' : parsePublicInputLayout(stated.layout);
  if (!layout && meta) throw new InputError(`${whose} an unknown public-input layout.`);
  const shapes = meta ?? (bundle.quantization as Partial<ProofBundle['quantization']> | undefined);
  const shapeOk = (s: unknown): s is number[] => Array.isArray(s) && s.every((d) => Number.isSafeInteger(d) && d > 0);
  if (!layout || !shapeOk(shapes?.input?.shape) || !shapeOk(shapes?.output?.shape)) {
    if (meta) throw new InputError('Not a zkonnx verification key: its input or output shape is malformed.');
    return null;
  }
  return { visibility: v, signals: signalLayout(v, layout, sizeOf(shapes.input.shape), sizeOf(shapes.output.shape)) };
}

/**
 * The generated verifier's call for a proof bundle: the proof points in EVM form and the ABI encoding of
 * `verifyProof(a, b, c, publicSignals)` (or `verifyAndDecode`). Throws InputError for anything that is not a
 * zkonnx bundle with a well-formed proof and canonical public signals, a signal count or stated commitment
 * that disagrees with the layout (the key's, `opts.vk`, when given; else the one the bundle states), and
 * verifyAndDecode for a hashed output (its contract has no such function). It does not verify the proof.
 */
export function calldata(bundle: ProofBundle, opts: { method?: VerifierMethod; vk?: ZkonnxVerificationKey } = {}): VerifierCalldata {
  if (!bundle || typeof bundle !== 'object' || bundle.format !== BUNDLE_FORMAT) throw new InputError('Not a zkonnx proof bundle.', { hint: 'Pass the bundle.json that `zkonnx prove` wrote.' });
  const p = bundle.proof as unknown as Record<string, unknown> | undefined;
  if (!p || typeof p !== 'object') throw new InputError('The bundle has no proof.');
  const isOne = (z: unknown) => z === '1';
  const a = affine(p.pi_a, 'pi_a', isOne, coord);
  const c = affine(p.pi_c, 'pi_c', isOne, coord);
  const pair = (v: unknown, w: string): [bigint, bigint] => {
    if (!Array.isArray(v) || v.length !== 2) throw new InputError(`The bundle's proof is malformed: ${w} is not an F_q2 element.`);
    return [coord(v[0], `${w}[0]`), coord(v[1], `${w}[1]`)];
  };
  const [bx, by] = affine(p.pi_b, 'pi_b', (z) => Array.isArray(z) && z[0] === '1' && z[1] === '0', pair);
  // EIP-197 takes an F_q2 element as (imaginary, real); snarkjs writes (real, imaginary).
  const b: [[bigint, bigint], [bigint, bigint]] = [[bx[1], bx[0]], [by[1], by[0]]];
  if (!Array.isArray(bundle.publicSignals) || bundle.publicSignals.length === 0) throw new InputError('The bundle has no public signals.');
  const signals = bundle.publicSignals.map((s, i) => {
    const v = parseCanonicalSignal(s);
    if (v === null) throw new InputError(`The bundle's public signal ${i} is not a canonical field element.`);
    return v;
  });
  const method = opts.method ?? 'verifyProof';
  const placed = bundleLayout(bundle, opts.vk);
  if (placed) {
    const { visibility: vis, signals: sl } = placed;
    const whose = opts.vk ? 'the verification key' : 'the bundle\'s own statement of its circuit';
    if (signals.length !== sl.total) {
      throw new InputError(`The bundle has ${signals.length} public signals, but ${whose} (input ${vis.input}, output ${vis.output}, params ${vis.params}) makes ${sl.total}.`);
    }
    if (method === 'verifyAndDecode' && vis.output === 'hashed') {
      throw new InputError('The verifier of a key with a hashed output has no verifyAndDecode: its public signals hold only the outputs\' commitment.', {
        hint: 'Call verifyProof (the default method) and open the output commitment off-chain (zkonnx verify does).',
      });
    }
    const stated = (bundle.commitments ?? {}) as Record<string, unknown>;
    const at: Record<string, number> = { input: sl.inputHash, output: vis.output === 'hashed' ? sl.outputs.at : -1, params: sl.paramsHash };
    for (const part of ['input', 'output', 'params'] as const) {
      if (stated[part] === undefined) continue;
      if (at[part] < 0) throw new InputError(`The bundle states a commitment to its ${part}, but in ${whose} the ${part} is not hashed.`);
      if (stated[part] !== signals[at[part]].toString()) throw new InputError(`The bundle's ${part} commitment is not its public signal ${at[part]}.`);
    }
  }
  const data = encodeVerifierCall({ a, b, c, publicSignals: signals }, method);
  return {
    a: [hex32(a[0]), hex32(a[1])],
    b: [[hex32(b[0][0]), hex32(b[0][1])], [hex32(b[1][0]), hex32(b[1][1])]],
    c: [hex32(c[0]), hex32(c[1])],
    publicSignals: signals.map(hex32),
    calldata: data,
    signature: `${method}(uint256[2],uint256[2][2],uint256[2],uint256[${signals.length}])`,
  };
}
