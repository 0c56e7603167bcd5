/**
 * Compile circuit.circom into circuit.r1cs and circuit.sym with one of two backends (compileWithBackend):
 * - 'circom': the circom2 npm package (circom 2.2.x in WASM) by default, or a native `circom` from PATH
 *   (`native`, or `auto` when one is present), which also builds circuit_js/circuit.wasm, the witness
 *   generator. Always --O1: --O2 moves long linear sums into A/B rows and makes snarkjs slower. Outputs are
 *   produced in a temp dir and moved into place on success.
 * - 'direct': zkonnx's own compiler of the circuit source (src/circom/), in-process; the witness is later
 *   computed from circuit.circom itself, so there is no circuit_js.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rename, rm, statfs, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readR1cs } from 'r1csfile';
import { compileCircomDirect } from '../circom/index.ts';
import { CompileError, fileSystemError, FileSystemError, InputError, isFileSystemFailure } from '../errors.ts';
import { optionalPackageDir } from '../toolchain.ts';
import { templatesDir } from '../artifacts/paths.ts';
import { onInterrupt, trackTemp } from '../artifacts/io.ts';

export type CircomChoice = 'wasm' | 'native' | 'auto';

/**
 * Which compiler turns circuit.circom into the r1cs: 'direct' (zkonnx's own, in-process, no size ceiling) or
 * 'circom' (circom2 WASM or a native circom, per CircomChoice).
 */
export type Backend = 'direct' | 'circom';

export const BACKENDS: readonly Backend[] = ['direct', 'circom'];

/** The backend used when none is asked for (and no --circom choice implies circom): the one place it is set. */
export const DEFAULT_BACKEND: Backend = 'direct';

/**
 * The backend to compile with. An explicit `backend` wins; `--circom wasm|native` only means something to the
 * circom backend, so with `backend: 'direct'` it is a contradiction (InputError naming both flags), and without
 * a backend it selects circom (so `--circom native` keeps meaning circom whatever DEFAULT_BACKEND is).
 * Otherwise DEFAULT_BACKEND. An unknown backend (from a library caller) is an InputError too.
 */
export function resolveBackend(backend: Backend | undefined, circom: CircomChoice | undefined): Backend {
  if (backend !== undefined && !BACKENDS.includes(backend)) {
    throw new InputError(`Unknown backend '${String(backend)}'.`, { hint: `Use one of: ${BACKENDS.join(', ')}.` });
  }
  const explicitCircom = circom === 'wasm' || circom === 'native';
  if (backend === 'direct' && explicitCircom) {
    throw new InputError(`--backend direct and --circom ${circom} contradict each other: --circom chooses the circom compiler, which the direct backend does not use.`, {
      hint: `Drop --circom ${circom} to compile with zkonnx's own compiler, or use --backend circom --circom ${circom}.`,
    });
  }
  return backend ?? (explicitCircom ? 'circom' : DEFAULT_BACKEND);
}

export interface CompileReport {
  compiler: 'circom2-wasm' | 'circom-native' | 'zkonnx-direct';
  /** Rows of the compiled r1cs. */
  constraints: number;
  nonLinear: number;
  linear: number;
  wires: number;
  publicInputs: number;
  publicOutputs: number;
  privateInputs: number;
  /** nPubInputs + nOutputs: the length of publicSignals. */
  publicSignals: number;
  seconds: number;
  /**
   * Peak resident memory of the compiler: the circom process, sampled from /proc (null where there is no
   * /proc); for the direct backend, this process's.
   */
  circomPeakRssMiB: number | null;
}

export interface CompileWithBackendOptions {
  /** circom backend only: build circuit_js/circuit.wasm (see compileCircuit). The direct backend needs none. */
  witness?: boolean;
  /** direct backend only: progress of its slow steps (fraction 0..1 within each step). */
  onProgress?: (step: string, fraction: number) => void;
}

/**
 * Compile `circomFile` into `outDir` with `backend`: circuit.r1cs and circuit.sym, plus circuit_js/ with the
 * circom backend (unless `witness: false`). `choice` picks the circom compiler and must be 'auto' for the
 * direct backend (InputError otherwise, as resolveBackend). Throws CompileError when compilation fails.
 */
export async function compileWithBackend(backend: Backend, circomFile: string, outDir: string, choice: CircomChoice = 'auto', opts: CompileWithBackendOptions = {}): Promise<CompileReport> {
  switch (resolveBackend(backend, choice)) {
    case 'direct':
      return compileCircomDirect(circomFile, outDir, { onProgress: opts.onProgress });
    case 'circom':
      return compileCircuit(circomFile, outDir, choice, { witness: opts.witness });
  }
}


export function nativeCircomAvailable(): boolean {
  const r = spawnSync('circom', ['--version'], { encoding: 'utf8' });
  return r.status === 0 && /circom compiler 2\./.test(r.stdout);
}

/** VmHWM (peak resident set) of a live process in MiB, from /proc on Linux; null elsewhere or after exit. */
function peakRssOf(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; out: string; peakRssMiB: number | null }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const forget = onInterrupt(() => p.kill('SIGKILL'));
    // Sample the child's peak RSS while it runs (VmHWM only grows, so the last sample is the peak so far).
    let peak: number | null = null;
    const sample = () => {
      const v = p.pid ? peakRssOf(p.pid) : null;
      if (v !== null) peak = Math.max(peak ?? 0, v);
    };
    const timer = setInterval(sample, 100);
    p.on('exit', () => {
      clearInterval(timer);
      forget();
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? 1, out, peakRssMiB: peak }));
  });
}

function reported(out: string, label: string): number {
  const m = new RegExp(`${label}:\\s*(\\d+)`).exec(out);
  return m ? Number(m[1]) : NaN;
}

/**
 * Compile `circomFile` into `outDir` (circuit.r1cs, circuit.sym, circuit_js/circuit.wasm). With
 * `witness: false` no witness generator is built: enough for setup and size reports, and the only way
 * circom2 (WASM, 4 GB address space) gets through circuits of a few hundred thousand constraints.
 * Throws CompileError with circom's own message when compilation fails.
 */
export async function compileCircuit(circomFile: string, outDir: string, choice: CircomChoice = 'auto', opts: { witness?: boolean; circomlib?: boolean } = {}): Promise<CompileReport> {
  const witness = opts.witness ?? true;
  const native = choice === 'native' || (choice === 'auto' && nativeCircomAvailable());
  if (choice === 'native' && !nativeCircomAvailable()) {
    throw new CompileError('--circom native was asked for, but no circom 2.x is on PATH.', { hint: 'Install circom, or drop --circom native to use circom2 (WASM, npm install circom2).' });
  }
  // Optional packages are looked up before anything is written: a missing one names itself.
  const circom2Cli = native ? null : join(optionalPackageDir('circom2'), 'cli.js');
  const circomlibDir = opts.circomlib ? join(optionalPackageDir('circomlib'), 'circuits') : null;
  // A circuit that includes "circomlib/circuits/poseidon.circom" itself (tests comparing with circomlib's
  // Poseidon) gets circomlib's Poseidon files under circomlib/circuits/ beside it. zkonnx's own circuits
  // (hash.circom included) use none. (An unreadable file is reported by the copy below, as before.)
  const source = existsSync(circomFile) ? readFileSync(circomFile, 'utf8') : '';
  const poseidonDir = source.includes('circomlib/') ? join(optionalPackageDir('circomlib'), 'circuits') : null;
  await mkdir(outDir, { recursive: true });
  const tmp = await mkdtemp(join(outDir, '.compile-'));
  const forgetTmp = trackTemp(tmp);
  const t0 = performance.now();
  try {
    // Compile a copy next to the templates it includes: circom2's WASI sandbox resolves includes reliably
    // only relative to the working directory.
    await copyFile(circomFile, join(tmp, 'circuit.circom'));
    for (const f of await readdir(templatesDir())) if (f.endsWith('.circom')) await copyFile(join(templatesDir(), f), join(tmp, f));
    // circomlib's templates, for the circomlib-ml baseline of `zkonnx bench` (zkonnx's own circuits use none).
    if (circomlibDir) {
      for (const f of await readdir(circomlibDir)) if (f.endsWith('.circom') && !existsSync(join(tmp, f))) await copyFile(join(circomlibDir, f), join(tmp, f));
    }
    if (poseidonDir) {
      await mkdir(join(tmp, 'circomlib', 'circuits'), { recursive: true });
      for (const f of ['poseidon.circom', 'poseidon_constants.circom']) await copyFile(join(poseidonDir, f), join(tmp, 'circomlib', 'circuits', f));
    }
    const args = ['circuit.circom', '--r1cs', ...(witness ? ['--wasm'] : []), '--sym', '--O1', '-o', '.'];
    const res = circom2Cli ? await run(process.execPath, [circom2Cli, ...args], tmp) : await run('circom', args, tmp);
    res.out = res.out.replace(/\x1b\[[0-9;]*m/g, '');
    if (res.code !== 0 || !/Everything went okay|Written successfully/.test(res.out)) {
      // circom says only "Could not write the output in the given path": find out why, and name it.
      const writeProblem = /Could not write/i.test(res.out) ? await whyUnwritable(tmp) : null;
      if (writeProblem) throw writeProblem;
      const msg = res.out.split('\n').filter((l) => /error|Error|panicked/.test(l)).slice(0, 8);
      throw new CompileError(`circom failed to compile ${circomFile} (exit ${res.code}).`, {
        details: msg.length ? msg : res.out.trim().split('\n').slice(-8),
        hint: 'This is a zkonnx bug if the circuit was generated by zkonnx; please report it with the model.',
      });
    }
    const r1cs = await readR1cs(join(tmp, 'circuit.r1cs'), { loadConstraints: false, loadMap: false });
    const report: CompileReport = {
      compiler: native ? 'circom-native' : 'circom2-wasm',
      constraints: r1cs.nConstraints,
      nonLinear: reported(res.out, 'non-linear constraints'),
      linear: reported(res.out, 'linear constraints'),
      wires: r1cs.nVars,
      publicInputs: r1cs.nPubInputs,
      publicOutputs: r1cs.nOutputs,
      privateInputs: r1cs.nPrvInputs,
      publicSignals: r1cs.nPubInputs + r1cs.nOutputs,
      seconds: (performance.now() - t0) / 1000,
      circomPeakRssMiB: res.peakRssMiB,
    };
    if (r1cs.curve?.terminate) await r1cs.curve.terminate();
    // Move the products into place only now that everything succeeded.
    await rm(join(outDir, 'circuit_js'), { recursive: true, force: true });
    for (const f of ['circuit.r1cs', 'circuit.sym', ...(witness ? ['circuit_js'] : [])]) await rename(join(tmp, f), join(outDir, f));
    return report;
  } finally {
    await rm(tmp, { recursive: true, force: true });
    forgetTmp();
  }
}

/**
 * Why circom could not write into `dir`: a full disk or quota (statfs shows almost no room left, or a probe
 * write fails) becomes a FileSystemError naming the directory; null when no cause is found.
 */
async function whyUnwritable(dir: string): Promise<FileSystemError | null> {
  const probe = join(dir, '.write-probe');
  try {
    const fs = await statfs(dir);
    if (fs.bavail * fs.bsize < 1 << 20) {
      return fileSystemError(Object.assign(new Error('ENOSPC'), { code: 'ENOSPC', path: dir, syscall: 'write' }), 'write', 'circuit files into', dirname(dir));
    }
    await writeFile(probe, Buffer.alloc(1 << 20));
    return null;
  } catch (e) {
    return isFileSystemFailure(e) ? fileSystemError(e, 'write', 'circuit files into', dirname(dir)) : null;
  } finally {
    await rm(probe, { force: true }).catch(() => {});
  }
}
