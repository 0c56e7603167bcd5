/**
 * setupKeys: Groth16 proving and verification keys for a compiled artifact directory.
 * - Dev keys (default): circuit-specific keys from fresh random toxic waste, never stored (devkey.ts).
 * - Ceremony keys (`ptau`): a public prepared powers-of-tau file, snarkjs `groth16 setup`, then a random
 *   phase-2 contribution; more contributions and a beacon via src/setup/ceremony.ts.
 * Either way gamma != delta. The verification key carries a `zkonnx` section (model hash, input/output
 * quantization, a classifier's label tables, key kind) that its hash pins.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SetupError } from '../errors.ts';
import { sha256File, writeFileAtomic } from '../artifacts/io.ts';
import { stageArtifacts, withDirLock, type ArtifactStage } from '../artifacts/lock.ts';
import { publicInputLayoutOf, readManifest, readQuantizedModel, serializeManifest, visibilityOf, type KeyKind, type Manifest, type SetupRecord } from '../artifacts/manifest.ts';
import { labelTablesOf, outputLabelTables, withLabelTables } from '../ir/io.ts';
import { artifactPath } from '../artifacts/paths.ts';
import { silentProgress, type ProgressReporter } from '../progress.ts';
import { loadSnarkjs } from '../toolchain.ts';
import { vkHash } from '../verify/canonical.ts';
import { inputSignalCount, isDefaultVisibility } from '../verify/layout.ts';
import { sizeOf } from '../ir/types.ts';
import { ZKONNX_VERSION } from '../version.ts';
import { writeDevZkey } from './devkey.ts';
import { readPtauPower, requiredPower } from './ptau.ts';
import type { ZkonnxVerificationKey } from '../verify/types.ts';

export interface SetupOptions {
  /** A prepared powers-of-tau file from a ceremony. Without it, keys are dev keys. */
  ptau?: string;
  progress?: ProgressReporter;
}

export interface SetupResult {
  zkey: string;
  vk: string;
  vkSha256: string;
  keyKind: KeyKind;
  seconds: number;
}

/** snarkjs reports problems through its logger and returns -1; collect them to throw a clear error. */
function collectingLogger() {
  const errors: string[] = [];
  const noop = () => {};
  return { errors, logger: { error: (m: string) => errors.push(m), warn: noop, info: noop, debug: noop } };
}

export function vkMetadata(m: Manifest, keyKind: KeyKind, ptauPower: number | null): ZkonnxVerificationKey['zkonnx'] {
  return {
    version: ZKONNX_VERSION,
    model: { name: m.model.name, sha256: m.model.sha256 },
    r1csSha256: m.circuit.r1csSha256,
    constraints: m.circuit.constraints,
    wires: m.circuit.wires,
    input: m.input,
    output: m.output,
    key: { kind: keyKind, ptauPower },
    // Always written (absent only in keys made before the layouts existed): the verifier reads the layout here.
    // A hashed or private input has no public input signals.
    publicInputs: { layout: publicInputLayoutOf(m), signals: visibilityOf(m).input === 'public' ? inputSignalCount(publicInputLayoutOf(m), sizeOf(m.input.shape)) : 0 },
    // Written when not the default (so keys of default circuits stay as they were): the verifier reads it here.
    ...(isDefaultVisibility(visibilityOf(m)) ? {} : { visibility: visibilityOf(m) }),
  };
}

/** verification_key.json's text: snarkjs' key `base` plus the zkonnx section for this manifest, and its hash. */
export async function verificationKeyText(base: Omit<ZkonnxVerificationKey, 'zkonnx'>, m: Manifest, keyKind: KeyKind, ptauPower: number | null): Promise<{ text: string; vkSha256: string }> {
  const vk: ZkonnxVerificationKey = { ...base, zkonnx: vkMetadata(m, keyKind, ptauPower) };
  return { text: JSON.stringify(vk, null, 1) + '\n', vkSha256: await vkHash(vk) };
}

/**
 * Write DIR/verification_key.json: snarkjs' key `base` plus the zkonnx section for this manifest.
 * Returns the sha256 that bundles pin it by.
 */
export async function writeVerificationKey(dir: string, base: Omit<ZkonnxVerificationKey, 'zkonnx'>, m: Manifest, keyKind: KeyKind, ptauPower: number | null): Promise<string> {
  const { text, vkSha256 } = await verificationKeyText(base, m, keyKind, ptauPower);
  await writeFileAtomic(artifactPath(dir, 'vk'), text, 'verification key');
  return vkSha256;
}

/**
 * The manifest with the label tables of the compiled model's outputs on its output spec (src/ir/io.ts
 * outputLabelTables: a classifier's class-index output with string or int64 labels), so that the verification
 * key carries them (and the manifest records what the key states). The circuit proves the class index; the
 * table is part of the model description the key pins. No tables: the manifest as it is.
 */
export async function withCompiledLabels(dir: string, m: Manifest): Promise<Manifest> {
  const tables = outputLabelTables(await readQuantizedModel(dir));
  for (const [name, table] of labelTablesOf(m.output)) if (!tables.has(name)) tables.set(name, table);
  return tables.size ? { ...m, output: withLabelTables(m.output, tables) } : m;
}

/**
 * Stage a new zkey's verification key and the manifest recording both, then commit all three together
 * (src/artifacts/lock.ts): the directory holds the old key or the new one, never a mix. Under DIR's writer lock.
 */
export async function commitKey(stage: ArtifactStage, m: Manifest, keyKind: KeyKind, setup: Omit<SetupRecord, 'zkeySha256' | 'vkSha256' | 'keyKind'>): Promise<SetupRecord> {
  const snarkjs = await loadSnarkjs();
  const zkey = stage.path('zkey');
  const vk = await verificationKeyText(await snarkjs.zKey.exportVerificationKey(zkey), m, keyKind, setup.ptauPower);
  await stage.write('vk', vk.text);
  const record: SetupRecord = { ...setup, keyKind, zkeySha256: await sha256File(zkey), vkSha256: vk.vkSha256 };
  await stage.write('manifest', serializeManifest({ ...m, setup: record }));
  await stage.commit();
  return record;
}

/**
 * Make the directory's keys (see the file comment). Takes DIR's writer lock (a LockError if another zkonnx
 * process is using DIR). Re-running replaces the keys in one step: the new zkey, verification key and
 * manifest are built beside the old ones, which stay valid until all three are switched together; an
 * interruption at any point leaves the old key or the complete new one.
 */
export async function setupKeys(dir: string, opts: SetupOptions = {}): Promise<SetupResult> {
  return withDirLock(dir, 'exclusive', 'setup', () => setupKeysLocked(dir, opts));
}

async function setupKeysLocked(dir: string, opts: SetupOptions): Promise<SetupResult> {
  const progress = opts.progress ?? silentProgress;
  const t0 = performance.now();
  const snarkjs = await loadSnarkjs();
  const m = await withCompiledLabels(dir, await readManifest(dir));
  const need = requiredPower(m.circuit.constraints, m.circuit.publicSignals);
  let keyKind: KeyKind;
  let ptauPower: number | null = null;
  let ptauSha256: string | null = null;
  const stage = await stageArtifacts(dir);
  try {
    const zkeyPath = stage.path('zkey');
    if (opts.ptau) {
      // Ceremony route: a public powers-of-tau file, snarkjs groth16 setup, one random phase-2 contribution.
      const have = await readPtauPower(opts.ptau);
      if (have < need) {
        throw new SetupError(`'${opts.ptau}' has power ${have}; this circuit (${m.circuit.constraints} constraints + ${m.circuit.publicSignals} public signals) needs a ptau of power ${need} or more.`);
      }
      keyKind = 'ceremony';
      ptauPower = have;
      ptauSha256 = await sha256File(opts.ptau);
      const initial = join(stage.dir, 'initial.zkey');
      const done = progress.step(`setup: snarkjs groth16 setup from '${opts.ptau}' (2^${have}) and a random contribution`);
      const { errors, logger } = collectingLogger();
      const r = await snarkjs.zKey.newZKey(artifactPath(dir, 'r1cs'), opts.ptau, initial, logger);
      if (r === -1 || errors.length) throw new SetupError(`snarkjs groth16 setup failed: ${errors.join('; ') || 'unknown error'}.`);
      // Phase 2: one random contribution (entropy never stored); without it gamma == delta.
      await snarkjs.zKey.contribute(initial, zkeyPath, 'zkonnx setup', randomBytes(32).toString('hex'));
      await rm(initial, { force: true });
      done();
    } else {
      // Dev route: circuit-specific keys from fresh random toxic waste, in seconds (src/setup/devkey.ts).
      keyKind = 'dev';
      await writeDevZkey(artifactPath(dir, 'r1cs'), zkeyPath, progress);
    }
    const seconds = (performance.now() - t0) / 1000;
    const setup = await commitKey(stage, m, keyKind, { r1csSha256: m.circuit.r1csSha256, domainPower: need, ptauPower, ptauSha256, seconds });
    progress.info(`setup: ${keyKind} key for 2^${need} domain in ${seconds.toFixed(2)} s`);
    return { zkey: artifactPath(dir, 'zkey'), vk: artifactPath(dir, 'vk'), vkSha256: setup.vkSha256, keyKind, seconds };
  } finally {
    stage.discard();
  }
}
