/**
 * verifyBundle(bundle, vk): check a proof bundle against a trusted verification key, without re-running the
 * model. No node:* imports, so this module can run in a browser.
 *
 * Checks, in order: bundle format; the vk hash named in the bundle; Groth16/BN254 key; gamma != delta as
 * points (a key with no phase-2 contribution lets anyone forge proofs); the model hash, key kind and
 * quantization, tensor names and shapes and circuit size the bundle shows equal the key's (its
 * zkonnxVersion and createdAt are the prover's word, not covered); the public-input layout comes from the key
 * (vk.zkonnx.publicInputs, plain when absent), and a bundle stating another is refused; public-signal count
 * == vk.nPublic == outputs + input signals of that layout; every signal canonical (< r); the input values the
 * bundle claims are uint8 and equal the public input signals (plain: one each; packed: re-packed 31 per
 * signal, and a packed signal wider than its bytes is refused);
 * the output it claims equals the public output signals, and its floats equal their dequantization under
 * the key's own quantization parameters; then the pairing check.
 */
import { FIELD_PRIME, fromField, parseCanonicalCoordinate, parseCanonicalSignal } from '../field.ts';
import { sizeOf } from '../ir/types.ts';
import { dequantizeOutput } from './dequantize.ts';
import { bn128, groth16Verify, type Bn128 } from './groth16.ts';
import { canonicalJson, vkHash } from './canonical.ts';
import { PACK_BYTES, inputSignalCount, packBytes, packedSignalBytes, parsePublicInputLayout } from './layout.ts';
import { BUNDLE_FORMAT, type ProofBundle, type VerifyResult, type ZkonnxVerificationKey } from './types.ts';

const reject = (reason: string): VerifyResult => ({ valid: false, reason, output: null });

/** Every proof coordinate must be a canonical element of the BN254 base field. */
const isCoordinate = (v: unknown) => parseCanonicalCoordinate(v) !== null;

/** pi_a, pi_c: [x, y] or [x, y, z]; pi_b: two or three pairs; every coordinate a canonical decimal. */
function isProofShaped(p: unknown): boolean {
  const x = p as Record<string, unknown>;
  const coords = (v: unknown) => Array.isArray(v) && (v.length === 2 || v.length === 3) && v.every(isCoordinate);
  return (
    !!x && typeof x === 'object' && coords(x.pi_a) && coords(x.pi_c) &&
    Array.isArray(x.pi_b) && (x.pi_b.length === 2 || x.pi_b.length === 3) &&
    x.pi_b.every((r) => Array.isArray(r) && r.length === 2 && r.every(isCoordinate))
  );
}

type G2Object = string[][];

/**
 * gamma == delta compared as points (projective coordinates make the same point spell differently), and
 * both must be valid, non-zero points of G2.
 */
function checkGammaDelta(curve: Bn128, gamma: G2Object, delta: G2Object): string | null {
  let g: Uint8Array;
  let d: Uint8Array;
  try {
    const big = (o: G2Object) => o.map((pair) => pair.map((c) => BigInt(c)));
    g = curve.G2.fromObject(big(gamma));
    d = curve.G2.fromObject(big(delta));
  } catch {
    return 'verification key is malformed (gamma or delta is not a G2 point)';
  }
  if (!curve.G2.isValid(g) || !curve.G2.isValid(d) || curve.G2.isZero(g) || curve.G2.isZero(d)) {
    return 'verification key is malformed (gamma or delta is not a valid non-zero G2 point)';
  }
  if (curve.G2.eq(g, d)) return 'verification key has gamma == delta (no phase-2 contribution): proofs for it can be forged';
  return null;
}

export interface VerifyOptions {
  /** The sha256 (hex) of the verification key you expect, e.g. published with the model; refuses any other key. */
  vkSha256?: string;
}

export async function verifyBundle(bundle: ProofBundle, vk: ZkonnxVerificationKey, opts: VerifyOptions = {}): Promise<VerifyResult> {
  if (!bundle || typeof bundle !== 'object' || bundle.format !== BUNDLE_FORMAT) return reject('not a zkonnx proof bundle');
  if (bundle.formatVersion !== 1) return reject(`unsupported bundle format version ${String(bundle.formatVersion)}`);
  if (!vk || typeof vk !== 'object' || !vk.zkonnx) return reject('the verification key has no zkonnx section');
  const actualVkHash = await vkHash(vk);
  if (opts.vkSha256 !== undefined && opts.vkSha256.toLowerCase() !== actualVkHash) return reject(`verification key is not the expected one (its sha256 is ${actualVkHash})`);
  if (actualVkHash !== bundle.vkSha256) return reject('verification key does not match the one the bundle was made for (vkSha256 differs)');
  if (vk.protocol !== 'groth16' || vk.curve !== 'bn128') return reject(`unsupported key: ${vk.protocol} on ${vk.curve}`);
  const curve = await bn128();
  const keyProblem = checkGammaDelta(curve, vk.vk_gamma_2, vk.vk_delta_2);
  if (keyProblem) return reject(keyProblem);

  const meta = vk.zkonnx;
  // What the bundle says about the model and key must be what the key says (it is what a reader sees).
  if (bundle.modelSha256 !== meta.model.sha256) return reject('bundle names another model than the verification key (modelSha256 differs)');
  if (bundle.keyKind !== meta.key.kind) return reject(`bundle says its key is '${String(bundle.keyKind)}' but the verification key is '${meta.key.kind}'`);
  if (canonicalJson(bundle.quantization) !== canonicalJson({ input: meta.input, output: meta.output })) {
    return reject('bundle quantization parameters differ from the verification key\'s');
  }
  const sameTensor = (a: { name?: unknown; shape?: unknown } | undefined, b: { name: string; shape: number[] }) =>
    !!a && a.name === b.name && canonicalJson(a.shape) === canonicalJson(b.shape);
  if (!sameTensor(bundle.input, meta.input) || !sameTensor(bundle.output, meta.output)) {
    return reject('bundle input/output names or shapes differ from the verification key\'s');
  }
  if (bundle.circuit?.constraints !== meta.constraints) return reject('bundle circuit size differs from the verification key\'s');
  const nOut = sizeOf(meta.output.shape);
  const nIn = sizeOf(meta.input.shape);
  // The layout is the key's (a key made before layouts existed is plain); the bundle's statement is only checked.
  const layout = meta.publicInputs === undefined ? 'plain' : parsePublicInputLayout(meta.publicInputs?.layout);
  if (!layout) return reject(`verification key names an unknown public-input layout '${String(meta.publicInputs?.layout)}'`);
  const nInSignals = inputSignalCount(layout, nIn);
  if (meta.publicInputs !== undefined && meta.publicInputs.signals !== nInSignals) return reject('verification key is inconsistent with its zkonnx section');
  if (vk.nPublic !== nOut + nInSignals || vk.IC?.length !== vk.nPublic + 1) return reject('verification key is inconsistent with its zkonnx section');
  const stated = bundle.circuit.publicInputs;
  if (stated !== undefined && (stated?.layout !== layout || stated?.signals !== nInSignals)) {
    return reject(`bundle says its public inputs are ${JSON.stringify(stated?.layout)} (${String(stated?.signals)} signals) but the verification key's are '${layout}' (${nInSignals} signals)`);
  }
  const signals = bundle.publicSignals;
  if (!Array.isArray(signals) || signals.length !== vk.nPublic) {
    return reject(`expected ${vk.nPublic} public signals, got ${Array.isArray(signals) ? signals.length : 'none'}`);
  }
  const values: bigint[] = [];
  for (let i = 0; i < signals.length; i++) {
    const v = parseCanonicalSignal(signals[i]);
    if (v === null) return reject(`public signal ${i} is not a canonical field element`);
    values.push(v);
  }

  // Inputs: the bundle's claim must be the public inputs, and each a uint8.
  const claimedIn = bundle.input?.quantized;
  if (!Array.isArray(claimedIn) || claimedIn.length !== nIn) return reject('bundle input does not match the public signals');
  if (layout === 'plain') {
    // The circuit does not range-check plain inputs: it is sound only for uint8 values, so check them here.
    for (let i = 0; i < nIn; i++) {
      const s = values[nOut + i];
      if (s > 255n) return reject(`public input ${i} is ${s}, outside the uint8 range the circuit is sound for`);
      if (claimedIn[i] !== Number(s)) return reject(`bundle input ${i} (${claimedIn[i]}) differs from public signal ${nOut + i} (${s})`);
    }
  } else {
    // Packed: the circuit range-checks every byte, so a valid proof has each packed signal < 2^(8 * bytes);
    // a wider one is refused here with its own reason. The claimed uint8 values, re-packed, must be the signals.
    const bad = claimedIn.findIndex((v) => !Number.isInteger(v) || v < 0 || v > 255);
    if (bad >= 0) return reject(`bundle input ${bad} (${JSON.stringify(claimedIn[bad])}) is not a uint8`);
    const packed = packBytes(claimedIn);
    const bytes = packedSignalBytes(nIn);
    for (let j = 0; j < nInSignals; j++) {
      const s = values[nOut + j];
      if (s >= 1n << BigInt(8 * bytes[j])) {
        return reject(`public signal ${nOut + j} (packed input ${j}) is ${s}, not ${bytes[j]} packed bytes (it must be < 2^${8 * bytes[j]})`);
      }
      if (packed[j] !== s) {
        return reject(`bundle input ${j * PACK_BYTES}..${j * PACK_BYTES + bytes[j] - 1}, packed, differs from public signal ${nOut + j} (packed input ${j})`);
      }
    }
  }
  // Outputs: claimed integers must be the public outputs; the floats must be their dequantization under the key.
  const claimedOut = bundle.output?.quantized;
  if (!Array.isArray(claimedOut) || claimedOut.length !== nOut) return reject('bundle output does not match the public signals');
  const outInts = values.slice(0, nOut).map(fromField);
  for (let k = 0; k < nOut; k++) {
    if (claimedOut[k] !== outInts[k].toString()) return reject(`bundle output ${k} (${claimedOut[k]}) differs from public signal ${k}`);
  }
  const output = dequantizeOutput(meta.output.quant, outInts);
  const claimedFloats = bundle.output.values;
  if (!Array.isArray(claimedFloats) || claimedFloats.length !== nOut || claimedFloats.some((v, k) => v !== output[k])) {
    return reject('bundle output values are not the dequantized public outputs');
  }

  if (!isProofShaped(bundle.proof)) return reject('proof is malformed');
  // pi_b must be in the order-r subgroup of G2 (the curve has other points; snarkjs checks only the equation).
  try {
    const b = curve.G2.fromObject(bundle.proof.pi_b.map((pair) => pair.map((c) => BigInt(c))));
    if (!curve.G2.isValid(b) || !curve.G2.isZero(curve.G2.timesScalar(b, FIELD_PRIME))) return reject('proof is malformed (pi_b is not in the G2 subgroup)');
  } catch {
    return reject('proof is malformed (not points on the curve)');
  }
  let result: Awaited<ReturnType<typeof groth16Verify>>;
  try {
    result = await groth16Verify(vk, values, bundle.proof);
  } catch {
    return reject('proof is malformed (not points on the curve)');
  }
  if (result === 'malformed') return reject('proof is malformed (not points on the curve)');
  if (result !== 'ok') return reject('pairing check failed: the proof does not prove these public signals under this key');
  return { valid: true, reason: 'ok', output, keyKind: meta.key.kind };
}
