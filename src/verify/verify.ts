/**
 * verifyBundle(bundle, vk): check a proof bundle against a trusted verification key, without re-running the
 * model. No node:* imports, so this module can run in a browser. It never throws on what a bundle or key
 * holds (only on bad options, a caller's error): every problem is a `{ valid: false, reason }`.
 *
 * Checks, in order:
 * 1. options: undefined or `{ vkSha256?, opening?, paramsCommitment? }`, vkSha256 64 hex digits, an opening
 *    `{ input: uint8[], salt }`, field elements below r (else InputError, thrown);
 * 2. the bundle is an object with format 'zkonnx-bundle' and formatVersion 1; the key has a zkonnx section;
 * 3. size: the key within keyBounds of the public signals it has room for (keySignalBudget: the least of
 *    nPublic, IC.length - 1 and outputs + inputs, so a claim alone buys no budget, and a hostile key costs
 *    what an honest key of its real size costs), the bundle within bundleBounds of the key's tensor sizes
 *    (at most 32 deep; a value budget and a text budget an honest bundle stays well inside), by an iterative
 *    walk, before anything else reads them;
 * 4. the key's hash: the one pinned by options.vkSha256, and the one the bundle names;
 * 5. the key: Groth16 on BN254, and well formed (checkVerificationKey: points, IC, the zkonnx section);
 * 6. the bundle has no field its format does not define (at any level); zkonnxVersion and createdAt are
 *    strings of at most 100 characters (the prover's word, not covered by the proof);
 * 7. the model hash, key kind, quantization, tensor names and shapes the bundle shows equal the key's; its
 *    circuit size: constraints equal the key's, wires a non-negative integer equal to the key's when the key
 *    states it, publicSignals == nPublic;
 * 8. the public-input layout and the visibility come from the key (vk.zkonnx.publicInputs, plain when
 *    absent; vk.zkonnx.visibility, the default when absent), and a bundle stating others is refused;
 *    public-signal count == vk.nPublic == signalLayout(...).total (outputs or their commitment, the input and
 *    parameter commitments, the public input signals);
 * 9. every signal canonical (< r); the commitments the bundle states are exactly the hashed parts' and each
 *    equals its public signal; a public input the bundle claims is uint8 and equals the public input signals
 *    (plain: one each, an integer input's elements within its bounds; packed: re-packed 31 per signal, and a
 *    packed signal wider than its bytes is refused);
 *    a hashed input is claimed only with its opening's salt, and then opens the commitment (as does an opening
 *    passed in options); a private input is never claimed; a parameter commitment passed in options equals
 *    the proof's; the output it claims equals the public output signals (or, hashed, opens the output
 *    commitment), and its floats equal their dequantization under the key's own quantization parameters;
 *    per-output `parts` (several outputs, a left-out Softmax, a label table), when stated, are exactly the key's
 *    outputs with those floats; a label table the bundle states (in its quantization or output parts) is the
 *    key's, checked before the rest of the quantization so the reason names it; each proven class index with
 *    a table is one of its indices (the result's `labels` give the key's label for it);
 * 10. the proof: pi_a, pi_b, pi_c of canonical coordinates, protocol 'groth16', curve 'bn128';
 * 11. curve work: gamma != delta as points (a key with no phase-2 contribution lets anyone forge proofs);
 *    pi_b in the order-r subgroup of G2; then the pairing check.
 * The key kind reported is the key's own claim (vk.zkonnx.key.kind): nothing here can check it.
 * Anything a value built in code throws on the way (a BigInt, which JSON cannot write; a throwing getter) is
 * `{ valid: false, reason: 'malformed bundle or key: ...' }`.
 */
import { InputError } from '../errors.ts';
import { FIELD_PRIME, fromField, parseCanonicalCoordinate, parseCanonicalSignal } from '../field.ts';
import { checkJsonBounds, describeViolation } from './bounds.ts';
import { bundleBounds, MAX_BUNDLE_LABEL, unknownBundleField } from './bundle.ts';
import { canonicalJson, vkHash } from './canonical.ts';
import { dequantizeOutput } from './dequantize.ts';
import { describeValue } from './describe.ts';
import { bn128, groth16Verify, type Bn128 } from './groth16.ts';
import { checkVerificationKey, keyBounds, keySignalBudget, shapeSize, unknownField } from './key.ts';
import { PACK_BYTES, inputSignalCount, packBytes, packedSignalBytes, parsePublicInputLayout, parseVisibility, signalLayout, type Visibility } from './layout.ts';
import { commitBytes, commitFieldElements, TAG_INPUT, TAG_OUTPUT } from './commitment.ts';
import { toField } from '../field.ts';
import { BUNDLE_FORMAT, type ProofBundle, type ProvenLabel, type VerifyResult, type ZkonnxVerificationKey } from './types.ts';
import { labelTablesOf, outputPartsOf, showsOutputParts } from '../ir/io.ts';
import type { QuantPart } from '../ir/types.ts';

/**
 * Whether a bundle states label tables other than the key's (for any output, in its quantization or in its
 * output parts): the reason, or null. The circuit proves a class index; what the index means is the key's
 * table, so a bundle claiming another table (to present class 1 as "approved" instead of "fraud") is refused.
 */
function labelTableProblem(bundle: ProofBundle, keyOutput: ZkonnxVerificationKey['zkonnx']['output']): string | null {
  const want = labelTablesOf(keyOutput);
  // Where a bundle states output tensors: its quantization's output (its parts, or itself) and its output parts.
  const q: unknown = bundle.quantization;
  const qOut: unknown = isObject(q) ? q.output : undefined;
  const parts: unknown = bundle.output.parts;
  const claims: { where: string; list: unknown[] }[] = [
    { where: 'quantization', list: isObject(qOut) ? (Array.isArray(qOut.parts) ? qOut.parts : [qOut]) : [] },
    { where: 'output parts', list: Array.isArray(parts) ? parts : [] },
  ];
  for (const { where, list } of claims) {
    for (const p of list) {
      if (!isObject(p) || typeof p.name !== 'string') continue;
      const table = want.get(p.name);
      if (p.labels === undefined && table === undefined) continue;
      if (table === undefined) return `bundle states a label table for output ${shown(p.name)} (in its ${where}), but the verification key has none: the proof covers the values only`;
      if (canonicalJson(p.labels) !== canonicalJson(table)) {
        return `bundle's label table for output ${shown(p.name)} (in its ${where}) differs from the verification key's: the proof covers the class index, and the key's table says what it means`;
      }
    }
  }
  return null;
}

/** Per input element, the bounds of the integer input it belongs to (undefined for a uint8 element). */
function integerInputBounds(parts: QuantPart[] | undefined, n: number): ({ lo: number; hi: number; name: string } | undefined)[] {
  const out = new Array<{ lo: number; hi: number; name: string } | undefined>(n);
  for (const p of parts ?? []) {
    if (p.quant?.kind !== 'acc') continue;
    const b = { lo: p.quant.lo[0], hi: p.quant.hi[0], name: p.name };
    const size = p.shape.reduce((a, d) => a * d, 1);
    for (let i = 0; i < size; i++) out[p.offset + i] = b;
  }
  return out;
}

/** JSON values in a value (arrays and objects count 1 each, plus their contents), iteratively. */
function countNodes(v: unknown): number {
  let n = 0;
  const stack: unknown[] = [v];
  while (stack.length) {
    const x = stack.pop();
    n++;
    if (Array.isArray(x)) for (const y of x) stack.push(y);
    else if (x && typeof x === 'object') for (const y of Object.values(x)) stack.push(y);
  }
  return n;
}

const reject = (reason: string): VerifyResult => ({ valid: false, reason, output: null });

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** A bundle value in a reason: strings and numbers as JSON spells them (strings cut to 40 characters), anything else described. */
function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return describeValue(v);
}

/** Every proof coordinate must be a canonical element of the BN254 base field. */
const isCoordinate = (v: unknown) => parseCanonicalCoordinate(v) !== null;

/** pi_a, pi_c: [x, y] or [x, y, z]; pi_b: two or three pairs; every coordinate a canonical decimal. */
function isProofShaped(p: unknown): boolean {  const x = p as Record<string, unknown>;
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
  /**
   * The sha256 (64 hex digits, any case) of the verification key you expect, e.g. published with the model;
   * refuses any other key.
   */
  vkSha256?: string;
  /**
   * Hashed input: an opening to check the input commitment against: the uint8 input (as the model quantizes
   * it) and the salt (a bigint, or its decimal or 0x-hex text). The bundle is refused unless its commitment
   * opens to exactly this input.
   */
  opening?: { input: readonly number[]; salt: bigint | string };
  /**
   * Hashed parameters: the commitment you expect (e.g. `zkonnx commit-model` printed it for the model you
   * hold), a bigint or its decimal text. The bundle is refused unless its parameter commitment is this one.
   */
  paramsCommitment?: bigint | string;
}

interface CheckedOptions {
  pinned?: string;
  opening?: { input: number[]; salt: bigint };
  paramsCommitment?: bigint;
}

/** A field element from a bigint or decimal/0x-hex text, or null. */
function fieldValue(v: unknown): bigint | null {
  let x: bigint;
  if (typeof v === 'bigint') x = v;
  else if (typeof v === 'string' && /^(0x[0-9a-fA-F]{1,64}|[0-9]{1,78})$/.test(v)) x = BigInt(v);
  else return null;
  return x >= 0n && x < FIELD_PRIME ? x : null;
}

/** Valid options, checked; throws InputError naming the option that is wrong. */
function checkedOptions(opts: unknown): CheckedOptions {
  if (opts === undefined) return {};
  const hint = 'Call verifyBundle(bundle, vk) or verifyBundle(bundle, vk, { vkSha256, opening, paramsCommitment }) (vkSha256: the sha256 `zkonnx setup` printed for the key you trust).';
  if (!isObject(opts)) throw new InputError(`verifyBundle: options must be an object ({ vkSha256, opening, paramsCommitment }) or undefined, not ${describeValue(opts)}.`, { hint });
  // A misspelt option would silently turn a check off: refuse it.
  const extra = unknownField(opts, ['vkSha256', 'opening', 'paramsCommitment']);
  if (extra !== undefined) throw new InputError(`verifyBundle: unknown option 'options.${extra.slice(0, 40)}'; the options are vkSha256, opening and paramsCommitment.`, { hint });
  const out: CheckedOptions = {};
  const h = opts.vkSha256;
  if (h !== undefined) {
    if (typeof h !== 'string' || !/^[0-9a-fA-F]{64}$/.test(h)) {
      throw new InputError(`options.vkSha256 must be a sha256 of 64 hex digits, not ${describeValue(h)}.`, { hint });
    }
    out.pinned = h.toLowerCase();
  }
  const o = opts.opening;
  if (o !== undefined) {
    if (!isObject(o)) throw new InputError(`options.opening must be an object ({ input, salt }), not ${describeValue(o)}.`, { hint });
    const oExtra = unknownField(o, ['input', 'salt']);
    if (oExtra !== undefined) throw new InputError(`verifyBundle: unknown option 'options.opening.${oExtra.slice(0, 40)}'; an opening is { input, salt }.`, { hint });
    if (!Array.isArray(o.input) || o.input.some((v) => !Number.isInteger(v) || v < 0 || v > 255)) {
      throw new InputError('options.opening.input must be an array of uint8 integers (the input as the model quantizes it).', { hint });
    }
    const salt = fieldValue(o.salt);
    if (salt === null) throw new InputError(`options.opening.salt must be a field element (a bigint, or decimal or 0x-hex text below the BN254 order), not ${describeValue(o.salt)}.`, { hint });
    out.opening = { input: [...o.input], salt };
  }
  if (opts.paramsCommitment !== undefined) {
    const c = fieldValue(opts.paramsCommitment);
    if (c === null) throw new InputError(`options.paramsCommitment must be a field element (a bigint, or decimal or 0x-hex text below the BN254 order), not ${describeValue(opts.paramsCommitment)}.`, { hint });
    out.paramsCommitment = c;
  }
  return out;
}

/**
 * Check a proof bundle against a trusted verification key (the checks are listed at the top of this module).
 * Throws only InputError, for bad `opts`; resolves to `{ valid: false, reason }` for anything wrong with the
 * bundle or the key, whatever they hold (and whatever they throw: 'malformed bundle or key: ...').
 *
 * Cost: the hash of the key and a walk of both (about a millisecond for the MNIST MLP's 794 public signals),
 * then one multi-exponentiation over the public signals, one G2 subgroup check and a 4-pairing product
 * (about 20 ms; the first call also builds the curve, about 0.2 s). Junk is refused before any curve work.
 */
export async function verifyBundle(bundle: ProofBundle, vk: ZkonnxVerificationKey, opts?: VerifyOptions): Promise<VerifyResult> {
  const checked = checkedOptions(opts);
  // Total on what the bundle and key hold: values built in code can do what JSON cannot (a BigInt, which
  // JSON cannot write; a getter or proxy that throws), and whatever they throw is a refusal, not an exception.
  try {
    return await verifyChecked(bundle, vk, checked);
  } catch (e) {
    return reject(`malformed bundle or key: ${thrownText(e)}`);
  }
}

/** What was thrown, in at most 200 characters; never throws itself (a thrown value may be hostile too). */
function thrownText(e: unknown): string {
  let s: string;
  try {
    s = e instanceof Error ? String(e.message) : describeValue(e);
  } catch {
    s = 'an exception';
  }
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}

async function verifyChecked(bundle: ProofBundle, vk: ZkonnxVerificationKey, opts: CheckedOptions): Promise<VerifyResult> {
  const pinned = opts.pinned;
  const b: unknown = bundle;
  const k: unknown = vk;
  if (!isObject(b) || b.format !== BUNDLE_FORMAT) return reject('not a zkonnx proof bundle');
  if (b.formatVersion !== 1) return reject(`unsupported bundle format version ${shown(b.formatVersion)}`);
  if (!isObject(k) || !isObject(k.zkonnx)) return reject('the verification key has no zkonnx section');

  // Size first: nothing below walks a value that is deeper or larger than the format allows. The key's budget
  // is that of the public signals it really has room for (its nPublic, IC points and tensors agreeing), not
  // of its nPublic alone: a claim of 2^24 signals must come with 2^24 IC points to buy a large bound.
  const nBudget = keySignalBudget(k);
  const keyOver = checkJsonBounds(k, keyBounds(nBudget));
  if (keyOver) return reject(`verification key is malformed: ${describeViolation(keyOver)}`);
  const z = k.zkonnx;
  const zIn = isObject(z.input) ? z.input : {};
  const zOut = isObject(z.output) ? z.output : {};
  const nIn = shapeSize(zIn.shape);
  const nOut = shapeSize(zOut.shape);
  if (nIn === null || nOut === null) return reject(`verification key is malformed: field 'zkonnx.${nIn === null ? 'input' : 'output'}.shape' is not a shape`);
  const nameChars = (typeof zIn.name === 'string' ? zIn.name.length : 0) + (typeof zOut.name === 'string' ? zOut.name.length : 0);
  // Parts (several inputs or outputs, an integer input) appear in the bundle's quantization and output again.
  // A label table (a class-index output) appears in both too.
  const partsJson = zIn.parts !== undefined || zOut.parts !== undefined || zOut.softmaxOmitted !== undefined || zOut.labels !== undefined ? JSON.stringify([zIn.parts ?? null, zOut.parts ?? null, zOut.labels ?? null]) : '';
  const extraNodes = partsJson ? 2 * countNodes([zIn.parts, zOut.parts, zOut.labels]) + 2 * nOut + 64 : 0;
  const extraChars = partsJson ? 2 * partsJson.length + 32 * nOut + 256 : 0;
  const limits = bundleBounds({ nIn, nOut, nPublic: nBudget, rank: (zIn.shape as unknown[]).length + (zOut.shape as unknown[]).length, nameChars, extraNodes, extraChars });
  const bundleOver = checkJsonBounds(b, limits);
  if (bundleOver) {
    return reject(bundleOver.kind === 'depth'
      ? `bundle is malformed: ${describeViolation(bundleOver)} (the bundle format nests 5 deep)`
      : `bundle is larger than an honest bundle for this key can be: ${describeViolation(bundleOver)}`);
  }

  const actualVkHash = await vkHash(vk);
  if (pinned !== undefined && pinned !== actualVkHash) return reject(`verification key is not the expected one (its sha256 is ${actualVkHash})`);
  if (actualVkHash !== b.vkSha256) return reject('verification key does not match the one the bundle was made for (vkSha256 differs)');
  if (vk.protocol !== 'groth16' || vk.curve !== 'bn128') return reject(`unsupported key: ${shown(vk.protocol)} on ${shown(vk.curve)}`);
  // The layout's value is checked below, in the verifier's own words.
  const keyProblem = checkVerificationKey(vk, { complete: true, checkLayout: false });
  if (keyProblem) return reject(`verification key is malformed: field '${keyProblem.field}' ${keyProblem.what}`);

  const extra = unknownBundleField(b);
  if (extra !== null) return reject(`bundle has a field its format does not define: '${extra}'`);
  for (const f of ['zkonnxVersion', 'createdAt'] as const) {
    const v = b[f];
    if (typeof v !== 'string' || v.length > MAX_BUNDLE_LABEL) return reject(`bundle field '${f}' must be a string of at most ${MAX_BUNDLE_LABEL} characters, not ${shown(v)}`);
  }

  const meta = vk.zkonnx;
  // What the bundle says about the model and key must be what the key says (it is what a reader sees).
  if (bundle.modelSha256 !== meta.model.sha256) return reject('bundle names another model than the verification key (modelSha256 differs)');
  if (bundle.keyKind !== meta.key.kind) return reject(`bundle says its key is ${typeof bundle.keyKind === 'string' ? `'${bundle.keyKind.slice(0, 40)}'` : shown(bundle.keyKind)} but the verification key is '${meta.key.kind}'`);
  // The label tables first, in their own words: the proof covers a class index, the key pins what it means.
  const labelProblem = labelTableProblem(bundle, meta.output);
  if (labelProblem) return reject(labelProblem);
  if (canonicalJson(bundle.quantization) !== canonicalJson({ input: meta.input, output: meta.output })) {
    return reject('bundle quantization parameters differ from the verification key\'s');
  }
  const sameTensor = (a: unknown, t: { name: string; shape: number[] }) =>
    isObject(a) && a.name === t.name && canonicalJson(a.shape) === canonicalJson(t.shape);
  if (!sameTensor(bundle.input, meta.input) || !sameTensor(bundle.output, meta.output)) {
    return reject('bundle input/output names or shapes differ from the verification key\'s');
  }
  const circuit: unknown = bundle.circuit;
  if (!isObject(circuit) || circuit.constraints !== meta.constraints) {
    return reject(`bundle circuit size differs from the verification key's (constraints: ${shown(isObject(circuit) ? circuit.constraints : undefined)}, the key's ${meta.constraints})`);
  }
  if (!isCount(circuit.wires)) return reject(`bundle field 'circuit.wires' must be a non-negative integer, not ${shown(circuit.wires)}`);
  if (meta.wires !== undefined && circuit.wires !== meta.wires) {
    return reject(`bundle circuit size differs from the verification key's (wires: ${circuit.wires}, the key's ${meta.wires})`);
  }
  if (circuit.publicSignals !== vk.nPublic) {
    return reject(`bundle circuit size differs from the verification key's (publicSignals: ${shown(circuit.publicSignals)}, the key's nPublic ${vk.nPublic})`);
  }
  // The layout and visibility are the key's (a key made before layouts existed is plain; one without a
  // visibility is the default); the bundle's statements are only checked.
  const layout = meta.publicInputs === undefined ? 'plain' : parsePublicInputLayout(meta.publicInputs.layout);
  if (!layout) return reject(`verification key names an unknown public-input layout ${typeof meta.publicInputs?.layout === 'string' ? `'${meta.publicInputs.layout.slice(0, 40)}'` : shown(meta.publicInputs?.layout)}`);
  const visParsed = parseVisibility(meta.visibility);
  if ('bad' in visParsed) return reject('verification key names an unknown visibility');
  const vis: Visibility = visParsed;
  const sl = signalLayout(vis, layout, nIn, nOut);
  const nInSignals = sl.input.count;
  if (meta.publicInputs !== undefined && meta.publicInputs.signals !== nInSignals) return reject('verification key is inconsistent with its zkonnx section');
  if (vk.nPublic !== sl.total) return reject('verification key is inconsistent with its zkonnx section');
  const stated: unknown = circuit.publicInputs;
  if (stated !== undefined && (!isObject(stated) || stated.layout !== layout || stated.signals !== nInSignals)) {
    const st = isObject(stated) ? stated : {};
    return reject(`bundle says its public inputs are ${shown(st.layout)} (${shown(st.signals)} signals) but the verification key's are '${layout}' (${nInSignals} signals)`);
  }
  const statedVis: unknown = circuit.visibility;
  if (statedVis !== undefined && canonicalJson(statedVis) !== canonicalJson(vis)) {
    const sv = isObject(statedVis) ? statedVis : {};
    return reject(`bundle says its visibility is input ${shown(sv.input)}, output ${shown(sv.output)}, params ${shown(sv.params)} but the verification key's is input '${vis.input}', output '${vis.output}', params '${vis.params}'`);
  }
  if (meta.input.parts?.some((p) => p.quant?.kind === 'acc') && (layout !== 'plain' || vis.input !== 'public')) {
    return reject('verification key is inconsistent: an integer input needs the plain layout and a public input');
  }
  const signals: unknown = bundle.publicSignals;
  if (!Array.isArray(signals) || signals.length !== vk.nPublic) {
    return reject(`expected ${vk.nPublic} public signals, got ${Array.isArray(signals) ? signals.length : 'none'}`);
  }
  const values: bigint[] = [];
  for (let i = 0; i < signals.length; i++) {
    const v = parseCanonicalSignal(signals[i]);
    if (v === null) return reject(`public signal ${i} is not a canonical field element`);
    values.push(v);
  }

  // Commitments: stated exactly for the parts the key hashes, each equal to its public signal.
  const commitments: unknown = bundle.commitments;
  const expectedCommitments: Record<string, number> = {};
  if (vis.input === 'hashed') expectedCommitments.input = sl.inputHash;
  if (vis.output === 'hashed') expectedCommitments.output = sl.outputs.at;
  if (vis.params === 'hashed') expectedCommitments.params = sl.paramsHash;
  if (commitments !== undefined && !isObject(commitments)) return reject(`bundle field 'commitments' must be an object, not ${shown(commitments)}`);
  const stateCommitments = isObject(commitments) ? commitments : {};
  for (const part of ['input', 'output', 'params'] as const) {
    const c = stateCommitments[part];
    const at = expectedCommitments[part];
    if (at === undefined) {
      if (c !== undefined) return reject(`bundle states a commitment to its ${part}, but the verification key's ${part} is not hashed`);
      continue;
    }
    if (typeof c !== 'string' || c !== values[at].toString()) {
      return reject(`bundle's ${part} commitment (${shown(c)}) is not public signal ${at} of the proof`);
    }
  }

  // Inputs. Public: the bundle's claim must be the public inputs, and each a uint8. Hashed: a claimed input
  // (only with its opening) must open the commitment. Private: the proof says nothing of it, so the bundle
  // must not claim one.
  const claimedIn: unknown = bundle.input.quantized;
  const opening: unknown = bundle.opening;
  if (vis.input !== 'hashed' && opening !== undefined) return reject(`bundle has an opening, but the verification key's input is ${vis.input}, not hashed`);
  if (vis.input === 'private') {
    if (claimedIn !== undefined) return reject('bundle claims an input, but the verification key\'s input is private: the proof says nothing of it');
    if (opts.opening) return reject('an opening was given, but the verification key\'s input is private: there is no commitment to open');
  } else if (vis.input === 'hashed') {
    const commitment = values[sl.inputHash];
    if ((claimedIn === undefined) !== (opening === undefined)) return reject('bundle must state its input and the opening\'s salt together, or neither');
    if (claimedIn !== undefined) {
      if (!Array.isArray(claimedIn) || claimedIn.length !== nIn) return reject(`bundle input must hold ${nIn} uint8 values`);
      const bad = claimedIn.findIndex((v) => !Number.isInteger(v) || v < 0 || v > 255);
      if (bad >= 0) return reject(`bundle input ${bad} (${shown(claimedIn[bad])}) is not a uint8`);
      const salt = isObject(opening) ? parseCanonicalSignal(opening.salt) : null;
      if (salt === null) return reject('bundle field \'opening.salt\' must be a canonical field element (decimal)');
      if (commitBytes(TAG_INPUT, claimedIn as number[], salt) !== commitment) return reject('bundle input and salt do not open its input commitment');
    }
    if (opts.opening) {
      if (opts.opening.input.length !== nIn) return reject(`the opening's input has ${opts.opening.input.length} values, the key's input has ${nIn}`);
      if (commitBytes(TAG_INPUT, opts.opening.input, opts.opening.salt) !== commitment) {
        return reject('the input commitment does not open to the given input and salt');
      }
      if (Array.isArray(claimedIn) && claimedIn.some((v, i) => v !== opts.opening!.input[i])) return reject('bundle input differs from the given opening');
    }
  } else {
    if (opts.opening) return reject('an opening was given, but the verification key\'s input is public: there is no commitment to open');
    if (!Array.isArray(claimedIn) || claimedIn.length !== nIn) return reject('bundle input does not match the public signals');
    if (layout === 'plain') {
      // The circuit does not range-check plain uint8 inputs: it is sound only for uint8 values, so check them
      // here. An integer input's elements the circuit range-checks to its bounds (checked here too).
      const bounds = integerInputBounds(meta.input.parts, nIn);
      for (let i = 0; i < nIn; i++) {
        const s = values[sl.input.at + i];
        const b = bounds[i];
        if (b) {
          const v = fromField(s);
          if (v < BigInt(b.lo) || v > BigInt(b.hi)) return reject(`public input ${i} is ${v}, outside the bounds [${b.lo}, ${b.hi}] of integer input '${b.name}'`);
          if (claimedIn[i] !== Number(v)) return reject(`bundle input ${i} (${shown(claimedIn[i])}) differs from public signal ${sl.input.at + i} (${v})`);
          continue;
        }
        if (s > 255n) return reject(`public input ${i} is ${s}, outside the uint8 range the circuit is sound for`);
        if (claimedIn[i] !== Number(s)) return reject(`bundle input ${i} (${shown(claimedIn[i])}) differs from public signal ${sl.input.at + i} (${s})`);
      }
    } else {
      // Packed: the circuit range-checks every byte, so a valid proof has each packed signal < 2^(8 * bytes);
      // a wider one is refused here with its own reason. The claimed uint8 values, re-packed, must be the signals.
      const bad = claimedIn.findIndex((v) => !Number.isInteger(v) || v < 0 || v > 255);
      if (bad >= 0) return reject(`bundle input ${bad} (${shown(claimedIn[bad])}) is not a uint8`);
      const packed = packBytes(claimedIn as number[]);
      const bytes = packedSignalBytes(nIn);
      for (let j = 0; j < nInSignals; j++) {
        const s = values[sl.input.at + j];
        if (s >= 1n << BigInt(8 * bytes[j])) {
          return reject(`public signal ${sl.input.at + j} (packed input ${j}) is ${s}, not ${bytes[j]} packed bytes (it must be < 2^${8 * bytes[j]})`);
        }
        if (packed[j] !== s) {
          return reject(`bundle input ${j * PACK_BYTES}..${j * PACK_BYTES + bytes[j] - 1}, packed, differs from public signal ${sl.input.at + j} (packed input ${j})`);
        }
      }
    }
  }
  if (opts.paramsCommitment !== undefined) {
    if (vis.params !== 'hashed') return reject('a parameter commitment was given, but the verification key\'s parameters are fixed in the circuit');
    if (values[sl.paramsHash] !== opts.paramsCommitment) return reject('the parameter commitment is not the one given: the proof is for another weight set');
  }
  // Outputs: claimed integers must be the public outputs (or open their commitment); the floats must be their
  // dequantization under the key.
  const claimedOut: unknown = bundle.output.quantized;
  if (!Array.isArray(claimedOut) || claimedOut.length !== nOut) return reject('bundle output does not match the public signals');
  let outInts: bigint[];
  if (vis.output === 'public') {
    outInts = values.slice(sl.outputs.at, sl.outputs.at + nOut).map(fromField);
    for (let j = 0; j < nOut; j++) {
      if (claimedOut[j] !== outInts[j].toString()) return reject(`bundle output ${j} (${shown(claimedOut[j])}) differs from public signal ${j}`);
    }
  } else {
    outInts = [];
    for (let j = 0; j < nOut; j++) {
      const c = claimedOut[j];
      if (typeof c !== 'string' || !/^-?(0|[1-9][0-9]{0,76})$/.test(c)) return reject(`bundle output ${j} (${shown(c)}) is not an integer`);
      const x = BigInt(c);
      if (fromField(toField(x)) !== x) return reject(`bundle output ${j} (${shown(c)}) is not a signed field element`);
      outInts.push(x);
    }
    if (commitFieldElements(TAG_OUTPUT, outInts.map(toField)) !== values[sl.outputs.at]) return reject('bundle output does not open the output commitment (public signal 0)');
  }
  const output = dequantizeOutput(meta.output.quant, outInts);
  const claimedFloats: unknown = bundle.output.values;
  if (!Array.isArray(claimedFloats) || claimedFloats.length !== nOut || claimedFloats.some((v, j) => v !== output[j])) {
    return reject('bundle output values are not the dequantized public outputs');
  }

  // Per graph output (several outputs, or one whose Softmax is left out): exactly the key's, with the proven values.
  const claimedParts: unknown = bundle.output.parts;
  const keyHasParts = showsOutputParts(meta.output);
  if (!keyHasParts && claimedParts !== undefined) return reject('bundle shows output parts, but the verification key\'s output has none');
  if (keyHasParts && claimedParts !== undefined && canonicalJson(claimedParts) !== canonicalJson(outputPartsOf(meta.output, output))) {
    return reject('bundle output parts are not the key\'s outputs with the proven values (names, shapes, types, left-out Softmax, label tables or values differ)');
  }
  // Each proven class index with a label table must name one of its labels (the key's table is the model's).
  const labels: ProvenLabel[] = [];
  for (const part of outputPartsOf(meta.output, output)) {
    if (!part.labels) continue;
    for (const v of part.values) {
      if (!Number.isInteger(v) || v < 0 || v >= part.labels.length) {
        return reject(`verification key is inconsistent: the proven class index ${v} of output '${part.name}' is outside its label table (${part.labels.length} labels)`);
      }
      labels.push({ output: part.name, index: v, label: part.labels[v] });
    }
  }

  const proof: unknown = bundle.proof;
  if (!isProofShaped(proof)) return reject('proof is malformed');
  const p = proof as ProofBundle['proof'];
  if (p.protocol !== 'groth16' || p.curve !== 'bn128') {
    return reject(`proof is not a Groth16 proof on BN254 (protocol ${shown(p.protocol)}, curve ${shown(p.curve)}; expected "groth16", "bn128")`);
  }

  // Curve work from here on.
  const curve = await bn128();
  const gammaDelta = checkGammaDelta(curve, vk.vk_gamma_2, vk.vk_delta_2);
  if (gammaDelta) return reject(gammaDelta);
  // pi_b must be in the order-r subgroup of G2 (the curve has other points; snarkjs checks only the equation).
  try {
    const pb = curve.G2.fromObject(p.pi_b.map((pair) => pair.map((c) => BigInt(c))));
    if (!curve.G2.isValid(pb) || !curve.G2.isZero(curve.G2.timesScalar(pb, FIELD_PRIME))) return reject('proof is malformed (pi_b is not in the G2 subgroup)');
  } catch {
    return reject('proof is malformed (not points on the curve)');
  }
  let result: Awaited<ReturnType<typeof groth16Verify>>;
  try {
    result = await groth16Verify(vk, values, p);
  } catch {
    return reject('proof is malformed (not points on the curve)');
  }
  if (result === 'malformed') return reject('proof is malformed (not points on the curve)');
  if (result !== 'ok') return reject('pairing check failed: the proof does not prove these public signals under this key');
  const proven: Record<string, string> = {};
  for (const [part, at] of Object.entries(expectedCommitments)) proven[part] = values[at].toString();
  return { valid: true, reason: 'ok', output, keyKind: meta.key.kind, ...(Object.keys(proven).length ? { commitments: proven } : {}), ...(labels.length ? { labels } : {}) };
}
