// Make the small locally generated ptau once, before test files run in parallel (each would otherwise make
// its own). Cached across local runs in artifacts/test/ptau.
import { ensureLocalPtau } from '../../src/setup/ptau.ts';
import { releaseCurve } from '../../src/curve.ts';

export default async function setup(): Promise<void> {
  process.env.ZKONNX_ARTIFACTS = 'artifacts/test';
  await ensureLocalPtau(10);
  await releaseCurve();
}
