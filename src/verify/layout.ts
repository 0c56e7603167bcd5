/**
 * The public-signal layout of a zkonnx circuit, shared by the emitter, the prover, the verifier, the
 * Solidity exporter and the calldata encoder (no node:* imports).
 *
 * Public signals are the outputs first (one per output element, signed integers as field elements), then
 * the input:
 * - `plain`: one signal per input element, each a uint8 (0..255). The circuit does not range-check them:
 *   every verifier must check that each is < 256. Exception: the elements of an integer or bool graph input
 *   (the key's input `parts` with an accumulator quant, scale 1, bounds lo..hi) are signed integers (a
 *   negative x is r + x), which the circuit range-checks to [lo, hi] (circuits/intrange.circom); integer
 *   inputs exist only in this layout with a public input.
 * With several graph inputs (outputs), the input (output) elements are their concatenation in declaration
 * order; the key's `parts` say where each starts.
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

/**
 * Visibility (`zkonnx compile --input-visibility/--output-visibility/--param-visibility`): what of the input,
 * the output and the model parameters the public signals show.
 * - input `public`: the uint8 input is public, in the public-input layout (plain or packed) above;
 *   `hashed`: only a salted commitment to it is public (commitBytes(TAG_INPUT, input, salt), src/verify/commitment.ts);
 *   `private`: nothing about it is public. Hashed and private inputs are range-checked to uint8 by the circuit.
 * - output `public`: one signal per output element; `hashed`: one signal, commitFieldElements(TAG_OUTPUT, outputs)
 *   (unsalted: it compresses the outputs, it does not hide them; the bundle carries them).
 * - params `fixed`: weights are circuit constants; `hashed`: the weights and biases of the linear layers
 *   (Gemm/MatMul/Conv) are private signals and one public signal is their commitment (TAG_PARAMS).
 */
export type InputVisibility = 'public' | 'hashed' | 'private';
export type OutputVisibility = 'public' | 'hashed';
export type ParamVisibility = 'fixed' | 'hashed';

export interface Visibility {
  input: InputVisibility;
  output: OutputVisibility;
  params: ParamVisibility;
}

export const INPUT_VISIBILITIES: readonly InputVisibility[] = ['public', 'hashed', 'private'];
export const OUTPUT_VISIBILITIES: readonly OutputVisibility[] = ['public', 'hashed'];
export const PARAM_VISIBILITIES: readonly ParamVisibility[] = ['fixed', 'hashed'];

/** Today's behaviour, and what a key or bundle without a `visibility` field means. */
export const DEFAULT_VISIBILITY: Readonly<Visibility> = Object.freeze({ input: 'public', output: 'public', params: 'fixed' });

/** A visibility read from a file or a caller: the value, or the name of the first bad field. */
export function parseVisibility(v: unknown): Visibility | { bad: string } {
  if (v === undefined) return { ...DEFAULT_VISIBILITY };
  if (!v || typeof v !== 'object' || Array.isArray(v)) return { bad: '' };
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (o[k] !== undefined && !['input', 'output', 'params'].includes(k)) return { bad: k };
  const input = o.input ?? 'public';
  const output = o.output ?? 'public';
  const params = o.params ?? 'fixed';
  if (!(INPUT_VISIBILITIES as readonly unknown[]).includes(input)) return { bad: 'input' };
  if (!(OUTPUT_VISIBILITIES as readonly unknown[]).includes(output)) return { bad: 'output' };
  if (!(PARAM_VISIBILITIES as readonly unknown[]).includes(params)) return { bad: 'params' };
  return { input, output, params } as Visibility;
}

export const isDefaultVisibility = (v: Visibility) => v.input === 'public' && v.output === 'public' && v.params === 'fixed';

/**
 * Where each part sits among the public signals. circom puts main's outputs first, in declaration order, then
 * its public inputs: [outputs (nOut signals, or 1 commitment)] [input commitment, if hashed] [params
 * commitment, if hashed] [input signals in `layout`, if public].
 */
export interface SignalLayout {
  /** First output signal and how many (1 when hashed: the commitment). */
  outputs: { at: number; count: number };
  /** Index of the input commitment, or -1. */
  inputHash: number;
  /** Index of the parameter commitment, or -1. */
  paramsHash: number;
  /** First public input signal and how many (count 0 unless the input is public). */
  input: { at: number; count: number };
  total: number;
}

export function signalLayout(v: Visibility, layout: PublicInputLayout, nIn: number, nOut: number): SignalLayout {
  let at = 0;
  const outputs = { at, count: v.output === 'hashed' ? 1 : nOut };
  at += outputs.count;
  const inputHash = v.input === 'hashed' ? at++ : -1;
  const paramsHash = v.params === 'hashed' ? at++ : -1;
  const input = { at, count: v.input === 'public' ? inputSignalCount(layout, nIn) : 0 };
  at += input.count;
  return { outputs, inputHash, paramsHash, input, total: at };
}
