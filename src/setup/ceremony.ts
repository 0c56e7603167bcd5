/**
 * Multi-party phase 2 for ceremony keys (made with `zkonnx setup DIR --ptau FILE`): add contributions, seal
 * with a public random beacon, and verify the zkey against the r1cs and the ptau. Each step builds the new zkey,
 * its verification key (delta changes) and the manifest beside the old ones and switches all three together,
 * under DIR's writer lock (src/artifacts/lock.ts); verify only reads (shared lock).
 */
import { randomBytes } from 'node:crypto';
import { loadSnarkjs } from '../toolchain.ts';
import { SetupError } from '../errors.ts';
import { stageArtifacts, withDirLock } from '../artifacts/lock.ts';
import { readManifest, requireFreshSetup } from '../artifacts/manifest.ts';
import { artifactPath } from '../artifacts/paths.ts';
import { commitKey, withCompiledLabels } from './setup.ts';

interface Captured {
  info: string[];
  errors: string[];
  logger: Record<'info' | 'warn' | 'debug' | 'error', (m: string) => void>;
}

function capture(): Captured {
  const info: string[] = [];
  const errors: string[] = [];
  return { info, errors, logger: { info: (m) => void info.push(m), warn: (m) => void info.push(m), debug: () => {}, error: (m) => void errors.push(m) } };
}

async function requireCeremonyKey(dir: string) {
  const m = await readManifest(dir);
  const setup = requireFreshSetup(dir, m);
  if (setup.keyKind !== 'ceremony') {
    throw new SetupError(`'${dir}' holds a dev key: phase-2 contributions cannot make it safe, because its whole toxic waste came from one machine.`, {
      hint: `Make a ceremony key first: zkonnx setup ${dir} --ptau <powers-of-tau file>.`,
    });
  }
  return m;
}

/**
 * Replace the zkey with the output of `step`, with its verification key and the manifest, all or nothing
 * (the old key stays valid until the switch), holding DIR's writer lock.
 */
async function replaceZkey(dir: string, command: string, step: (oldZkey: string, newZkey: string, log: Captured['logger']) => Promise<unknown>): Promise<{ vkSha256: string; info: string[] }> {
  return withDirLock(dir, 'exclusive', command, async () => {
    const m = await withCompiledLabels(dir, await requireCeremonyKey(dir));
    const c = capture();
    const stage = await stageArtifacts(dir);
    try {
      const r = await step(artifactPath(dir, 'zkey'), stage.path('zkey'), c.logger);
      if (r === false || c.errors.length) throw new SetupError(`snarkjs failed: ${c.errors.join('; ') || 'unknown error'}.`);
      const { ptauPower, ptauSha256, domainPower, r1csSha256, seconds } = m.setup!;
      const setup = await commitKey(stage, m, 'ceremony', { r1csSha256, domainPower, ptauPower, ptauSha256, seconds });
      return { vkSha256: setup.vkSha256, info: c.info };
    } finally {
      stage.discard();
    }
  });
}

/** Add one phase-2 contribution with fresh entropy (never stored). Returns the contribution hash (hex). */
export async function ceremonyContribute(dir: string, name = 'zkonnx contributor'): Promise<{ contributionHash: string; vkSha256: string }> {
  let hash = '';
  const { vkSha256 } = await replaceZkey(dir, 'ceremony contribute', async (oldZ, newZ, logger) => {
    const snarkjs = await loadSnarkjs();
    const h: Uint8Array = await snarkjs.zKey.contribute(oldZ, newZ, name, randomBytes(64).toString('hex'), logger);
    hash = Buffer.from(h).toString('hex');
  });
  return { contributionHash: hash, vkSha256 };
}

/** Seal the ceremony with a public random beacon: 2^iterations SHA-256 rounds over `hashHex`. */
export async function ceremonyBeacon(dir: string, hashHex: string, iterations: number, name = 'final beacon'): Promise<{ vkSha256: string }> {
  if (!/^([0-9a-fA-F]{2})+$/.test(hashHex)) throw new SetupError(`--hash must be hexadecimal bytes, got '${hashHex}'.`);
  if (!Number.isInteger(iterations) || iterations < 10 || iterations > 63) throw new SetupError(`--iterations must be an integer exponent from 10 to 63 (snarkjs' range), got ${iterations}.`);
  return replaceZkey(dir, 'ceremony beacon', async (oldZ, newZ, logger) => (await loadSnarkjs()).zKey.beacon(oldZ, newZ, name, hashHex, iterations, logger));
}

export interface CeremonyVerification {
  valid: boolean;
  /** snarkjs' report: circuit hash and each contribution's name and hash (and beacon parameters). */
  contributions: string[];
  errors: string[];
}

/** Check the zkey was derived from this r1cs and ptau through valid contributions. */
export async function ceremonyVerify(dir: string, ptau: string): Promise<CeremonyVerification> {
  return withDirLock(dir, 'shared', 'ceremony verify', () => verifyLocked(dir, ptau));
}

async function verifyLocked(dir: string, ptau: string): Promise<CeremonyVerification> {
  const c = capture();
  let valid = false;
  try {
    valid = await (await loadSnarkjs()).zKey.verifyFromR1cs(artifactPath(dir, 'r1cs'), ptau, artifactPath(dir, 'zkey'), c.logger);
  } catch (e) {
    c.errors.push((e as Error).message);
  }
  const contributions = c.info.filter((l) => /contribution #|Beacon|Circuit Hash/i.test(l)).map((l) => l.split('\n')[0].trim());
  return { valid: valid === true && c.errors.length === 0, contributions, errors: c.errors };
}
