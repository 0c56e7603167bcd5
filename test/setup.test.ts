/**
 * Keys: dev keys straight from random toxic waste (accepted by snarkjs' own prover and verifier, structurally
 * sound), the ceremony path on a locally generated small ptau (contribute, beacon, verify, and verify failing
 * after one byte of the zkey changes), and the safety rules around them.
 */
import { artifactWitness } from '../src/prove/witness.ts';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as snarkjs from 'snarkjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../src/artifacts/manifest.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileModel } from '../src/compile/model.ts';
import { ArtifactError, SetupError } from '../src/errors.ts';
import { prove, readVerificationKey } from '../src/prove/prove.ts';
import { ceremonyBeacon, ceremonyContribute, ceremonyVerify } from '../src/setup/ceremony.ts';
import { ensureLocalPtau } from '../src/setup/ptau.ts';
import { setupKeys } from '../src/setup/setup.ts';
import { checkZkey } from '../src/setup/zkey-check.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { mlpFixture, randomInputs, type Fixture } from './helpers/fixtures.ts';

const quiet = { info() {}, warn() {}, debug() {}, error() {} };
let fx: Fixture;

beforeAll(async () => {
  fx = await mlpFixture('setup-dev', { sizes: [12, 9, 3], seed: 31, style: 'gemm-transB' });
});

async function flipByte(src: string, dst: string, at: (size: number) => number): Promise<void> {
  const b = await readFile(src);
  b[at(b.length)] ^= 0x55;
  await writeFile(dst, b);
}

describe('dev keys', () => {
  it('are standard snarkjs keys: snarkjs proves and verifies with them, a tampered proof fails', async () => {
    const r = await setupKeys(fx.dir);
    expect(r.keyKind).toBe('dev');
    const zkey = artifactPath(fx.dir, 'zkey');
    const check = await checkZkey(zkey, { allPoints: true });
    expect(check.problems).toEqual([]);
    expect(check.ok).toBe(true);
    expect(check.pointsChecked).toBeGreaterThan(3 * check.nVars);

    const vk = await readVerificationKey(r.vk);
    expect(vk.zkonnx.key).toEqual({ kind: 'dev', ptauPower: null });
    // The exported vk equals what snarkjs itself exports from the zkey (plus our section).
    const { zkonnx: _z, ...plain } = vk;
    expect(plain).toEqual(await snarkjs.zKey.exportVerificationKey(zkey));

    const { bundle } = await prove(fx.dir, Array.from(fx.inputs(1, 5)[0]));
    expect(await snarkjs.groth16.verify(vk, bundle.publicSignals, bundle.proof, quiet)).toBe(true);
    expect(await verifyBundle(bundle, vk)).toMatchObject({ valid: true, keyKind: 'dev' });
    expect(bundle.keyKind).toBe('dev');
    const bad = structuredClone(bundle);
    bad.proof.pi_c = structuredClone(bad.proof.pi_a);
    expect(await snarkjs.groth16.verify(vk, bad.publicSignals, bad.proof, quiet)).toBe(false);
    expect((await verifyBundle(bad, vk)).valid).toBe(false);

    // snarkjs' own prover agrees, on a witness computed again from the circuit.
    const input = { in: bundle.input.quantized! };
    const w = await artifactWitness(fx.dir, input);
    const full = await snarkjs.groth16.prove(zkey, { type: 'mem', data: w.bin } as never);
    expect(full.publicSignals).toEqual(bundle.publicSignals);
    expect(await snarkjs.groth16.verify(vk, full.publicSignals, full.proof, quiet)).toBe(true);
  });

  it('come from fresh randomness every time, never gamma == delta, and leave no temp files', async () => {
    const a = await readVerificationKey((await setupKeys(fx.dir)).vk);
    const b = await readVerificationKey((await setupKeys(fx.dir)).vk);
    expect(a.vk_delta_2).not.toEqual(b.vk_delta_2);
    expect(a.vk_alpha_1).not.toEqual(b.vk_alpha_1);
    expect(a.vk_gamma_2).not.toEqual(a.vk_delta_2);
    expect((await readdir(fx.dir)).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('the structural check catches a corrupted or truncated zkey', async () => {
    const zkey = artifactPath(fx.dir, 'zkey');
    const bad = join(fx.dir, 'corrupt.zkey.test');
    // A byte inside the A section (well past the header) makes that point leave the curve.
    const m = await checkZkey(zkey);
    await flipByte(zkey, bad, (n) => n - m.domainSize * 64 - 20);
    const all = await checkZkey(bad, { allPoints: true });
    expect(all.ok).toBe(false);
    expect(all.problems.join('\n')).toMatch(/not on the curve/);
    const b = await readFile(zkey);
    await writeFile(bad, b.subarray(0, b.length - 64));
    expect((await checkZkey(bad)).problems.join('\n')).toMatch(/truncated|sections end|bytes, expected/);
    await rm(bad);
  });

  it('a recompiled, changed circuit never reuses the old key', async () => {
    const f = await mlpFixture('setup-stale', { sizes: [8, 5, 2], seed: 32, style: 'gemm' }, true);
    await compileModel(f.modelPath, { out: f.dir, calibration: randomInputs(8, 7, 99) });
    const m = await readManifest(f.dir);
    expect(m.setup).toBeUndefined();
    await expect(prove(f.dir, Array.from(f.inputs(1, 1)[0]))).rejects.toBeInstanceOf(ArtifactError);
  });
});

describe('ceremony path (local small ptau)', () => {
  it('setup --ptau, contribute, beacon, verify; one changed byte fails verification', async () => {
    const f = await mlpFixture('setup-ceremony', { sizes: [10, 6, 3], seed: 33, style: 'matmul-add' });
    const ptau = await ensureLocalPtau(10);
    const r = await setupKeys(f.dir, { ptau });
    expect(r.keyKind).toBe('ceremony');
    expect((await readManifest(f.dir)).setup).toMatchObject({ keyKind: 'ceremony', ptauPower: 10 });
    const first = await readVerificationKey(r.vk);
    const c = await ceremonyContribute(f.dir, 'alice');
    expect(c.contributionHash).toMatch(/^[0-9a-f]{128}$/);
    await ceremonyBeacon(f.dir, '0123456789abcdef0123456789abcdef', 10);
    await expect(ceremonyBeacon(f.dir, 'abcd', 4)).rejects.toThrow(/from 10 to 63/);
    const vk = await readVerificationKey(artifactPath(f.dir, 'vk'));
    expect(vk.vk_delta_2).not.toEqual(first.vk_delta_2);
    expect(vk.zkonnx.key.kind).toBe('ceremony');

    const v = await ceremonyVerify(f.dir, ptau);
    expect(v.errors).toEqual([]);
    expect(v.valid).toBe(true);
    const names = v.contributions.join('\n');
    expect(names).toMatch(/contribution #1 zkonnx setup/);
    expect(names).toMatch(/contribution #2 alice/);
    expect(names).toMatch(/contribution #3 final beacon/);

    const { bundle } = await prove(f.dir, Array.from(f.inputs(1, 2)[0]));
    expect(await verifyBundle(bundle, vk)).toMatchObject({ valid: true, keyKind: 'ceremony' });

    // One byte of the zkey changed, in the middle of the file (among the proving-key points).
    const tampered = join('artifacts/test', 'setup-ceremony-tampered');
    await rm(tampered, { recursive: true, force: true });
    await cp(f.dir, tampered, { recursive: true });
    const zk = artifactPath(tampered, 'zkey');
    const size = (await readFile(zk)).length;
    await flipByte(zk, zk, () => Math.floor(size / 2));
    expect((await ceremonyVerify(tampered, ptau)).valid).toBe(false);
  });

  it('refuses to "contribute" to a dev key, and a ptau that is too small', async () => {
    await setupKeys(fx.dir);
    await expect(ceremonyContribute(fx.dir)).rejects.toThrow(/dev key: phase-2 contributions cannot make it safe/);
    const small = await ensureLocalPtau(10);
    const big = await mlpFixture('setup-big', { sizes: [40, 40, 2], seed: 34, style: 'gemm' });
    const err = await setupKeys(big.dir, { ptau: small }).catch((e) => e);
    if ((await readManifest(big.dir)).circuit.constraints + 42 >= 1024) {
      expect(err).toBeInstanceOf(SetupError);
      expect(String(err.message)).toMatch(/needs a ptau of power 11 or more/);
    } else {
      expect(err).toMatchObject({ keyKind: 'ceremony' });
    }
  });
});

describe('keys across recompiles', () => {
  it('an identical circuit keeps its key, with the vk metadata refreshed for the new model (renamed output)', async () => {
    const { buildOnnxModel } = await import('../src/onnx/builder.ts');
    const spec = (out: string) => buildOnnxModel({
      inputs: [{ name: 'x', shape: [1, 4] }],
      outputs: [{ name: out, shape: [1, 2] }],
      initializers: [{ name: 'W', dims: [2, 4], data: [0.5, -0.25, 1, 0.3, -0.7, 0.2, 0.1, 0.9] }, { name: 'b', dims: [2], data: [0.1, -0.2] }],
      nodes: [{ op: 'Gemm', name: 'fc', inputs: ['x', 'W', 'b'], outputs: [out], attrs: { transB: 1 } }],
    });
    const dir = 'artifacts/test/setup-rename';
    await rm(dir, { recursive: true, force: true });
    const cal = randomInputs(4, 8, 5);
    await writeFile('artifacts/test/setup-rename-a.onnx', spec('logits'));
    await compileModel('artifacts/test/setup-rename-a.onnx', { out: dir, calibration: cal });
    await setupKeys(dir);
    const before = await readManifest(dir);
    await writeFile('artifacts/test/setup-rename-b.onnx', spec('scores'));
    const r = await compileModel('artifacts/test/setup-rename-b.onnx', { out: dir, calibration: cal });
    expect(r.compiled).toBe(true);
    expect(r.manifest.circuit.r1csSha256).toBe(before.circuit.r1csSha256);
    expect(r.manifest.setup?.zkeySha256).toBe(before.setup!.zkeySha256);
    expect(r.manifest.setup?.vkSha256).not.toBe(before.setup!.vkSha256);
    const vk = await readVerificationKey(artifactPath(dir, 'vk'));
    expect(vk.zkonnx.output.name).toBe('scores');
    const { bundle } = await prove(dir, { x: Array.from(cal[0]) });
    expect(await verifyBundle(bundle, vk)).toMatchObject({ valid: true });
  });
});

describe('dev keys and the Solidity export', () => {
  it('snarkjs exports a Groth16 Solidity verifier for a dev key, embedding its gamma, delta and IC', async () => {
    const { readFile: rf } = await import('node:fs/promises');
    // snarkjs' package exports only '.', so locate its template next to its main module.
    const { createRequire } = await import('node:module');
    const { dirname: dn, join: jn } = await import('node:path');
    const main = createRequire(import.meta.url).resolve('snarkjs');
    const template = await rf(jn(dn(main), '..', 'templates', 'verifier_groth16.sol.ejs'), 'utf8');
    await setupKeys(fx.dir);
    const sol: string = await snarkjs.zKey.exportSolidityVerifier(artifactPath(fx.dir, 'zkey'), { groth16: template });
    const vk = await readVerificationKey(artifactPath(fx.dir, 'vk'));
    expect(sol).toMatch(/contract Groth16Verifier/);
    for (const v of [vk.vk_delta_2[0][0], vk.vk_delta_2[1][1], vk.vk_gamma_2[0][1], vk.vk_alpha_1[0], vk.IC[vk.IC.length - 1][1]]) expect(sol).toContain(v);
  });
});
