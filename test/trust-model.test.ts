/**
 * What the verifier's checks do and do not back (README "Security model"):
 * - the gamma != delta check catches a key without a phase-2 contribution, not a malicious key: with
 *   delta = -gamma or delta = 2 gamma, A = alpha, B = beta and C chosen from vk_x "prove" any output. Only
 *   pinning the trusted key's hash (vkSha256) refuses such a key; these tests show both sides;
 * - a Groth16 proof can be re-randomized (A and B negated) and still verifies the same statement, so proof
 *   bytes are not unique identifiers;
 * - the key kind is the key's own claim: a dev key relabelled "ceremony" verifies (under its new hash), and
 *   `zkonnx verify` says the kind is claimed, not checked.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildBn128 } from 'ffjavascript';
import { beforeAll, describe, expect, it } from 'vitest';
import { artifactPath } from '../src/artifacts/paths.ts';
import { FIELD_PRIME, toFieldString } from '../src/field.ts';
import { prove, readVerificationKey } from '../src/prove/prove.ts';
import { vkHash } from '../src/verify/canonical.ts';
import type { ProofBundle, ZkonnxVerificationKey } from '../src/verify/types.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { cli } from './helpers/cli.ts';
import { mlpFixture, TEST_ROOT, type Fixture } from './helpers/fixtures.ts';

/** BN254 base field modulus. */
const Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

let F: Fixture;
let vk: ZkonnxVerificationKey;
let bundle: ProofBundle;
let honestHash: string;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let curve: any;

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const g1Obj = (p: Uint8Array): string[] => [...curve.G1.toObject(curve.G1.toAffine(p)).slice(0, 2).map(String), '1'];
const g2Obj = (p: Uint8Array): string[][] => {
  const o = curve.G2.toObject(curve.G2.toAffine(p));
  return [[String(o[0][0]), String(o[0][1])], [String(o[1][0]), String(o[1][1])], ['1', '0']];
};
const g1 = (o: string[]) => curve.G1.fromObject(o.map(BigInt));
const g2 = (o: string[][]) => curve.G2.fromObject(o.map((pair) => pair.map(BigInt)));

/** Modular inverse mod r. */
function invR(a: bigint): bigint {
  let [t, newT, r, newR] = [0n, 1n, FIELD_PRIME, ((a % FIELD_PRIME) + FIELD_PRIME) % FIELD_PRIME];
  while (newR !== 0n) {
    const q = r / newR;
    [t, newT] = [newT, t - q * newT];
    [r, newR] = [newR, r - q * newR];
  }
  return (t + FIELD_PRIME) % FIELD_PRIME;
}

/** vk_x = IC[0] + sum_i s_i IC[i+1]. */
function vkX(key: ZkonnxVerificationKey, signals: string[]): Uint8Array {
  let acc = g1(key.IC[0]);
  signals.forEach((s, i) => (acc = curve.G1.add(acc, curve.G1.timesScalar(g1(key.IC[i + 1]), BigInt(s)))));
  return acc;
}

/**
 * A bundle claiming output[0] = honest + 1, "proved" under a key whose delta = k * gamma (k = -1 or 2):
 * A = alpha, B = beta, C = -vk_x / k, so e(vk_x, gamma) e(C, delta) = 1 and the equation holds.
 */
async function forge(k: bigint): Promise<{ key: ZkonnxVerificationKey; forged: ProofBundle }> {
  const key = clone(vk);
  const kr = ((k % FIELD_PRIME) + FIELD_PRIME) % FIELD_PRIME;
  key.vk_delta_2 = g2Obj(curve.G2.timesScalar(g2(vk.vk_gamma_2), kr));
  delete key.vk_alphabeta_12;
  const forged = clone(bundle);
  const out0 = BigInt(forged.output.quantized[0]) + 1n;
  forged.output.quantized[0] = out0.toString();
  forged.publicSignals[0] = toFieldString(out0);
  const scale = vk.zkonnx.output.quant.kind === 'u8' ? vk.zkonnx.output.quant.scale : vk.zkonnx.output.quant.scales[0];
  const zp = vk.zkonnx.output.quant.kind === 'u8' ? vk.zkonnx.output.quant.zeroPoint : 0;
  forged.output.values[0] = (Number(out0) - zp) * scale;
  const c = curve.G1.timesScalar(curve.G1.neg(vkX(key, forged.publicSignals)), invR(kr));
  forged.proof = { ...forged.proof, pi_a: clone(vk.vk_alpha_1), pi_b: clone(vk.vk_beta_2), pi_c: g1Obj(c) };
  forged.vkSha256 = await vkHash(key);
  return { key, forged };
}

beforeAll(async () => {
  curve = await buildBn128(true);
  F = await mlpFixture('trust-model', { sizes: [6, 4, 3], seed: 57, style: 'gemm' }, true);
  vk = await readVerificationKey(artifactPath(F.dir, 'vk'));
  honestHash = await vkHash(vk);
  ({ bundle } = await prove(F.dir, F.inputs(1, 8)[0]));
  expect((await verifyBundle(bundle, vk)).valid).toBe(true);
});

describe('a malicious key (gamma != delta, but delta a known multiple of gamma)', () => {
  for (const k of [-1n, 2n]) {
    it(`delta = ${k} * gamma: a forged output verifies under that key, and pinning the honest key refuses it`, async () => {
      const { key, forged } = await forge(k);
      // The forgery is real: the pairing equation holds for an output the model never produced.
      const unpinned = await verifyBundle(forged, key);
      expect(unpinned.valid, unpinned.reason).toBe(true);
      // The defence is the pin: the key must be the one you trust, named by its hash.
      const pinned = await verifyBundle(forged, key, { vkSha256: honestHash });
      expect(pinned.valid).toBe(false);
      expect(pinned.reason).toMatch(/not the expected one/);
      // And under the honest key the forged bundle fails.
      expect((await verifyBundle({ ...forged, vkSha256: honestHash }, vk)).valid).toBe(false);
    });
  }
});

describe('proof malleability', () => {
  it('negating A and B gives other proof bytes for the same statement, and it verifies', async () => {
    const r = clone(bundle);
    r.proof.pi_a = g1Obj(curve.G1.neg(g1(bundle.proof.pi_a)));
    r.proof.pi_b = g2Obj(curve.G2.neg(g2(bundle.proof.pi_b)));
    expect(r.proof.pi_a).not.toEqual(bundle.proof.pi_a);
    expect(BigInt(r.proof.pi_a[1])).toBe(Q - BigInt(bundle.proof.pi_a[1]));
    const v = await verifyBundle(r, vk, { vkSha256: honestHash });
    expect(v.valid, v.reason).toBe(true);
    expect(r.publicSignals).toEqual(bundle.publicSignals);
  });
});

describe('the key kind is the key\'s own claim', () => {
  it('a dev key relabelled "ceremony" verifies under its new hash, and `zkonnx verify` says the kind is claimed', async () => {
    expect(vk.zkonnx.key.kind).toBe('dev');
    const relabelled = clone(vk);
    relabelled.zkonnx.key.kind = 'ceremony';
    const b = { ...clone(bundle), keyKind: 'ceremony' as const, vkSha256: await vkHash(relabelled) };
    const r = await verifyBundle(b, relabelled);
    expect(r.valid, r.reason).toBe(true);
    expect(r.keyKind).toBe('ceremony');
    // Pinning the honest key's hash refuses the relabelled one.
    expect((await verifyBundle(b, relabelled, { vkSha256: honestHash })).valid).toBe(false);

    const dir = join(TEST_ROOT, 'trust-model-cli');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'vk.json'), JSON.stringify(relabelled));
    await writeFile(join(dir, 'bundle.json'), JSON.stringify(b));
    const human = await cli('verify', join(dir, 'bundle.json'), '--vk', join(dir, 'vk.json'));
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/ceremony/);
    expect(human.stdout).toMatch(/claim/i);
    const json = await cli('verify', join(dir, 'bundle.json'), '--vk', join(dir, 'vk.json'), '--json');
    const out = JSON.parse(json.stdout);
    expect(out.keyKind).toBe('ceremony');
    expect(out.keyKindChecked).toBe(false);
  });
});
