/**
 * A served circom-backend model recompiled and set up again in place (same folder, same shape, other weights):
 * the witness calculator cached by src/prove/witness.ts must be the new wasm's, or every later proof in the same
 * process (a node's prover) fails with WITNESS_MISMATCH until a restart. Issue 15 review finding 3.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compileModel } from '../src/compile/model.ts';
import { randomMlp } from '../src/onnx/builder.ts';
import { ModelProver } from '../src/serve/prover.ts';
import { setupKeys } from '../src/setup/setup.ts';
import { readVerificationKey } from '../src/prove/prove.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { randomRow } from './helpers/serve.ts';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'zkonnx-wcache-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function build(root: string, seed: number): Promise<void> {
  const onnx = join(work, `m${seed}.onnx`);
  await writeFile(onnx, randomMlp({ sizes: [4, 3], seed, style: 'gemm' }).bytes);
  const calibration = Array.from({ length: 8 }, (_, i) => Float64Array.from(randomRow(4, seed * 100 + i)));
  await compileModel(onnx, { out: join(root, 'm'), calibration, backend: 'circom' });
  await setupKeys(join(root, 'm'));
}

it('a circom-backend model recompiled in place proves with its new wasm in the same process', async () => {
  const root = join(work, 'models');
  await build(root, 1);
  const prover = new ModelProver(root);
  const input = { input: [randomRow(4, 5)] };
  const first = await prover.prove({ modelId: 'm', input });
  expect((await verifyBundle(first.bundle, await readVerificationKey(artifactPath(join(root, 'm'), 'vk')))).valid).toBe(true);
  // Other weights, same shapes: the wasm at the same path now computes another circuit.
  await build(root, 2);
  prover.forget('m');
  const second = await prover.prove({ modelId: 'm', input });
  const v = await verifyBundle(second.bundle, await readVerificationKey(artifactPath(join(root, 'm'), 'vk')));
  expect(v.valid, v.reason).toBe(true);
  expect(second.bundle.vkSha256).not.toBe(first.bundle.vkSha256);
}, 120_000);
