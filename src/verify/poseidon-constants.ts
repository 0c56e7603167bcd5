/**
 * The parameters of Poseidon over BN254 Fr for t = 17 (16 inputs; 8 full and 68 partial rounds, S-box x^5): the
 * 1292 round constants C and the 17x17 MDS matrix M of circomlib's Poseidon(16) and circomlibjs' poseidon
 * (poseidon_constants.json, C[15] and M[15]), computed on first use instead of shipped. They are random-looking
 * field elements, which do not compress: shipped as hex they made the browser verifier bundle 106 KB gzipped
 * instead of 53 KB (scripts/bundle-verify.mjs); poseidon16 with this generator is ~1.5 KB gzipped.
 *
 * They come from the Grain LFSR of the Poseidon reference script (generate_parameters_grain.sage, Appendix E of
 * the Poseidon paper), which circomlib ran as `sage generate_parameters_grain.sage 1 0 254 17 8 68 p`:
 *   - an 80-bit state b[0..79]: field (2 bits, 1 = GF(p)), S-box (4 bits, 0 = x^alpha), n = 254 (12 bits),
 *     t (12 bits), R_F (10 bits), R_P (10 bits), each most significant bit first, then thirty 1 bits;
 *   - each step appends b[62] ^ b[51] ^ b[38] ^ b[23] ^ b[13] ^ b[0] and drops b[0]; the first 160 are discarded;
 *   - self-shrinking: the steps are taken in pairs (a, b); b is output if a = 1, the pair is skipped if a = 0;
 *   - a number is n output bits, most significant first. A round constant is redrawn while >= p (1292 of them,
 *     C[r * t + i] for round r, element i); then 2t numbers, reduced mod p (not redrawn), give x[0..t-1] and
 *     y[0..t-1], and M[i][j] = 1 / (x[i] + y[j]) (a Cauchy matrix).
 * The script would redraw all 2t numbers if two were equal or some x[i] + y[j] were 0, and also if the matrix
 * failed its three security tests (algorithms 1-3, which need Sage); for t = 17 the first draw passes, as the
 * equality with circomlibjs' constants shows (test/poseidon.test.ts compares every value), so this module only
 * asserts the first two conditions and never redraws.
 *
 * Cost: the first call takes 1,749,906 LFSR steps (16 at a time) for 1,724 numbers and makes one field
 * inversion (the t^2 matrix entries share it): measured 10-25 ms cold, ~3.5 ms once the JIT has warmed up (Node
 * 20.20, one core of a busy 2-core machine), where parsing the same constants from hex took ~4 ms. It happens
 * once per process (or page); later calls return the same arrays.
 */
import { FIELD_PRIME, fieldInverse } from '../field.ts';

export const T = 17;
export const N_ROUNDS_F = 8;
export const N_ROUNDS_P = 68;
/** Field size n in bits, ceil(log2 p). */
const FIELD_BITS = 254;

/**
 * 16 steps of the Grain LFSR at once. The sequence is kept as 16-bit words, the earliest step in bit 0; w0 .. w4
 * are the last 80 steps, oldest first. Step k + 80 is step k + 62 ^ k + 51 ^ k + 38 ^ k + 23 ^ k + 13 ^ k, and
 * the nearest tap is 18 steps back, so the next 16 steps are the XOR of six 16-bit windows of w0 .. w4 (the
 * window from step o is word o >> 4 shifted right by o & 15, completed from the word after it).
 */
function lfsr16(w0: number, w1: number, w2: number, w3: number, w4: number): number {
  return (
    (((w3 >>> 14) | (w4 << 2)) ^ ((w3 >>> 3) | (w4 << 13)) ^ ((w2 >>> 6) | (w3 << 10)) ^ ((w1 >>> 7) | (w2 << 9)) ^
      ((w0 >>> 13) | (w1 << 3)) ^ w0) &
    0xffff
  );
}

/** The Grain LFSR in self-shrinking mode, as generate_parameters_grain.sage (see the top of this file). */
class Grain {
  // The last 80 steps, as in lfsr16.
  private readonly words = new Int32Array(5);
  // Output bits not yet taken: `pending` holds `count` of them, the earliest most significant.
  private pending = 0;
  private count = 0;
  // The self-shrinking filter a byte (four pairs, the earliest in the low bits) at a time: its output bits, the
  // earliest most significant, and how many.
  private readonly filterBits = new Uint8Array(256);
  private readonly filterCount = new Uint8Array(256);

  constructor(t: number, roundsF: number, roundsP: number) {
    let k = 0;
    const put = (value: number, width: number) => {
      for (let b = width - 1; b >= 0; b--, k++) this.words[k >> 4] |= ((value >> b) & 1) << (k & 15);
    };
    put(1, 2); // field: GF(p)
    put(0, 4); // S-box: x^alpha
    put(FIELD_BITS, 12);
    put(t, 12);
    put(roundsF, 10);
    put(roundsP, 10);
    put(0x3fffffff, 30);
    const r = this.words;
    for (let i = 0; i < 160 / 16; i++) r.set([r[1], r[2], r[3], r[4], lfsr16(r[0], r[1], r[2], r[3], r[4])]);
    for (let v = 0; v < 256; v++) {
      for (let pair = 0; pair < 4; pair++) {
        if ((v >> (2 * pair)) & 1) {
          this.filterBits[v] = (this.filterBits[v] << 1) | ((v >> (2 * pair + 1)) & 1);
          this.filterCount[v]++;
        }
      }
    }
  }

  /** The next `n` <= 32 output bits as a number, the earliest most significant. */
  private bits(n: number): number {
    const fb = this.filterBits;
    const fc = this.filterCount;
    let pending = this.pending;
    let count = this.count;
    if (count < n) {
      const r = this.words;
      let w0 = r[0], w1 = r[1], w2 = r[2], w3 = r[3], w4 = r[4];
      while (count < n) {
        const word = lfsr16(w0, w1, w2, w3, w4);
        w0 = w1;
        w1 = w2;
        w2 = w3;
        w3 = w4;
        w4 = word;
        const lo = word & 0xff;
        const hi = word >> 8;
        pending = (pending * (1 << fc[lo]) + fb[lo]) * (1 << fc[hi]) + fb[hi];
        count += fc[lo] + fc[hi];
      }
      r[0] = w0;
      r[1] = w1;
      r[2] = w2;
      r[3] = w3;
      r[4] = w4;
    }
    // count < n + 8 <= 40: pending is exact in a double.
    const scale = 2 ** (count - n);
    const out = Math.floor(pending / scale);
    this.pending = pending - out * scale;
    this.count = count - n;
    return out;
  }

  /** The next n = FIELD_BITS output bits as an integer, the earliest most significant. */
  next(): bigint {
    let x = 0n;
    for (let left = FIELD_BITS; left > 0; left -= 32) {
      const n = Math.min(left, 32);
      x = (x << BigInt(n)) | BigInt(this.bits(n));
    }
    return x;
  }
}

/** Round constants (R_F + R_P) * t and the Cauchy MDS matrix (row-major), drawn as the reference script does. */
function generate(t: number, roundsF: number, roundsP: number): { c: bigint[]; m: bigint[] } {
  const p = FIELD_PRIME;
  const grain = new Grain(t, roundsF, roundsP);
  const c = new Array<bigint>((roundsF + roundsP) * t);
  for (let i = 0; i < c.length; i++) {
    let x = grain.next();
    while (x >= p) x = grain.next();
    c[i] = x;
  }
  const xy = Array.from({ length: 2 * t }, () => grain.next() % p);
  if (new Set(xy).size !== xy.length) throw new Error('Poseidon MDS: repeated x or y (the reference would redraw)');
  // M[i][j] = 1 / (x[i] + y[j]), all t^2 inverses from one (Montgomery's trick: prefix products).
  const m = new Array<bigint>(t * t);
  const prefix = new Array<bigint>(t * t);
  let acc = 1n;
  for (let k = 0; k < t * t; k++) {
    m[k] = (xy[Math.floor(k / t)] + xy[t + (k % t)]) % p;
    if (m[k] === 0n) throw new Error('Poseidon MDS: x[i] + y[j] = 0 (the reference would redraw)');
    prefix[k] = acc;
    acc = (acc * m[k]) % p;
  }
  let inv = fieldInverse(acc);
  for (let k = t * t - 1; k >= 0; k--) {
    const sum = m[k];
    m[k] = (inv * prefix[k]) % p;
    inv = (inv * sum) % p;
  }
  return { c, m };
}

let cached: { c: readonly bigint[]; m: readonly bigint[] } | undefined;

/** The constants, generated on first use: c[r * T + i] (round r, element i) and m[i * T + j] (M[i][j]). */
export function poseidonConstants(): { c: readonly bigint[]; m: readonly bigint[] } {
  cached ??= generate(T, N_ROUNDS_F, N_ROUNDS_P);
  return cached;
}
