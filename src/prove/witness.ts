/** Witness computation with the circom-generated wasm, and parsing of the .wtns binary. */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { WitnessCalculatorBuilder } from 'circom_runtime';
import { readBigLE, readBinFile } from '../artifacts/binfile.ts';
import { inputSignals, packBytes, type PublicInputLayout, type Visibility } from '../verify/layout.ts';
import { backendOf, readManifest } from '../artifacts/manifest.ts';
import { artifactPath } from '../artifacts/paths.ts';
import { directWitness } from '../circom/index.ts';
import type { Backend } from '../compile/compile.ts';

export interface Witness {
  /** The .wtns file bytes, as snarkjs' prover reads them. */
  bin: Uint8Array;
  /** Witness values: [1, outputs..., public inputs..., private signals...]. */
  values: bigint[];
}

/** Parse the witness values out of a .wtns binary (sections: 1 = header, 2 = values). */
export function parseWtns(bin: Uint8Array): bigint[] {
  const { view, sections } = readBinFile(bin, 'wtns');
  const header = sections.get(1);
  const values = sections.get(2);
  if (!header || !values) throw new Error('wtns file has no header or values section');
  const n8 = view.getUint32(header.at, true);
  const count = view.getUint32(header.at + 4 + n8, true);
  return Array.from({ length: count }, (_, i) => readBigLE(view, values.at + i * n8, n8));
}

type Calculator = { calculateWTNSBin(input: unknown, sanity: boolean): Promise<Uint8Array> };
/** Witness calculators by wasm path, with the file's mtime and size when it was read (a recompiled file is read again). */
const calculators = new Map<string, { stamp: string; wc: Promise<Calculator> }>();

/**
 * Compute the witness for `input` (signal name -> values) with the circuit's wasm (cached per path while the file's
 * mtime and size are unchanged: a model recompiled in place, e.g. by a long-running node, gets its new wasm).
 */
export async function computeWitness(wasmPath: string, input: Record<string, bigint | number | string | (bigint | number | string)[]>): Promise<Witness> {
  const key = resolve(wasmPath);
  const st = await stat(key);
  const stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
  let entry = calculators.get(key);
  if (!entry || entry.stamp !== stamp) {
    const wc = readFile(key).then((bytes) => WitnessCalculatorBuilder(bytes) as Promise<Calculator>);
    entry = { stamp, wc };
    calculators.set(key, entry);
    // A file that could not be read or compiled is tried again next time.
    wc.catch(() => {
      if (calculators.get(key) === entry) calculators.delete(key);
    });
  }
  const bin: Uint8Array = await (await entry.wc).calculateWTNSBin(input, true);
  return { bin, values: parseWtns(bin) };
}

/**
 * The witness generator's input for a uint8 model input: `in` (one public signal per value) for the plain
 * layout; `packed` (31 values per public signal) for the packed one, where `in` is a private signal the circuit
 * computes from `packed`. Throws RangeError on a value outside 0..255.
 */
export function witnessInput(layout: PublicInputLayout, values: readonly number[]): { in: bigint[] } | { packed: bigint[] } {
  const signals = inputSignals(layout, values);
  return layout === 'packed' ? { packed: signals } : { in: signals };
}

/** What a circuit's private inputs need beyond the model input (by visibility). */
export interface WitnessSecrets {
  /** The input commitment's salt (hashed input). */
  salt?: bigint;
  /** The parameters (hashed parameters): packed weight bytes and biases, as src/ir/params.ts paramSignals gives them. */
  params?: { wPacked: bigint[]; wBias: bigint[] };
}

/**
 * The witness generator's input under a visibility: witnessInput's for a public input; `inPacked` (31 values
 * per private signal) and, when hashed, `inSalt` otherwise; plus `wPacked`/`wBias` for hashed parameters.
 * Throws RangeError on a value outside 0..255, TypeError when a needed secret is missing.
 */
export function visibilityWitnessInput(layout: PublicInputLayout, vis: Visibility, values: readonly number[], secrets: WitnessSecrets = {}): Record<string, bigint[]> {
  const input: Record<string, bigint[]> = vis.input === 'public' ? { ...witnessInput(layout, values) } : { inPacked: packBytes(values) };
  if (vis.input === 'hashed') {
    if (secrets.salt === undefined) throw new TypeError('a hashed input needs its salt');
    input.inSalt = [secrets.salt];
  }
  if (vis.params === 'hashed') {
    if (!secrets.params) throw new TypeError('hashed parameters need their values');
    input.wPacked = secrets.params.wPacked;
    input.wBias = secrets.params.wBias;
  }
  return input;
}


/**
 * The witness of a compiled artifact directory for `input` (as witnessInput returns it), with the generator its
 * backend left: circuit_js/circuit.wasm (circom) or circuit.circom itself (direct, src/circom/).
 */
export async function witnessWith(dir: string, backend: Backend, input: Record<string, readonly bigint[]>): Promise<Witness> {
  return backend === 'direct' ? directWitness(artifactPath(dir, 'circom'), input) : computeWitness(artifactPath(dir, 'wasm'), input as Record<string, bigint[]>);
}

/** witnessWith for the backend the directory's manifest names (number inputs allowed). */
export async function artifactWitness(dir: string, input: Record<string, readonly bigint[] | readonly number[] | bigint[] | number[]>): Promise<Witness> {
  const m = await readManifest(dir);
  const big = Object.fromEntries(Object.entries(input).map(([k, v]) => [k, Array.from(v as ArrayLike<bigint | number>, (x) => BigInt(x))]));
  return witnessWith(dir, backendOf(m), big);
}
