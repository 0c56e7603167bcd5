/**
 * zkonnx's direct backend: a compiler for the subset of circom that zkonnx writes (circuit.circom and the
 * hand-written templates in circuits/), producing the same R1CS as `circom --O1` and the witness, in-process.
 * The .circom files stay the single definition of every gadget; nothing here knows a gadget by name.
 *
 * Pipeline: parse (parser.ts) -> run main symbolically (evaluate.ts; each template instance's rows are built
 * once per parameter list and shifted per instance) -> --O1 simplification and wire numbering (simplify.ts)
 * -> circuit.r1cs and circuit.sym, streamed (formats.ts). The witness runs the same interpreter on values and
 * orders them by circuit.sym.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { CompileReport } from '../compile/compile.ts';
import { CompileError, fileSystemError, isFileSystemFailure } from '../errors.ts';
import { FIELD_PRIME } from '../field.ts';
import type { Witness } from '../prove/witness.ts';
import { templatesDir } from '../artifacts/paths.ts';
import { optionalPackageDir } from '../toolchain.ts';
import { Lin } from './algebra.ts';
import { CircomEvalError, Evaluator, Program, type Row } from './evaluate.ts';
import { encodeWtns, writeR1csFile, writeSymFile, type SparseLc } from './formats.ts';
import { CircomSyntaxError, parseCircom, type ParsedFile } from './parser.ts';
import { simplifyO1, type Simplified } from './simplify.ts';
import { NeedsInterpreter } from './jit-main.ts';

export interface DirectCompileOptions {
  /** Progress of the slow steps (0..1 within each step). */
  onProgress?: (step: string, fraction: number) => void;
}

/** Parse a file and everything it includes (relative to the including file, then circuits/; circomlib/... in circomlib). */
function loadProgram(circomFile: string): { program: Program; main: NonNullable<ParsedFile['main']>; mainFile: string } {
  const files: ParsedFile[] = [];
  const seen = new Set<string>();
  const load = (path: string, from?: string) => {
    const abs = resolve(path);
    if (seen.has(abs)) return;
    seen.add(abs);
    let src: string;
    try {
      src = readFileSync(abs, 'utf8');
    } catch (e) {
      throw new CompileError(`Cannot read circuit source '${abs}'${from ? ` (included from ${from})` : ''}.`, { cause: e });
    }
    const parsed = parseCircom(src, abs);
    files.push(parsed);
    for (const inc of parsed.includes) {
      // "circomlib/..." is circomlib's package (zkonnx's own circuits include none; tests compare Poseidon16 with
      // circomlib's Poseidon through it); relative includes inside it resolve next to the including file.
      if (inc.startsWith('circomlib/')) {
        const target = join(optionalPackageDir('circomlib'), inc.slice('circomlib/'.length));
        if (!existsSync(target)) throw new CompileError(`${abs}: include "${inc}" not found in the installed circomlib (${target}).`);
        load(target, abs);
        continue;
      }
      const local = join(dirname(abs), inc);
      const shipped = join(templatesDir(), inc);
      const target = existsSync(local) ? local : existsSync(shipped) ? shipped : null;
      if (!target) throw new CompileError(`${abs}: include "${inc}" not found next to it or in zkonnx's circuits/.`);
      load(target, abs);
    }
  };
  load(circomFile);
  const main = files[0].main;
  if (!main) throw new CompileError(`${circomFile}: no 'component main'.`);
  return { program: new Program(files), main, mainFile: files[0].file };
}

/** A syntax or evaluation error of the circom file as the CompileError users see; anything else as it is. */
function asCompileError(circomFile: string, e: unknown): unknown {
  if (e instanceof CircomSyntaxError || e instanceof CircomEvalError) {
    return new CompileError(`The direct backend cannot compile ${circomFile}: ${e.message}`, {
      cause: e, hint: 'Circuits written by zkonnx always compile; for other circom, use --backend circom.',
    });
  }
  return e;
}

function wrap<T>(circomFile: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw asCompileError(circomFile, e);
  }
}

async function wrapAsync<T>(circomFile: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw asCompileError(circomFile, e);
  }
}

/**
 * Run main with a fresh evaluator from `make`: translated to JavaScript, or, when the translation meets what
 * only the interpreter does (NeedsInterpreter), interpreted from the start with another fresh evaluator.
 */
async function runMain(circomFile: string, program: Program, main: NonNullable<ParsedFile['main']>, make: () => Evaluator, inputs?: Record<string, readonly bigint[]>) {
  const def = program.defs.get(main.template);
  if (!def || def.kind !== 'template') throw new CompileError(`${circomFile}: main's template '${main.template}' is not defined.`);
  const attempt = async (jit: boolean) => {
    const ev = make();
    const m = await ev.runMain(def, ev.mainArgs(def, main.args), inputs, jit);
    return { ev, m };
  };
  try {
    return await attempt(true);
  } catch (e) {
    if (!(e instanceof NeedsInterpreter)) throw e;
    return attempt(false);
  }
}

export interface ConstraintSystem {
  simplified: Simplified;
  /** Name of each signal id (`main.rq0_1.bits[3]`), index 0 is 'one'. */
  names: string[];
  nOutputs: number;
  nPublicInputs: number;
  nPrivateInputs: number;
}

/** Build the constraint system of a circuit file in memory (what compileCircomDirect writes). */
export async function buildConstraintSystem(circomFile: string, opts: DirectCompileOptions = {}): Promise<ConstraintSystem> {
  return wrapAsync(circomFile, async () => {
    const { program, main } = loadProgram(circomFile);
    let rows: Row[] = [];
    const { m } = await runMain(circomFile, program, main, () => {
      rows = [];
      return new Evaluator(program, 'constraints', {
        row: (r) => rows.push(r),
        progress: opts.onProgress ? (d, t) => opts.onProgress!('constraints', t ? d / t : 1) : undefined,
      });
    });
    const idsOf = (io: 'input' | 'output', pub?: boolean) => {
      const ids: number[] = [];
      for (const [name, s] of m.signals) {
        if (s.io !== io) continue;
        if (pub !== undefined && main.publics.includes(name) !== pub) continue;
        for (let i = 0; i < s.size; i++) ids.push(1 + s.offset + i);
      }
      return ids;
    };
    for (const p of main.publics) {
      if (m.signals.get(p)?.io !== 'input') throw new CompileError(`${circomFile}: public '${p}' is not an input signal of main.`);
    }
    const outputs = idsOf('output');
    const publicInputs = idsOf('input', true);
    const privateInputs = idsOf('input', false);
    opts.onProgress?.('simplify', 0);
    const simplified = simplifyO1(rows, { size: 1 + m.size, outputs, publicInputs, privateInputs });
    opts.onProgress?.('simplify', 1);
    const names = ['one', ...m.names.map((n) => `main.${n}`)];
    return { simplified, names, nOutputs: outputs.length, nPublicInputs: publicInputs.length, nPrivateInputs: privateInputs.length };
  });
}

/** Every signal name -> its wire (a removed signal: the wire that replaced it, or -1 for a constant). */
export function nameToWire(cs: ConstraintSystem): Map<string, number> {
  const m = new Map<string, number>();
  cs.names.forEach((n, id) => id > 0 && m.set(n, cs.simplified.wireOfId[id]));
  return m;
}

function* r1csRows(rows: Simplified['rows']): Iterable<[SparseLc, SparseLc, SparseLc]> {
  for (const r of rows()) yield [{ wires: r.a[0], coefs: r.a[1] }, { wires: r.b[0], coefs: r.b[1] }, { wires: r.c[0], coefs: r.c[1] }];
}

/**
 * Compile `circomFile` (includes resolved against circuits/) into `outDir`: circuit.r1cs (iden3 binary) and
 * circuit.sym. Throws CompileError naming the file and line on anything outside the supported subset.
 */
export async function compileCircomDirect(circomFile: string, outDir: string, opts: DirectCompileOptions = {}): Promise<CompileReport> {
  const t0 = performance.now();
  const cs = await buildConstraintSystem(circomFile, opts);
  const s = cs.simplified;
  opts.onProgress?.('write', 0);
  try {
    await writeR1csFile(join(outDir, 'circuit.r1cs'), {
      prime: FIELD_PRIME, nWires: s.nWires, nPubOut: cs.nOutputs, nPubIn: cs.nPublicInputs, nPrvIn: cs.nPrivateInputs,
      nLabels: cs.names.length, nConstraints: s.count,
    }, r1csRows(s.rows), s.idOfWire);
    await writeSymFile(join(outDir, 'circuit.sym'), symEntries(cs));
  } catch (e) {
    if (isFileSystemFailure(e)) throw fileSystemError(e, 'write', 'circuit files into', outDir);
    throw e;
  }
  opts.onProgress?.('write', 1);
  return {
    compiler: 'zkonnx-direct' as CompileReport['compiler'],
    constraints: s.count,
    nonLinear: s.nonLinear,
    linear: s.linear,
    wires: s.nWires,
    publicInputs: cs.nPublicInputs,
    publicOutputs: cs.nOutputs,
    privateInputs: cs.nPrivateInputs,
    publicSignals: cs.nPublicInputs + cs.nOutputs,
    seconds: (performance.now() - t0) / 1000,
    circomPeakRssMiB: peakRssMiB(),
  };
}

function* symEntries(cs: ConstraintSystem) {
  for (let id = 1; id < cs.names.length; id++) {
    yield { label: id, wire: cs.simplified.kept[id] ? cs.simplified.wireOfId[id] : -1, component: 0, name: cs.names[id] };
  }
}

/** This process's peak resident memory in MiB (VmHWM), null where /proc is missing. */
export function peakRssMiB(): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

const programs = new Map<string, { stamp: string; loaded: ReturnType<typeof loadProgram>; wires: Int32Array }>();

/** The wire of each signal id, from circuit.sym (label = signal id, -1 = not a wire). */
async function wiresFromSym(symPath: string): Promise<Int32Array> {
  const text = await readFile(symPath, 'utf8');
  const lines = text.split('\n');
  const wires: number[] = [];
  for (const line of lines) {
    if (!line) continue;
    const c1 = line.indexOf(',');
    const c2 = line.indexOf(',', c1 + 1);
    const id = Number(line.slice(0, c1));
    const wire = Number(line.slice(c1 + 1, c2));
    if (!Number.isInteger(id) || !Number.isInteger(wire)) throw new CompileError(`${symPath}: not a circuit.sym written by zkonnx's direct backend.`);
    wires[id] = wire;
  }
  return Int32Array.from(wires, (w) => w ?? -1);
}

/**
 * The witness of `circomFile` for `input` (main's input signal name -> values), as snarkjs' prover reads it
 * (.wtns bytes) and as values [1, outputs..., public inputs..., private signals...]. Every constraint is
 * checked on the way (like circom's witness generator): a violated one throws. The wire order comes from the
 * circuit.sym beside the file (or `symPath`).
 */
export async function directWitness(circomFile: string, input: Record<string, readonly bigint[]>, symPath = join(dirname(circomFile), 'circuit.sym')): Promise<Witness> {
  const st = statSync(circomFile);
  const ss = statSync(symPath);
  const stamp = `${st.mtimeMs}:${st.size}:${ss.mtimeMs}:${ss.size}`;
  const key = resolve(circomFile);
  let entry = programs.get(key);
  if (!entry || entry.stamp !== stamp) {
    entry = { stamp, loaded: wrap(circomFile, () => loadProgram(circomFile)), wires: await wiresFromSym(symPath) };
    programs.set(key, entry);
  }
  const { program, main } = entry.loaded;
  const wires = entry.wires;
  return wrapAsync(circomFile, async () => {
    const { ev } = await runMain(circomFile, program, main, () => new Evaluator(program, 'witness'), input);
    let nWires = 1;
    for (const w of wires) if (w >= nWires) nWires = w + 1;
    const values = new Array<bigint>(nWires);
    values[0] = 1n;
    for (let id = 1; id < wires.length; id++) {
      const w = wires[id];
      if (w < 0) continue;
      const v = ev.values[id];
      if (v === undefined) throw new CompileError(`${circomFile}: the witness leaves signal ${id} unassigned.`);
      values[w] = v;
    }
    for (let w = 0; w < nWires; w++) if (values[w] === undefined) throw new CompileError(`${symPath}: wire ${w} has no signal.`);
    return { bin: encodeWtns(FIELD_PRIME, values), values };
  });
}

export { Lin };
