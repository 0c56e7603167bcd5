/**
 * zkonnx library API (Node). Pipeline: loadOnnx -> importGraph -> quantizeModel -> emitCircuit ->
 * compileCircuit (or compileModel for all of it) -> setupKeys -> prove -> verifyBundle. runModel does
 * everything, cached. The browser-safe verifier alone is `zkonnx/verify` (src/verify/index.ts).
 */
export { ZkonnxError, OnnxParseError, UnsupportedModelError, InputError, ArtifactError, CompileError, WitnessMismatchError, SetupError, ContractSizeError } from './errors.ts';
export type { ModelIssue, ZkonnxErrorOptions } from './errors.ts';
export { FIELD_PRIME, toField, fromField } from './field.ts';
export { loadOnnx } from './onnx/load.ts';
export type { OnnxGraph, OnnxNode, OnnxTensor } from './onnx/load.ts';
export { buildOnnxModel } from './onnx/builder.ts';
export type { ModelSpec, NodeSpec, InitializerSpec, ValueInfoSpec } from './onnx/builder.ts';
export { importGraph } from './ir/import.ts';
export type { FloatModel, QuantizedModel, QLayer, FloatLayer, TensorQuant, U8Quant, AccQuant } from './ir/types.ts';
export { supportedOps } from './ops/registry.ts';
export { quantizeModel, quantizeInput, calibrate, DEFAULT_MULTIPLIER_BITS } from './quantize/quantize.ts';
export type { QuantizeOptions } from './quantize/quantize.ts';
export { runInteger } from './reference/integer.ts';
export { runFloat } from './reference/float.ts';
export { emitCircuit } from './emit/circuit.ts';
export type { EmittedCircuit, LayerCost } from './emit/circuit.ts';
export { compileCircuit } from './compile/compile.ts';
export type { CompileReport, CircomChoice } from './compile/compile.ts';
export { compileModel, loadModelFile } from './compile/model.ts';
export type { CompileModelOptions, CompileModelResult } from './compile/model.ts';
export { setupKeys } from './setup/setup.ts';
export type { SetupOptions, SetupResult } from './setup/setup.ts';
export { ceremonyContribute, ceremonyBeacon, ceremonyVerify } from './setup/ceremony.ts';
export type { CeremonyVerification } from './setup/ceremony.ts';
export { checkZkey } from './setup/zkey-check.ts';
export type { ZkeyCheck } from './setup/zkey-check.ts';
export { prove, readVerificationKey } from './prove/prove.ts';
export type { ProveOptions } from './prove/prove.ts';
export { verifyBundle } from './verify/verify.ts';
export type { ProofBundle, VerifyResult, ZkonnxVerificationKey, Groth16Proof } from './verify/types.ts';
export type { VerifyOptions } from './verify/verify.ts';
export { parseVerificationKey } from './verify/key.ts';
export { vkHash } from './verify/canonical.ts';
export { PACK_BYTES, PUBLIC_INPUT_LAYOUTS, inputSignalCount, inputSignals, packBytes, unpackBytes } from './verify/layout.ts';
export type { PublicInputLayout } from './verify/layout.ts';
export { exportSolidity, predictRuntimeBytes, maxPublicSignals, EIP170_MAX_RUNTIME_BYTES } from './evm/solidity.ts';
export type { SolidityVerifier, ExportSolidityOptions } from './evm/solidity.ts';
export { calldata, encodeVerifierCall } from './evm/calldata.ts';
export type { VerifierCalldata, VerifierCallArgs, VerifierMethod } from './evm/calldata.ts';
export { MissingPackageError, OPTIONAL_PACKAGES } from './toolchain.ts';
export type { OptionalPackage } from './toolchain.ts';
export { runModel } from './run.ts';
export type { RunOptions, RunResult } from './run.ts';
export { flattenInput, flattenCalibration } from './io/input.ts';
export { readManifest } from './artifacts/manifest.ts';
export type { Manifest } from './artifacts/manifest.ts';
export { bench, benchModel } from './bench/bench.ts';
export type { BenchOptions, BenchReport, ModelReport, BaselineReport, LayerReport, Stat, EvmReport } from './bench/bench.ts';
export { emitBaseline } from './bench/baseline.ts';
export { formatMarkdown, formatText, writeCharts } from './bench/report.ts';
export { releaseCurve } from './curve.ts';
export { ZKONNX_VERSION } from './version.ts';
