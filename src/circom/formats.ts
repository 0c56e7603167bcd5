/**
 * The binary and text files the direct backend writes, byte for byte as circom and circom_runtime write them:
 * .r1cs (iden3 r1cs v1), .wtns (iden3 wtns v2) and .sym. The .r1cs and .sym writers stream through a file
 * handle with one reusable buffer, so a system of millions of constraints never sits in memory as bytes.
 *
 * Layout notes (checked against circom 2.2 output, see test/circom-formats.test.ts):
 * - circom writes the .r1cs sections in the order 2 (constraints), 1 (header), 3 (wire -> label): it only
 *   knows the constraint count once the constraints are out. We keep that order, which also lets the header
 *   follow the streamed constraints; the constraints section's size is patched in place at the end.
 * - Coefficients are standard form (not Montgomery), n8 = 32 bytes little-endian for BN254.
 * - Within a linear combination circom does NOT write ascending wires: it sorts the terms by the wire's
 *   minimal little-endian byte string, compared lexicographically (Rust's Vec<u8> order over
 *   BigInt::to_bytes_le), so wire 277 = [0x15, 0x01] comes between 16 = [0x10] and 49 = [0x31]. The writer
 *   puts every LC into that order itself (circomTermKey), so callers may pass ascending wires.
 */
import { open, rm, type FileHandle } from 'node:fs/promises';

/**
 * A linear combination: distinct wires with their coefficients in [0, p), standard form. Any term order:
 * writeR1csFile writes the terms in circom's order (see circomTermKey).
 */
export interface SparseLc {
  wires: ArrayLike<number>;
  coefs: readonly bigint[];
}

export interface R1csHeader {
  prime: bigint;
  nWires: number;
  nPubOut: number;
  nPubIn: number;
  nPrvIn: number;
  nLabels: number;
  nConstraints: number;
}

const BUFFER_SIZE = 4 << 20;
const TWO32 = 2 ** 32;

/**
 * The sort key of a wire in circom's LC term order: circom compares the minimal little-endian bytes of the
 * wire index lexicographically (0 is [0x00]; 256 is [0x00, 0x01], after 0 and before 1). Each byte b becomes
 * the digit b + 1 in base 257, padded with 0 digits (shorter sorts first) to 4 digits: an exact float key.
 */
export function circomTermKey(wire: number): number {
  let k = 0;
  let w = wire;
  let digits = 0;
  do {
    k = k * 257 + ((w & 0xff) + 1);
    w = Math.floor(w / 256);
    digits++;
  } while (w > 0);
  for (; digits < 4; digits++) k *= 257;
  return k;
}

/** Bytes per field element: the prime's size rounded up to whole 64-bit words (32 for BN254). */
function fieldBytes(prime: bigint): number {
  if (prime < 2n) throw new RangeError(`not a prime field modulus: ${prime}`);
  return Math.ceil(prime.toString(2).length / 64) * 8;
}

function checkU32(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v >= TWO32) throw new RangeError(`${what} must be a u32, got ${v}`);
}

function checkU53(what: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${v}`);
}

/**
 * Writes field elements (n8 bytes little-endian) into a DataView. Small values and p - small (the usual
 * coefficients: 1, -1, powers of two, negated constants) avoid bigint shifting.
 */
class FieldWriter {
  readonly n8: number;
  private readonly pWords: Uint32Array;
  constructor(readonly prime: bigint) {
    this.n8 = fieldBytes(prime);
    this.pWords = new Uint32Array(this.n8 / 4);
    let v = prime;
    for (let i = 0; i < this.pWords.length; i++, v >>= 32n) this.pWords[i] = Number(v & 0xffffffffn);
  }

  /** Write v (0 <= v < p, not checked here) at byte offset `at`. */
  write(dv: DataView, at: number, v: bigint): void {
    const n8 = this.n8;
    if (v <= 0x1fffffffffffffn) {
      const x = Number(v);
      dv.setUint32(at, x >>> 0, true);
      dv.setUint32(at + 4, Math.floor(x / TWO32), true);
      for (let o = 8; o < n8; o += 4) dv.setUint32(at + o, 0, true);
      return;
    }
    const neg = this.prime - v;
    if (neg <= 0x1fffffffffffffn) {
      // p - k, word by word with borrow.
      const k = Number(neg);
      const lo = k >>> 0;
      const hi = Math.floor(k / TWO32);
      let borrow = 0;
      const w = this.pWords;
      for (let i = 0; i < w.length; i++) {
        const sub = (i === 0 ? lo : i === 1 ? hi : 0) + borrow;
        let d = w[i] - sub;
        if (d < 0) {
          d += TWO32;
          borrow = 1;
        } else borrow = 0;
        dv.setUint32(at + 4 * i, d, true);
      }
      return;
    }
    for (let o = 0; o < n8; o += 8, v >>= 64n) dv.setBigUint64(at + o, BigInt.asUintN(64, v), true);
  }
}

/** A positional writer through one reusable buffer. */
class BufferedFile {
  readonly buf = new Uint8Array(BUFFER_SIZE);
  readonly dv = new DataView(this.buf.buffer);
  /** Bytes used in buf. */
  len = 0;
  /** File offset of buf[0]. */
  base = 0;
  constructor(readonly fh: FileHandle) {}

  /** File offset of the next byte written. */
  get pos(): number {
    return this.base + this.len;
  }

  /** Room for `n` bytes without flushing: the offset in buf to write them at, or -1 when buf is full. */
  take(n: number): number {
    if (this.len + n > this.buf.length) return -1;
    this.len += n;
    return this.len - n;
  }

  /** Make room for `n` bytes (n <= buffer size); returns the offset in buf to write them at. */
  async reserve(n: number): Promise<number> {
    if (this.len + n > this.buf.length) await this.flush();
    const at = this.len;
    this.len += n;
    return at;
  }

  async flush(): Promise<void> {
    let off = 0;
    while (off < this.len) {
      const { bytesWritten } = await this.fh.write(this.buf, off, this.len - off, this.base + off);
      off += bytesWritten;
    }
    this.base += this.len;
    this.len = 0;
  }

  /** Overwrite 8 bytes already flushed (or still buffered) at file offset `fileAt` with a u64. */
  async patchU64(fileAt: number, v: number): Promise<void> {
    if (fileAt >= this.base) {
      this.dv.setBigUint64(fileAt - this.base, BigInt(v), true);
      return;
    }
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    let off = 0;
    while (off < 8) off += (await this.fh.write(b, off, 8 - off, fileAt + off)).bytesWritten;
  }
}

/**
 * Write an iden3 .r1cs (version 1) exactly as circom writes it: magic "r1cs", version 1, 3 sections in the
 * order 2 (constraints), 1 (header), 3 (wire -> label map). Streams: memory stays at one 4 MiB buffer however
 * many constraints the iterable yields. Each LC's terms are written in circom's order (circomTermKey), sorted
 * here when they come in another (an LC already in that order costs no sort). Throws (and removes the partial
 * file) on a constraint count other than header.nConstraints, a wire >= nWires or named twice in one LC, a
 * coefficient outside [0, p), or a map whose length is not nWires.
 */
export async function writeR1csFile(
  path: string,
  header: R1csHeader,
  constraints: Iterable<[SparseLc, SparseLc, SparseLc]>,
  wireToLabel: ArrayLike<number>,
): Promise<void> {
  const { prime, nWires, nPubOut, nPubIn, nPrvIn, nLabels, nConstraints } = header;
  for (const [k, v] of Object.entries({ nWires, nPubOut, nPubIn, nPrvIn, nConstraints })) checkU32(`r1cs header ${k}`, v);
  checkU53('r1cs header nLabels', nLabels);
  if (1 + nPubOut + nPubIn + nPrvIn > nWires) throw new RangeError(`r1cs header: 1 + ${nPubOut} outputs + ${nPubIn} public + ${nPrvIn} private inputs > ${nWires} wires`);
  if (wireToLabel.length !== nWires) throw new RangeError(`wire -> label map has ${wireToLabel.length} entries for ${nWires} wires`);
  const fw = new FieldWriter(prime);
  const n8 = fw.n8;
  const termSize = 4 + n8;

  const fh = await open(path, 'w');
  let ok = false;
  try {
    const f = new BufferedFile(fh);
    const dv = f.dv;
    let at = await f.reserve(12);
    f.buf.set([0x72, 0x31, 0x63, 0x73], at); // "r1cs"
    dv.setUint32(at + 4, 1, true);
    dv.setUint32(at + 8, 3, true);

    // Section 2: constraints, size patched once known.
    at = await f.reserve(12);
    dv.setUint32(at, 2, true);
    const sizeAt = f.base + at + 4;
    const start = f.base + at + 12;
    let count = 0;
    let scratchKeys = new Float64Array(64);
    let scratchOrder = new Uint32Array(64);
    for (const triple of constraints) {
      if (count === nConstraints) throw new RangeError(`the constraints yielded more than header.nConstraints = ${nConstraints}`);
      for (let l = 0; l < 3; l++) {
        const lc = triple[l];
        const { wires, coefs } = lc;
        const n = wires.length;
        if (coefs.length !== n) throw new RangeError(`constraint ${count}: LC ${'ABC'[l]} has ${n} wires but ${coefs.length} coefficients`);
        // Validate, and find out whether the terms are already in circom's order (see circomTermKey).
        let inOrder = true;
        let prev = -1;
        for (let i = 0; i < n; i++) {
          const w = wires[i];
          const c = coefs[i];
          if (!(w >= 0 && w < nWires && Number.isInteger(w))) throw new RangeError(`constraint ${count}: LC ${'ABC'[l]} names wire ${w} (nWires ${nWires})`);
          if (typeof c !== 'bigint' || c < 0n || c >= prime) throw new RangeError(`constraint ${count}: LC ${'ABC'[l]} coefficient of wire ${w} is not in [0, p): ${c}`);
          const k = circomTermKey(w);
          if (k <= prev) inOrder = false;
          prev = k;
        }
        let order: Uint32Array | null = null;
        if (!inOrder) {
          if (scratchKeys.length < n) {
            scratchKeys = new Float64Array(Math.max(n, 2 * scratchKeys.length));
            scratchOrder = new Uint32Array(scratchKeys.length);
          }
          order = scratchOrder.subarray(0, n);
          for (let i = 0; i < n; i++) {
            order[i] = i;
            scratchKeys[i] = circomTermKey(wires[i]);
          }
          const keys = scratchKeys;
          order.sort((x, y) => keys[x] - keys[y]);
          for (let i = 1; i < n; i++) {
            if (keys[order[i]] === keys[order[i - 1]]) throw new RangeError(`constraint ${count}: LC ${'ABC'[l]} names wire ${wires[order[i]]} twice`);
          }
        }
        at = f.take(4);
        if (at < 0) at = await f.reserve(4);
        dv.setUint32(at, n, true);
        for (let j = 0; j < n; j++) {
          const i = order ? order[j] : j;
          at = f.take(termSize);
          if (at < 0) at = await f.reserve(termSize);
          dv.setUint32(at, wires[i], true);
          fw.write(dv, at + 4, coefs[i]);
        }
      }
      count++;
    }
    if (count !== nConstraints) throw new RangeError(`the constraints yielded ${count}, header.nConstraints is ${nConstraints}`);
    await f.patchU64(sizeAt, f.pos - start);

    // Section 1: header.
    at = await f.reserve(12 + 4 + n8 + 4 * 4 + 8 + 4);
    dv.setUint32(at, 1, true);
    dv.setBigUint64(at + 4, BigInt(4 + n8 + 4 * 4 + 8 + 4), true);
    at += 12;
    dv.setUint32(at, n8, true);
    let p = prime;
    for (let o = 0; o < n8; o += 8, p >>= 64n) dv.setBigUint64(at + 4 + o, BigInt.asUintN(64, p), true);
    at += 4 + n8;
    dv.setUint32(at, nWires, true);
    dv.setUint32(at + 4, nPubOut, true);
    dv.setUint32(at + 8, nPubIn, true);
    dv.setUint32(at + 12, nPrvIn, true);
    dv.setBigUint64(at + 16, BigInt(nLabels), true);
    dv.setUint32(at + 24, nConstraints, true);

    // Section 3: wire -> label, u64 each.
    at = await f.reserve(12);
    dv.setUint32(at, 3, true);
    dv.setBigUint64(at + 4, BigInt(8 * nWires), true);
    for (let w = 0; w < nWires; w++) {
      const label = wireToLabel[w];
      if (!Number.isSafeInteger(label) || label < 0) throw new RangeError(`wire ${w} has label ${label}`);
      at = f.take(8);
      if (at < 0) at = await f.reserve(8);
      dv.setUint32(at, label >>> 0, true);
      dv.setUint32(at + 4, Math.floor(label / TWO32), true);
    }
    await f.flush();
    ok = true;
  } finally {
    await fh.close();
    if (!ok) await rm(path, { force: true });
  }
}

/**
 * An iden3 .wtns (version 2): magic "wtns", version 2, section 1 = n8 (u32), prime (n8 bytes), witness count
 * (u32); section 2 = the values, n8 bytes little-endian each. Byte-identical to circom_runtime's
 * calculateWTNSBin for the same values. Throws on a value outside [0, p).
 */
export function encodeWtns(prime: bigint, values: readonly bigint[]): Uint8Array {
  const fw = new FieldWriter(prime);
  const n8 = fw.n8;
  checkU32('witness count', values.length);
  const out = new Uint8Array(12 + 12 + 4 + n8 + 4 + 12 + n8 * values.length);
  const dv = new DataView(out.buffer);
  out.set([0x77, 0x74, 0x6e, 0x73], 0); // "wtns"
  dv.setUint32(4, 2, true);
  dv.setUint32(8, 2, true);
  dv.setUint32(12, 1, true);
  dv.setBigUint64(16, BigInt(8 + n8), true);
  dv.setUint32(24, n8, true);
  let p = prime;
  for (let o = 0; o < n8; o += 8, p >>= 64n) dv.setBigUint64(28 + o, BigInt.asUintN(64, p), true);
  let at = 28 + n8;
  dv.setUint32(at, values.length, true);
  dv.setUint32(at + 4, 2, true);
  dv.setBigUint64(at + 8, BigInt(n8 * values.length), true);
  at += 16;
  for (let i = 0; i < values.length; i++, at += n8) {
    const v = values[i];
    if (typeof v !== 'bigint' || v < 0n || v >= prime) throw new RangeError(`witness value ${i} is not in [0, p): ${v}`);
    fw.write(dv, at, v);
  }
  return out;
}

/**
 * circom's .sym: one line `label,wire,component,name` per entry (wire -1 for a signal the optimizer removed),
 * each line ending in '\n'. Streamed in chunks of about 1 MiB.
 */
export async function writeSymFile(path: string, entries: Iterable<{ label: number; wire: number; component: number; name: string }>): Promise<void> {
  const fh = await open(path, 'w');
  let ok = false;
  try {
    let chunk = '';
    let pos = 0;
    const flush = async () => {
      const bytes = Buffer.from(chunk, 'utf8');
      chunk = '';
      let off = 0;
      while (off < bytes.length) off += (await fh.write(bytes, off, bytes.length - off, pos + off)).bytesWritten;
      pos += bytes.length;
    };
    for (const { label, wire, component, name } of entries) {
      if (/[\n\r]/.test(name)) throw new RangeError(`signal name with a line break: ${JSON.stringify(name)}`);
      chunk += `${label},${wire},${component},${name}\n`;
      if (chunk.length >= 1 << 20) await flush();
    }
    await flush();
    ok = true;
  } finally {
    await fh.close();
    if (!ok) await rm(path, { force: true });
  }
}
