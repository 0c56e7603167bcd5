/**
 * Poseidon over BN254 Fr for 16 inputs (t = 17, 8 full + 68 partial rounds, S-box x^5), in plain BigInt:
 * the same function as circomlib's `Poseidon(16)` and circomlibjs' `poseidon` on 16 inputs (test/poseidon.test.ts
 * checks both). Browser-safe: no node:* and no circomlibjs, so the verifier bundle can use it.
 *
 * The algorithm is the unoptimised reference (circomlibjs src/poseidon_reference.js): state = [0, ...inputs];
 * each round adds C[r * t + i] to every element, applies x^5 to every element (full rounds: the first and last
 * 4) or to element 0 only (partial rounds), then state'[i] = sum_j M[i][j] * state[j]. Output state[0].
 *
 * The constants C and M are not shipped but generated on the first call with the Grain LFSR of the Poseidon
 * reference script (./poseidon-constants.ts; test/poseidon.test.ts checks every value against circomlibjs').
 *
 * Speed: reductions are lazy (one `%` per matrix row over a sum of 17 products) and the two state buffers are
 * reused. Measured: 350-430 permutations/s (2.3-2.9 ms each; Node 20.20, one core of a busy 2-core machine),
 * where circomlibjs' WASM poseidon does ~2,100/s; a 784-byte commitment (2 permutations) takes ~6 ms. The
 * first call also generates the constants: 10-45 ms in total on that machine (5-9 ms when the constants were
 * parsed from hex), once per process or page. The cost is the dense 17x17 matrix in all 76
 * rounds (~22,000 BigInt products). The equivalent optimised form (sparse matrices in the 68 partial rounds,
 * circomlibjs' poseidon_opt.js) would be ~4x faster but needs its own constants, derived from C and M (more code,
 * or more to ship); the reference form keeps the constants to C and M.
 */
import { FIELD_PRIME } from '../field.ts';
import { N_ROUNDS_F, N_ROUNDS_P, poseidonConstants, T } from './poseidon-constants.ts';

const P = FIELD_PRIME;
const ROUNDS = N_ROUNDS_F + N_ROUNDS_P;
const HALF_F = N_ROUNDS_F / 2;

/** How many inputs `poseidon16` takes. */
export const POSEIDON_INPUTS = T - 1;

const pow5 = (x: bigint): bigint => {
  const x2 = (x * x) % P;
  return (((x2 * x2) % P) * x) % P;
};

/**
 * Poseidon(16): the hash of exactly 16 field elements (each canonical, 0 <= x < r; RangeError otherwise) to one
 * field element.
 */
export function poseidon16(inputs: readonly bigint[]): bigint {
  if (inputs.length !== POSEIDON_INPUTS) throw new RangeError(`poseidon16 takes ${POSEIDON_INPUTS} inputs, got ${inputs.length}`);
  const { c, m } = poseidonConstants();
  let s = new Array<bigint>(T);
  let next = new Array<bigint>(T);
  s[0] = 0n;
  for (let i = 0; i < POSEIDON_INPUTS; i++) {
    const x = inputs[i];
    if (typeof x !== 'bigint' || x < 0n || x >= P) throw new RangeError(`poseidon16 input ${i} is not a canonical field element: ${String(x)}`);
    s[i + 1] = x;
  }
  for (let r = 0; r < ROUNDS; r++) {
    const base = r * T;
    if (r < HALF_F || r >= HALF_F + N_ROUNDS_P) {
      for (let i = 0; i < T; i++) s[i] = pow5((s[i] + c[base + i]) % P);
    } else {
      s[0] = pow5((s[0] + c[base]) % P);
      // Unreduced: s[i] + c < 2r, and the matrix row sum below reduces it.
      for (let i = 1; i < T; i++) s[i] += c[base + i];
    }
    for (let i = 0; i < T; i++) {
      const row = i * T;
      let acc = 0n;
      for (let j = 0; j < T; j++) acc += m[row + j] * s[j];
      next[i] = acc % P;
    }
    [s, next] = [next, s];
  }
  return s[0];
}
