/**
 * Groth16 verification on BN254 with ffjavascript alone (the curve arithmetic snarkjs itself uses), so the
 * verifier does not pull snarkjs (prover, zkey and r1cs code) into a browser bundle. No node:* imports.
 *
 * The curve is built single-threaded once and kept: verification is one multi-exponentiation and one
 * pairing product, too small to gain from worker threads, and no worker means nothing keeps a process alive.
 */
import { buildBn128 } from 'ffjavascript';

/** The parts of ffjavascript's curve object the verifier uses. */
export interface Bn128 {
  G1: {
    F: { n8: number };
    fromObject(o: bigint[]): Uint8Array;
    toAffine(p: Uint8Array): Uint8Array;
    add(a: Uint8Array, b: Uint8Array): Uint8Array;
    neg(a: Uint8Array): Uint8Array;
    isValid(a: Uint8Array): boolean;
    multiExpAffine(bases: Uint8Array, scalars: Uint8Array): Promise<Uint8Array>;
  };
  G2: {
    fromObject(o: bigint[][]): Uint8Array;
    eq(a: Uint8Array, b: Uint8Array): boolean;
    isZero(a: Uint8Array): boolean;
    isValid(a: Uint8Array): boolean;
    timesScalar(a: Uint8Array, s: bigint): Uint8Array;
  };
  Fr: { n8: number };
  pairingEq(...points: Uint8Array[]): Promise<boolean>;
}

let curve: Promise<Bn128> | null = null;

/** The BN254 curve (single-threaded, built on first use and cached for the life of the module). */
export function bn128(): Promise<Bn128> {
  curve ??= (buildBn128(true) as Promise<Bn128>).catch((e: unknown) => {
    curve = null;
    throw e;
  });
  return curve;
}

export interface Groth16Key {
  vk_alpha_1: string[];
  vk_beta_2: string[][];
  vk_gamma_2: string[][];
  vk_delta_2: string[][];
  IC: string[][];
}

export interface Groth16ProofPoints {
  pi_a: string[];
  pi_b: string[][];
  pi_c: string[];
}

const big1 = (p: string[]) => p.map((c) => BigInt(c));
const big2 = (p: string[][]) => p.map((pair) => pair.map((c) => BigInt(c)));

/** Little-endian bytes of a non-negative bigint in `n8` bytes. */
function writeLE(buf: Uint8Array, offset: number, v: bigint, n8: number): void {
  let x = v;
  for (let i = 0; i < n8; i++) {
    buf[offset + i] = Number(x & 0xffn);
    x >>= 8n;
  }
}

/**
 * The Groth16 equation e(-A, B) e(vk_x, gamma) e(C, delta) e(alpha, beta) == 1, with
 * vk_x = IC[0] + sum_i signals[i] * IC[i + 1]. The caller has checked the signal count and that every
 * signal is canonical (< r). Returns 'malformed' when a proof point is not on its curve.
 *
 * Cost: one multi-exponentiation of signals.length G1 points and a 4-pairing product.
 */
export async function groth16Verify(vk: Groth16Key, signals: readonly bigint[], proof: Groth16ProofPoints): Promise<'ok' | 'invalid' | 'malformed'> {
  const c = await bn128();
  const n8q = c.G1.F.n8;
  const n8r = c.Fr.n8;
  const bases = new Uint8Array(n8q * 2 * signals.length);
  const scalars = new Uint8Array(n8r * signals.length);
  for (let i = 0; i < signals.length; i++) {
    bases.set(c.G1.toAffine(c.G1.fromObject(big1(vk.IC[i + 1]))), i * n8q * 2);
    writeLE(scalars, i * n8r, signals[i], n8r);
  }
  const ic0 = c.G1.fromObject(big1(vk.IC[0]));
  const vkX = signals.length ? c.G1.add(await c.G1.multiExpAffine(bases, scalars), ic0) : ic0;

  let a: Uint8Array, b: Uint8Array, cc: Uint8Array;
  try {
    a = c.G1.fromObject(big1(proof.pi_a));
    b = c.G2.fromObject(big2(proof.pi_b));
    cc = c.G1.fromObject(big1(proof.pi_c));
  } catch {
    return 'malformed';
  }
  if (!c.G1.isValid(a) || !c.G2.isValid(b) || !c.G1.isValid(cc)) return 'malformed';
  const ok = await c.pairingEq(
    c.G1.neg(a), b,
    vkX, c.G2.fromObject(big2(vk.vk_gamma_2)),
    cc, c.G2.fromObject(big2(vk.vk_delta_2)),
    c.G1.fromObject(big1(vk.vk_alpha_1)), c.G2.fromObject(big2(vk.vk_beta_2)),
  );
  return ok ? 'ok' : 'invalid';
}
