/**
 * Circuit-specific Groth16 setup from fresh random toxic waste (tau, alpha, beta, gamma, delta), written
 * directly as a standard snarkjs .zkey (the way arkworks' circuit-specific setup works): no powers of tau.
 * The toxic waste lives only in this module's locals and one WASM memory that is zeroed when done; it is
 * never written anywhere.
 *
 * With L_c the Lagrange basis of the size-n domain snarkjs uses (n = 2^(floor(log2(constraints + public)) + 1))
 * and u_s, v_s, w_s the A, B, C columns of wire s evaluated at tau (plus snarkjs' extra row per public
 * signal, A = 1):
 *   A_s = [u_s]1, B1_s = [v_s]1, B2_s = [v_s]2,
 *   IC_s = [(beta u_s + alpha v_s + w_s) / gamma]1 (public), C_s = [(...) / delta]1 (private),
 *   H_i = [L'_(2i+1)(tau) / delta]1 with L' the basis of the size-2n domain (snarkjs' odd-coset prover).
 * These are the points `snarkjs groth16 setup` + one `zkey contribute` produce for that toxic waste, except
 * that gamma is random too (snarkjs keeps gamma = [1]2) and the circuit hash in section 10 is sha512 of the
 * r1cs (snarkjs uses a blake2b transcript): snarkjs' prover, verifier and Solidity export accept the key;
 * `snarkjs zkey verify` does not apply, since there is no ceremony to verify.
 *
 * Scale: everything is streamed or typed. The r1cs is read once, block by block (hashed in the same pass);
 * the columns u, v, w accumulate in BN254 WASM memory (32 bytes per wire each, no bigint per term); section 4
 * is written as the constraints go by, and each point straight into its section as the fixed-base workers
 * return it. Memory is 3 x 32 bytes per wire and 32 per domain point (the scalars) plus buffers of a few
 * MB: 340 MB peak RSS for 2^20 constraints and 1M wires (scripts/scale-probe.ts), where Maps of the whole
 * r1cs and bigint arrays took 3 GB and a GC time that grew faster than the circuit. Time is linear: one pass
 * over the terms (two WASM field operations each, three for A and B terms), then 26-32 batch-affine
 * additions per point (fixed-base.ts), a G2 one about 4x a G1 one; the points dominate.
 */
import { randomBytes, createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { readR1csHeader, streamR1csConstraints, type R1csHeader } from '../compile/r1cs.ts';
import { produceAtomic } from '../artifacts/io.ts';
import { silentProgress, type ProgressReporter } from '../progress.ts';
import { SetupError } from '../errors.ts';
import { BASE_FIELD_PRIME, fieldInverse as inv, fieldPow as pow, FIELD_PRIME } from '../field.ts';
import { encodeScalars, fixedBaseMulBatches, instantiateBn128, pointSize, type Bn128Wasm, type Group, type ScalarBatch } from './fixed-base.ts';

const R = FIELD_PRIME;
const Q = BASE_FIELD_PRIME;

const mod = (a: bigint) => ((a % R) + R) % R;

function randomScalar(): bigint {
  for (;;) {
    const v = BigInt(`0x${randomBytes(64).toString('hex')}`) % R;
    if (v !== 0n) return v;
  }
}

/** snarkjs' domain power for a circuit: floor(log2(constraints + public)) + 1. */
export function domainPower(nConstraints: number, nPublic: number): number {
  return Math.floor(Math.log2(nConstraints + nPublic)) + 1;
}

/**
 * The generator of the order-2^power subgroup of Fr* that snarkjs' FFTs use (ffjavascript's Fr.w[power]):
 * nqr^t squared (s - power) times, with nqr the least quadratic non-residue and r - 1 = 2^s t, t odd.
 */
export function rootOfUnity(power: number): bigint {
  let s = 0;
  let t = R - 1n;
  while ((t & 1n) === 0n) {
    t >>= 1n;
    s++;
  }
  if (power > s) throw new RangeError(`BN254's scalar field has no 2^${power}-th root of unity (2-adicity ${s})`);
  let nqr = 2n;
  while (pow(nqr, (R - 1n) >> 1n) !== R - 1n) nqr++;
  let w = pow(nqr, t);
  for (let i = s; i > power; i--) w = (w * w) % R;
  return w;
}

/** Bytes of coefficient section (4) entries: m, c, s (u32 each) and the value (32). */
const COEF_SIZE = 44;
/** Section 2's data: n8q, q, n8r, r, nVars, nPublic, domainSize, then alpha1 beta1 beta2 gamma2 delta1 delta2. */
const HEADER_POINTS_AT = 4 + 32 + 4 + 32 + 12;
const HEADER_SIZE = HEADER_POINTS_AT + 64 + 64 + 128 + 128 + 64 + 128;
/** Constraints (and domain points) per block of Lagrange evaluations. */
const BLOCK = 1 << 16;

function writeLE(buf: Uint8Array, at: number, v: bigint, bytes = 32): void {
  for (let b = 0; b < bytes; b++) {
    buf[at + b] = Number(v & 0xffn);
    v >>= 8n;
  }
}

export interface DevKeyInfo {
  nVars: number;
  nPublic: number;
  domainSize: number;
  seconds: number;
}

/** What the key's shape depends on, from the r1cs header. */
interface CircuitShape {
  header: R1csHeader;
  nVars: number;
  nPublic: number;
  nConstraints: number;
  power: number;
  /** The domain size 2^power. */
  n: number;
}

/** Step 1: read the r1cs header and check that snarkjs can prove the circuit over BN254. */
async function readCircuitShape(r1csPath: string): Promise<CircuitShape> {
  const header = await readR1csHeader(r1csPath);
  if (header.prime !== R) throw new SetupError(`'${r1csPath}' is not over the BN254 scalar field; zkonnx keys are Groth16 on BN254.`);
  const nPublic = header.nOutputs + header.nPubInputs;
  if (1 + nPublic > header.nWires) throw new SetupError(`'${r1csPath}' declares ${nPublic} public signals but only ${header.nWires} wires.`);
  const power = domainPower(header.nConstraints, nPublic);
  if (power > 27) throw new SetupError(`The circuit needs a 2^${power} domain; BN254's FFT (and snarkjs' H section) allows at most 2^27 here.`);
  return { header, nVars: header.nWires, nPublic, nConstraints: header.nConstraints, power, n: 2 ** power };
}

/** Byte offsets of each section's data in the .zkey (sections 1..10 in order, each after a 12-byte header). */
function zkeyLayout(shape: CircuitShape, nCoefs: number): { at: number[]; size: number[]; end: number } {
  const { nVars, nPublic, n } = shape;
  const size = [0, 4, HEADER_SIZE, (nPublic + 1) * 64, 4 + nCoefs * COEF_SIZE, nVars * 64, nVars * 64, nVars * 128, (nVars - nPublic - 1) * 64, n * 64, 68];
  const at: number[] = [0];
  let pos = 12;
  for (let t = 1; t <= 10; t++) {
    at[t] = pos + 12;
    pos += 12 + size[t];
  }
  return { at, size, end: pos };
}

/** Write all of `bytes` at file offset `position`. */
async function writeAt(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += (await fh.write(bytes, off, bytes.length - off, position + off)).bytesWritten;
}

/**
 * The toxic waste, and the field elements derived from it, in WASM memory (32 bytes each): Montgomery form
 * ("M") where they multiply a standard-form operand to give a standard result, standard ("S") otherwise.
 */
interface Secrets {
  alpha: bigint;
  beta: bigint;
  gamma: bigint;
  delta: bigint;
  pTauM: number;
  pAlphaM: number;
  pBetaM: number;
  pInvGammaM: number;
  pInvDeltaM: number;
  /** (tau^n - 1) / n: L_c(tau) = zOverN omega^c / (tau - omega^c). */
  pZOverNM: number;
  /** (tau^2n - 1) / 2n / delta, the H points' factor. */
  pHFactorS: number;
  pOmegaM: number;
  /** omega_2n, the first odd power of the size-2n domain's generator. */
  pOmega2M: number;
}

/**
 * Step 2: draw tau, alpha, beta, gamma, delta and place what the later steps need in `wasm`. tau is
 * redrawn (probability ~2^-234) if it lies in the size-2n domain, where the Lagrange formulas divide by 0.
 */
function drawToxicWaste(wasm: Bn128Wasm, power: number): Secrets {
  const n = 2n ** BigInt(power);
  const alpha = randomScalar();
  const beta = randomScalar();
  const gamma = randomScalar();
  const delta = randomScalar();
  let tau: bigint;
  do tau = randomScalar();
  while (pow(tau, 2n * n) === 1n);
  const put = (v: bigint, montgomery: boolean): number => {
    const p = wasm.alloc(32);
    const b = wasm.bytes();
    writeLE(b, p, montgomery ? (mod(v) << 256n) % R : mod(v));
    return p;
  };
  const invDelta = inv(delta);
  return {
    alpha,
    beta,
    gamma,
    delta,
    pTauM: put(tau, true),
    pAlphaM: put(alpha, true),
    pBetaM: put(beta, true),
    pInvGammaM: put(inv(gamma), true),
    pInvDeltaM: put(invDelta, true),
    pZOverNM: put((pow(tau, n) - 1n) * inv(n), true),
    pHFactorS: put((((pow(tau, 2n * n) - 1n) * inv(2n * n)) % R) * invDelta, false),
    pOmegaM: put(rootOfUnity(power), true),
    pOmega2M: put(rootOfUnity(power + 1), true),
  };
}

/**
 * k * x / (tau - x) for the `count` domain points x = root, root * omega, ..., written 32 bytes apart from
 * pOut (in k's form when x is Montgomery: k standard gives standard values). Advances pRootM past them.
 * One batch inversion: 3 multiplications per point plus one inversion.
 */
function basisAt(wasm: Bn128Wasm, sec: Secrets, pK: number, pRootM: number, count: number, pOut: number, scratch: { pRoots: number; pD: number; pInv: number; pT: number }): void {
  const { frm_mul: mul, frm_sub: sub, frm_copy: copy, frm_batchInverse: batchInverse } = wasm.fn;
  const { pRoots, pD, pInv, pT } = scratch;
  copy(pRootM, pRoots);
  for (let i = 0; i < count; i++) {
    const r = pRoots + 32 * i;
    sub(sec.pTauM, r, pD + 32 * i);
    mul(r, sec.pOmegaM, i + 1 < count ? r + 32 : pRootM);
  }
  batchInverse(pD, 32, count, pInv, 32);
  for (let i = 0; i < count; i++) {
    mul(pK, pRoots + 32 * i, pT);
    mul(pT, pInv + 32 * i, pOut + 32 * i);
  }
}

/** Where the QAP's columns at tau lie in WASM memory: 32 bytes per wire, standard form. */
interface Columns {
  pU: number;
  pV: number;
  pW: number;
  /** Entries written to section 4. */
  nCoefs: number;
  /** sha512 of the r1cs file, the key's circuit hash (section 10). */
  r1csSha512: Uint8Array;
}

/**
 * Step 3: read the r1cs once, block by block, and evaluate its A, B, C columns at tau: u_s = sum over the
 * constraints c where wire s has coefficient k in A of k L_c(tau), likewise v_s (B) and w_s (C); snarkjs'
 * extra row per public signal adds L_(nC + s)(tau) to u_s. Meanwhile section 4 (every A and B coefficient as
 * (m, c, s, k R^2 mod r), in file order, then the public rows) goes to `fh` at `coefAt`, and the file is
 * hashed. Memory: the three columns plus one block.
 */
async function evaluateColumns(r1csPath: string, shape: CircuitShape, wasm: Bn128Wasm, sec: Secrets, fh: FileHandle, coefAt: number): Promise<Columns> {
  const { nVars, nPublic, nConstraints: nC, header } = shape;
  const { frm_mul: mul, frm_add: add } = wasm.fn;
  const termSize = 4 + header.n8;
  const pU = wasm.alloc(32 * nVars);
  const pV = wasm.alloc(32 * nVars);
  const pW = wasm.alloc(32 * nVars);
  const pL = wasm.alloc(32 * BLOCK);
  const scratch = { pRoots: wasm.alloc(32 * BLOCK), pD: wasm.alloc(32 * BLOCK), pInv: wasm.alloc(32 * BLOCK), pT: wasm.alloc(32) };
  const pRootM = wasm.alloc(32);
  wasm.fn.frm_one(pRootM);
  const pR3 = wasm.alloc(32); // R^3 mod r: frm_mul(k, R^3) = k R^2, section 4's form
  writeLE(wasm.bytes(), pR3, (1n << 768n) % R);
  const pOne = wasm.alloc(32);
  writeLE(wasm.bytes(), pOne, 1n);
  const pT = scratch.pT;
  // Section 4 entries are staged in WASM memory (their values computed in place), then written out.
  let stageCap = 1 << 16;
  let pStage = wasm.alloc(stageCap * COEF_SIZE);
  let staged = 0;
  let nCoefs = 0;
  let blockCap = 9 << 20;
  let pBlock = wasm.alloc(blockCap);
  let mem = wasm.bytes();
  let dv = new DataView(mem.buffer);
  const refresh = () => {
    mem = wasm.bytes();
    dv = new DataView(mem.buffer);
  };
  const flush = async () => {
    await writeAt(fh, mem.subarray(pStage, pStage + staged * COEF_SIZE), coefAt + 4 + nCoefs * COEF_SIZE);
    nCoefs += staged;
    staged = 0;
  };
  const stage = (m: number, c: number, s: number, pCoef: number) => {
    const e = pStage + staged * COEF_SIZE;
    dv.setUint32(e, m, true);
    dv.setUint32(e + 4, c, true);
    dv.setUint32(e + 8, s, true);
    mul(pCoef, pR3, e + 12);
    staged++;
  };
  const hash = createHash('sha512');
  for await (const blk of streamR1csConstraints(r1csPath, header, { maxConstraints: BLOCK, onFileBytes: (b) => hash.update(b) })) {
    if (blk.bytes.length > blockCap) {
      blockCap = blk.bytes.length;
      pBlock = wasm.alloc(blockCap);
      refresh();
    }
    mem.set(blk.bytes, pBlock);
    basisAt(wasm, sec, sec.pZOverNM, pRootM, blk.count, pL, scratch);
    const bv = blk.view;
    for (let i = 0; i < blk.count; i++) {
      const c = blk.first + i;
      const pLc = pL + 32 * i;
      const atA = blk.lcAt[3 * i];
      const atB = blk.lcAt[3 * i + 1];
      const nAB = bv.getUint32(atA, true) + bv.getUint32(atB, true);
      if (staged + nAB > stageCap) {
        await flush();
        if (nAB > stageCap) {
          stageCap = nAB;
          pStage = wasm.alloc(stageCap * COEF_SIZE);
          refresh();
        }
      }
      for (let m = 0; m < 3; m++) {
        let o = blk.lcAt[3 * i + m];
        const nTerms = bv.getUint32(o, true);
        const col = m === 0 ? pU : m === 1 ? pV : pW;
        o += 4;
        for (let j = 0; j < nTerms; j++, o += termSize) {
          const s = bv.getUint32(o, true);
          if (s >= nVars) throw new SetupError(`'${r1csPath}': constraint ${c} names wire ${s}, but the circuit has ${nVars} wires.`);
          const pk = pBlock + o + 4;
          mul(pk, pLc, pT);
          add(col + 32 * s, pT, col + 32 * s);
          if (m < 2) stage(m, c, s, pk);
        }
      }
    }
  }
  // snarkjs' extra rows: A = 1 * (public wire s) in row nC + s, so that the public inputs are bound.
  for (let s0 = 0; s0 <= nPublic; s0 += BLOCK) {
    const count = Math.min(BLOCK, nPublic + 1 - s0);
    basisAt(wasm, sec, sec.pZOverNM, pRootM, count, pL, scratch);
    if (staged + count > stageCap) await flush();
    for (let i = 0; i < count; i++) {
      const s = s0 + i;
      mul(pOne, pL + 32 * i, pT);
      add(pU + 32 * s, pT, pU + 32 * s);
      stage(0, nC + s, s, pOne);
    }
  }
  await flush();
  const count = new Uint8Array(4);
  new DataView(count.buffer).setUint32(0, nCoefs, true);
  await writeAt(fh, count, coefAt);
  return { pU, pV, pW, nCoefs, r1csSha512: new Uint8Array(hash.digest()) };
}

/** The scalars of the key's points, as views of WASM memory (32 bytes each, standard form). */
interface KeyScalars {
  /** A (u) and B (v) of every wire. */
  u: Uint8Array;
  v: Uint8Array;
  /** (beta u + alpha v + w) / gamma for public wires 0..nPublic. */
  ic: Uint8Array;
  /** ... / delta for the private ones. */
  c: Uint8Array;
  /** L'_(2i+1)(tau) / delta, i < n. */
  h: Uint8Array;
  /** alpha, beta, delta (G1) and beta, gamma, delta (G2), for section 2. */
  fixedG1: Uint8Array;
  fixedG2: Uint8Array;
}

/**
 * Step 4: the remaining scalars: w_s becomes (beta u_s + alpha v_s + w_s) / (gamma or delta) in place, and
 * the H scalars are the size-2n domain's odd-index Lagrange values at tau over delta. Linear in wires + n.
 */
function keyScalars(shape: CircuitShape, wasm: Bn128Wasm, sec: Secrets, col: Columns): KeyScalars {
  const { nVars, nPublic, n } = shape;
  const { frm_mul: mul, frm_add: add, frm_copy: copy } = wasm.fn;
  const pT = wasm.alloc(32);
  const pT2 = wasm.alloc(32);
  for (let s = 0; s < nVars; s++) {
    const pw = col.pW + 32 * s;
    mul(sec.pBetaM, col.pU + 32 * s, pT);
    mul(sec.pAlphaM, col.pV + 32 * s, pT2);
    add(pT, pT2, pT);
    add(pT, pw, pT);
    mul(pT, s <= nPublic ? sec.pInvGammaM : sec.pInvDeltaM, pw);
  }
  const pH = wasm.alloc(32 * n);
  const scratch = { pRoots: wasm.alloc(32 * BLOCK), pD: wasm.alloc(32 * BLOCK), pInv: wasm.alloc(32 * BLOCK), pT };
  const pRootM = wasm.alloc(32);
  copy(sec.pOmega2M, pRootM);
  for (let i = 0; i < n; i += BLOCK) basisAt(wasm, sec, sec.pHFactorS, pRootM, Math.min(BLOCK, n - i), pH + 32 * i, scratch);
  const mem = wasm.bytes();
  const view = (p: number, count: number) => mem.subarray(p, p + 32 * count);
  return {
    u: view(col.pU, nVars),
    v: view(col.pV, nVars),
    ic: view(col.pW, nPublic + 1),
    c: view(col.pW + 32 * (nPublic + 1), nVars - nPublic - 1),
    h: view(pH, n),
    fixedG1: encodeScalars([sec.alpha, sec.beta, sec.delta]),
    fixedG2: encodeScalars([sec.beta, sec.gamma, sec.delta]),
  };
}

/**
 * Step 5: every fixed-base multiplication, one G1 pass and one G2 pass (each worker builds its window table
 * once per group), each point written into its section as it arrives. Returns section 2's six points
 * (alpha1, beta1, beta2, gamma2, delta1, delta2) in header order.
 */
async function writeKeyPoints(fh: FileHandle, at: number[], k: KeyScalars, wasm: Bn128Wasm, progress: ProgressReporter): Promise<Uint8Array> {
  const nG1 = (k.u.length + k.v.length + k.ic.length + k.c.length + k.h.length + k.fixedG1.length) / 32;
  const nG2 = (k.v.length + k.fixedG2.length) / 32;
  const bar = progress.bar?.(`setup: ${nG1 + nG2} fixed-base multiplications`, nG1 + nG2);
  const fixed = new Uint8Array(HEADER_SIZE - HEADER_POINTS_AT);
  const toSection = (group: Group, scalars: Uint8Array, sectionAt: number): ScalarBatch => ({
    scalars,
    onPoints: (first, points) => writeAt(fh, points, sectionAt + first * pointSize(group)),
  });
  // Header layout: alpha1 @0, beta1 @64, beta2 @128, gamma2 @256, delta1 @384, delta2 @448.
  const toHeader = (group: Group, scalars: Uint8Array, offsets: number[]): ScalarBatch => ({
    scalars,
    onPoints: (first, points) => {
      const size = pointSize(group);
      for (let i = 0; i * size < points.length; i++) fixed.set(points.subarray(i * size, (i + 1) * size), offsets[first + i]);
    },
  });
  await fixedBaseMulBatches(
    'G1',
    wasm.generator('G1'),
    [toSection('G1', k.u, at[5]), toSection('G1', k.v, at[6]), toSection('G1', k.c, at[8]), toSection('G1', k.ic, at[3]), toSection('G1', k.h, at[9]), toHeader('G1', k.fixedG1, [0, 64, 384])],
    { onProgress: (d) => bar?.update(d) },
  );
  await fixedBaseMulBatches('G2', wasm.generator('G2'), [toSection('G2', k.v, at[7]), toHeader('G2', k.fixedG2, [128, 256, 448])], {
    onProgress: (d) => bar?.update(nG1 + d),
  });
  bar?.stop();
  return fixed;
}

/**
 * Step 6: the container around the sections: magic, version, section table entries, section 1 (Groth16),
 * section 2 (sizes, counts, the fixed points) and section 10 (the circuit hash, no MPC contributions: a
 * dev key is not a ceremony).
 */
async function writeSections(fh: FileHandle, shape: CircuitShape, layout: ReturnType<typeof zkeyLayout>, fixedPoints: Uint8Array, r1csSha512: Uint8Array): Promise<void> {
  const head = new Uint8Array(12);
  const hv = new DataView(head.buffer);
  head.set(new TextEncoder().encode('zkey'), 0);
  hv.setUint32(4, 1, true);
  hv.setUint32(8, 10, true);
  await writeAt(fh, head, 0);
  for (let t = 1; t <= 10; t++) {
    const sh = new Uint8Array(12);
    const sv = new DataView(sh.buffer);
    sv.setUint32(0, t, true);
    sv.setBigUint64(4, BigInt(layout.size[t]), true);
    await writeAt(fh, sh, layout.at[t] - 12);
  }
  await writeAt(fh, Uint8Array.of(1, 0, 0, 0), layout.at[1]);
  const header = new Uint8Array(HEADER_SIZE);
  const dv = new DataView(header.buffer);
  dv.setUint32(0, 32, true);
  writeLE(header, 4, Q);
  dv.setUint32(36, 32, true);
  writeLE(header, 40, R);
  dv.setUint32(72, shape.nVars, true);
  dv.setUint32(76, shape.nPublic, true);
  dv.setUint32(80, shape.n, true);
  header.set(fixedPoints, HEADER_POINTS_AT);
  await writeAt(fh, header, layout.at[2]);
  const mpc = new Uint8Array(68);
  mpc.set(r1csSha512, 0);
  await writeAt(fh, mpc, layout.at[10]);
}

/**
 * Write a dev .zkey for `r1csPath` to `zkeyPath` (atomically): evaluate the circuit at a random point,
 * multiply the generators by the results (ffjavascript's BN254 WASM in one worker per core), and write
 * the sections snarkjs reads. Linear time and memory in the circuit's size (see the file comment).
 */
export async function writeDevZkey(r1csPath: string, zkeyPath: string, progress: ProgressReporter = silentProgress): Promise<DevKeyInfo> {
  const t0 = performance.now();
  const shape = await readCircuitShape(r1csPath);
  const wasm = instantiateBn128();
  let writeDone: ((detail?: string) => void) | undefined;
  try {
    await produceAtomic(zkeyPath, async (tmp) => {
      const fh = await open(tmp, 'w');
      try {
        const sec = drawToxicWaste(wasm, shape.power);
        const scalarsDone = progress.step(`setup: evaluating ${shape.nConstraints} constraints at a random point (domain 2^${shape.power})`);
        const columns = await evaluateColumns(r1csPath, shape, wasm, sec, fh, zkeyLayout(shape, 0).at[4]);
        const layout = zkeyLayout(shape, columns.nCoefs);
        const scalars = keyScalars(shape, wasm, sec, columns);
        scalarsDone();
        const fixedPoints = await writeKeyPoints(fh, layout.at, scalars, wasm, progress);
        writeDone = progress.step('setup: writing the zkey');
        await writeSections(fh, shape, layout, fixedPoints, columns.r1csSha512);
        if ((await fh.stat()).size !== layout.end) throw new Error(`zkey is ${(await fh.stat()).size} bytes, ${layout.end} expected`);
      } finally {
        await fh.close();
      }
    });
  } finally {
    // The toxic waste and everything derived from it.
    wasm.bytes().fill(0);
  }
  writeDone?.();
  return { nVars: shape.nVars, nPublic: shape.nPublic, domainSize: shape.n, seconds: (performance.now() - t0) / 1000 };
}
