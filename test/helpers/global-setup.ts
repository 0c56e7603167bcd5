// Before test files run in parallel: build dist/ when a source file changed (the CLI runs from it, as it does
// when installed), and make the small locally generated ptau once (each file would otherwise make its own;
// cached across local runs in artifacts/test/ptau).
import { execFileSync } from 'node:child_process';
import { ensureLocalPtau } from '../../src/setup/ptau.ts';
import { releaseCurve } from '../../src/curve.ts';

export default async function setup(): Promise<void> {
  try {
    execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { stdio: 'inherit' });
  } catch {
    // Type errors elsewhere in src/ must not stop the library tests; only the CLI tests run dist/. `npm ci`
    // (prepare) and `npm run build` still fail on them.
    console.warn('\n*** zkonnx test setup: `node scripts/build.mjs` failed; dist/ is stale, so CLI tests may fail. ***\n');
  }
  process.env.ZKONNX_ARTIFACTS = 'artifacts/test';
  await ensureLocalPtau(10);
  await releaseCurve();
}
