/**
 * The iden3 binary container shared by .r1cs, .wtns, .zkey and .ptau files: a 4-byte magic, a version, a
 * section count, then sections of (type u32, size u64, data). Readers here only locate sections.
 */

export interface BinFile {
  view: DataView;
  /** Section type -> where its data starts and how long it is (the first section of each type). */
  sections: Map<number, { at: number; size: number }>;
  /** Where the last section ends (equal to the byte length for a well-formed file). */
  end: number;
}

/** Locate the sections of a binary file; throws if the magic differs or the section table is cut short. */
export function readBinFile(bytes: Uint8Array, magic: string): BinFile {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (String.fromCharCode(...bytes.subarray(0, 4)) !== magic) throw new Error(`not a ${magic} file`);
  const sections = new Map<number, { at: number; size: number }>();
  let pos = 12;
  const n = view.getUint32(8, true);
  for (let s = 0; s < n; s++) {
    if (pos + 12 > bytes.length) throw new Error(`${magic} file is truncated (section table)`);
    const type = view.getUint32(pos, true);
    const size = Number(view.getBigUint64(pos + 4, true));
    if (!sections.has(type)) sections.set(type, { at: pos + 12, size });
    pos += 12 + size;
  }
  return { view, sections, end: pos };
}

/** An n8-byte little-endian unsigned integer (n8 a multiple of 8). */
export function readBigLE(view: DataView, at: number, n8: number): bigint {
  let v = 0n;
  for (let b = n8 - 8; b >= 0; b -= 8) v = (v << 64n) | view.getBigUint64(at + b, true);
  return v;
}
