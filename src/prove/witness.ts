/** Witness computation with the circom-generated wasm, and parsing of the .wtns binary. */
import { readFile } from 'node:fs/promises';
import { WitnessCalculatorBuilder } from 'circom_runtime';

export interface Witness {
  /** The .wtns file bytes, as snarkjs' prover reads them. */
  bin: Uint8Array;
  /** Witness values: [1, outputs..., public inputs..., private signals...]. */
  values: bigint[];
}

/** Parse the witness values out of a .wtns binary (sections: 1 = header, 2 = values). */
export function parseWtns(bin: Uint8Array): bigint[] {
  const dv = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  if (String.fromCharCode(...bin.subarray(0, 4)) !== 'wtns') throw new Error('not a wtns file');
  const nSections = dv.getUint32(8, true);
  let pos = 12;
  let n8 = 32;
  let count = 0;
  let valuesAt = -1;
  for (let s = 0; s < nSections; s++) {
    const type = dv.getUint32(pos, true);
    const size = Number(dv.getBigUint64(pos + 4, true));
    const start = pos + 12;
    if (type === 1) {
      n8 = dv.getUint32(start, true);
      count = dv.getUint32(start + 4 + n8, true);
    } else if (type === 2) {
      valuesAt = start;
    }
    pos = start + size;
  }
  if (valuesAt < 0) throw new Error('wtns file has no values section');
  const out: bigint[] = new Array(count);
  for (let i = 0; i < count; i++) {
    let v = 0n;
    const at = valuesAt + i * n8;
    for (let b = n8 - 8; b >= 0; b -= 8) v = (v << 64n) | dv.getBigUint64(at + b, true);
    out[i] = v;
  }
  return out;
}

const calculators = new Map<string, Promise<{ calculateWTNSBin(input: unknown, sanity: boolean): Promise<Uint8Array> }>>();

/** Compute the witness for `input` (signal name -> values) with the circuit's wasm (cached per path). */
export async function computeWitness(wasmPath: string, input: Record<string, bigint | number | string | (bigint | number | string)[]>): Promise<Witness> {
  let wc = calculators.get(wasmPath);
  if (!wc) {
    wc = readFile(wasmPath).then((bytes) => WitnessCalculatorBuilder(bytes));
    calculators.set(wasmPath, wc);
  }
  const bin: Uint8Array = await (await wc).calculateWTNSBin(input, true);
  return { bin, values: parseWtns(bin) };
}
