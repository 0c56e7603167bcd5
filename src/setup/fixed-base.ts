/**
 * Fixed-base batch scalar multiplication on BN254 (G1 or G2): [k_i] * B for many scalars k_i and one base B.
 * The heart of fast circuit-specific setup. Each worker instantiates ffjavascript's own BN254 WASM
 * (built with wasmcurves), precomputes a window table T[j][d] = d * 2^(w*j) * B in affine form, then needs
 * only 256/w mixed additions per scalar (32 for w = 8, 16 for w = 16) instead of ~380 group operations
 * for double-and-add. Outputs are affine points in snarkjs' LEM layout (Montgomery, little-endian), the
 * form .zkey sections store.
 */
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { buildBn128 as buildBn128Wasm } from 'wasmcurves';
import { ModuleBuilder } from 'wasmbuilder';

export type Group = 'G1' | 'G2';

let wasmCode: Uint8Array | undefined;

/** The BN254 WASM module ffjavascript uses, built once per process. */
export function bn128WasmCode(): Uint8Array {
  if (!wasmCode) {
    const mb = new ModuleBuilder();
    mb.setMemory(25);
    buildBn128Wasm(mb);
    wasmCode = mb.build() as Uint8Array;
  }
  return wasmCode;
}

export const pointSize = (g: Group): number => (g === 'G1' ? 64 : 128);

// The worker: plain JS (eval'd, CommonJS), so it runs without a TypeScript loader.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { code, group, base, window: W } = workerData;
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
parentPort.on('message', ({ id, scalars }) => {
  const n = scalars.byteLength / 32;
  const pS = alloc(n * 32);
  const pP = alloc(n * sProj);
  const pA = alloc(n * sAff);
  const mem = new Uint8Array(memory.buffer);
  mem.set(new Uint8Array(scalars), pS);
  for (let i = 0; i < n; i++) {
    const acc = pP + i * sProj;
    const s = pS + i * 32;
    zero(acc);
    for (let j = 0; j < nWin; j++) {
      const d = W === 8 ? mem[s + j] : mem[s + 2 * j] | (mem[s + 2 * j + 1] << 8);
      if (d !== 0) addMixed(acc, pTable + (j * perWin + d - 1) * sAff, acc);
    }
  }
  ensureFree(n * sProj * 2 + 65536);
  toAffine(pP, n, pA);
  const out = new Uint8Array(memory.buffer).slice(pA, pA + n * sAff);
  setHeapTop(afterTable);
  parentPort.postMessage({ id, points: out.buffer }, [out.buffer]);
});
parentPort.postMessage({ ready: true });
`;

export interface FixedBaseOptions {
  /** Worker threads; default: one per core. */
  workers?: number;
  /**
   * Window bits, 8 or 16. Default 8: its 0.5 MB (G1) table stays in cache; 16 halves the additions but its
   * 64 MB table makes it slower here even at 200k points (measured: 16 vs 20 us per G1 point on 2 cores).
   */
  window?: 8 | 16;
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

/**
 * [k_i] * base for every scalar (32-byte LE words in `scalars`). `base` is an affine point in LEM form.
 * Returns the affine results, LEM, concatenated (pointSize(group) bytes each; the identity is all zeros).
 */
export async function fixedBaseMul(group: Group, base: Uint8Array, scalars: Uint8Array, opts: FixedBaseOptions = {}): Promise<Uint8Array> {
  const n = scalars.byteLength / 32;
  const size = pointSize(group);
  const out = new Uint8Array(n * size);
  if (n === 0) return out;
  const window = opts.window ?? 8;
  const nWorkers = Math.max(1, Math.min(opts.workers ?? cpus().length, Math.ceil(n / 512)));
  const chunk = Math.min(8192, Math.ceil(n / nWorkers));
  const chunks: [number, number][] = [];
  for (let s = 0; s < n; s += chunk) chunks.push([s, Math.min(n, s + chunk)]);
  const code = bn128WasmCode();
  let done = 0;
  let next = 0;
  const workers = Array.from({ length: nWorkers }, () => new Worker(WORKER_SOURCE, { eval: true, workerData: { code, group, base, window } }));
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const feed = () => {
              if (next >= chunks.length) return resolve();
              const id = next++;
              const [s, e] = chunks[id];
              const buf = scalars.slice(s * 32, e * 32).buffer;
              w.postMessage({ id, scalars: buf }, [buf]);
            };
            w.on('message', (m: { ready?: boolean; id?: number; points?: ArrayBuffer }) => {
              if (m.ready) return feed();
              const [s, e] = chunks[m.id!];
              out.set(new Uint8Array(m.points!), s * size);
              done += e - s;
              opts.onProgress?.(done);
              feed();
            });
            w.on('error', reject);
            w.on('exit', (code) => {
              if (next < chunks.length || done < n) reject(new Error(`fixed-base worker exited early (code ${code})`));
            });
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return out;
}
