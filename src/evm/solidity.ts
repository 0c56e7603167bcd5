/**
 * exportSolidity(vk): a Solidity Groth16 verifier generated from a zkonnx verification key, modelled on
 * snarkjs' template but owned here. No node:* imports (runs in a browser).
 *
 * What the contract enforces of what verifyBundle does: the public-signal count (the ABI's fixed array), every
 * output signal and commitment canonical (< r), the input signals, when the input is public, within their
 * layout's range (plain: each < 256; packed: each < 2^(8 * bytes in its slot), which also makes them < r),
 * every proof coordinate < q (the precompiles refuse the others too, but A's y goes through the contract's own
 * negation first), and the pairing equation (the precompile checks that A and C are on the curve and B in the
 * order-r subgroup). The key itself (gamma != delta, points on their curves) is checked when exporting. What it
 * cannot check is which key a caller trusts: that is the contract's address.
 *
 * Visibility (src/verify/layout.ts): the signals sit where signalLayout puts them, [outputs or the output
 * commitment] [input commitment] [parameter commitment] [input signals, if public]. A commitment is checked only
 * to be < r, like an output: the contract does not open commitments (that needs the zkonnx Poseidon hash,
 * src/verify/commitment.ts); a caller compares the signal at *_COMMITMENT_INDEX with a commitment it trusts.
 * decodeOutputs/verifyAndDecode exist only for a public output, decodeInput only for a public input. A key of
 * the default visibility gives exactly the contract made before visibilities existed.
 *
 * Integer inputs (token ids, masks: src/ir/io.ts; plain layout and a public input only): one signal per
 * element, a negative x as r - |x|. The contract checks a uint8 part's signals < 256, as for any uint8 input,
 * and an integer part's < r only: the circuit range-checks each element to the part's [lo, hi]
 * (circuits/intrange.circom), so the pairing fails for any other value, and checking the bounds again would
 * cost gas for nothing; < r is what the pairing cannot see (ecMul reduces its scalar mod r, so s + r would
 * verify as s). Such a contract has no bytes decodeInput (it would truncate ids and misread negative ones) but
 * decodeInputIntegers, every input element as an int256 (a signal s > (r - 1) / 2 is s - r). A uint8-only key
 * gives exactly the contract made before integer inputs existed.
 *
 * Size: the IC points are one `bytes` constant (64 bytes each) read in a loop, so the runtime bytecode is
 * about BASE + 64 bytes per public signal (predictRuntimeBytes); gas is ~184k (the 4-pairing check is 181k)
 * plus ~6.7k per non-zero public signal (ecMul 6,000 + ecAdd 150 + two warm calls + the loop); a zero signal
 * skips its ecMul/ecAdd.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ContractSizeError, InputError } from '../errors.ts';
import { BASE_FIELD_PRIME, FIELD_PRIME } from '../field.ts';
import { canonicalJson } from '../verify/canonical.ts';
import { DEFAULT_VISIBILITY, isDefaultVisibility, PACK_BYTES, type PublicInputLayout, type SignalLayout, type Visibility } from '../verify/layout.ts';
import type { ZkonnxVerificationKey } from '../verify/types.ts';
import { ZKONNX_VERSION } from '../version.ts';
import { describeSignals, evmKey, type EvmG1, type EvmG2, type EvmInputPart, type EvmKey } from './key.ts';

/** EIP-170: the largest runtime bytecode a contract may have on Ethereum mainnet. */
export const EIP170_MAX_RUNTIME_BYTES = 24_576;

/**
 * Runtime bytecode of the generated contract, measured with solc 0.8.37, optimizer on (200 runs): exactly 64
 * bytes (one IC point) per public signal plus IC[0], plus a base of about 2,530-2,570 bytes (plain) or
 * 2,580-2,625 (packed) that varies with the push widths of the per-key numbers. The prediction takes the base's upper
 * end, so it is never below solc's size and at most RUNTIME_SLACK_BYTES above; test/evm.test.ts checks both.
 * These are the bases of the default visibility; runtimeBaseBytes gives every visibility's.
 */
export const RUNTIME_BASE_BYTES: Record<PublicInputLayout, number> = { plain: 2576, packed: 2640 };

/**
 * The base of a non-default visibility's contract, measured the same way over keys that fit EIP-170 (1 to
 * 350 outputs, 1 to 10,000 inputs) and taken a few bytes above the largest: by the input (public in `plain` or
 * `packed`: its range checks and decodeInput; `hashed` or `private`: neither), the output (public:
 * decodeOutputs and verifyAndDecode; hashed: neither) and the params, whose commitments add an index getter
 * each. Keyed `input/output/params`; test/evm-visibility.test.ts checks the bound for each.
 */
const VISIBILITY_BASE_BYTES: Record<string, number> = {
  'plain/public/hashed': 2600, 'packed/public/hashed': 2670,
  'plain/hashed/fixed': 1928, 'packed/hashed/fixed': 1984, 'plain/hashed/hashed': 1946, 'packed/hashed/hashed': 2000,
  'hashed/public/fixed': 2326, 'hashed/public/hashed': 2342, 'hashed/hashed/fixed': 1585, 'hashed/hashed/hashed': 1613,
  'private/public/fixed': 2306, 'private/public/hashed': 2326, 'private/hashed/fixed': 1572, 'private/hashed/hashed': 1585,
};

/** Runtime bytecode of the contract without its IC points, upper end (see RUNTIME_BASE_BYTES). */
export function runtimeBaseBytes(layout: PublicInputLayout, visibility: Visibility = DEFAULT_VISIBILITY): number {
  if (isDefaultVisibility(visibility)) return RUNTIME_BASE_BYTES[layout];
  return VISIBILITY_BASE_BYTES[`${visibility.input === 'public' ? layout : visibility.input}/${visibility.output}/${visibility.params}`];
}

/**
 * The base of a key with integer inputs (plain layout, public input; src/evm/key.ts integerInput), measured the
 * same way over keys of 1 to 300 outputs and 8 to 300 inputs in 1 to 4 parts, by `output/params`: the contract
 * with one run of integer input signals (checked with the outputs) and decodeInputIntegers, a few bytes above
 * the largest. Each further run of consecutive parts of one kind adds a loop: INTEGER_LOOP_BYTES.
 */
const INTEGER_BASE_BYTES: Record<string, number> = { 'public/fixed': 2590, 'hashed/fixed': 2122, 'public/hashed': 2621, 'hashed/hashed': 2141 };
/** Runtime bytes of one more input-check loop of a key with integer inputs (measured 36 and 52, + push widths). */
const INTEGER_LOOP_BYTES = { u8: 40, int: 56 } as const;

export const RUNTIME_BYTES_PER_SIGNAL = 64;
/** How far above solc's real size the prediction may be. */
export const RUNTIME_SLACK_BYTES = 64;

/** Predicted runtime bytecode size of the verifier for `nPublic` public signals in `layout` and `visibility`. */
export function predictRuntimeBytes(layout: PublicInputLayout, nPublic: number, visibility: Visibility = DEFAULT_VISIBILITY): number {
  return runtimeBaseBytes(layout, visibility) + RUNTIME_BYTES_PER_SIGNAL * (nPublic + 1);
}

export interface ExportSolidityOptions {
  /** Contract name (a Solidity identifier); default Zkonnx<ModelName>Verifier. */
  contractName?: string;
  /** Refuse keys whose contract is predicted above this many runtime bytes. Default EIP-170's 24,576. */
  maxRuntimeBytes?: number;
}

export interface SolidityVerifier {
  source: string;
  contractName: string;
  /** Public signals: the outputs (or their commitment), the commitments, then the input signals (signalLayout). */
  publicSignals: number;
  /** Elements of the model output (a hashed output is one signal, its commitment). */
  outputs: number;
  /** Public signals carrying the input: 0 unless the input is public. */
  inputSignals: number;
  layout: PublicInputLayout;
  /** The key's visibility (the default for a key without one). */
  visibility: Visibility;
  /** Where each part sits among the public signals (the contract's *_INDEX constants). */
  signals: SignalLayout;
  /** predictRuntimeBytes(layout, publicSignals, visibility): an upper bound on solc's runtime bytecode (optimizer on). */
  predictedBytecodeBytes: number;
  /** The Solidity signature of verifyProof for this key (its selector is keccak256 of it). */
  verifyProofSignature: string;
  /** sha256 of the key's canonical JSON, as bundles name it; also the contract's VK_SHA256. */
  vkSha256: string;
}

const hex32 = (v: bigint) => `0x${v.toString(16).padStart(64, '0')}`;
const word = (v: bigint) => v.toString(16).padStart(64, '0');

/** The verifyProof signature for `nPublic` signals (snarkjs' verifier has the same one). */
export function verifyProofSignature(nPublic: number): string {
  return `verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[${nPublic}])`;
}

/** Zkonnx + PascalCase of the model name + Verifier, restricted to [A-Za-z0-9]. */
export function defaultContractName(modelName: string): string {
  const parts = String(modelName ?? '').split(/[^A-Za-z0-9]+/).filter(Boolean);
  const body = parts.map((p) => p[0].toUpperCase() + p.slice(1)).join('').slice(0, 48);
  return `Zkonnx${body}Verifier`;
}

const SOLIDITY_IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/;

/** How a reader turns the contract's integer outputs into the model's real outputs. */
function scaleDoc(vk: ZkonnxVerificationKey): string[] {
  const q = vk.zkonnx.output.quant;
  if (q.kind === 'u8') return [`real_k = (outputs[k] - ${q.zeroPoint}) * ${q.scale} for every k (uint8 output).`];
  const same = q.scales.every((s) => s === q.scales[0]);
  if (same) return [`real_k = outputs[k] * ${q.scales[0]} for every k.`];
  const lines = ['real_k = outputs[k] * scale[k], scale = ['];
  for (let i = 0; i < q.scales.length; i += 4) lines.push(`  ${q.scales.slice(i, i + 4).join(', ')}${i + 4 < q.scales.length ? ',' : ''}`);
  lines.push('].');
  return lines;
}

/** The first input signal, as the contract names it (N_OUTPUTS in the default visibility's contract). */
const inputAt = (k: EvmKey) => (k.isDefault ? 'N_OUTPUTS' : 'INPUT_SIGNALS_AT');

/** The outputs' and commitments' check (< r), then the input signals' (only a public input has any). */
function signalChecks(k: EvmKey): string[] {
  const canonical = k.isDefault
    ? '            for { let i := 0 } lt(i, N_OUTPUTS) { i := add(i, 1) } { bad := or(bad, iszero(lt(calldataload(add(s, shl(5, i))), R))) }'
    : '            for { let i := 0 } lt(i, N_FIELD_SIGNALS) { i := add(i, 1) } { bad := or(bad, iszero(lt(calldataload(add(s, shl(5, i))), R))) }';
  if (k.inputSignals === 0) return ['            // Outputs and commitments: canonical field elements. The input is not among the signals.', canonical];
  if (k.integerInput) return integerSignalChecks(k, k.integerInput);
  const at = inputAt(k);
  if (k.layout === 'plain') {
    return [
      canonical,
      '            // Plain input: one uint8 per signal (the circuit assumes it and does not check it).',
      `            for { let i := ${at} } lt(i, N_PUBLIC) { i := add(i, 1) } { bad := or(bad, gt(calldataload(add(s, shl(5, i))), 0xff)) }`,
    ];
  }
  return [
    canonical,
    `            // Packed input: ${PACK_BYTES} bytes per signal, the last one ${k.lastSignalBytes}; a wider value is not bytes the circuit decomposed.`,
    `            for { let i := ${at} } lt(i, sub(N_PUBLIC, 1)) { i := add(i, 1) } { bad := or(bad, shr(248, calldataload(add(s, shl(5, i))))) }`,
    `            bad := or(bad, shr(${8 * k.lastSignalBytes}, calldataload(add(s, ${32 * (k.nPublic - 1)}))))`,
  ];
}

/**
 * An input with integer parts (plain layout, one signal per element), in runs of consecutive parts of one
 * kind: a uint8 run's signals must be < 256 (the circuit assumes it, as for any uint8 input); an integer run's
 * must be canonical (< r): ecMul takes its scalar mod r, so s + r would pass the pairing as s does. The bounds
 * [lo, hi] are not checked here: the circuit range-checks every integer element (circuits/intrange.circom), so
 * a value outside them has no proof. A leading integer run joins the outputs' and commitments' < r loop.
 */
function integerSignalChecks(k: EvmKey, parts: EvmInputPart[]): string[] {
  const runs = inputRuns(k, parts);
  const bound = (n: number) => (n === k.nPublic ? 'N_PUBLIC' : String(n));
  const lines: string[] = [];
  let first = 0;
  if (runs[0]?.kind === 'int') {
    lines.push(`            // Outputs${k.signals.input.at > k.nOutputs ? ', commitments' : ''} and the integer input signals ${runs[0].from}..${runs[0].to - 1}: canonical field elements (a negative x is r - |x|).`);
    lines.push(`            for { let i := 0 } lt(i, ${bound(runs[0].to)}) { i := add(i, 1) } { bad := or(bad, iszero(lt(calldataload(add(s, shl(5, i))), R))) }`);
    first = 1;
  } else {
    lines.push(`            for { let i := 0 } lt(i, ${k.isDefault ? 'N_OUTPUTS' : 'N_FIELD_SIGNALS'}) { i := add(i, 1) } { bad := or(bad, iszero(lt(calldataload(add(s, shl(5, i))), R))) }`);
  }
  for (const r of runs.slice(first)) {
    lines.push(r.kind === 'u8'
      ? `            // Input signals ${r.from}..${r.to - 1}: one uint8 each (the circuit assumes it and does not check it).`
      : `            // Input signals ${r.from}..${r.to - 1}: integers as canonical field elements (the circuit range-checks their bounds).`);
    lines.push(r.kind === 'u8'
      ? `            for { let i := ${r.from} } lt(i, ${bound(r.to)}) { i := add(i, 1) } { bad := or(bad, gt(calldataload(add(s, shl(5, i))), 0xff)) }`
      : `            for { let i := ${r.from} } lt(i, ${bound(r.to)}) { i := add(i, 1) } { bad := or(bad, iszero(lt(calldataload(add(s, shl(5, i))), R))) }`);
  }
  return lines;
}

/** Consecutive input parts of one kind, as signal ranges [from, to). */
function inputRuns(k: EvmKey, parts: EvmInputPart[]): { kind: 'u8' | 'int'; from: number; to: number }[] {
  const runs: { kind: 'u8' | 'int'; from: number; to: number }[] = [];
  for (const p of parts) {
    if (p.count === 0) continue;
    const from = k.signals.input.at + p.offset;
    const last = runs[runs.length - 1];
    if (last && last.kind === p.kind && last.to === from) last.to = from + p.count;
    else runs.push({ kind: p.kind, from, to: from + p.count });
  }
  return runs;
}

/** The runtime base (bytes without the IC points) of the contract for `k`: runtimeBaseBytes, or a key with integer inputs'. */
function keyBaseBytes(k: EvmKey): number {
  if (!k.integerInput) return runtimeBaseBytes(k.layout, k.visibility);
  const runs = inputRuns(k, k.integerInput);
  // The first run's loop is the outputs' own when it is an integer run; any other run adds one.
  const loops = runs.slice(runs[0]?.kind === 'int' ? 1 : 0);
  return INTEGER_BASE_BYTES[`${k.visibility.output}/${k.visibility.params}`] + loops.reduce((n, r) => n + INTEGER_LOOP_BYTES[r.kind], 0);
}

/** The input's parts for the @notice: which signals each takes and what they hold. */
function integerInputDoc(k: EvmKey, parts: EvmInputPart[]): string {
  const lines = [`the ${k.nInputs} input elements, one per signal (input[j] is signal ${inputAt(k)} + j):`];
  for (const p of parts) {
    const span = p.count === 1 ? `input[${p.offset}]` : `input[${p.offset}..${p.offset + p.count - 1}]`;
    const what = `'${sanitizeComment(p.name)}' (${p.dtype ? `${sanitizeComment(p.dtype)} ` : ''}[${p.shape.join(', ')}])`;
    lines.push(p.kind === 'u8'
      ? `${span}: ${what}, uint8 values q (the contract checks each < 256)${p.u8 ? `, real = (q - ${p.u8.zeroPoint}) * ${p.u8.scale}` : ''}`
      : `${span}: ${what}, integers in [${p.lo}, ${p.hi}] the circuit range-checks, as field elements (a negative x is r - |x|)`);
  }
  return lines.join('\n///     ');
}

function decodeInputBody(k: EvmKey): string {
  const at = inputAt(k);
  return k.layout === 'plain'
    ? `            for (uint256 i = 0; i < N_INPUTS; i++) input[i] = bytes1(uint8(pubSignals[${at} + i]));`
    : `            for (uint256 i = 0; i < N_INPUTS; i++) input[i] = bytes1(uint8(pubSignals[${at} + i / ${PACK_BYTES}] >> (8 * (i % ${PACK_BYTES}))));`;
}

/** What the public signals are, for the contract's @notice (a non-default visibility). */
function signalsDoc(k: EvmKey, inputDoc: string): string {
  const sl = k.signals;
  const parts: string[] = [];
  const range = (at: number, n: number) => (n === 1 ? `signal ${at}` : `signals ${at}..${at + n - 1}`);
  parts.push(k.visibility.output === 'hashed'
    ? `signal ${sl.outputs.at}: the commitment to the ${k.nOutputs} outputs (OUTPUT_COMMITMENT_INDEX; unsalted, the outputs themselves are not public)`
    : `${range(sl.outputs.at, sl.outputs.count)}: the ${k.nOutputs} outputs (signed integers; a negative x is r - |x|)`);
  if (sl.inputHash >= 0) parts.push(`signal ${sl.inputHash}: the salted commitment to the input (INPUT_COMMITMENT_INDEX)`);
  if (sl.paramsHash >= 0) parts.push(`signal ${sl.paramsHash}: the commitment to the model parameters (PARAMS_COMMITMENT_INDEX)`);
  if (k.inputSignals > 0) parts.push(`${range(sl.input.at, sl.input.count)} (INPUT_SIGNALS_AT): ${inputDoc}`);
  else if (k.visibility.input === 'private') parts.push('the input is private: nothing of it is public');
  return parts.join(';\n///   ');
}

/** The contract's @notice for a non-default visibility (ends before the scale lines). */
function visibilityNotice(k: EvmKey, inputDoc: string): string {
  const v = k.visibility;
  const example = v.input === 'hashed' ? 'INPUT_COMMITMENT_INDEX' : v.params === 'hashed' ? 'PARAMS_COMMITMENT_INDEX' : v.output === 'hashed' ? 'OUTPUT_COMMITMENT_INDEX' : null;
  const model = `the model (pinned by MODEL_SHA256 and this contract's key${v.params === 'hashed' ? ', with the weight set the parameter commitment names' : ''})`;
  return [
    `/// @notice A valid proof shows that ${model} maps ${visibilityInputDoc(k)} to ${v.output === 'hashed' ? 'the outputs the output commitment opens to' : 'the public outputs'}.`,
    `///   Visibility: input ${v.input}, output ${v.output}, params ${v.params}. The ${k.nPublic} public signals:`,
    `///   ${signalsDoc(k, inputDoc)}.`,
    ...(example ? [
      '///   Commitments are zkonnx Poseidon hashes (src/verify/commitment.ts): the contract checks only that each is < r;',
      `///   compare them with ones you trust (e.g. pubSignals[${example}] == a stored commitment).`,
    ] : []),
    v.output === 'hashed' ? '///   The outputs, once the commitment is opened, dequantize as:' : '///   The contract returns integer outputs. Dequantization (the key\'s output scale):',
  ].join('\n');
}

/** "the public input" / "a committed input" / "some private input", for the @notice. */
function visibilityInputDoc(k: EvmKey): string {
  return k.visibility.input === 'public' ? 'the public input' : k.visibility.input === 'hashed' ? 'an input (the one the input commitment opens to)' : 'some private input';
}

/** The non-default visibility's index constants. */
function indexConstants(k: EvmKey): string {
  const sl = k.signals;
  const lines: string[] = [];
  if (k.visibility.output === 'hashed') lines.push('    /// @notice The output commitment: commitFieldElements(TAG_OUTPUT, outputs) (zkonnx src/verify/commitment.ts).', `    uint256 public constant OUTPUT_COMMITMENT_INDEX = ${sl.outputs.at};`);
  if (sl.inputHash >= 0) lines.push('    /// @notice The input commitment: commitBytes(TAG_INPUT, input, salt).', `    uint256 public constant INPUT_COMMITMENT_INDEX = ${sl.inputHash};`);
  if (sl.paramsHash >= 0) lines.push('    /// @notice The parameter commitment (TAG_PARAMS): which weight set the proof is for.', `    uint256 public constant PARAMS_COMMITMENT_INDEX = ${sl.paramsHash};`);
  if (k.inputSignals > 0) lines.push('    /// @notice The first public input signal.', `    uint256 public constant INPUT_SIGNALS_AT = ${sl.input.at};`);
  lines.push('    /// @dev Signals [0, N_FIELD_SIGNALS) are outputs and commitments: each must be < r.', `    uint256 internal constant N_FIELD_SIGNALS = ${sl.input.at};`);
  return lines.join('\n') + '\n';
}

const g1Consts = (name: string, p: EvmG1) => [`    uint256 internal constant ${name}_X = ${hex32(p[0])};`, `    uint256 internal constant ${name}_Y = ${hex32(p[1])};`];
const g2Consts = (name: string, p: EvmG2) => [
  `    uint256 internal constant ${name}_X1 = ${hex32(p[0][0])};`, `    uint256 internal constant ${name}_X2 = ${hex32(p[0][1])};`,
  `    uint256 internal constant ${name}_Y1 = ${hex32(p[1][0])};`, `    uint256 internal constant ${name}_Y2 = ${hex32(p[1][1])};`,
];
const g2Stores = (name: string, at: number) =>
  ['X1', 'X2', 'Y1', 'Y2'].map((c, i) => `                mstore(add(m, ${at + 32 * i}), ${name}_${c})`).join('\n');

/**
 * Generate the Solidity verifier for a zkonnx verification key.
 *
 * The contract: `verifyProof(a, b, c, pubSignals)` (snarkjs' signature; returns false, never reverts, for
 * any values of well-formed calldata), `verifyAndDecode` (valid, the signed integer outputs and their argmax,
 * first maximum as ONNX ArgMax), the pure `decodeOutputs` and `decodeInput` (`decodeInputIntegers`, int256
 * values, for a key with integer inputs), and the key's and model's
 * sha256 as constants. Throws InputError for a key it cannot use (see evmKey) and ContractSizeError when the
 * runtime bytecode would exceed `maxRuntimeBytes` (EIP-170 by default): recompile with
 * `--public-inputs packed` (31 input bytes per public signal); for a key with integer inputs, which take one
 * signal per element whatever the flags, with fewer input elements or a hashed output.
 */
export function exportSolidity(vk: ZkonnxVerificationKey, opts: ExportSolidityOptions = {}): SolidityVerifier {
  const k = evmKey(vk);
  const meta = vk.zkonnx;
  const contractName = opts.contractName ?? defaultContractName(meta.model?.name ?? 'model');
  if (!SOLIDITY_IDENTIFIER.test(contractName)) throw new InputError(`'${contractName}' is not a Solidity contract name.`, { hint: 'Use letters, digits and _ only, not starting with a digit.' });
  const predicted = k.integerInput ? keyBaseBytes(k) + RUNTIME_BYTES_PER_SIGNAL * (k.nPublic + 1) : predictRuntimeBytes(k.layout, k.nPublic, k.visibility);
  const limit = opts.maxRuntimeBytes ?? EIP170_MAX_RUNTIME_BYTES;
  if (predicted > limit) {
    const max = k.integerInput ? Math.floor((limit - keyBaseBytes(k)) / RUNTIME_BYTES_PER_SIGNAL) - 1 : maxPublicSignals(k.layout, limit, k.visibility);
    if (k.integerInput) {
      // An integer input takes one signal per element (no packed layout, no hashed input for it).
      throw new ContractSizeError(
        `The verifier for this key would be about ${predicted.toLocaleString('en')} bytes of runtime bytecode, over the ${limit.toLocaleString('en')}-byte limit (EIP-170): ${k.nPublic} public signals (${describeSignals(k.visibility, k.signals)}; an integer input takes one signal per element).`,
        { hint: `Recompile the model with fewer input elements (a shorter sequence: --dim)${k.visibility.output === 'public' ? ' or `--output-visibility hashed` (one signal for the outputs)' : ''}, then run setup again; a contract holds at most ${max} public signals.` },
      );
    }
    if (k.isDefault) {
      throw new ContractSizeError(
        `The verifier for this key would be about ${predicted.toLocaleString('en')} bytes of runtime bytecode, over the ${limit.toLocaleString('en')}-byte limit (EIP-170): ${k.nPublic} public signals (${k.nOutputs} outputs + ${k.inputSignals} ${k.layout} input signals).`,
        { hint: `Recompile the model with \`zkonnx compile --public-inputs packed\` (31 input bytes per public signal), or with \`--input-visibility hashed\` (one signal), then run setup again; a contract holds at most ${max} public signals.` },
      );
    }
    const fixes = [
      ...(k.inputSignals > 0 && k.layout === 'plain' ? ['`--public-inputs packed` (31 input bytes per public signal)'] : []),
      ...(k.inputSignals > 0 ? ['`--input-visibility hashed` (one signal for the input)'] : []),
      ...(k.visibility.output === 'public' ? ['`--output-visibility hashed` (one signal for the outputs)'] : []),
    ];
    throw new ContractSizeError(
      `The verifier for this key would be about ${predicted.toLocaleString('en')} bytes of runtime bytecode, over the ${limit.toLocaleString('en')}-byte limit (EIP-170): ${k.nPublic} public signals (${describeSignals(k.visibility, k.signals)}).`,
      { hint: `${fixes.length ? `Recompile the model with ${fixes.join(' or ')}, then run setup again; ` : ''}a contract holds at most ${max} public signals.` },
    );
  }
  const vkSha256 = Array.from(sha256(new TextEncoder().encode(canonicalJson(vk))), (b) => b.toString(16).padStart(2, '0')).join('');
  const modelSha = /^[0-9a-f]{64}$/.test(meta.model?.sha256 ?? '') ? meta.model.sha256 : '0'.repeat(64);
  const N = k.nPublic;
  const icData = k.ic.map((p) => word(p[0]) + word(p[1])).join('');
  const inputDoc = k.integerInput ? integerInputDoc(k, k.integerInput) : k.layout === 'plain'
    ? `the ${k.nInputs} uint8 input values, one per signal`
    : `the ${k.nInputs} uint8 input values packed ${PACK_BYTES} per signal, little-endian (signal j = sum_i in[${PACK_BYTES}j + i] * 256^i)`;

  // decodeOutputs/verifyAndDecode need public outputs, decodeInput a public input.
  const outputFunctions = k.visibility.output === 'public' ? `    /// @notice Verify, and if valid return the signed integer outputs and their argmax (first maximum).
    /// @return valid false for any invalid proof or out-of-range signal (then outputs is empty and argmax 0)
    function verifyAndDecode(uint256[2] calldata a, uint256[2][2] calldata b, uint256[2] calldata c, uint256[${N}] calldata pubSignals)
        external view returns (bool valid, int256[] memory outputs, uint256 argmax)
    {
        if (!_verify(a, b, c, pubSignals)) return (false, new int256[](0), 0);
        (outputs, argmax) = decodeOutputs(pubSignals);
        valid = true;
    }

    /// @notice The signed integer outputs and their argmax (first maximum), WITHOUT verifying: meaningful only
    ///   for signals verifyProof accepted. Reverts on a signal >= r.
    function decodeOutputs(uint256[${N}] calldata pubSignals) public pure returns (int256[] memory outputs, uint256 argmax) {
        outputs = new int256[](N_OUTPUTS);
        for (uint256 k = 0; k < N_OUTPUTS; k++) {
            uint256 v = pubSignals[k];
            outputs[k] = v > R / 2 ? -int256(R - v) : int256(v);
            if (outputs[k] > outputs[argmax]) argmax = k;
        }
    }

` : '';
  const inputFunctions = k.integerInput ? integerInputFunction(N, inputAt(k)) : k.inputSignals > 0 ? `    /// @notice The uint8 input values, WITHOUT verifying (e.g. keccak256(decodeInput(s)) to compare with a
    ///   stored input): meaningful only for signals verifyProof accepted.
    function decodeInput(uint256[${N}] calldata pubSignals) public pure returns (bytes memory input) {
        input = new bytes(N_INPUTS);
        unchecked {
${decodeInputBody(k)}
        }
    }

` : '';

  const source = `// SPDX-License-Identifier: MIT
// Generated by zkonnx ${ZKONNX_VERSION} from a verification key - do not edit.
// Model '${sanitizeComment(meta.model?.name ?? '')}' (sha256 ${modelSha}), ${meta.constraints} constraints, ${meta.key?.kind ?? '?'} key.
pragma solidity >=0.8.4 <0.9.0;

/// @title Groth16 verifier for the zkonnx model '${sanitizeComment(meta.model?.name ?? '')}'
${k.isDefault ? `/// @notice A valid proof shows that the model (pinned by MODEL_SHA256 and this contract's key) maps the public
///   input to the public outputs. The ${N} public signals are the ${k.nOutputs} outputs (signed integers; a negative x
///   is r - |x|), then ${inputDoc}.
///   The contract returns integer outputs. Dequantization (the key's output scale):` : visibilityNotice(k, inputDoc)}
${scaleDoc(vk).map((l) => `///     ${l}`).join('\n')}
/// @dev Checks: ${k.isDefault ? 'outputs < r' : `${k.visibility.output === 'hashed' ? 'commitments' : k.signals.input.at > k.nOutputs ? 'outputs and commitments' : 'outputs'} < r`}; ${k.inputSignals === 0 ? 'no input signals' : k.integerInput ? integerChecksDoc(k.integerInput) : k.layout === 'plain' ? 'each input signal < 256' : `each input signal < 2^(8 * its bytes)`}; proof coordinates < q; the pairing
///   e(-A, B) e(alpha, beta) e(vk_x, gamma) e(C, delta) == 1. Groth16 proofs are malleable: never use them as ids.
///   A key made by a single party ('dev') lets that party forge proofs.
contract ${contractName} {
    /// @dev BN254 scalar field (public signals) and base field (coordinates).
    uint256 internal constant R = ${hex32(FIELD_PRIME)};
    uint256 internal constant Q = ${hex32(BASE_FIELD_PRIME)};

    uint256 public constant N_PUBLIC = ${N};
    uint256 public constant N_OUTPUTS = ${k.nOutputs};
    /// @notice ${k.integerInput ? `Elements of the model input, integers and uint8 values (${k.inputSignals} public signals, one each; see the contract's notice)` : `uint8 values of the model input (${k.inputSignals > 0 ? `${k.inputSignals} public signal${k.inputSignals === 1 && !k.isDefault ? '' : 's'}, ${k.layout} layout` : `${k.visibility.input}: not among the public signals`})`}.
    uint256 public constant N_INPUTS = ${k.nInputs};
${k.isDefault ? '' : indexConstants(k)}    /// @notice sha256 of the verification key's canonical JSON, as proof bundles name it (vkSha256).
    bytes32 public constant VK_SHA256 = 0x${vkSha256};
    bytes32 public constant MODEL_SHA256 = 0x${modelSha};

${g1Consts('ALPHA', k.alpha).join('\n')}
    // G2 points in EIP-197 order: (x_im, x_re, y_im, y_re).
${g2Consts('BETA', k.beta).join('\n')}
${g2Consts('GAMMA', k.gamma).join('\n')}
${g2Consts('DELTA', k.delta).join('\n')}
    /// @dev IC[0..N_PUBLIC]: (x, y) as two 32-byte words each.
    bytes internal constant IC = hex"${icData}";

    /// @notice snarkjs-compatible: true iff the proof is valid for these public signals. Returns false (never
    ///   reverts) for any argument values; calldata too short for the ABI reverts in the decoder. A B point off
    ///   the twist or outside G2's subgroup makes the pairing precompile fail, which uses up the gas given to it.
    ///   Reverts (never returns false for an honest proof) when the call has too little gas or the chain lacks
    ///   the BN254 precompiles (0x06, 0x07, 0x08).
    function verifyProof(uint256[2] calldata a, uint256[2][2] calldata b, uint256[2] calldata c, uint256[${N}] calldata pubSignals) public view returns (bool) {
        return _verify(a, b, c, pubSignals);
    }

${outputFunctions}${inputFunctions}    function _verify(uint256[2] calldata a, uint256[2][2] calldata b, uint256[2] calldata c, uint256[${N}] calldata s) internal view returns (bool ok) {
        bytes memory ic = IC;
        /// @solidity memory-safe-assembly
        assembly {
            let bad := 0
${signalChecks(k).join('\n')}
            for { let i := 0 } lt(i, 64) { i := add(i, 32) } {
                bad := or(bad, or(iszero(lt(calldataload(add(a, i)), Q)), iszero(lt(calldataload(add(c, i)), Q))))
            }
            for { let i := 0 } lt(i, 128) { i := add(i, 32) } { bad := or(bad, iszero(lt(calldataload(add(b, i)), Q))) }
            if iszero(bad) {
                // m: the pairing input (4 x (G1, G2) = 768 bytes); acc (after it): vk_x and the ecMul scratch.
                let m := mload(0x40)
                let acc := add(m, 768)
                mstore(acc, mload(add(ic, 32)))
                mstore(add(acc, 32), mload(add(ic, 64)))
                ok := 1
                // vk_x = IC[0] + sum_i s[i] * IC[i + 1]; a zero signal adds nothing (saves ~6.5k gas).
                for { let i := 0 } lt(i, N_PUBLIC) { i := add(i, 1) } {
                    let v := calldataload(add(s, shl(5, i)))
                    if v {
                        let pt := add(ic, add(96, shl(6, i)))
                        mstore(add(acc, 64), mload(pt))
                        mstore(add(acc, 96), mload(add(pt, 32)))
                        mstore(add(acc, 128), v)
                        // The inputs are valid points, so a failure here means out of gas or no precompile
                        // (then no return data): revert, never report an honest proof as false. (Yul evaluates
                        // arguments right to left: the call must come before returndatasize() is read.)
                        let done := staticcall(gas(), 7, add(acc, 64), 96, add(acc, 64), 64)
                        if iszero(and(done, eq(returndatasize(), 64))) { revert(0, 0) }
                        done := staticcall(gas(), 6, acc, 128, acc, 64)
                        if iszero(and(done, eq(returndatasize(), 64))) { revert(0, 0) }
                    }
                }
                // -A (y < q was checked, so q - y is canonical; y = 0 stays 0)
                mstore(m, calldataload(a))
                mstore(add(m, 32), mod(sub(Q, calldataload(add(a, 32))), Q))
                calldatacopy(add(m, 64), b, 128)
                mstore(add(m, 192), ALPHA_X)
                mstore(add(m, 224), ALPHA_Y)
${g2Stores('BETA', 256)}
                mstore(add(m, 384), mload(acc))
                mstore(add(m, 416), mload(add(acc, 32)))
${g2Stores('GAMMA', 448)}
                calldatacopy(add(m, 576), c, 64)
${g2Stores('DELTA', 640)}
                // 4 pairings cost 45,000 + 4 x 34,000 gas (EIP-1108); with less (after the 63/64 rule) revert,
                // so that a failed call below can only mean a bad B point: false. No return data (a chain
                // without the precompile) is false too, never the stale memory.
                if lt(gas(), 186000) { revert(0, 0) }
                let paired := staticcall(gas(), 8, m, 768, m, 32)
                ok := and(paired, and(eq(returndatasize(), 32), eq(mload(m), 1)))
            }
        }
    }
}
`;
  return {
    source, contractName, publicSignals: N, outputs: k.nOutputs, inputSignals: k.inputSignals, layout: k.layout,
    visibility: k.visibility, signals: k.signals, predictedBytecodeBytes: predicted, verifyProofSignature: verifyProofSignature(N), vkSha256,
  };
}

/** The input checks of a key with integer inputs, for the @dev line. */
function integerChecksDoc(parts: EvmInputPart[]): string {
  const u8 = parts.some((p) => p.kind === 'u8');
  return `${u8 ? 'each uint8 input signal < 256, ' : ''}each integer input signal < r (the circuit range-checks it to its bounds)`;
}

/**
 * A key with integer inputs has no decodeInput (its bytes would truncate token ids and misread negative
 * values); decodeInputIntegers gives every input element as a signed integer instead.
 */
function integerInputFunction(N: number, at: string): string {
  return `    /// @notice The input elements as signed integers (uint8 parts as their values 0..255; an integer signal
    ///   s > (r - 1) / 2 is s - r), WITHOUT verifying: meaningful only for signals verifyProof accepted. Reverts on a
    ///   signal >= r. This key's input has integer parts (token ids, masks), so the contract has no bytes decodeInput.
    function decodeInputIntegers(uint256[${N}] calldata pubSignals) public pure returns (int256[] memory input) {
        input = new int256[](N_INPUTS);
        for (uint256 j = 0; j < N_INPUTS; j++) {
            uint256 v = pubSignals[${at} + j];
            require(v < R);
            input[j] = v > R / 2 ? -int256(R - v) : int256(v);
        }
    }

`;
}

/** The largest public-signal count whose verifier fits in `limit` runtime bytes. */
export function maxPublicSignals(layout: PublicInputLayout, limit = EIP170_MAX_RUNTIME_BYTES, visibility: Visibility = DEFAULT_VISIBILITY): number {
  return Math.floor((limit - runtimeBaseBytes(layout, visibility)) / RUNTIME_BYTES_PER_SIGNAL) - 1;
}

/** Model names go into comments: keep them on one line and out of comment syntax. */
function sanitizeComment(s: string): string {
  return String(s).replace(/[^\x20-\x7e]/g, '?').replace(/\*\//g, '*?').slice(0, 80);
}
