/**
 * Fixed-base batch scalar multiplication on BN254 (G1 or G2): [k_i] * B for many scalars k_i and one base B.
 * The heart of fast circuit-specific setup. Each worker instantiates ffjavascript's own BN254 WASM
 * (built with wasmcurves, plus one function of ours: batchAddAffine), precomputes a window table
 * T[j][d] = d * 2^(w*j) * B in affine form, then needs only ceil(256/w) additions per scalar (32 for w = 8,
 * 26 for w = 10) instead of ~380 group operations for double-and-add. The additions are affine, a window's
 * worth for a whole chunk of scalars sharing one field inversion (Montgomery's trick): about 6 field
 * multiplications each instead of a mixed Jacobian addition's 11, which halves the time (measured on 2 cores:
 * 15-18 us per G1 point and ~70 us per G2 point, against 35 and 130 with Jacobian accumulators).
 * Outputs are affine points in snarkjs' LEM layout (Montgomery, little-endian), the form .zkey sections store.
 */
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { buildBn128 as buildBn128Wasm } from 'wasmcurves';
import { ModuleBuilder } from 'wasmbuilder';
import { FIELD_PRIME } from '../field.ts';

export type Group = 'G1' | 'G2';

/** r (BN254's scalar field) as little-endian u32 words. */
const R_WORDS = Uint32Array.from({ length: 8 }, (_, i) => Number((FIELD_PRIME >> BigInt(32 * i)) & 0xffffffffn));

let wasmCode: Uint8Array | undefined;
/** Where the module's data holds the generators (projective, Montgomery, z = 1). */
let generatorAt: { G1: number; G2: number } | undefined;

/** The BN254 WASM module ffjavascript uses, built once per process. */
export function bn128WasmCode(): Uint8Array {
  if (!wasmCode) {
    const mb = new ModuleBuilder();
    mb.setMemory(25);
    buildBn128Wasm(mb);
    buildBatchAddAffine(mb, 'g1m_batchAddAffine', 'f1m', 32);
    buildBatchAddAffine(mb, 'g2m_batchAddAffine', 'f2m', 64);
    const m = (mb as unknown as { modules: { bn128: { pG1gen: number; pG2gen: number } } }).modules.bn128;
    generatorAt = { G1: m.pG1gen, G2: m.pG2gen };
    wasmCode = mb.build() as Uint8Array;
  }
  return wasmCode;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- wasmbuilder has no types */
/**
 * Add a WASM function `name(pPairs, n, pScratch)` doing n affine additions acc_i += q_i with one field
 * inversion for all (Montgomery's trick): pPairs holds n (pAcc, pQ) pairs of i32 pointers to affine points
 * (x, y, LEM, field elements of n8 bytes), pScratch room for 2n field elements. About 5 multiplications and
 * a squaring per addition, against 7 and 4 squarings for a mixed Jacobian one.
 * Precondition: acc_i != +-q_i (x coordinates differ), which fixed-base windows guarantee for scalars < r.
 */
function buildBatchAddAffine(module: any, name: string, field: string, n8: number): void {
  const f = module.addFunction(name);
  f.addParam('pPairs', 'i32');
  f.addParam('n', 'i32');
  f.addParam('pScratch', 'i32');
  f.addLocal('i', 'i32');
  f.addLocal('itPair', 'i32');
  f.addLocal('itPref', 'i32');
  f.addLocal('itD', 'i32');
  f.addLocal('pAcc', 'i32');
  f.addLocal('pQ', 'i32');
  const c = f.getCodeBuilder();
  const INV = c.i32_const(module.alloc(n8));
  const LINV = c.i32_const(module.alloc(n8));
  const T = c.i32_const(module.alloc(n8));
  const LAMBDA = c.i32_const(module.alloc(n8));
  const X3 = c.i32_const(module.alloc(n8));
  const x1 = c.getLocal('pAcc');
  const y1 = c.i32_add(c.getLocal('pAcc'), c.i32_const(n8));
  const x2 = c.getLocal('pQ');
  const y2 = c.i32_add(c.getLocal('pQ'), c.i32_const(n8));
  const step = (local: string, by: number) => c.setLocal(local, c.i32_add(c.getLocal(local), c.i32_const(by)));
  const loadPair = () => [
    ...c.setLocal('pAcc', c.i32_load(c.getLocal('itPair'))),
    ...c.setLocal('pQ', c.i32_load(c.getLocal('itPair'), 4)),
  ];
  f.addCode(
    c.if(c.i32_eqz(c.getLocal('n')), c.ret([])),
    // Pass 1: d_i = x2 - x1 and the prefix products d_0 ... d_i.
    c.setLocal('itPair', c.getLocal('pPairs')),
    c.setLocal('itPref', c.getLocal('pScratch')),
    c.setLocal('itD', c.i32_add(c.getLocal('pScratch'), c.i32_mul(c.getLocal('n'), c.i32_const(n8)))),
    c.setLocal('i', c.i32_const(0)),
    c.block(
      c.loop(
        c.br_if(1, c.i32_eq(c.getLocal('i'), c.getLocal('n'))),
        ...loadPair(),
        c.call(`${field}_sub`, x2, x1, c.getLocal('itD')),
        c.if(
          c.i32_eqz(c.getLocal('i')),
          c.call(`${field}_copy`, c.getLocal('itD'), c.getLocal('itPref')),
          c.call(`${field}_mul`, c.i32_sub(c.getLocal('itPref'), c.i32_const(n8)), c.getLocal('itD'), c.getLocal('itPref')),
        ),
        step('itPair', 8),
        step('itPref', n8),
        step('itD', n8),
        step('i', 1),
        c.br(0),
      ),
    ),
    c.call(`${field}_inverse`, c.i32_sub(c.getLocal('itPref'), c.i32_const(n8)), INV),
    // Pass 2, backwards: 1/d_i = INV * (d_0 ... d_(i-1)), then INV *= d_i; then the addition.
    c.block(
      c.loop(
        c.br_if(1, c.i32_eqz(c.getLocal('i'))),
        step('i', -1),
        step('itPair', -8),
        step('itPref', -n8),
        step('itD', -n8),
        c.if(
          c.i32_eqz(c.getLocal('i')),
          c.call(`${field}_copy`, INV, LINV),
          [
            ...c.call(`${field}_mul`, INV, c.i32_sub(c.getLocal('itPref'), c.i32_const(n8)), LINV),
            ...c.call(`${field}_mul`, INV, c.getLocal('itD'), INV),
          ],
        ),
        ...loadPair(),
        c.call(`${field}_sub`, y2, y1, T),
        c.call(`${field}_mul`, T, LINV, LAMBDA),
        c.call(`${field}_square`, LAMBDA, T),
        c.call(`${field}_sub`, T, x1, T),
        c.call(`${field}_sub`, T, x2, X3),
        c.call(`${field}_sub`, x1, X3, T),
        c.call(`${field}_mul`, LAMBDA, T, T),
        c.call(`${field}_sub`, T, y1, y1),
        c.call(`${field}_copy`, X3, x1),
        c.br(0),
      ),
    ),
  );
  module.exportFunction(name);
}
/* eslint-enable @typescript-eslint/no-explicit-any */

type WasmFn = (...args: number[]) => number;

/**
 * An instance of the BN254 module on this thread, for bulk field arithmetic in its memory: frm_* work on
 * 32-byte little-endian elements of the scalar field (frm_mul(a, b) = a * b / 2^256, so one Montgomery
 * operand and one standard one give a standard product), f1m_* on the base field, g1m_ and g2m_ on points.
 * The memory's first u32 is the heap pointer that alloc() bumps and the module's own scratch (batchInverse)
 * allocates above.
 */
export interface Bn128Wasm {
  fn: Record<string, WasmFn>;
  memory: WebAssembly.Memory;
  /** Reserve `bytes` (8-aligned) above the heap pointer, growing memory as needed. */
  alloc(bytes: number): number;
  /** A view of the whole memory (take a new one after alloc, which may grow and detach the old). */
  bytes(): Uint8Array;
  /** The group's generator, affine, LEM (the form of the .zkey and of fixedBaseMul's base). */
  generator(group: Group): Uint8Array;
}

export function instantiateBn128(): Bn128Wasm {
  const code = bn128WasmCode();
  const memory = new WebAssembly.Memory({ initial: 25, maximum: 65536 });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(code as Uint8Array<ArrayBuffer>), { env: { memory } });
  const fn = instance.exports as unknown as Record<string, WasmFn>;
  const alloc = (len: number): number => {
    const u32 = new Uint32Array(memory.buffer, 0, 1);
    const p = Math.ceil(u32[0] / 8) * 8;
    const top = p + len;
    // batchInverse takes (n + 1) * 32 bytes of scratch above the heap pointer without growing memory: keep
    // 8 MiB free there (n up to 2^18).
    const need = top + (8 << 20) - memory.buffer.byteLength;
    if (need > 0) memory.grow(Math.ceil(need / 65536));
    new Uint32Array(memory.buffer, 0, 1)[0] = top;
    return p;
  };
  const bytes = () => new Uint8Array(memory.buffer);
  return {
    fn,
    memory,
    alloc,
    bytes,
    generator: (g) => bytes().slice(generatorAt![g], generatorAt![g] + pointSize(g)),
  };
}

export const pointSize = (g: Group): number => (g === 'G1' ? 64 : 128);

// The worker: plain JS (eval'd, CommonJS), so it runs without a TypeScript loader.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { code, group, base, window: W, method, rWords } = workerData;
const P = group === 'G1' ? 'g1m_' : 'g2m_';
const n8 = group === 'G1' ? 32 : 64;
const sAff = 2 * n8, sProj = 3 * n8;
const memory = new WebAssembly.Memory({ initial: 25, maximum: 32767 });
const ex = new WebAssembly.Instance(new WebAssembly.Module(code), { env: { memory } }).exports;
const zero = ex[P + 'zero'], add = ex[P + 'add'], addMixed = ex[P + 'addMixed'], toAffine = ex[P + 'batchToAffine'];
function alloc(len) {
  const u32 = new Uint32Array(memory.buffer, 0, 1);
  while (u32[0] & 7) u32[0]++;
  const p = u32[0];
  u32[0] += len;
  if (u32[0] > memory.buffer.byteLength) memory.grow(Math.ceil((u32[0] - memory.buffer.byteLength) / 65536) + 1);
  return p;
}
const heapTop = () => new Uint32Array(memory.buffer, 0, 1)[0];
// batchToAffine uses scratch space above the heap pointer without growing memory: make room first.
function ensureFree(bytes) {
  const need = heapTop() + bytes - memory.buffer.byteLength;
  if (need > 0) memory.grow(Math.ceil(need / 65536) + 1);
}
const setHeapTop = (v) => { new Uint32Array(memory.buffer, 0, 1)[0] = v; };

const nWin = Math.ceil(256 / W);
const perWin = (1 << W) - 1;
const pTable = alloc(nWin * perWin * sAff);
const afterTable = heapTop();
{
  const pBaseAff = alloc(sAff);
  new Uint8Array(memory.buffer).set(new Uint8Array(base), pBaseAff);
  const pCur = alloc(sProj);
  zero(pCur);
  addMixed(pCur, pBaseAff, pCur);
  const pProj = alloc(nWin * perWin * sProj);
  for (let j = 0; j < nWin; j++) {
    const row = pProj + j * perWin * sProj;
    new Uint8Array(memory.buffer).copyWithin(row, pCur, pCur + sProj);
    for (let d = 1; d < perWin; d++) add(row + (d - 1) * sProj, pCur, row + d * sProj);
    add(row + (perWin - 1) * sProj, pCur, pCur); // 2^W * cur
  }
  ensureFree(nWin * perWin * sProj * 2 + 65536);
  toAffine(pProj, nWin * perWin, pTable);
  setHeapTop(afterTable);
}
const batchAdd = ex[P + 'batchAddAffine'];
// Bits j*W .. j*W + W - 1 of the scalar at s (little-endian; past byte 31 reads as 0).
function digit(mem, s, j) {
  const bit = j * W, b = bit >> 3, at = s + b;
  const word = mem[at] | (b + 1 < 32 ? mem[at + 1] << 8 : 0) | (b + 2 < 32 ? mem[at + 2] << 16 : 0);
  return (word >>> (bit & 7)) & perWin;
}
// Is the scalar at word offset o below r (the batch-affine path's precondition)?
function belowR(words, o) {
  for (let k = 7; k >= 0; k--) {
    if (words[o + k] !== rWords[k]) return words[o + k] < rWords[k];
  }
  return false;
}
// Any scalars: a Jacobian accumulator per scalar, mixed additions, one batch conversion to affine at the end.
function mulProjective(scalars, n) {
  const pS = alloc(n * 32);
  const pP = alloc(n * sProj);
  const pA = alloc(n * sAff);
  const mem = new Uint8Array(memory.buffer);
  mem.set(new Uint8Array(scalars), pS);
  for (let i = 0; i < n; i++) {
    const acc = pP + i * sProj;
    zero(acc);
    for (let j = 0; j < nWin; j++) {
      const d = digit(mem, pS + i * 32, j);
      if (d !== 0) addMixed(acc, pTable + (j * perWin + d - 1) * sAff, acc);
    }
  }
  ensureFree(n * sProj * 2 + 65536);
  toAffine(pP, n, pA);
  return new Uint8Array(memory.buffer).slice(pA, pA + n * sAff);
}
// Scalars below r: affine accumulators, window by window, all of a window's additions sharing one
// inversion (batchAddAffine). A scalar's first non-zero digit copies its table point in; the accumulator
// then never meets +-the point it adds (its multiple of the base is smaller and the sum stays below r).
function mulAffine(scalars, n) {
  const pS = alloc(n * 32);
  const pA = alloc(n * sAff);
  const pPairs = alloc(n * 8);
  const pScratch = alloc(2 * n * n8);
  const mem = new Uint8Array(memory.buffer);
  const pairs = new Uint32Array(memory.buffer, pPairs, 2 * n);
  mem.set(new Uint8Array(scalars), pS);
  mem.fill(0, pA, pA + n * sAff);
  const started = new Uint8Array(n);
  for (let j = 0; j < nWin; j++) {
    const row = pTable + j * perWin * sAff;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const d = digit(mem, pS + 32 * i, j);
      if (d === 0) continue;
      const q = row + (d - 1) * sAff;
      const acc = pA + i * sAff;
      if (started[i]) {
        pairs[2 * m] = acc;
        pairs[2 * m + 1] = q;
        m++;
      } else {
        mem.copyWithin(acc, q, q + sAff);
        started[i] = 1;
      }
    }
    batchAdd(pPairs, m, pScratch);
  }
  return mem.slice(pA, pA + n * sAff);
}
parentPort.on('message', ({ id, scalars }) => {
  const n = scalars.byteLength / 32;
  const words = new Uint32Array(scalars);
  let canonical = method === 'affine';
  for (let i = 0; i < n && canonical; i++) canonical = belowR(words, 8 * i);
  const out = canonical ? mulAffine(scalars, n) : mulProjective(scalars, n);
  setHeapTop(afterTable);
  parentPort.postMessage({ id, points: out.buffer }, [out.buffer]);
});
parentPort.postMessage({ ready: true });
`;

export interface FixedBaseOptions {
  /** Worker threads; default: one per core. */
  workers?: number;
  /**
   * Window bits, 4 to 16. Default: 10 from 2^17 points on (a 1.7 MB G1 table, 26 additions per point,
   * ~15% faster than 8 there), else 8 (its table, built by each worker, is 4x cheaper). 16 halves the
   * additions but its 64 MB table makes it slower (measured: 16 vs 20 us per G1 point on 2 cores).
   */
  window?: number;
  /**
   * 'affine' (default): batch-affine additions for scalars below r (any other scalar in a chunk sends the
   * chunk the 'projective' way: Jacobian accumulators, mixed additions). 'projective' forces the latter (tests).
   */
  method?: 'affine' | 'projective';
  /** Called with the number of points done so far. */
  onProgress?: (done: number) => void;
}

/** Encode scalars (already reduced mod r, non-negative) as 32-byte little-endian words. */
export function encodeScalars(scalars: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(scalars.length * 32);
  for (let i = 0; i < scalars.length; i++) {
    let v = scalars[i];
    for (let b = 0; b < 32 && v > 0n; b++) {
      out[i * 32 + b] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
  return out;
}

/** Scalars whose points go to one place (a .zkey section, say). */
export interface ScalarBatch {
  /** 32-byte little-endian scalars, reduced mod r. */
  scalars: Uint8Array;
  /**
   * Receives the points of scalars first, first + 1, ... (pointSize bytes each, affine LEM, the identity all
   * zeros): once per chunk, chunks in any order. The next chunk waits for a returned promise.
   */
  onPoints(first: number, points: Uint8Array): void | Promise<void>;
}

/**
 * [k] * base for every scalar of every batch, each point handed to its batch's onPoints as soon as a worker
 * has it: memory is the scalars plus a chunk (8192 points) per worker, not the whole output.
 * Cost: ceil(256/w) batch-affine additions per scalar (see the file comment), spread over the workers.
 */
export async function fixedBaseMulBatches(group: Group, base: Uint8Array, batches: readonly ScalarBatch[], opts: FixedBaseOptions = {}): Promise<void> {
  const size = pointSize(group);
  const total = batches.reduce((a, b) => a + b.scalars.byteLength / 32, 0);
  if (total === 0) return;
  const window = opts.window ?? (total >= 1 << 17 ? 10 : 8);
  if (!Number.isInteger(window) || window < 4 || window > 16) throw new RangeError(`fixed-base window must be 4..16 bits, got ${window}`);
  const nWorkers = Math.max(1, Math.min(opts.workers ?? cpus().length, Math.ceil(total / 512)));
  const chunkSize = Math.max(1, Math.min(8192, Math.ceil(total / nWorkers)));
  const chunks: { batch: ScalarBatch; s: number; e: number }[] = [];
  for (const batch of batches) {
    const n = batch.scalars.byteLength / 32;
    for (let s = 0; s < n; s += chunkSize) chunks.push({ batch, s, e: Math.min(n, s + chunkSize) });
  }
  const code = bn128WasmCode();
  let done = 0;
  let next = 0;
  let failed = false;
  const workers = Array.from({ length: nWorkers }, () => new Worker(WORKER_SOURCE, { eval: true, workerData: { code, group, base, window, method: opts.method ?? 'affine', rWords: R_WORDS } }));
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const fail = (e: unknown) => {
              failed = true;
              reject(e);
            };
            const feed = () => {
              if (failed || next >= chunks.length) return resolve();
              const id = next++;
              const { batch, s, e } = chunks[id];
              const buf = batch.scalars.slice(s * 32, e * 32).buffer;
              w.postMessage({ id, scalars: buf }, [buf]);
            };
            w.on('message', (m: { ready?: boolean; id?: number; points?: ArrayBuffer }) => {
              if (m.ready) return feed();
              const { batch, s, e } = chunks[m.id!];
              const points = new Uint8Array(m.points!);
              if (points.length !== (e - s) * size) return fail(new Error(`fixed-base worker returned ${points.length} bytes for ${e - s} points`));
              Promise.resolve(batch.onPoints(s, points)).then(() => {
                done += e - s;
                opts.onProgress?.(done);
                feed();
              }, fail);
            });
            w.on('error', fail);
            w.on('exit', (code) => {
              if (!failed && (next < chunks.length || done < total)) fail(new Error(`fixed-base worker exited early (code ${code})`));
            });
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * [k_i] * base for every scalar (32-byte LE words in `scalars`). `base` is an affine point in LEM form.
 * Returns the affine results, LEM, concatenated (pointSize(group) bytes each; the identity is all zeros).
 */
export async function fixedBaseMul(group: Group, base: Uint8Array, scalars: Uint8Array, opts: FixedBaseOptions = {}): Promise<Uint8Array> {
  const size = pointSize(group);
  const out = new Uint8Array((scalars.byteLength / 32) * size);
  await fixedBaseMulBatches(group, base, [{ scalars, onPoints: (first, points) => out.set(points, first * size) }], opts);
  return out;
}
