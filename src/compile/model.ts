/**
 * compileModel: model.onnx -> artifact directory (circuit.circom, quantized-model.json, r1cs, sym, with the
 * circom backend circuit_js/ (the wasm witness generator), manifest.json). The circuit depends on the model, the
 * calibration set, the public-input layout, zkonnx's version and the compiler backend; a directory whose
 * manifest matches all of them is reused as is.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { InputError, ModelLimitError } from '../errors.ts';
import { emitCircuit, gadgetConstraints } from '../emit/circuit.ts';
import { importGraph } from '../ir/import.ts';
import { serializeQuantizedModel } from '../ir/serialize.ts';
import { paramLayout } from '../ir/params.ts';
import type { FloatModel } from '../ir/types.ts';
import { loadOnnx } from '../onnx/load.ts';
import { dimsFromInput, flattenCalibration } from '../io/input.ts';
import { calibrationHash, DEFAULT_MULTIPLIER_BITS, quantizeModel } from '../quantize/quantize.ts';
import { sha256File } from '../artifacts/io.ts';
import { stageArtifacts, withDirLock, type ArtifactStage } from '../artifacts/lock.ts';
import { verificationKeyText, vkMetadata } from '../setup/setup.ts';
import { canonicalJson } from '../verify/canonical.ts';
import { DEFAULT_VISIBILITY, INPUT_VISIBILITIES, OUTPUT_VISIBILITIES, PARAM_VISIBILITIES, PUBLIC_INPUT_LAYOUTS, parsePublicInputLayout, parseVisibility, type PublicInputLayout, type Visibility } from '../verify/layout.ts';
import type { ZkonnxVerificationKey } from '../verify/types.ts';
import { backendOf, circuitSourceHash, publicInputLayoutOf, readManifest, visibilityOf, serializeManifest, type Manifest, type SetupRecord } from '../artifacts/manifest.ts';
import { artifactPath, defaultArtifactDir } from '../artifacts/paths.ts';
import { silentProgress, type ProgressBar, type ProgressReporter } from '../progress.ts';
import { ZKONNX_VERSION } from '../version.ts';
import { compileWithBackend, resolveBackend, type Backend, type CircomChoice, type CompileReport } from './compile.ts';
import { checkConstraints, checkGraphSize, checkModelFileSize, resolveModelLimits, type ModelLimits } from './limits.ts';

export interface CompileModelOptions {
  /** Artifact directory; default artifacts/<model file name without .onnx>. */
  out?: string;
  /**
   * Calibration samples: flat float inputs, or parsed calibration JSON (an array of inputs) with the name of
   * the file it came from. Required: use the input being proven when nothing else exists.
   */
  calibration: Float64Array[] | { json: unknown; source: string };
  calibrationSource?: 'file' | 'input';
  multiplierBits?: number;
  /**
   * The compiler (src/compile/compile.ts): 'direct' (zkonnx's own, in-process, no size ceiling) or 'circom'.
   * Default DEFAULT_BACKEND, or 'circom' when `circom` is 'wasm' or 'native'; 'direct' with those is an
   * InputError. A directory compiled with the other backend is recompiled.
   */
  backend?: Backend;
  /** Which circom compiler the circom backend runs (default 'auto'). */
  circom?: CircomChoice;
  /** Recompile even when the manifest says the directory is current. */
  force?: boolean;
  /**
   * Build the witness generator (needed to prove). Default true; see compileCircuit. Only the circom backend
   * builds one: with the direct backend the circuit source is the witness generator, and this changes nothing.
   */
  witness?: boolean;
  /**
   * How the input appears among the public signals (src/verify/layout.ts): 'plain' (default; one uint8 per
   * signal, range-checked by verifiers) or 'packed' (31 bytes per signal, unpacked and range-checked in the
   * circuit at 8 constraints per byte + 1 per packed signal).
   */
  publicInputs?: PublicInputLayout;
  /**
   * What the public signals show (src/verify/layout.ts Visibility): input public|hashed|private, output
   * public|hashed, params fixed|hashed. Fields left out keep the default (public, public, fixed). With a
   * hashed or private input the public-input layout does not apply (the input is not public).
   */
  visibility?: Partial<Visibility>;
  /**
   * Size limits (src/compile/limits.ts): model file bytes, nodes, constant-data bytes, predicted constraints.
   * A field left out keeps its default (DEFAULT_MODEL_LIMITS); Infinity lifts a limit. A model over a limit
   * is refused with ModelLimitError before the work it would cost.
   */
  limits?: Partial<ModelLimits>;
  /**
   * Sizes of symbolic input dimensions (ONNX dim_param names, or `input[i]`; `--dim NAME=N`). Others are read
   * from the first calibration sample's nesting when it is nested as the tensor's shape.
   */
  dims?: Record<string, number>;
  /**
   * Bounds of integer inputs by name ([lo, hi], e.g. [0, vocab - 1] for token ids; `--input-bounds NAME=LO:HI`);
   * default min..max over the calibration samples (bool: [0, 1]). The circuit range-checks every element.
   */
  inputBounds?: Record<string, [number, number]>;
  progress?: ProgressReporter;
}

export interface CompileModelResult {
  dir: string;
  manifest: Manifest;
  /** False when an up-to-date compilation was reused. */
  compiled: boolean;
}

/**
 * Read and import an ONNX file, with errors that name the file. Size limits (default DEFAULT_MODEL_LIMITS)
 * are checked before the file is read (its size) and before it is decoded (nodes, constant data).
 */
export async function loadModelFile(path: string, opts: { limits?: Partial<ModelLimits>; dims?: Record<string, number>; sample?: unknown } = {}): Promise<{ bytes: Uint8Array; model: FloatModel }> {
  const limits = resolveModelLimits(opts.limits);
  const source = `'${path}'`;
  let bytes: Uint8Array;
  try {
    checkModelFileSize((await stat(path)).size, limits, source);
    bytes = await readFile(path);
  } catch (e) {
    if (e instanceof ModelLimitError) throw e;
    throw new InputError(`Cannot read model '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`, { cause: e });
  }
  const g = loadOnnx(bytes, source, { checkSize: (size) => checkGraphSize(size, limits, source) });
  // Symbolic dimensions: given ones first, then what the sample's nesting says.
  const dims = { ...(opts.sample === undefined ? {} : dimsFromInput(g.inputs, opts.sample)), ...checkedDims(opts.dims) };
  return { bytes, model: importGraph(g, { dims }) };
}

/** Dimension sizes given by a caller: positive integers (InputError naming the dimension otherwise). */
export function checkedDims(dims: Record<string, number> | undefined): Record<string, number> {
  for (const [k, v] of Object.entries(dims ?? {})) {
    if (!Number.isSafeInteger(v) || v < 1) throw new InputError(`Dimension '${k}' must be a positive integer, got ${v}.`, { hint: 'Give --dim NAME=N with N >= 1.' });
  }
  return { ...dims };
}

/** `--input-bounds NAME=LO:HI` values (repeatable) as a bounds record; InputError on a malformed one. */
export function parseBoundsArgs(args: readonly string[] | string | undefined): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const a of args === undefined ? [] : Array.isArray(args) ? args : [args]) {
    const m = /^(.+)=(-?\d+):(-?\d+)$/.exec(String(a));
    if (!m || Number(m[2]) > Number(m[3])) throw new InputError(`--input-bounds '${a}' is not NAME=LO:HI with integers LO <= HI.`, { hint: 'For example --input-bounds input_ids=0:30521.' });
    out[m[1]] = [Number(m[2]), Number(m[3])];
  }
  return out;
}

/** `--dim NAME=N` values (repeatable) as a dims record; InputError on a malformed one. */
export function parseDimArgs(args: readonly string[] | string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of args === undefined ? [] : Array.isArray(args) ? args : [args]) {
    const m = /^(.+)=(\d+)$/.exec(String(a));
    if (!m) throw new InputError(`--dim '${a}' is not NAME=N.`, { hint: 'For example --dim seq=16 (the ONNX dim_param), or --dim x[1]=16 for an unnamed dimension of input x.' });
    out[m[1]] = Number(m[2]);
  }
  return checkedDims(out);
}

/** The artifact name for a model file: its base name, or its folder's name for a generic 'model.onnx'. */
export function modelNameFromPath(path: string): string {
  const name = basename(path).replace(/\.onnx$/i, '');
  if (name && name !== 'model') return name;
  return basename(dirname(resolve(path))) || 'model';
}

/**
 * A key made for an identical r1cs stays valid, but the verification key's zkonnx section (model hash,
 * tensor names, dequantization scales) may have changed with the model: stage it rewritten, with its hash.
 * Undefined (the key is dropped from the manifest) when the key files are not both there.
 */
async function refreshKeyMetadata(dir: string, stage: ArtifactStage, m: Manifest): Promise<SetupRecord | undefined> {
  const setup = m.setup!;
  const vkPath = artifactPath(dir, 'vk');
  if (!existsSync(vkPath) || !existsSync(artifactPath(dir, 'zkey'))) return undefined;
  const vk = JSON.parse(await readFile(vkPath, 'utf8')) as ZkonnxVerificationKey;
  if (canonicalJson(vk.zkonnx) === canonicalJson(vkMetadata(m, setup.keyKind, setup.ptauPower))) return setup;
  const { zkonnx: _old, ...base } = vk;
  const { text, vkSha256 } = await verificationKeyText(base, m, setup.keyKind, setup.ptauPower);
  await stage.write('vk', text);
  return { ...setup, vkSha256 };
}

export async function compileModel(modelPath: string, opts: CompileModelOptions): Promise<CompileModelResult> {
  // Contradictory options are refused before any work.
  const backend = resolveBackend(opts.backend, opts.circom);
  const progress = opts.progress ?? silentProgress;
  const dir = opts.out ?? defaultArtifactDir(modelNameFromPath(modelPath));
  const limits = resolveModelLimits(opts.limits);
  const sample = Array.isArray(opts.calibration) ? undefined : Array.isArray(opts.calibration.json) ? opts.calibration.json[0] : undefined;
  const { model } = await loadModelFile(modelPath, { limits, dims: opts.dims, sample });
  const intInput = model.input.parts?.find((p) => p.dtype !== undefined);
  const vis0 = resolveVisibility(opts.visibility);
  if (intInput && ((opts.publicInputs ?? 'plain') !== 'plain' || vis0.input !== 'public')) {
    throw new InputError(`'${modelPath}' has an integer input ('${intInput.name}', ${intInput.dtype}): it needs --public-inputs plain and --input-visibility public (packed, hashed and private inputs are bytes).`);
  }
  const multiplierBits = opts.multiplierBits ?? DEFAULT_MULTIPLIER_BITS;
  const samples = Array.isArray(opts.calibration)
    ? opts.calibration
    : flattenCalibration(opts.calibration.json, model.input, opts.calibration.source);
  const calSha = calibrationHash(samples);
  const witness = backend === 'direct' || (opts.witness ?? true);
  const layout = parsePublicInputLayout(opts.publicInputs ?? 'plain');
  if (!layout) {
    throw new InputError(`Unknown public-input layout '${String(opts.publicInputs)}'.`, { hint: `Use one of: ${PUBLIC_INPUT_LAYOUTS.join(', ')}.` });
  }

  const visibility = resolveVisibility(opts.visibility);

  const doneQ = progress.step(`quantize: calibrating on ${samples.length} sample(s)`);
  const q = quantizeModel(model, samples, { multiplierBits, calibrationSource: opts.calibrationSource, privateParams: visibility.params === 'hashed', inputBounds: opts.inputBounds });
  q.name = modelNameFromPath(modelPath);
  if (visibility.params === 'hashed' && paramLayout(q).nWeights === 0) {
    throw new InputError(`'${modelPath}' has no Gemm, MatMul or Conv weights: there are no parameters to commit to with --param-visibility hashed.`, {
      hint: 'Compile it with --param-visibility fixed.',
    });
  }
  // The gadgets' constraints are known before the source is written; the bindings and outputs after.
  checkConstraints(gadgetConstraints(q, layout, visibility), limits, `'${modelPath}'`, true);
  // Loops over weight arrays suit the direct backend best (it translates main to JavaScript once); circom
  // compiles unrolled sums fastest, up to the size its witness code allows (and always without one).
  const unroll = backend === 'direct' ? false : witness ? undefined : true;
  const emitted = emitCircuit(q, { publicInputs: layout, visibility, ...(unroll === undefined ? {} : { unroll }) });
  checkConstraints(emitted.constraints, limits, `'${modelPath}'`);
  doneQ(`${q.layers.length} integer layers, ${emitted.constraints} constraints predicted`);
  // The circuit's identity: the generated source and the templates it includes.
  const sourceSha256 = await circuitSourceHash(emitted.source);

  // What computes the witness: circom's wasm, or for the direct backend the circuit source itself.
  const witnessGenerator = artifactPath(dir, backend === 'direct' ? 'circom' : 'wasm');

  /** The directory's compiled circuit when it is this one, current (read under a lock). */
  const current = async (): Promise<Manifest | undefined> => {
    if (opts.force || !existsSync(artifactPath(dir, 'manifest')) || (witness && !existsSync(witnessGenerator))) return undefined;
    const old = await readManifest(dir).catch(() => undefined);
    const same =
      old && backendOf(old) === backend && old.circuit.circomSha256 === sourceSha256 && old.model.sha256 === model.sha256 && publicInputLayoutOf(old) === layout &&
      canonicalJson(visibilityOf(old)) === canonicalJson(visibility) &&
      old.quantization.calibration.sha256 === calSha && existsSync(artifactPath(dir, 'r1cs')) &&
      (await sha256File(artifactPath(dir, 'r1cs'))) === old.circuit.r1csSha256;
    return same ? old : undefined;
  };
  // Checking is reading (a shared lock: proofs may run meanwhile); compiling changes the directory, under
  // its writer lock (another compile, setup or prove there is refused with a LockError naming it).
  if (!opts.force && existsSync(artifactPath(dir, 'manifest'))) {
    const old = await withDirLock(dir, 'shared', 'compile', current);
    if (old) return { dir, manifest: old, compiled: false };
  }
  return withDirLock(dir, 'exclusive', 'compile', async () => {
    const old = await current();
    if (old) return { dir, manifest: old, compiled: false };
    return writeArtifacts();
  }, { create: true });

  async function writeArtifacts(): Promise<CompileModelResult> {
    // Everything (circuit source, quantized model, r1cs, sym, circuit_js, a refreshed vk, the manifest) is built
    // in a staging directory and committed in one journaled step (src/artifacts/lock.ts) only after the compiler
    // succeeds: a failed, interrupted or killed compile leaves the directory as it was, key and all, or
    // (killed inside the commit) as the next zkonnx process finishes it.
    const old = await readManifest(dir).catch(() => undefined);
    const stage = await stageArtifacts(dir);
    try {
      await stage.write('circom', emitted.source);
      await stage.write('model', serializeQuantizedModel(q));
      const doneC = progress.step(backend === 'direct' ? 'compile: zkonnx direct' : 'compile: circom --O1');
      const bars = stepBars(progress);
      let report: CompileReport;
      try {
        report = await compileWithBackend(backend, stage.path('circom'), stage.dir, opts.circom ?? 'auto', { witness, onProgress: bars.update });
      } finally {
        bars.stop();
      }
      doneC(`${report.constraints} constraints, ${report.wires} wires, ${report.compiler}`);
      // Without a wasm witness generator (--no-witness, or the direct backend, which computes the witness from
      // circuit.circom), an old one (of another circuit) must not stay beside the new r1cs.
      if (!witness || backend === 'direct') stage.drop('wasm');
      const manifest = newManifest(report, await sha256File(stage.path('r1cs')));
      if (manifest.setup) manifest.setup = await refreshKeyMetadata(dir, stage, manifest);
      await stage.write('manifest', serializeManifest(manifest));
      await stage.commit();
      return { dir, manifest, compiled: true };
    } finally {
      stage.discard();
    }

    function newManifest(report: CompileReport, r1csSha256: string): Manifest {
      return {
        format: 'zkonnx-artifacts',
        zkonnxVersion: ZKONNX_VERSION,
        model: { name: q.name, file: basename(modelPath), sha256: model.sha256, opset: model.opset },
        quantization: { multiplierBits, calibration: q.calibration },
        input: q.input,
        output: q.output,
        circuit: {
          circomSha256: sourceSha256,
          r1csSha256,
          constraints: report.constraints,
          predictedConstraints: emitted.constraints,
          publicInputLayout: layout,
          visibility,
          visibilityConstraints: emitted.visibilityConstraints,
          nonLinear: report.nonLinear,
          linear: report.linear,
          wires: report.wires,
          publicInputs: report.publicInputs,
          publicOutputs: report.publicOutputs,
          publicSignals: report.publicSignals,
          compiler: report.compiler,
          backend,
          witnessGenerator: witness,
          compileSeconds: report.seconds,
          compilePeakRssMiB: report.circomPeakRssMiB,
        },
        // Keys made for an identical r1cs stay valid; anything else is dropped (stale).
        setup: old?.setup && old.setup.r1csSha256 === r1csSha256 ? old.setup : undefined,
      };
    }
  }
}

/**
 * A visibility from options (fields left out: the default), each field checked: InputError naming the flag and
 * the values it takes.
 */
export function resolveVisibility(v: Partial<Visibility> | undefined): Visibility {
  const full = { ...DEFAULT_VISIBILITY, ...Object.fromEntries(Object.entries(v ?? {}).filter(([, x]) => x !== undefined)) };
  const parsed = parseVisibility(full);
  if ('bad' in parsed) {
    const allowed: Record<string, readonly string[]> = { input: INPUT_VISIBILITIES, output: OUTPUT_VISIBILITIES, params: PARAM_VISIBILITIES };
    const flag = parsed.bad === 'params' ? 'param' : parsed.bad;
    if (!(parsed.bad in allowed)) throw new InputError(`Unknown visibility field '${parsed.bad}'.`, { hint: 'The fields are input, output and params.' });
    throw new InputError(`Unknown ${flag} visibility '${String((full as Record<string, unknown>)[parsed.bad])}'.`, {
      hint: `--${flag}-visibility takes one of: ${allowed[parsed.bad].join(', ')}.`,
    });
  }
  return parsed;
}

/**
 * The direct backend's progress (step name, fraction 0..1) as the reporter's bars, one per step: a new step
 * ends the previous bar. Reporters without bars show nothing.
 */
function stepBars(progress: ProgressReporter): { update(step: string, fraction: number): void; stop(): void } {
  const PARTS = 1000;
  let bar: { step: string; bar: ProgressBar } | undefined;
  const stop = () => {
    bar?.bar.stop();
    bar = undefined;
  };
  return {
    update(step, fraction) {
      if (!progress.bar) return;
      if (bar?.step !== step) {
        stop();
        bar = { step, bar: progress.bar(`compile: ${step}`, PARTS) };
      }
      bar.bar.update(Math.round(Math.min(1, Math.max(0, fraction)) * PARTS));
    },
    stop,
  };
}
