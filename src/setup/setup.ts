/**
 * setupKeys: Groth16 proving and verification keys for a compiled artifact directory.
 * - Dev keys (default): circuit-specific keys from fresh random toxic waste, never stored (devkey.ts).
 * - Ceremony keys (`ptau`): a public prepared powers-of-tau file, snarkjs `groth16 setup`, then a random
 *   phase-2 contribution; more contributions and a beacon via src/setup/ceremony.ts.
 * Either way gamma != delta. The verification key carries a `zkonnx` section (model hash, input/output
 * quantization, key kind) that its hash pins.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { SetupError } from '../errors.ts';
import { produceAtomic, sha256File, tempPathFor, trackTemp, writeFileAtomic } from '../artifacts/io.ts';
import { publicInputLayoutOf, readManifest, writeManifest, type KeyKind, type Manifest, type SetupRecord } from '../artifacts/manifest.ts';
import { artifactPath } from '../artifacts/paths.ts';
import { silentProgress, type ProgressReporter } from '../progress.ts';
import { loadSnarkjs } from '../toolchain.ts';
import { vkHash } from '../verify/canonical.ts';
import { inputSignalCount } from '../verify/layout.ts';
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
    input: m.input,
    output: m.output,
    key: { kind: keyKind, ptauPower },
    // Always written (absent only in keys made before the layouts existed): the verifier reads the layout here.
    publicInputs: { layout: publicInputLayoutOf(m), signals: inputSignalCount(publicInputLayoutOf(m), sizeOf(m.input.shape)) },
  };
}

/**
 * Write DIR/verification_key.json: snarkjs' key `base` plus the zkonnx section for this manifest.
 * Returns the sha256 that bundles pin it by.
 */
export async function writeVerificationKey(dir: string, base: Omit<ZkonnxVerificationKey, 'zkonnx'>, m: Manifest, keyKind: KeyKind, ptauPower: number | null): Promise<string> {
  const vk: ZkonnxVerificationKey = { ...base, zkonnx: vkMetadata(m, keyKind, ptauPower) };
  await writeFileAtomic(artifactPath(dir, 'vk'), JSON.stringify(vk, null, 1) + '\n');
  return vkHash(vk);
}

export async function setupKeys(dir: string, opts: SetupOptions = {}): Promise<SetupResult> {
  const progress = opts.progress ?? silentProgress;
  const t0 = performance.now();
  const snarkjs = await loadSnarkjs();
  const m = await readManifest(dir);
  const need = requiredPower(m.circuit.constraints, m.circuit.publicSignals);
  // Forget the old key first: if this setup stops half-way, the directory reads as "no key", never as a
  // key whose files disagree.
  if (m.setup) await writeManifest(dir, { ...m, setup: undefined });
  const zkeyPath = artifactPath(dir, 'zkey');
  let keyKind: KeyKind;
  let ptauPower: number | null = null;
  let ptauSha256: string | null = null;
  if (opts.ptau) {
    // Ceremony route: a public powers-of-tau file, snarkjs groth16 setup, one random phase-2 contribution.
    const have = await readPtauPower(opts.ptau);
    if (have < need) {
      throw new SetupError(`'${opts.ptau}' has power ${have}; this circuit (${m.circuit.constraints} constraints + ${m.circuit.publicSignals} public signals) needs a ptau of power ${need} or more.`);
    }
    keyKind = 'ceremony';
    ptauPower = have;
    ptauSha256 = await sha256File(opts.ptau);
    const initial = tempPathFor(zkeyPath);
    const forgetInitial = trackTemp(initial);
    const done = progress.step(`setup: snarkjs groth16 setup from '${opts.ptau}' (2^${have}) and a random contribution`);
    try {
      await produceAtomic(zkeyPath, async (tmp) => {
        const { errors, logger } = collectingLogger();
        const r = await snarkjs.zKey.newZKey(artifactPath(dir, 'r1cs'), opts.ptau, initial, logger);
        if (r === -1 || errors.length) throw new SetupError(`snarkjs groth16 setup failed: ${errors.join('; ') || 'unknown error'}.`);
        // Phase 2: one random contribution (entropy never stored); without it gamma == delta.
        await snarkjs.zKey.contribute(initial, tmp, 'zkonnx setup', randomBytes(32).toString('hex'));
      });
    } finally {
      await rm(initial, { force: true });
      forgetInitial();
    }
    done();
  } else {
    // Dev route: circuit-specific keys from fresh random toxic waste, in seconds (src/setup/devkey.ts).
    keyKind = 'dev';
    await writeDevZkey(artifactPath(dir, 'r1cs'), zkeyPath, progress);
  }
  const vkBase = await snarkjs.zKey.exportVerificationKey(zkeyPath);
  const vkSha256 = await writeVerificationKey(dir, vkBase, m, keyKind, ptauPower);
  const seconds = (performance.now() - t0) / 1000;
  const setup: SetupRecord = {
    r1csSha256: m.circuit.r1csSha256,
    zkeySha256: await sha256File(zkeyPath),
    vkSha256,
    keyKind,
    domainPower: need,
    ptauPower,
    ptauSha256,
    seconds,
  };
  await writeManifest(dir, { ...m, setup });
  progress.info(`setup: ${keyKind} key for 2^${need} domain in ${seconds.toFixed(2)} s`);
  return { zkey: zkeyPath, vk: artifactPath(dir, 'vk'), vkSha256, keyKind, seconds };
}
