/**
 * The public-signal layout of a zkonnx circuit, shared by the emitter, the prover, the verifier, the
 * Solidity exporter and the calldata encoder (no node:* imports).
 *
 * Public signals are the outputs first (one per output element, signed integers as field elements), then
 * the input:
 * - `plain`: one signal per input element, each a uint8 (0..255). The circuit does not range-check them:
 *   every verifier must check that each is < 256.
 * - `packed`: the uint8 input packed PACK_BYTES (31) per signal, little-endian within a signal: signal j is
 *   sum_{i < 31} in[31 j + i] * 256^i (the last signal holds the remaining bytes). The circuit decomposes
 *   each signal into range-checked bytes, so a packed signal is < 2^(8 * 31) for every valid proof.
 */

export type PublicInputLayout = 'plain' | 'packed';

export const PUBLIC_INPUT_LAYOUTS: readonly PublicInputLayout[] = ['plain', 'packed'];

/** uint8 values per packed field element: 31 bytes = 248 bits < log2(r) ~ 253.6. */
export const PACK_BYTES = 31;

/** Number of public signals that carry an input of `nInputs` uint8 values. */
export function inputSignalCount(layout: PublicInputLayout, nInputs: number): number {
  return layout === 'packed' ? Math.ceil(nInputs / PACK_BYTES) : nInputs;
}

/** Pack uint8 values into field elements as the `packed` layout defines. Throws on a value outside 0..255. */
export function packBytes(values: readonly number[]): bigint[] {
  const out: bigint[] = [];
  for (let j = 0; j < values.length; j += PACK_BYTES) {
    let acc = 0n;
    const end = Math.min(values.length, j + PACK_BYTES);
    for (let i = end - 1; i >= j; i--) {
      const v = values[i];
      if (!Number.isInteger(v) || v < 0 || v > 255) throw new RangeError(`input ${i} is ${v}, not a uint8`);
      acc = (acc << 8n) | BigInt(v);
    }
    out.push(acc);
  }
  return out;
}

/**
 * Unpack `count` uint8 values from packed signals. Returns null when a signal does not hold exactly the
 * bytes its slot allows (a value >= 256^bytes), so a caller never accepts an over-wide packed signal.
 */
export function unpackBytes(signals: readonly bigint[], count: number): number[] | null {
  if (signals.length !== Math.ceil(count / PACK_BYTES)) return null;
  const out: number[] = [];
  for (let j = 0; j < signals.length; j++) {
    const bytes = Math.min(PACK_BYTES, count - j * PACK_BYTES);
    let s = signals[j];
    if (s < 0n || s >= 1n << BigInt(8 * bytes)) return null;
    for (let i = 0; i < bytes; i++) {
      out.push(Number(s & 0xffn));
      s >>= 8n;
    }
  }
  return out;
}

/** The public input signals (as field elements) for a uint8 input under a layout. */
export function inputSignals(layout: PublicInputLayout, values: readonly number[]): bigint[] {
  if (layout === 'packed') return packBytes(values);
  return values.map((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v > 255) throw new RangeError(`input ${i} is ${v}, not a uint8`);
    return BigInt(v);
  });
}

/** How many input bytes each packed signal holds: 31 each, the last one the remainder. */
export function packedSignalBytes(nInputs: number): number[] {
  return Array.from({ length: Math.ceil(nInputs / PACK_BYTES) }, (_, j) => Math.min(PACK_BYTES, nInputs - j * PACK_BYTES));
}

/** A layout named by a user or a file: a PublicInputLayout, or undefined for anything else. */
export function parsePublicInputLayout(v: unknown): PublicInputLayout | undefined {
  return (PUBLIC_INPUT_LAYOUTS as readonly unknown[]).includes(v) ? (v as PublicInputLayout) : undefined;
}
