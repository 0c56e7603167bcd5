/**
 * A reader for circom's .r1cs format and an exact constraint checker (bigint). readR1csFile (Maps of bigints)
 * serves tests (witness mutation) and benchmarks; streamR1csConstraints reads a file of any size block by
 * block in its own byte layout, for the dev-key setup (src/setup/devkey.ts).
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { FIELD_PRIME } from '../field.ts';
import { readBigLE } from '../artifacts/binfile.ts';

export type LinearCombination = Map<number, bigint>;

export interface R1cs {
  prime: bigint;
  nWires: number;
  nOutputs: number;
  nPubInputs: number;
  nPrvInputs: number;
  constraints: [LinearCombination, LinearCombination, LinearCombination][];
}

/** An r1cs file's header (section 1) and where its constraints (section 2) lie. */
export interface R1csHeader {
  prime: bigint;
  /** Bytes per field element. */
  n8: number;
  nWires: number;
  nOutputs: number;
  nPubInputs: number;
  nPrvInputs: number;
  nLabels: number;
  nConstraints: number;
  /** File offset and size of section 2's data. */
  constraintsAt: number;
  constraintsSize: number;
  fileSize: number;
}

async function readExactly(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await fh.read(buf, off, buf.length - off, position + off);
    if (bytesRead === 0) throw new Error('unexpected end of file');
    off += bytesRead;
  }
}

async function readHeaderFrom(fh: FileHandle, path: string): Promise<R1csHeader> {
  const fileSize = (await fh.stat()).size;
  const head = new Uint8Array(12);
  await readExactly(fh, head, 0).catch(() => {
    throw new Error(`${path}: not an r1cs file`);
  });
  if (String.fromCharCode(...head.subarray(0, 4)) !== 'r1cs') throw new Error(`${path}: not an r1cs file`);
  const nSections = new DataView(head.buffer).getUint32(8, true);
  let pos = 12;
  let h: { at: number; size: number } | undefined;
  let c: { at: number; size: number } | undefined;
  const sh = new Uint8Array(12);
  const sv = new DataView(sh.buffer);
  for (let i = 0; i < nSections; i++) {
    if (pos + 12 > fileSize) throw new Error(`${path}: r1cs file is truncated (section table)`);
    await readExactly(fh, sh, pos);
    const type = sv.getUint32(0, true);
    const size = Number(sv.getBigUint64(4, true));
    if (type === 1 && !h) h = { at: pos + 12, size };
    if (type === 2 && !c) c = { at: pos + 12, size };
    pos += 12 + size;
  }
  if (pos > fileSize) throw new Error(`${path}: r1cs file is truncated`);
  if (!h || !c) throw new Error(`${path}: missing header or constraints section`);
  const hb = new Uint8Array(h.size);
  await readExactly(fh, hb, h.at);
  const dv = new DataView(hb.buffer);
  const n8 = dv.getUint32(0, true);
  const o = 4 + n8;
  return {
    prime: readBigLE(dv, 4, n8),
    n8,
    nWires: dv.getUint32(o, true),
    nOutputs: dv.getUint32(o + 4, true),
    nPubInputs: dv.getUint32(o + 8, true),
    nPrvInputs: dv.getUint32(o + 12, true),
    nLabels: Number(dv.getBigUint64(o + 16, true)),
    nConstraints: dv.getUint32(o + 24, true),
    constraintsAt: c.at,
    constraintsSize: c.size,
    fileSize,
  };
}

/** Read an r1cs file's header (a few small reads, whatever the file's size). */
export async function readR1csHeader(path: string): Promise<R1csHeader> {
  const fh = await open(path, 'r');
  try {
    return await readHeaderFrom(fh, path);
  } finally {
    await fh.close();
  }
}

/**
 * A run of whole constraints in section 2's own layout: for each LC a u32 term count, then per term a u32
 * wire and an n8-byte little-endian coefficient (standard form). Valid until the next block is requested.
 */
export interface R1csConstraintBlock {
  /** Index of the block's first constraint. */
  first: number;
  count: number;
  bytes: Uint8Array;
  view: DataView;
  /** Byte offset in `bytes` of each LC's term count: A, B, C of constraint first + i at lcAt[3i..3i+2]. */
  lcAt: Uint32Array;
}

export interface R1csStreamOptions {
  /** Bytes read at a time (default 8 MiB); a block grows past it only for a constraint that does not fit. */
  blockBytes?: number;
  /** At most this many constraints per block (default 65536). */
  maxConstraints?: number;
  /** Called with every byte of the file, in order (to hash the file in the same pass). */
  onFileBytes?: (bytes: Uint8Array) => void;
}

/**
 * Stream the constraints of an r1cs file in blocks of whole constraints, reading the file once from start
 * to end: memory is one block (about blockBytes) however large the file. Throws if the constraints section
 * is malformed (a constraint running past its end, or more or fewer constraints than the header says).
 */
export async function* streamR1csConstraints(path: string, header?: R1csHeader, opts: R1csStreamOptions = {}): AsyncGenerator<R1csConstraintBlock> {
  const fh = await open(path, 'r');
  try {
    const h = header ?? (await readHeaderFrom(fh, path));
    const termSize = 4 + h.n8;
    const maxConstraints = opts.maxConstraints ?? 65536;
    const readSize = opts.blockBytes ?? 8 << 20;
    const secStart = h.constraintsAt;
    const secEnd = h.constraintsAt + h.constraintsSize;
    const chunk = new Uint8Array(Math.min(readSize, Math.max(h.fileSize, 1)));
    let pending = new Uint8Array(readSize);
    let pendLen = 0;
    const lcAt = new Uint32Array(3 * maxConstraints);
    let index = 0;
    // Parse whole constraints from pending[0, pendLen): returns the bytes consumed and sets `count`.
    let count = 0;
    const parse = (final: boolean): number => {
      const dv = new DataView(pending.buffer, 0, pendLen);
      let p = 0;
      count = 0;
      while (count < maxConstraints && index + count < h.nConstraints) {
        let q = p;
        let whole = true;
        for (let l = 0; l < 3; l++) {
          if (q + 4 > pendLen) {
            whole = false;
            break;
          }
          lcAt[3 * count + l] = q;
          q += 4 + dv.getUint32(q, true) * termSize;
        }
        if (!whole || q > pendLen) {
          if (final) throw new Error(`${path}: constraint ${index + count} runs past the end of the constraints section`);
          break;
        }
        p = q;
        count++;
      }
      return p;
    };
    let pos = 0;
    let inSection = 0;
    while (pos < h.fileSize) {
      const n = Math.min(chunk.length, h.fileSize - pos);
      const view = chunk.subarray(0, n);
      await readExactly(fh, view, pos);
      opts.onFileBytes?.(view);
      // The part of this chunk inside section 2.
      const a = Math.max(pos, secStart);
      const b = Math.min(pos + n, secEnd);
      pos += n;
      if (a >= b) continue;
      let src = view.subarray(a - (pos - n), b - (pos - n));
      inSection += src.length;
      while (src.length > 0) {
        const room = pending.length - pendLen;
        if (room === 0) {
          // A constraint larger than the buffer: grow it.
          const bigger = new Uint8Array(pending.length * 2);
          bigger.set(pending.subarray(0, pendLen));
          pending = bigger;
          continue;
        }
        const take = Math.min(room, src.length);
        pending.set(src.subarray(0, take), pendLen);
        pendLen += take;
        src = src.subarray(take);
        const final = inSection === h.constraintsSize && src.length === 0;
        for (;;) {
          const used = parse(final);
          if (count === 0) break;
          yield { first: index, count, bytes: pending.subarray(0, used), view: new DataView(pending.buffer, 0, used), lcAt: lcAt.subarray(0, 3 * count) };
          index += count;
          pending.copyWithin(0, used, pendLen);
          pendLen -= used;
          if (pendLen === 0 && !final) break;
          if (index === h.nConstraints) break;
        }
      }
    }
    if (index !== h.nConstraints) throw new Error(`${path}: the constraints section holds ${index} constraints, the header says ${h.nConstraints}`);
    if (pendLen !== 0) throw new Error(`${path}: ${pendLen} bytes after the last constraint`);
  } finally {
    await fh.close();
  }
}

/** Read a whole r1cs into Maps (tests and small circuits; large ones stream with streamR1csConstraints). */
export async function readR1csFile(path: string): Promise<R1cs> {
  const h = await readR1csHeader(path);
  const constraints: R1cs['constraints'] = [];
  const termSize = 4 + h.n8;
  for await (const blk of streamR1csConstraints(path, h)) {
    const dv = blk.view;
    const readLc = (at: number): LinearCombination => {
      const lc: LinearCombination = new Map();
      const n = dv.getUint32(at, true);
      for (let i = 0, p = at + 4; i < n; i++, p += termSize) lc.set(dv.getUint32(p, true), readBigLE(dv, p + 4, h.n8));
      return lc;
    };
    for (let i = 0; i < blk.count; i++) constraints.push([readLc(blk.lcAt[3 * i]), readLc(blk.lcAt[3 * i + 1]), readLc(blk.lcAt[3 * i + 2])]);
  }
  return { prime: h.prime, nWires: h.nWires, nOutputs: h.nOutputs, nPubInputs: h.nPubInputs, nPrvInputs: h.nPrvInputs, constraints };
}

const evalLc = (lc: LinearCombination, w: readonly bigint[], p: bigint) => {
  let s = 0n;
  for (const [wire, coeff] of lc) s += coeff * w[wire];
  return s % p;
};

/** Indices of the constraints that the witness violates (A*B != C mod p). */
export function violatedConstraints(r1cs: R1cs, witness: readonly bigint[], only?: Iterable<number>): number[] {
  const p = r1cs.prime ?? FIELD_PRIME;
  const bad: number[] = [];
  const idx = only ?? r1cs.constraints.keys();
  for (const i of idx) {
    const [a, b, c] = r1cs.constraints[i];
    if ((evalLc(a, witness, p) * evalLc(b, witness, p) - evalLc(c, witness, p)) % p !== 0n) bad.push(i);
  }
  return bad;
}

/** For each wire, the constraints it appears in (to re-check only those after a mutation). */
export function constraintsByWire(r1cs: R1cs): number[][] {
  const by: number[][] = Array.from({ length: r1cs.nWires }, () => []);
  r1cs.constraints.forEach(([a, b, c], i) => {
    const seen = new Set<number>([...a.keys(), ...b.keys(), ...c.keys()]);
    for (const w of seen) by[w].push(i);
  });
  return by;
}

/** Parse circuit.sym: signal name -> wire index (-1 when the optimizer removed the signal). */
export async function readSymbols(path: string): Promise<Map<string, number>> {
  const text = await readFile(path, 'utf8');
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const parts = line.split(',');
    if (parts.length >= 4) m.set(parts.slice(3).join(','), Number(parts[1]));
  }
  return m;
}
