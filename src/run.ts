/**
 * runModel: the whole pipeline for one input, reusing cached artifacts: compile (when the model, calibration
 * or zkonnx changed), set up keys (when missing or made for another circuit), prove, verify.
 */
import { existsSync } from 'node:fs';
import { readManifest, type Manifest } from './artifacts/manifest.ts';
import { artifactPath } from './artifacts/paths.ts';
import type { Backend, CircomChoice } from './compile/compile.ts';
import type { ModelLimits } from './compile/limits.ts';
import { compileModel } from './compile/model.ts';
import { silentProgress, type ProgressReporter } from './progress.ts';
import { proveToFile } from './prove/prove.ts';
import { setupKeys } from './setup/setup.ts';
import type { PublicInputLayout, Visibility } from './verify/layout.ts';
import type { ProofBundle, VerifyResult } from './verify/types.ts';

export interface RunOptions {
  /** Parsed input JSON (object keyed by input name, or a bare array). */
  input: unknown;
  /** Parsed calibration JSON (array of inputs) and its file name; without it, calibrate on the input. */
  calibration?: { json: unknown; source: string };
  out?: string;
  bundleOut?: string;
  /**
   * The compiler backend (see CompileModelOptions.backend; default DEFAULT_BACKEND): a directory compiled with
   * the other one is recompiled (its keys survive only if the r1cs is identical).
   */
  backend?: Backend;
  /** Which circom compiler the circom backend runs (default 'auto'); 'wasm' or 'native' with backend 'direct' is an InputError. */
  circom?: CircomChoice;
  ptau?: string;
  /** The circuit's public-input layout (default 'plain'); a directory compiled with another one is recompiled. */
  publicInputs?: PublicInputLayout;
  /** What the public signals show (see CompileModelOptions.visibility); a directory compiled with another is recompiled. */
  visibility?: Partial<Visibility>;
  /** Size limits for compiling the model (see CompileModelOptions.limits); the defaults when left out. */
  limits?: Partial<ModelLimits>;
  /** Sizes of symbolic input dimensions (see CompileModelOptions.dims); others are read from the input's nesting. */
  dims?: Record<string, number>;
  /** Bounds of integer inputs (see CompileModelOptions.inputBounds). */
  inputBounds?: Record<string, [number, number]>;
  progress?: ProgressReporter;
}

export interface RunResult {
  dir: string;
  manifest: Manifest;
  vk: string;
  bundlePath: string;
  /** Hashed input: the opening file written beside the bundle. */
  openingPath?: string;
  bundle: ProofBundle;
  verification: VerifyResult;
  calibratedOnInput: boolean;
  compiled: boolean;
  setupRan: boolean;
  timings: { compile: number; setup: number; witness: number; prove: number; verify: number };
}

export async function runModel(modelPath: string, opts: RunOptions): Promise<RunResult> {
  const progress = opts.progress ?? silentProgress;
  const calibratedOnInput = !opts.calibration;
  if (calibratedOnInput) progress.info('note: no --calibration given; calibrating on the input being proven (the circuit is then specific to it)');
  const t0 = performance.now();
  const compiled = await compileModel(modelPath, {
    out: opts.out,
    calibration: opts.calibration ?? { json: [opts.input], source: 'input' },
    calibrationSource: calibratedOnInput ? 'input' : 'file',
    backend: opts.backend,
    circom: opts.circom,
    publicInputs: opts.publicInputs,
    visibility: opts.visibility,
    limits: opts.limits,
    dims: opts.dims,
    inputBounds: opts.inputBounds,
    progress,
  });
  const dir = compiled.dir;
  const t1 = performance.now();
  let manifest = compiled.manifest;
  const needSetup =
    !manifest.setup || manifest.setup.r1csSha256 !== manifest.circuit.r1csSha256 ||
    !existsSync(artifactPath(dir, 'zkey')) || !existsSync(artifactPath(dir, 'vk')) ||
    (opts.ptau !== undefined && manifest.setup.keyKind !== 'ceremony');
  if (needSetup) {
    await setupKeys(dir, { ptau: opts.ptau, progress });
  }
  const t2 = performance.now();
  // prove() verifies its proof against the directory's key before returning: that is the verification step.
  // The bundle file is locked while proving and writing it (proveToFile): two runs never clobber one bundle.
  const { bundle, timings, verification, path: bundlePath, openingPath } = await proveToFile(dir, opts.input, { out: opts.bundleOut, progress });
  if (needSetup) manifest = await readManifest(dir);
  return {
    dir, manifest, vk: artifactPath(dir, 'vk'), bundlePath, ...(openingPath ? { openingPath } : {}), bundle, verification, calibratedOnInput,
    compiled: compiled.compiled, setupRan: needSetup,
    timings: {
      compile: (t1 - t0) / 1000, setup: (t2 - t1) / 1000, witness: timings.witnessSeconds, prove: timings.proveSeconds,
      verify: timings.verifySeconds,
    },
  };
}
