// Before test files run in parallel: build dist/ when a source file changed (the CLI runs from it, as it does
// when installed), and make the small locally generated ptau once (each file would otherwise make its own;
// cached across local runs in artifacts/test/ptau).
import { execFileSync } from 'node:child_process';
import { ensureLocalPtau } from '../../src/setup/ptau.ts';
import { releaseCurve } from '../../src/curve.ts';

export default async function setup(): Promise<void> {
  execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { stdio: 'inherit' });
  process.env.ZKONNX_ARTIFACTS = 'artifacts/test';
  await ensureLocalPtau(10);
  await releaseCurve();
}
