/**
 * `zkonnx bench`: what a model costs to prove, layer by layer, and against circomlib-ml's construction.
 *
 * Per model: constraints (per layer from the op cost formulas, cross-checked against the compiled r1cs),
 * wires, public signals, domain; compile, setup, witness, prove and verify times (median, min, max of the
 * runs); peak memory per stage (each stage once in its own process); key and proof sizes; accuracy of the
 * quantized model against onnxruntime's float output on sample inputs. With `baseline`, the same for the
 * circomlib-ml construction of the model (src/bench/baseline.ts) and the ratios. The EVM verifier's runtime
 * bytecode and verifyProof gas (solc + @ethereumjs/evm, optional packages loaded on first use).
 */
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readManifest, readQuantizedModel } from '../artifacts/manifest.ts';
import { artifactPath, artifactsRoot } from '../artifacts/paths.ts';
import { loadModelFile } from '../compile/model.ts';
import { emitCircuit, type LayerCost } from '../emit/circuit.ts';
import { InputError, ZkonnxError } from '../errors.ts';
import { calldata, encodeVerifierCall } from '../evm/calldata.ts';
import { compileContract, deployContract } from '../evm/measure.ts';
import { EIP170_MAX_RUNTIME_BYTES, exportSolidity } from '../evm/solidity.ts';
import { flattenCalibration } from '../io/input.ts';
import type { FloatModel } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import { silentProgress, type ProgressReporter } from '../progress.ts';
import { importOptional, loadSnarkjs, MissingPackageError } from '../toolchain.ts';
import { prove, readVerificationKey } from '../prove/prove.ts';
import { computeWitness } from '../prove/witness.ts';
import { quantizeInput } from '../quantize/quantize.ts';
import { runInteger } from '../reference/integer.ts';
import { dequantizeOutput } from '../verify/dequantize.ts';
import type { PublicInputLayout } from '../verify/layout.ts';
import type { ProofBundle, ZkonnxVerificationKey } from '../verify/types.ts';
import { verifyBundle } from '../verify/verify.ts';
import { BaselineUnsupported, emitBaseline, type BaselineLayer } from './baseline.ts';

/** 2 G1 points (64 bytes each) and 1 G2 point (128 bytes), uncompressed, as a Solidity verifier takes them. */
const GROTH16_PROOF_BYTES = 256;

export interface Stat {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export function stat(v: number[]): Stat {
  const s = [...v].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return { median: s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2, min: s[0], max: s[s.length - 1], runs: s.length };
}

/** One layer's constraints, as emitCircuit predicts them (the sum is checked against the r1cs). */
export type LayerReport = Omit<LayerCost, 'index'>;

export interface StageTimings {
  compile: Stat;
  setup: Stat;
  witness: Stat;
  prove: Stat;
  verify: Stat;
}

export interface BaselineReport {
  constraints: number | null;
  nonLinear: number | null;
  /** The published-formula count (what circom reports as non-linear when compiled). */
  predictedNonLinear: number;
  layers: BaselineLayer[];
  compiled: boolean;
  /** Why it was not compiled or proven, when it was not. */
  note?: string;
  timings?: Omit<StageTimings, 'verify'> & { verify: Stat };
  memory?: { compile: number | null; setup: number; prove: number };
  sizes?: { zkeyBytes: number };
  ratios: { constraints: number | null; nonLinear: number; prove: number | null; setup: number | null; memory: number | null };
}

/** The generated Solidity verifier (src/evm): size and gas on a JavaScript EVM. */
export interface EvmReport {
  layout: PublicInputLayout;
  publicSignals: number;
  /** Runtime bytecode from solc 0.8 (optimizer on); the prediction when the contract is too big to deploy. */
  bytecodeBytes: number;
  /** True when bytecodeBytes is predicted (over EIP-170's 24,576 bytes: not compiled, not deployed). */
  predicted: boolean;
  /** verifyProof's execution gas for the bench's first proof (no 21,000 base, no calldata); null when not deployable. */
  verifyGas: number | null;
  /** The same call as a transaction: + 21,000 + calldata. */
  transactionGas: number | null;
  /** verifyProof's execution gas with every public signal non-zero (a zero signal skips its ecMul): the worst case. */
  maxVerifyGas: number | null;
}

export interface ModelReport {
  name: string;
  file: string;
  /** Rows of the compiled r1cs. */
  constraints: number;
  /** Non-linear constraints, as circom reports them. */
  nonLinear: number;
  linear: number;
  /** Sum of the op cost formulas; must equal `constraints`. */
  predictedConstraints: number;
  wires: number;
  publicSignals: number;
  domainPower: number;
  layers: LayerReport[];
  outputConstraints: number;
  timings: StageTimings;
  /** Peak RSS in MiB of each stage in its own process (compile: circom's, when larger). */
  memory: { compile: number | null; setup: number; prove: number; verify: number };
  /** proofBytes: a Groth16 proof on BN254 (two G1 points and one G2 point, uncompressed); proofJsonBytes: snarkjs' JSON of it. */
  sizes: { zkeyBytes: number; vkBytes: number; proofBytes: number; proofJsonBytes: number; bundleBytes: number };
  accuracy: { samples: number; top1Agreement: number | null; worstAbsError: number } | null;
  /** null when the EVM tools (solc, @ethereumjs/evm) are not installed or the key has no EVM verifier; see notes. */
  evm: EvmReport | null;
  notes: string[];
  baseline?: BaselineReport;
}

export interface BenchReport {
  machine: string;
  date: string;
  runs: number;
  models: ModelReport[];
}

export interface BenchOptions {
  /** Proofs (and verifications) per model; compile and setup run `buildRuns` times. Default 10. */
  runs?: number;
  buildRuns?: number;
  baseline?: boolean;
  /** Calibration file for models without a `calibration.json` next to them. */
  calibration?: string;
  /** Sample inputs for the accuracy figures (default: the calibration set). */
  data?: string;
  /** Where artifacts go (default artifacts/bench/<model>). */
  out?: string;
  /** Skip compiling the baseline above this many predicted constraints (circom2's WASM memory). Default 400,000. */
  baselineLimit?: number;
  /** Public-input layout to compile with (zkonnx compile --public-inputs). Default plain. */
  publicInputs?: PublicInputLayout;
  /** Measure the EVM verifier (needs solc and @ethereumjs/evm). Default true. */
  evm?: boolean;
  progress?: ProgressReporter;
}

const here = dirname(fileURLToPath(import.meta.url));
const BIN = resolve(here, '../../bin/zkonnx.js');
// Run from source (tsx) the stage is stage.ts and needs tsx; run from dist/ (the installed CLI) it is stage.js.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const STAGE = resolve(here, FROM_SOURCE ? 'stage.ts' : 'stage.js');

function runJson(args: string[]): Promise<Record<string, unknown>> {
  return new Promise((res, rej) => {
    execFile(process.execPath, args, { maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
      if (err) return rej(new Error(`${args.slice(0, 3).join(' ')} failed: ${stderr.split('\n').filter(Boolean).slice(-3).join(' ') || err.message}`));
      const lines = stdout.trim().split('\n');
      res(JSON.parse(lines[lines.length - 1]));
    });
  });
}

const cli = (...a: string[]) => runJson([BIN, ...a, '--json', '--quiet']);
const stage = (name: string, a: object) => runJson([...(FROM_SOURCE ? ['--import', 'tsx'] : []), STAGE, name, JSON.stringify(a)]);

const argmax = (v: ArrayLike<number>) => {
  let b = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[b]) b = i;
  return b;
};

function finalSoftmax(notes: string[], v: number[]): number[] {
  const which = notes.find((n) => /final (Log)?Softmax/.test(n));
  if (!which) return v;
  const m = Math.max(...v);
  const z = v.reduce((a, x) => a + Math.exp(x - m), 0);
  return /LogSoftmax/.test(which) ? v.map((x) => x - m - Math.log(z)) : v.map((x) => Math.exp(x - m) / z);
}

async function accuracy(modelFile: string, model: FloatModel, dir: string, samples: Float64Array[]): Promise<ModelReport['accuracy']> {
  const ort = await importOptional('onnxruntime-node', () => import('onnxruntime-node'));
  const session = await ort.InferenceSession.create(await readFile(modelFile));
  const q = await readQuantizedModel(dir);
  let agree = 0;
  let worst = 0;
  const vector = sizeOf(model.output.shape) > 1;
  for (const x of samples) {
    const r = await session.run({ [model.input.name]: new ort.Tensor('float32', Float32Array.from(x), model.input.shape) });
    const f = r[session.outputNames[0]].data as Float32Array;
    // A final Softmax the circuit leaves out is applied here, so outputs compare like with like.
    const out = finalSoftmax(model.notes, dequantizeOutput(q.output.quant, runInteger(q, quantizeInput(q.input.quant, x))));
    if (vector && argmax(out) === argmax(f)) agree++;
    out.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - Number(f[i])))));
  }
  return { samples: samples.length, top1Agreement: vector ? agree / samples.length : null, worstAbsError: worst };
}

/** Benchmark one model file. */
export async function benchModel(modelFile: string, opts: BenchOptions = {}): Promise<ModelReport> {
  const progress = opts.progress ?? silentProgress;
  const runs = opts.runs ?? 10;
  const buildRuns = opts.buildRuns ?? 1;
  if (!existsSync(modelFile)) throw new InputError(`'${modelFile}' does not exist.`);
  const { model } = await loadModelFile(modelFile);
  const name = modelFile.replace(/^.*\//, '').replace(/\.onnx$/, '');
  const label = `${dirname(modelFile).replace(/^.*\//, '')}/${name}`;
  const calFile = existsSync(join(dirname(modelFile), 'calibration.json')) ? join(dirname(modelFile), 'calibration.json') : opts.calibration;
  if (!calFile) throw new InputError(`No calibration for '${modelFile}': put a calibration.json next to it or pass --calibration FILE.`);
  const dir = join(opts.out ?? join(artifactsRoot(), 'bench'), label.replace('/', '-') + (opts.publicInputs === 'packed' ? '-packed' : ''));
  await mkdir(dir, { recursive: true });

  const compileT: number[] = [];
  let compileMem: number | null = null;
  for (let i = 0; i < buildRuns; i++) {
    const done = progress.step(`bench ${label}: compile${buildRuns > 1 ? ` ${i + 1}/${buildRuns}` : ''}`);
    const r = await cli('compile', modelFile, '--calibration', calFile, '--out', dir, '--force', ...(opts.publicInputs ? ['--public-inputs', opts.publicInputs] : []));
    compileT.push(r.seconds as number);
    compileMem = Math.max(compileMem ?? 0, r.peakRssMiB as number);
    done(`${(r.seconds as number).toFixed(1)} s, ${r.constraints} constraints`);
  }
  const setupT: number[] = [];
  let setupMem = 0;
  for (let i = 0; i < buildRuns; i++) {
    const done = progress.step(`bench ${label}: dev setup`);
    const r = await cli('setup', dir);
    setupT.push(r.seconds as number);
    setupMem = Math.max(setupMem, r.peakRssMiB as number);
    done(`${(r.seconds as number).toFixed(1)} s`);
  }
  const m = await readManifest(dir);
  const q = await readQuantizedModel(dir);
  const emitted = emitCircuit(q);

  const samples = flattenCalibration(JSON.parse(await readFile(opts.data ?? calFile, 'utf8')), model.input, opts.data ?? calFile);
  const vk = await readVerificationKey(artifactPath(dir, 'vk'));
  const witnessT: number[] = [];
  const proveT: number[] = [];
  const verifyT: number[] = [];
  let lastBundle = '';
  let firstBundle: ProofBundle | null = null;
  const done = progress.step(`bench ${label}: ${runs} proofs`);
  for (let i = 0; i < runs; i++) {
    const { bundle, timings } = await prove(dir, samples[i % samples.length]);
    const t = performance.now();
    const v = await verifyBundle(bundle, vk);
    verifyT.push((performance.now() - t) / 1000);
    if (!v.valid) throw new Error(`bench: proof ${i} of ${label} did not verify: ${v.reason}`);
    witnessT.push(timings.witnessSeconds);
    proveT.push(timings.proveSeconds);
    lastBundle = JSON.stringify(bundle);
    firstBundle ??= bundle;
  }
  done(`median ${stat(proveT).median.toFixed(3)} s`);
  // Peak memory of proving and verifying alone: each once in a fresh process.
  const inputFile = join(dir, 'bench-input.json');
  await writeFile(inputFile, JSON.stringify({ [model.input.name]: Array.from(samples[0]) }));
  const bundleFile = join(dir, 'bench-bundle.json');
  const p = await cli('prove', dir, '--input', inputFile, '--out', bundleFile);
  const v = await cli('verify', bundleFile, '--vk', artifactPath(dir, 'vk'));
  const acc = await accuracy(modelFile, model, dir, samples);
  const notes = [...q.notes];
  let evm: EvmReport | null = null;
  if (opts.evm ?? true) {
    const doneEvm = progress.step(`bench ${label}: EVM verifier`);
    evm = await benchEvmVerifier(vk, firstBundle!, dir, notes);
    doneEvm(evm ? `${evm.bytecodeBytes} bytes${evm.predicted ? ' (predicted)' : ''}, verifyProof ${evm.verifyGas ?? '-'} gas` : 'not measured');
  }

  const report: ModelReport = {
    name: opts.publicInputs === 'packed' ? `${label} (packed)` : label, file: modelFile,
    constraints: m.circuit.constraints, nonLinear: m.circuit.nonLinear, linear: m.circuit.linear,
    predictedConstraints: emitted.constraints, wires: m.circuit.wires, publicSignals: m.circuit.publicSignals,
    domainPower: m.setup!.domainPower,
    layers: emitted.layers.map(({ index: _i, ...l }) => l),
    outputConstraints: emitted.outputConstraints,
    timings: { compile: stat(compileT), setup: stat(setupT), witness: stat(witnessT), prove: stat(proveT), verify: stat(verifyT) },
    memory: { compile: compileMem, setup: setupMem, prove: p.peakRssMiB as number, verify: v.peakRssMiB as number },
    sizes: {
      zkeyBytes: statSync(artifactPath(dir, 'zkey')).size, vkBytes: statSync(artifactPath(dir, 'vk')).size,
      proofBytes: GROTH16_PROOF_BYTES, proofJsonBytes: JSON.stringify(JSON.parse(lastBundle).proof).length, bundleBytes: lastBundle.length,
    },
    accuracy: acc,
    evm,
    notes,
  };
  if (report.predictedConstraints !== report.constraints) {
    report.notes.push(`the op cost formulas predict ${report.predictedConstraints} constraints but the r1cs has ${report.constraints}`);
  }
  if (opts.baseline) report.baseline = await benchBaseline(model, dir, samples, report, opts);
  return report;
}

/**
 * Export the key's Solidity verifier, compile it with solc and call verifyProof on @ethereumjs/evm with
 * `bundle`. A contract over EIP-170 is not compiled: its predicted size is reported with a note. Without solc
 * or @ethereumjs/evm installed: null and a note naming the package.
 */
export async function benchEvmVerifier(vk: ZkonnxVerificationKey, bundle: ProofBundle, dir: string, notes: string[]): Promise<EvmReport | null> {
  const v = exportSolidity(vk, { maxRuntimeBytes: Infinity });
  const base = { layout: v.layout, publicSignals: v.publicSignals };
  if (v.predictedBytecodeBytes > EIP170_MAX_RUNTIME_BYTES) {
    notes.push(`EVM verifier: ${v.publicSignals} public signals (${v.layout} input) make ~${v.predictedBytecodeBytes.toLocaleString('en')} bytes of runtime code (predicted), over EIP-170's ${EIP170_MAX_RUNTIME_BYTES.toLocaleString('en')}: not deployable, so not measured; compile with --public-inputs packed, or --input-visibility hashed (and --output-visibility hashed)`);
    return { ...base, bytecodeBytes: v.predictedBytecodeBytes, predicted: true, verifyGas: null, transactionGas: null, maxVerifyGas: null };
  }
  let deployed;
  try {
    const c = await compileContract(v.source, v.contractName, { cacheDir: dir });
    deployed = await deployContract(c.creation);
  } catch (e) {
    if (e instanceof MissingPackageError) {
      notes.push(`EVM verifier not measured: ${e.shortMessage} ${e.hint ?? ''}`.trim());
      return null;
    }
    throw e;
  }
  await writeFile(join(dir, `${v.contractName}.sol`), v.source);
  const call = calldata(bundle);
  const r = await deployed.call(call.calldata);
  if (!r.success || r.returnValue[31] !== 1) throw new ZkonnxError(`bench: the EVM verifier rejected a proof that verifyBundle accepts (${r.error ?? 'returned false'}).`);
  // Worst case: every signal non-zero (the pairing costs the same whether or not it holds).
  const pair = (p: string[]) => [BigInt(p[0]), BigInt(p[1])] as const;
  const worst = await deployed.call(
    encodeVerifierCall({ a: pair(call.a), b: [pair(call.b[0]), pair(call.b[1])], c: pair(call.c), publicSignals: call.publicSignals.map((x) => BigInt(x) || 1n) }),
  );
  return { ...base, bytecodeBytes: deployed.runtimeBytes, predicted: false, verifyGas: r.executionGas, transactionGas: r.transactionGas, maxVerifyGas: worst.executionGas };
}

async function benchBaseline(model: FloatModel, dir: string, samples: Float64Array[], ours: ModelReport, opts: BenchOptions): Promise<BaselineReport> {
  const progress = opts.progress ?? silentProgress;
  const runs = opts.runs ?? 10;
  const limit = opts.baselineLimit ?? 400_000;
  let b;
  try {
    b = emitBaseline(model);
  } catch (e) {
    if (!(e instanceof BaselineUnsupported)) throw e;
    return { constraints: null, nonLinear: null, predictedNonLinear: 0, layers: [], compiled: false, note: e.message, ratios: { constraints: null, nonLinear: 0, prove: null, setup: null, memory: null } };
  }
  const ratios = { constraints: null as number | null, nonLinear: b.nonLinear / ours.nonLinear, prove: null as number | null, setup: null as number | null, memory: null as number | null };
  if (b.nonLinear > limit) {
    return {
      constraints: null, nonLinear: null, predictedNonLinear: b.nonLinear, layers: b.layers, compiled: false, ratios,
      note: `not compiled: ${b.nonLinear.toLocaleString('en')} constraints is beyond what circom2 (WASM, 4 GB) compiles (limit ${limit.toLocaleString('en')}); the count is circomlib-ml's formula`,
    };
  }
  const bdir = join(dir, 'baseline');
  await rm(bdir, { recursive: true, force: true });
  await mkdir(bdir, { recursive: true });
  await writeFile(join(bdir, 'circuit.circom'), b.source);
  let done = progress.step(`bench ${ours.name}: baseline compile (${b.nonLinear.toLocaleString('en')} constraints predicted)`);
  const c = await stage('baseline-compile', { dir: bdir });
  done(`${(c.seconds as number).toFixed(1)} s`);
  done = progress.step(`bench ${ours.name}: baseline dev setup`);
  const s = await stage('baseline-setup', { dir: bdir });
  done(`${(s.seconds as number).toFixed(1)} s`);
  const q = await readQuantizedModel(dir);
  const inputFor = (x: Float64Array) => ({ in: quantizeInput(q.input.quant, x), ...b.privateInputs });
  const inputFile = join(bdir, 'input.json');
  await writeFile(inputFile, JSON.stringify(inputFor(samples[0])));
  const p = await stage('baseline-prove', { dir: bdir, input: inputFile });
  // Timings in this process, as for zkonnx.
  const zkey = join(bdir, 'circuit.zkey');
  const vk = JSON.parse(await readFile(join(bdir, 'verification_key.json'), 'utf8'));
  const witnessT: number[] = [];
  const proveT: number[] = [];
  const verifyT: number[] = [];
  done = progress.step(`bench ${ours.name}: baseline, ${runs} proofs`);
  const snarkjs = await loadSnarkjs();
  await snarkjs.curves.getCurveFromName('bn128');
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const w = await computeWitness(join(bdir, 'circuit_js', 'circuit.wasm'), inputFor(samples[i % samples.length]));
    const t1 = performance.now();
    const { proof, publicSignals } = await snarkjs.groth16.prove(zkey, { type: 'mem', data: w.bin });
    const t2 = performance.now();
    const ok = await snarkjs.groth16.verify(vk, publicSignals, proof);
    const t3 = performance.now();
    if (!ok) throw new Error('bench: a baseline proof did not verify');
    witnessT.push((t1 - t0) / 1000);
    proveT.push((t2 - t1) / 1000);
    verifyT.push((t3 - t2) / 1000);
  }
  done(`median ${stat(proveT).median.toFixed(3)} s`);
  const timings = { compile: stat([c.seconds as number]), setup: stat([s.seconds as number]), witness: stat(witnessT), prove: stat(proveT), verify: stat(verifyT) };
  const compileMem = Math.max(c.peakRssMiB as number, (c.circomPeakRssMiB as number | null) ?? 0);
  const memory = { compile: compileMem, setup: s.peakRssMiB as number, prove: p.peakRssMiB as number };
  ratios.constraints = (c.constraints as number) / ours.constraints;
  ratios.nonLinear = (c.nonLinear as number) / ours.nonLinear;
  ratios.prove = timings.prove.median / ours.timings.prove.median;
  ratios.setup = timings.setup.median / ours.timings.setup.median;
  ratios.memory = memory.prove / ours.memory.prove;
  return {
    constraints: c.constraints as number, nonLinear: c.nonLinear as number, predictedNonLinear: b.nonLinear, layers: b.layers, compiled: true,
    timings, memory, sizes: { zkeyBytes: statSync(zkey).size }, ratios,
    ...(c.nonLinear !== b.nonLinear ? { note: `the formula predicts ${b.nonLinear} non-linear constraints, circom reports ${c.nonLinear}` } : {}),
  };
}

export function machineDescription(): string {
  return `${cpus().length} x ${cpus()[0]?.model?.trim() ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
}

export async function bench(models: string[], opts: BenchOptions = {}): Promise<BenchReport> {
  const reports: ModelReport[] = [];
  for (const f of models) reports.push(await benchModel(f, opts));
  return { machine: machineDescription(), date: new Date().toISOString().slice(0, 10), runs: opts.runs ?? 10, models: reports };
}
