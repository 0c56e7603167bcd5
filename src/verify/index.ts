/**
 * `zkonnx/verify`: the browser-safe verifier. Checks a proof bundle against a verification key without
 * re-running the model; no node:* imports and no compiler, prover or ONNX code, so it bundles small
 * (esbuild, Vite, webpack) and runs in browsers, workers, Deno, Bun and Node alike.
 *
 *   import { verifyBundle, parseVerificationKey } from 'zkonnx/verify';
 *   const vk = parseVerificationKey(await (await fetch('/verification_key.json')).text());
 *   const { valid, reason, output } = await verifyBundle(bundle, vk, { vkSha256: PUBLISHED_HASH });
 */
export { verifyBundle } from './verify.ts';
export type { VerifyOptions } from './verify.ts';
export { parseVerificationKey } from './key.ts';
export { vkHash, canonicalJson } from './canonical.ts';
export { dequantizeOutput } from './dequantize.ts';
export { PACK_BYTES, PUBLIC_INPUT_LAYOUTS, inputSignalCount, inputSignals, packBytes, unpackBytes, DEFAULT_VISIBILITY, INPUT_VISIBILITIES, OUTPUT_VISIBILITIES, PARAM_VISIBILITIES, signalLayout } from './layout.ts';
export type { PublicInputLayout, Visibility, InputVisibility, OutputVisibility, ParamVisibility, SignalLayout } from './layout.ts';
// Commitments (Poseidon, as circomlib's): open a hashed input or output yourself.
export { commitBytes, commitFieldElements, zkonnxHash, parseSalt, TAG_INPUT, TAG_OUTPUT, TAG_PARAMS } from './commitment.ts';
export { poseidon16 } from './poseidon.ts';
export type { ProofBundle, VerifyResult, ZkonnxVerificationKey, Groth16Proof } from './types.ts';
export type { TensorQuant, TensorSpec, U8Quant, AccQuant } from '../ir/types.ts';
export { ZkonnxError, InputError } from '../errors.ts';
export type { ZkonnxErrorOptions } from '../errors.ts';
export { FIELD_PRIME, fromField } from '../field.ts';
// The call data of an EVM verifier (`zkonnx export solidity`) for a bundle: a dapp submits it from the page.
export { calldata, encodeVerifierCall } from '../evm/calldata.ts';
export type { VerifierCalldata, VerifierCallArgs, VerifierMethod } from '../evm/calldata.ts';
