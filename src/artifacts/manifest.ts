/** manifest.json: what an artifact directory holds, with hashes, so stages refuse stale inputs. */
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend } from '../compile/compile.ts';
import { ArtifactError } from '../errors.ts';
import type { CalibrationInfo, TensorQuant, TensorSpec, U8Quant } from '../ir/types.ts';
import { parseQuantizedModel } from '../ir/serialize.ts';
import type { QuantizedModel } from '../ir/types.ts';
import { DEFAULT_VISIBILITY, type PublicInputLayout, type Visibility } from '../verify/layout.ts';
import { writeFileAtomic } from './io.ts';
import { commitJournalPath, recoverArtifactDir } from './lock.ts';
import { artifactPath, templatesDir } from './paths.ts';

export type KeyKind = 'dev' | 'ceremony';

export interface SetupRecord {
  r1csSha256: string;
  zkeySha256: string;
  vkSha256: string;
  /** 'dev': single-party keys made on this machine (fine for development, not for production). */
  keyKind: KeyKind;
  /** snarkjs' domain: 2^domainPower >= constraints + public signals. */
  domainPower: number;
  /** The ceremony's powers-of-tau file (null for dev keys). */
  ptauPower: number | null;
  ptauSha256: string | null;
  seconds: number;
}

export interface Manifest {
  format: 'zkonnx-artifacts';
  zkonnxVersion: string;
  model: { name: string; file: string; sha256: string; opset: number };
  quantization: { multiplierBits: number; calibration: CalibrationInfo };
  input: TensorSpec & { quant: U8Quant };
  output: TensorSpec & { quant: TensorQuant };
  circuit: {
    /** sha256 of circuit.circom together with the hand-written templates it includes. */
    circomSha256: string;
    r1csSha256: string;
    /** Rows of the r1cs. */
    constraints: number;
    /** The sum of the op cost formulas; equal to `constraints` (tests check). */
    predictedConstraints: number;
    nonLinear: number;
    linear: number;
    wires: number;
    publicInputs: number;
    publicOutputs: number;
    publicSignals: number;
    /** How the input appears among the public signals (src/verify/layout.ts); absent in older manifests: plain. */
    publicInputLayout?: PublicInputLayout;
    /** What the public signals show (src/verify/layout.ts); absent in older manifests: public, public, fixed. */
    visibility?: Visibility;
    /** Constraints of the visibility machinery (range checks, unpacking, commitments); part of `constraints`. */
    visibilityConstraints?: number;
    compiler: string;
    /**
     * Which compiler made the r1cs, and so what computes the witness: 'circom' (circuit_js/circuit.wasm) or
     * 'direct' (zkonnx, from circuit.circom). Absent in older manifests: circom (read it with backendOf).
     */
    backend?: Backend;
    /**
     * False when compiled without a witness generator (setup and size reports only, no proofs). Always true
     * with the direct backend, whose witness generator is the circuit source.
     */
    witnessGenerator: boolean;
    compileSeconds: number;
    /** Peak resident memory of the circom process (sampled; null where not measurable). */
    compilePeakRssMiB?: number | null;
  };
  setup?: SetupRecord;
}

/** The manifest's public-input layout ('plain' when it predates the field). */
export function publicInputLayoutOf(m: Manifest): PublicInputLayout {
  return m.circuit.publicInputLayout ?? 'plain';
}

/** The manifest's visibility (the default when it predates the field). */
export function visibilityOf(m: Manifest): Visibility {
  return m.circuit.visibility ?? { ...DEFAULT_VISIBILITY };
}

/** The backend that compiled the manifest's circuit ('circom' when it predates the field). */
export function backendOf(m: Manifest): Backend {
  return m.circuit.backend ?? 'circom';
}

/**
 * Read DIR/manifest.json. If a zkonnx process died while committing new files to DIR (a journal is left), the
 * commit is finished first (briefly taking DIR's writer lock), so the manifest read matches the files.
 */
export async function readManifest(dir: string): Promise<Manifest> {
  if (existsSync(commitJournalPath(dir))) await recoverArtifactDir(dir);
  const p = artifactPath(dir, 'manifest');
  if (!existsSync(p)) {
    throw new ArtifactError(`No compiled model in '${dir}' (missing manifest.json).`, { hint: 'Run `zkonnx compile <model.onnx> --out DIR` first.' });
  }
  let m: Manifest;
  try {
    m = JSON.parse(await readFile(p, 'utf8'));
  } catch (e) {
    throw new ArtifactError(`'${p}' is not valid JSON.`, { cause: e, hint: 'Re-run `zkonnx compile`.' });
  }
  if (m.format !== 'zkonnx-artifacts') throw new ArtifactError(`'${p}' is not a zkonnx manifest.`, { hint: 'Re-run `zkonnx compile`.' });
  // The backend decides what computes the witness: an unknown one is refused, not guessed.
  const backend: unknown = m.circuit?.backend;
  if (backend !== undefined && backend !== 'direct' && backend !== 'circom') {
    throw new ArtifactError(`'${p}' names an unknown compiler backend '${String(backend)}'.`, { hint: 'Re-run `zkonnx compile` (--backend direct or circom).' });
  }
  return m;
}

/** The manifest's file text (as writeManifest writes it; for staging it beside other files, src/artifacts/lock.ts). */
export function serializeManifest(m: Manifest): string {
  return JSON.stringify(m, null, 2) + '\n';
}

export async function writeManifest(dir: string, m: Manifest): Promise<void> {
  await writeFileAtomic(artifactPath(dir, 'manifest'), serializeManifest(m), 'manifest');
}

export async function readQuantizedModel(dir: string): Promise<QuantizedModel> {
  const p = artifactPath(dir, 'model');
  if (!existsSync(p)) throw new ArtifactError(`'${dir}' has no quantized-model.json.`, { hint: 'Re-run `zkonnx compile`.' });
  return parseQuantizedModel(await readFile(p, 'utf8'), p);
}

/** Throws unless the directory has keys made for its current circuit. */
export function requireFreshSetup(dir: string, m: Manifest): SetupRecord {
  if (!m.setup || !existsSync(artifactPath(dir, 'zkey')) || !existsSync(artifactPath(dir, 'vk'))) {
    throw new ArtifactError(`'${dir}' has no proving key.`, { hint: `Run \`zkonnx setup ${dir}\`.` });
  }
  if (m.setup.r1csSha256 !== m.circuit.r1csSha256) {
    throw new ArtifactError(`The proving key in '${dir}' was made for an older circuit.`, { hint: `Run \`zkonnx setup ${dir}\` again.` });
  }
  return m.setup;
}

/**
 * sha256 over the generated circuit and every hand-written template it may include (manifest circuit.circomSha256);
 * these are all of its sources (hash.circom's Poseidon16 and its constants are zkonnx templates too).
 */
export async function circuitSourceHash(source: string): Promise<string> {
  const h = createHash('sha256').update(source);
  for (const f of (await readdir(templatesDir())).filter((x) => x.endsWith('.circom')).sort()) {
    h.update(`\0${f}\0`).update(await readFile(join(templatesDir(), f)));
  }
  return h.digest('hex');
}
