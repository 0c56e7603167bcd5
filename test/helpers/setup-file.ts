import { afterAll } from 'vitest';
import { releaseCurve } from '../../src/curve.ts';

// snarkjs keeps BN254 worker threads alive; release them so the test process can exit.
afterAll(async () => {
  await releaseCurve();
});
