/**
 * Multi-party phase 2 for ceremony keys (made with `zkonnx setup DIR --ptau FILE`): add contributions, seal
 * with a public random beacon, and verify the zkey against the r1cs and the ptau. Each step replaces the
 * zkey atomically and re-exports the verification key (its delta changes), updating the manifest.
 */
import { randomBytes } from 'node:crypto';
import { loadSnarkjs } from '../toolchain.ts';
import { SetupError } from '../errors.ts';
import { produceAtomic, sha256File } from '../artifacts/io.ts';
import { readManifest, requireFreshSetup, writeManifest } from '../artifacts/manifest.ts';
import { artifactPath } from '../artifacts/paths.ts';
import { writeVerificationKey } from './setup.ts';

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

/** Replace the zkey with the output of `step`, then re-export the vk and update the manifest. */
async function replaceZkey(dir: string, step: (oldZkey: string, newZkey: string, log: Captured['logger']) => Promise<unknown>): Promise<{ vkSha256: string; info: string[] }> {
  const m = await requireCeremonyKey(dir);
  const zkey = artifactPath(dir, 'zkey');
  const c = capture();
  await produceAtomic(zkey, async (tmp) => {
    const r = await step(zkey, tmp, c.logger);
    if (r === false || c.errors.length) throw new SetupError(`snarkjs failed: ${c.errors.join('; ') || 'unknown error'}.`);
  });
  const snarkjs = await loadSnarkjs();
  const vkSha256 = await writeVerificationKey(dir, await snarkjs.zKey.exportVerificationKey(zkey), m, 'ceremony', m.setup!.ptauPower);
  await writeManifest(dir, { ...m, setup: { ...m.setup!, zkeySha256: await sha256File(zkey), vkSha256 } });
  return { vkSha256, info: c.info };
}

/** Add one phase-2 contribution with fresh entropy (never stored). Returns the contribution hash (hex). */
export async function ceremonyContribute(dir: string, name = 'zkonnx contributor'): Promise<{ contributionHash: string; vkSha256: string }> {
  let hash = '';
  const { vkSha256 } = await replaceZkey(dir, async (oldZ, newZ, logger) => {
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
  return replaceZkey(dir, async (oldZ, newZ, logger) => (await loadSnarkjs()).zKey.beacon(oldZ, newZ, name, hashHex, iterations, logger));
}

export interface CeremonyVerification {
  valid: boolean;
  /** snarkjs' report: circuit hash and each contribution's name and hash (and beacon parameters). */
  contributions: string[];
  errors: string[];
}

/** Check the zkey was derived from this r1cs and ptau through valid contributions. */
export async function ceremonyVerify(dir: string, ptau: string): Promise<CeremonyVerification> {
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
