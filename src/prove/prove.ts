/**
 * prove: float input -> uint8 input -> witness (circom's wasm, or with the direct backend zkonnx's own
 * evaluation of circuit.circom; checked against the integer reference, bit for bit) -> Groth16 proof -> bundle. The input enters the witness in the circuit's public-input layout
 * (src/verify/layout.ts): one uint8 per signal, or packed 31 per signal (the circuit unpacks them).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, readFile, realpath } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { writeFileAtomic } from '../artifacts/io.ts';
import { withDirLock, withFileLock } from '../artifacts/lock.ts';
import { backendOf, circuitSourceHash, publicInputLayoutOf, readManifest, readQuantizedModel, requireFreshSetup, visibilityOf } from '../artifacts/manifest.ts';
import { artifactPath, type ArtifactKind } from '../artifacts/paths.ts';
import { ArtifactError, fileSystemError, InputError, isFileSystemFailure, WitnessMismatchError } from '../errors.ts';
import { fromField, toField, toFieldString } from '../field.ts';
import { flattenInput } from '../io/input.ts';
import { sizeOf } from '../ir/types.ts';
import { silentProgress, type ProgressReporter } from '../progress.ts';
import { loadSnarkjs } from '../toolchain.ts';
import { isIntegerPart, labelTablesOf, outputPartsOf, quantizeModelInput, showsOutputParts, withLabelTables } from '../ir/io.ts';
import type { QuantizedModel } from '../ir/types.ts';
import type { PublicInputLayout } from '../verify/layout.ts';
import { runInteger } from '../reference/integer.ts';
import { dequantizeOutput } from '../verify/dequantize.ts';
import { inputSignals, isDefaultVisibility, signalLayout } from '../verify/layout.ts';
import { commitBytes, commitFieldElements, randomSalt, TAG_INPUT, TAG_OUTPUT } from '../verify/commitment.ts';
import { paramSetProblem, paramSignals, paramsCommitment, withParamSet, type ParamSet } from '../ir/params.ts';
import { BUNDLE_FORMAT, type ProofBundle, type VerifyResult, type ZkonnxVerificationKey } from '../verify/types.ts';
import { parseVerificationKey } from '../verify/key.ts';
import { verifyBundle } from '../verify/verify.ts';
import { BUNDLE_FORMAT_VERSION, ZKONNX_VERSION } from '../version.ts';
import { visibilityWitnessInput, witnessWith } from './witness.ts';

export interface ProveOptions {
  progress?: ProgressReporter;
  /**
   * Hashed input: the salt of the input commitment (a field element). Default: 248 random bits. It is returned
   * in ProveResult.opening, and put in the bundle only with `includeOpening`.
   */
  salt?: bigint;
  /**
   * Hashed input: put the input and its salt into the bundle, so anyone holding it can check the commitment
   * opens to that input. Default false: the bundle states the commitment only.
   */
  includeOpening?: boolean;
  /**
   * Hashed parameters: the weight set to prove with (as `zkonnx commit-model` writes it); default the compiled
   * model's own. It must fit the circuit (src/ir/params.ts paramSetProblem): InputError otherwise.
   */
  params?: ParamSet;
  /**
   * The directory's keys read once (loadKeys), for a process that proves many times (a proving node). Used only
   * while they are the directory's current keys (same vk hash as its manifest); otherwise the files are read.
   */
  keys?: LoadedKeys;
}

/** A directory's proving key bytes and verification key, held in memory between proofs. */
export interface LoadedKeys {
  dir: string;
  vkSha256: string;
  zkey: Uint8Array;
  vk: ZkonnxVerificationKey;
}

/** Read DIR's proving and verification keys once (under its shared lock, so a running setup cannot switch them). */
export async function loadKeys(dir: string): Promise<LoadedKeys> {
  return withDirLock(dir, 'shared', 'load keys', async () => {
    const manifest = await readManifest(dir);
    const setup = requireFreshSetup(dir, manifest);
    let zkey: Uint8Array;
    try {
      zkey = await readFile(artifactPath(dir, 'zkey'));
    } catch (e) {
      throw isFileSystemFailure(e) ? fileSystemError(e, 'read', 'proving key', artifactPath(dir, 'zkey')) : e;
    }
    const vk = await readVerificationKey(artifactPath(dir, 'vk'));
    return { dir, vkSha256: setup.vkSha256, zkey, vk };
  });
}

export interface ProveTimings {
  witnessSeconds: number;
  proveSeconds: number;
  /** The prover's own check of the proof against the directory's verification key. */
  verifySeconds: number;
}

export interface ProveResult {
  bundle: ProofBundle;
  timings: ProveTimings;
  verification: VerifyResult;
  /**
   * Hashed input: what opens its commitment (keep it; the bundle has it only with includeOpening): the uint8
   * input, the salt (decimal) and the commitment (decimal).
   */
  opening?: { input: number[]; salt: string; commitment: string };
}

/**
 * Prove one inference. `input` is the parsed input JSON (object keyed by input name, or a bare array) or
 * a flat Float64Array. Throws WitnessMismatchError if the circuit disagrees with the integer reference.
 * Holds DIR's shared lock from reading the manifest to checking the proof against the directory's key, so a
 * concurrent `setup` cannot switch the key in between (it is refused with a LockError, as this is while a
 * setup runs).
 */
export async function prove(dir: string, input: unknown, opts: ProveOptions = {}): Promise<ProveResult> {
  return withDirLock(dir, 'shared', 'prove', () => proveLocked(dir, input, opts));
}

async function proveLocked(dir: string, input: unknown, opts: ProveOptions): Promise<ProveResult> {
  const progress = opts.progress ?? silentProgress;
  const snarkjs = await loadSnarkjs();
  const manifest = await readManifest(dir);
  const setup = requireFreshSetup(dir, manifest);
  const backend = backendOf(manifest);
  if (backend === 'direct') await requireDirectWitnessSource(dir, manifest.circuit.circomSha256);
  else if (manifest.circuit.witnessGenerator === false || !existsSync(artifactPath(dir, 'wasm'))) {
    throw new ArtifactError(`'${dir}' was compiled without a witness generator (circuit_js/circuit.wasm), so it cannot prove.`, {
      hint: 'Recompile without --no-witness, or with --backend direct (which needs no circuit_js; with circom, circuits of several hundred thousand constraints need a native circom on PATH).',
    });
  }
  const compiled = await readQuantizedModel(dir);
  const vis = visibilityOf(manifest);
  if (opts.params !== undefined && vis.params !== 'hashed') {
    throw new InputError(`'${dir}' was compiled with fixed parameters (constants of the circuit): a weight set cannot be given.`, {
      hint: 'Compile with --param-visibility hashed to prove with committed weight sets.',
    });
  }
  if (opts.params !== undefined) {
    const problem = paramSetProblem(compiled, opts.params);
    if (problem) throw new InputError(`The weight set ${problem}: it does not fit the circuit of '${dir}'.`, { hint: `Make it with \`zkonnx commit-model MODEL.onnx --like ${dir}\`.` });
  }
  if ((opts.salt !== undefined || opts.includeOpening) && vis.input !== 'hashed') {
    throw new InputError(`A salt or an opening only applies to a hashed input; '${dir}' has a ${vis.input} input.`);
  }
  const model = opts.params ? withParamSet(compiled, opts.params) : compiled;
  const flat = input instanceof Float64Array ? input : flattenInput(input, model.input);
  if (flat.length !== sizeOf(model.input.shape)) {
    throw new InputError(`input: ${flat.length} values given, the model's input '${model.input.name}' has ${sizeOf(model.input.shape)} (shape [${model.input.shape}]).`);
  }
  // uint8 for float inputs; integer inputs as they are, refused outside the bounds the circuit checks.
  const xq = quantizeModelInput(model.input, flat);
  const expected = runInteger(model, xq);

  const layout = publicInputLayoutOf(manifest);
  const nIn = sizeOf(model.input.shape);
  const nOut = sizeOf(model.output.shape);
  const sl = signalLayout(vis, layout, nIn, nOut);
  const salt = vis.input === 'hashed' ? opts.salt ?? randomSalt() : undefined;
  const params = vis.params === 'hashed' ? paramSignals(model) : undefined;
  const outputInts = expected.map((v) => BigInt(v));
  const commitments: NonNullable<ProofBundle['commitments']> = {};
  if (vis.output === 'hashed') commitments.output = commitFieldElements(TAG_OUTPUT, outputInts.map(toField)).toString();
  if (salt !== undefined) commitments.input = commitBytes(TAG_INPUT, xq, salt).toString();
  if (params) {
    commitments.params = paramsCommitment(model).toString();
    // A weight set states its commitment: it must be its weights' (a stale or doctored file is refused).
    const stated = (opts.params as { commitment?: unknown } | undefined)?.commitment;
    if (stated !== undefined && stated !== '' && stated !== commitments.params) {
      throw new InputError(`The weight set's 'commitment' field (${String(stated).slice(0, 80)}) is not the commitment of its weights (${commitments.params}).`, {
        hint: 'Remake it with `zkonnx commit-model --out FILE`, or drop the field.',
      });
    }
  }
  // The public signals the proof must have, in the layout's order.
  const want: string[] = new Array(sl.total);
  if (vis.output === 'hashed') want[sl.outputs.at] = commitments.output!;
  else expected.forEach((v, k) => (want[sl.outputs.at + k] = toFieldString(v)));
  if (sl.inputHash >= 0) want[sl.inputHash] = commitments.input!;
  if (sl.paramsHash >= 0) want[sl.paramsHash] = commitments.params!;
  if (vis.input === 'public') modelInputSignals(model, layout, xq).forEach((v, k) => (want[sl.input.at + k] = v.toString()));

  const t0 = performance.now();
  const wIn = model.input.parts?.some(isIntegerPart)
    ? { in: modelInputSignals(model, layout, xq) }
    : visibilityWitnessInput(layout, vis, xq, { salt, params });
  const witness = await witnessWith(dir, backend, wIn);
  // The circuit's own values (wire 0 is the constant 1): with public outputs, the outputs; always, every public
  // signal against what the integer reference and the commitments say.
  const got = witness.values.slice(1, 1 + sl.total);
  if (vis.output === 'public') {
    const bad = expected.findIndex((v, k) => toField(v) !== got[sl.outputs.at + k]);
    if (bad >= 0) {
      throw new WitnessMismatchError(
        `The circuit's output ${bad} is ${fromField(got[sl.outputs.at + bad])} but the integer reference says ${expected[bad]}.`,
        { hint: 'This is a zkonnx bug; please report it with the model and input.' },
      );
    }
  }
  const badSignal = want.findIndex((v, i) => got[i].toString() !== v);
  if (badSignal >= 0) {
    const what = badSignal === sl.inputHash ? 'input commitment' : badSignal === sl.paramsHash ? 'parameter commitment' : vis.output === 'hashed' && badSignal === sl.outputs.at ? 'output commitment' : `public signal ${badSignal}`;
    throw new WitnessMismatchError(`The circuit's ${what} is ${got[badSignal]} but zkonnx computes ${want[badSignal]} off the circuit.`, {
      hint: 'This is a zkonnx bug; please report it with the model and input.',
    });
  }
  const tWitness = performance.now();
  // Build (or reuse) the BN254 curve outside the timed section: it is a one-time cost per process.
  await snarkjs.curves.getCurveFromName('bn128');
  const t1 = performance.now();
  const done = progress.step('prove: groth16');
  const keys = opts.keys && opts.keys.vkSha256 === setup.vkSha256 && resolve(opts.keys.dir) === resolve(dir) ? opts.keys : undefined;
  const zkey = keys ? { type: 'mem', data: keys.zkey } : artifactPath(dir, 'zkey');
  const { proof, publicSignals } = await snarkjs.groth16.prove(zkey, { type: 'mem', data: witness.bin });
  const t2 = performance.now();
  done();

  const showInput = vis.input === 'public' || (vis.input === 'hashed' && opts.includeOpening);
  const outputValues = dequantizeOutput(model.output.quant, outputInts);
  // The directory's key, read once: the bundle is checked against it below, and its label tables (a
  // classifier's class index -> label) are the ones the bundle states: the key pins them, the proof covers the
  // index (a key made before label tables, or before the model had one, states none, and neither does the bundle).
  const vk = keys?.vk ?? (await readVerificationKey(artifactPath(dir, 'vk')));
  const outSpec = withLabelTables(model.output, labelTablesOf(vk.zkonnx.output));
  const bundle: ProofBundle = {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    zkonnxVersion: ZKONNX_VERSION,
    modelSha256: manifest.model.sha256,
    vkSha256: setup.vkSha256,
    keyKind: setup.keyKind,
    circuit: {
      constraints: manifest.circuit.constraints, wires: manifest.circuit.wires, publicSignals: manifest.circuit.publicSignals,
      publicInputs: { layout, signals: sl.input.count },
      ...(isDefaultVisibility(vis) ? {} : { visibility: vis }),
    },
    quantization: { input: model.input, output: outSpec },
    input: { name: model.input.name, shape: model.input.shape, ...(showInput ? { quantized: xq } : {}) },
    output: {
      name: model.output.name,
      shape: model.output.shape,
      quantized: outputInts.map(String),
      values: outputValues,
      // Several outputs: each by name (slices of `values`); an output whose Softmax the circuit leaves out says so;
      // a class-index output shows its label table.
      ...(showsOutputParts(outSpec) ? { parts: outputPartsOf(outSpec, outputValues) } : {}),
    },
    publicSignals,
    ...(Object.keys(commitments).length ? { commitments } : {}),
    ...(showInput && salt !== undefined ? { opening: { salt: salt.toString() } } : {}),
    proof,
    createdAt: new Date().toISOString(),
  };
  // The public signals snarkjs returns are the witness's; they must be exactly the layout's.
  if (publicSignals.length !== want.length || publicSignals.some((s: string, i: number) => s !== want[i])) {
    throw new WitnessMismatchError('The proof\'s public signals are not the expected outputs, commitments and inputs.');
  }
  // Check our own proof against the directory's key (~20 ms): a key file that does not match the manifest
  // would otherwise only show up when someone else verifies.
  const t3 = performance.now();
  const check = await verifyBundle(bundle, vk);
  const t4 = performance.now();
  if (!check.valid) {
    throw new ArtifactError(`The proof does not verify under '${dir}'s verification key (${check.reason}): the key files do not match.`, {
      hint: `Run \`zkonnx setup ${dir}\` again.`,
    });
  }
  return {
    bundle,
    timings: { witnessSeconds: (tWitness - t0) / 1000, proveSeconds: (t2 - t1) / 1000, verifySeconds: (t4 - t3) / 1000 },
    verification: check,
    ...(salt !== undefined ? { opening: { input: xq, salt: salt.toString(), commitment: commitments.input! } } : {}),
  };
}

/**
 * The direct backend computes the witness from circuit.circom and the templates it includes: they must be the
 * ones the r1cs was compiled from (a changed template, say after upgrading zkonnx, would give a witness for
 * another circuit). ArtifactError naming what is missing or changed.
 */
async function requireDirectWitnessSource(dir: string, circomSha256: string): Promise<void> {
  const path = artifactPath(dir, 'circom');
  const hint = `Run \`zkonnx compile\` again (--backend direct, --out ${dir}).`;
  if (!existsSync(path)) {
    throw new ArtifactError(`'${dir}' has no circuit source (circuit.circom), from which the direct backend computes the witness, so it cannot prove.`, { hint });
  }
  let source: string;
  try {
    source = await readFile(path, 'utf8');
  } catch (e) {
    throw isFileSystemFailure(e) ? fileSystemError(e, 'read', 'circuit source', path) : e;
  }
  if ((await circuitSourceHash(source)) !== circomSha256) {
    throw new ArtifactError(`The circuit source in '${dir}' (circuit.circom with zkonnx's templates) is not the one its circuit was compiled from, so the direct backend cannot compute its witness.`, { hint });
  }
}

export interface ProveToFileOptions extends ProveOptions {
  /**
   * The bundle file (default DIR/bundle.json): a new file or an existing regular file, not a symbolic link,
   * device or FIFO (the bundle replaces the file, through a temp file and a rename: it would replace the link
   * or device, not write through it), and not one of DIR's artifacts or zkonnx's lock, journal or stage files.
   */
  out?: string;
  /** Write a new file DIR/bundles/bundle-<UTC time>-<random>.json instead (not with `out`). */
  unique?: boolean;
  /**
   * Hashed input: where to write the opening (the quantized input, the salt and the commitment; keep it
   * private: whoever holds it can show what the proof was about). Default: the bundle's path with
   * `.opening.json` for `.json`.
   */
  openingOut?: string;
}

export const OPENING_FORMAT = 'zkonnx-opening';

/** The opening file of a hashed input (`zkonnx prove` writes it beside the bundle; `zkonnx verify --open-input` reads it). */
export interface OpeningFile {
  format: typeof OPENING_FORMAT;
  /** The bundle's vkSha256 and input tensor, so an opening is not mistaken for another model's. */
  vkSha256: string;
  input: { name: string; shape: number[]; quantized: number[] };
  /** The salt, 0x-hex (as `prove --salt` and `verify --salt` take it). */
  salt: string;
  /** The input commitment, decimal (as the bundle's commitments.input). */
  commitment: string;
}

/** The default opening path for a bundle path. */
export function openingPathFor(bundlePath: string): string {
  return bundlePath.replace(/(\.json)?$/i, '.opening.json');
}

/** A fresh bundle path: DIR/bundles/bundle-<UTC time, to the millisecond>-<8 random hex digits>.json. */
export function uniqueBundlePath(dir: string): string {
  const time = new Date().toISOString().replace(/[-:]/g, '').replace('.', '');
  return join(dir, 'bundles', `bundle-${time}-${randomBytes(4).toString('hex')}.json`);
}

/**
 * prove(), then write the bundle (atomically) to `out`, DIR/bundle.json, or with `unique` a new file under
 * DIR/bundles/. The file is locked from before proving until written: a second process writing the same file
 * meanwhile is refused with a LockError (rather than one bundle silently replacing the other). The path is
 * checked before any proving (checkBundleTarget): an empty path, a symbolic link, a device, FIFO or socket,
 * and DIR's own artifacts are refused with an InputError naming it; a directory is a FileSystemError (EISDIR).
 */
export async function proveToFile(dir: string, input: unknown, opts: ProveToFileOptions = {}): Promise<ProveResult & { path: string; openingPath?: string }> {
  if (opts.unique && opts.out !== undefined) throw new InputError('Give a bundle path (--out) or ask for a new unique one (--unique), not both.');
  const path = opts.unique ? uniqueBundlePath(dir) : opts.out ?? artifactPath(dir, 'bundle');
  // A bad input is reported as such before any lock is taken or work done (and whatever else runs meanwhile).
  const manifest = await readManifest(dir);
  const flat = input instanceof Float64Array ? input : flattenInput(input, manifest.input);
  await checkBundleTarget(dir, path);
  // A hashed input's opening is written too: its path is held to the same rules.
  if (visibilityOf(manifest).input === 'hashed') await checkBundleTarget(dir, opts.openingOut ?? openingPathFor(path));
  return withFileLock(path, 'prove', async () => {
    const r = await prove(dir, flat, opts);
    let openingPath: string | undefined;
    if (r.opening) {
      openingPath = opts.openingOut ?? openingPathFor(path);
      const file: OpeningFile = {
        format: OPENING_FORMAT, vkSha256: r.bundle.vkSha256,
        input: { name: r.bundle.input.name, shape: r.bundle.input.shape, quantized: r.opening.input },
        salt: `0x${BigInt(r.opening.salt).toString(16)}`, commitment: r.opening.commitment,
      };
      await writeFileAtomic(openingPath, JSON.stringify(file, null, 1) + '\n', 'opening');
    }
    await writeFileAtomic(path, JSON.stringify(r.bundle, null, 1) + '\n', 'bundle');
    return { ...r, path, ...(openingPath ? { openingPath } : {}) };
  }, { what: 'bundle', hint: 'Wait for it to finish, or write elsewhere: `--out FILE`, or `--unique` for a new file under DIR/bundles/.' });
}

/** DIR's files a bundle must never replace (every artifact but the bundle itself). */
const ARTIFACT_NAMES: Readonly<Partial<Record<ArtifactKind, string>>> = {
  circom: 'circuit source', r1cs: 'constraint system', sym: 'symbol file', wasm: 'witness generator',
  model: 'quantized model', manifest: 'manifest', zkey: 'proving key', vk: 'verification key',
};

/**
 * `path` with every symbolic link resolved, for a path that need not exist: the real path of its nearest
 * existing ancestor, then the rest of its names. Throws what realpath throws other than ENOENT.
 */
async function realTarget(path: string): Promise<string> {
  const rest: string[] = [];
  for (let at = resolve(path); ; at = dirname(at)) {
    try {
      return join(await realpath(at), ...rest.reverse());
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(at) === at) throw e;
      rest.push(basename(at));
    }
  }
}

function fileKind(st: Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Refuse a bundle path before proving to it: empty; a symbolic link, device, FIFO or socket (the bundle is
 * written by renaming a temp file over the path, which would replace the link or device itself: give the
 * link's target instead); one of DIR's artifacts (manifest.json, verification_key.json, circuit.zkey, ...),
 * anything under DIR/circuit_js/, or a zkonnx lock, journal or stage file (DIR/.zkonnx*, any *.zkonnx.lock),
 * compared by real path so no link or `..` gets around it. Throws InputError naming the path; a directory
 * (EISDIR) or an unreachable path is the FileSystemError the write would have met.
 */
export async function checkBundleTarget(dir: string, path: string): Promise<void> {
  const hint = 'Give another file with --out (a new file, or a regular file to replace), or leave --out out to write DIR/bundle.json.';
  if (path === '') throw new InputError('The bundle path is empty.', { hint });
  let st: Stats | null = null;
  let real: string;
  try {
    st = await lstat(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
    real = await realTarget(path);
  } catch (e) {
    throw isFileSystemFailure(e) ? fileSystemError(e, 'write', 'bundle', path) : e;
  }
  if (st?.isDirectory()) {
    const e = Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${path}'`), { code: 'EISDIR', syscall: 'open', path });
    throw fileSystemError(e, 'write', 'bundle', path);
  }
  if (st && !st.isFile()) {
    throw new InputError(`Refusing to write the bundle to '${path}': it is ${fileKind(st)}, not a regular file (the bundle replaces the file it is written to, so it would replace the ${st.isSymbolicLink() ? 'link' : 'file'} rather than write through it).`, {
      hint: st.isSymbolicLink() ? 'Give the file the link points to (or another file) with --out.' : hint,
    });
  }
  const refuse = (what: string) => new InputError(`Refusing to write the bundle to '${path}': it is ${what}.`, { hint });
  if (basename(real).endsWith('.zkonnx.lock')) throw refuse('a zkonnx lock file');
  let realDir: string;
  try {
    realDir = await realpath(dir);
  } catch {
    return; // no artifact directory to protect: prove() reports it
  }
  const rel = relative(realDir, real);
  if (rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel)) {
    const first = rel.split(sep)[0];
    if (first === 'circuit_js') throw refuse(`in '${dir}'s witness generator (circuit_js/)`);
    if (first.startsWith('.zkonnx')) throw refuse(`a zkonnx lock, journal or stage file of '${dir}'`);
  }
  for (const [kind, name] of Object.entries(ARTIFACT_NAMES) as [ArtifactKind, string][]) {
    const a = artifactPath(realDir, kind);
    const realA = await realpath(a).catch(() => a);
    if (real === a || real === realA) throw refuse(`the ${name} of '${dir}' (${basename(a)})`);
  }
}

/** Read a verification key file written by `zkonnx setup` (shape-checked: InputError naming the field). */
export async function readVerificationKey(path: string): Promise<ZkonnxVerificationKey> {
  return parseVerificationKey(await readFile(path, 'utf8'), `'${path}'`);
}

/**
 * The public input signals of a model's integer input: as inputSignals gives them for uint8 inputs; with an
 * integer input (plain layout only), each value as a field element (negative ones as r + x).
 */
export function modelInputSignals(model: Pick<QuantizedModel, 'input'>, layout: PublicInputLayout, xq: readonly number[]): bigint[] {
  if (!model.input.parts?.some(isIntegerPart)) return inputSignals(layout, xq);
  if (layout !== 'plain') throw new RangeError('an integer input needs the plain public-input layout');
  return xq.map((v) => toField(v));
}
