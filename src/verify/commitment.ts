/**
 * The zkonnx hash: the one Poseidon-based commitment behind hashed inputs and outputs and committed model
 * parameters. circuits/hash.circom (template ZkonnxHash) is its in-circuit form; test/poseidon.test.ts checks
 * that the two agree bit for bit. Browser-safe: no node:* imports.
 *
 *   items = [tag, len, salt, elems...], padded with zeros to the smallest length 16 + 15 k (k >= 0)
 *   h = P16(items[0..16)); then h = P16([h, ...c]) for each following chunk c of 15 items; the result is h.
 *
 * P16 is Poseidon for 16 inputs, the function of circomlib's Poseidon(16) (src/verify/poseidon.ts; in the circuit,
 * circuits/poseidon16.circom). `len` is the number of values the elements encode
 * (bytes, for packed uint8 tensors) and fixes the chunking, so different lengths never collide; `tag` separates
 * kinds of commitment; `salt` is 0 when unsalted (a salt hides a low-entropy input from anyone who could
 * otherwise hash every candidate).
 */
import { InputError } from '../errors.ts';
import { FIELD_PRIME } from '../field.ts';
import { packBytes } from './layout.ts';
import { poseidon16 } from './poseidon.ts';

/** The ASCII bytes "zkonnx" as a big-endian integer, shifted left by 16 bits; the tags are this plus 1, 2, 3. */
export const TAG_BASE = BigInt('0x' + Array.from('zkonnx', (ch) => ch.charCodeAt(0).toString(16).padStart(2, '0')).join('')) << 16n;
/** The tag of a hashed model input. */
export const TAG_INPUT = TAG_BASE + 1n;
/** The tag of a hashed model output. */
export const TAG_OUTPUT = TAG_BASE + 2n;
/** The tag of committed model parameters. */
export const TAG_PARAMS = TAG_BASE + 3n;

function checkElement(what: string, x: bigint): void {
  if (typeof x !== 'bigint' || x < 0n || x >= FIELD_PRIME) throw new RangeError(`${what} is not a canonical field element (0 <= x < r): ${String(x)}`);
}

/**
 * The zkonnx hash of `elems` (each a canonical field element) under `tag`, `len` and `salt`, as defined above.
 * Cost: 1 + ceil(max(0, M - 13) / 15) Poseidon permutations for M elements. Throws RangeError on a
 * non-canonical value or a `len` that is not a non-negative safe integer.
 */
export function zkonnxHash(tag: bigint, len: number, salt: bigint, elems: readonly bigint[]): bigint {
  if (!Number.isSafeInteger(len) || len < 0) throw new RangeError(`len must be a non-negative integer, got ${len}`);
  checkElement('tag', tag);
  checkElement('salt', salt);
  elems.forEach((x, i) => checkElement(`element ${i}`, x));
  const items = [tag, BigInt(len), salt, ...elems];
  const chunks = items.length <= 16 ? 0 : Math.ceil((items.length - 16) / 15);
  while (items.length < 16 + 15 * chunks) items.push(0n);
  let h = poseidon16(items.slice(0, 16));
  for (let c = 0; c < chunks; c++) h = poseidon16([h, ...items.slice(16 + 15 * c, 31 + 15 * c)]);
  return h;
}

/** uint8 values as hash elements: 31 per element, little-endian within an element (the `packed` layout). */
export function packBytesForHash(values: readonly number[]): bigint[] {
  return packBytes(values);
}

/** The commitment to a byte string (e.g. a uint8 tensor): zkonnxHash(tag, bytes.length, salt, packed bytes). */
export function commitBytes(tag: bigint, bytes: readonly number[], salt: bigint): bigint {
  return zkonnxHash(tag, bytes.length, salt, packBytesForHash(bytes));
}

/**
 * The commitment to field elements one per value (signed integers encoded as p + x, see src/field.ts):
 * zkonnxHash(tag, elems.length, salt, elems).
 */
export function commitFieldElements(tag: bigint, elems: readonly bigint[], salt = 0n): bigint {
  return zkonnxHash(tag, elems.length, salt, elems);
}

/** A fresh random salt: 248 bits from globalThis.crypto.getRandomValues, so always < r. */
export function randomSalt(): bigint {
  const bytes = new Uint8Array(31);
  globalThis.crypto.getRandomValues(bytes);
  let s = 0n;
  for (const b of bytes) s = (s << 8n) | BigInt(b);
  return s;
}

/**
 * A salt written by a user: hex (with or without 0x) or decimal, and < r. Digits only (0-9) read as decimal;
 * anything with a-f or a 0x prefix as hex. Throws InputError naming the value otherwise.
 */
export function parseSalt(text: string): bigint {
  const t = typeof text === 'string' ? text.trim() : '';
  let v: bigint | null = null;
  if (/^0x[0-9a-fA-F]{1,64}$/.test(t)) v = BigInt(t);
  else if (/^[0-9]{1,78}$/.test(t)) v = BigInt(t);
  else if (/^[0-9a-fA-F]{1,64}$/.test(t)) v = BigInt('0x' + t);
  if (v === null) {
    throw new InputError(`The salt '${String(text)}' is not a number.`, { hint: 'Write the salt in hex (0x... or bare hex digits) or in decimal.' });
  }
  if (v >= FIELD_PRIME) {
    throw new InputError(`The salt '${String(text)}' is not below the field size r.`, { hint: `A salt must be less than r = ${FIELD_PRIME}; zkonnx's own salts have 248 bits.` });
  }
  return v;
}

/** P16 permutations for M elements: the first takes 16 items (3 header items + 13 elements), each later one 15. */
function permutations(m: number): number {
  return 1 + Math.ceil(Math.max(0, m - 13) / 15);
}

/**
 * Constraints (circom --O1, measured with circom2 and the direct backend) of one Poseidon16 of
 * circuits/poseidon16.circom: 609 S-box rows (203 x^5 of 3 rows each; the 204th, on the constant state[0] of
 * round 0, is computed at compile time) + 1 linear output row. Round constants and mixing are linear
 * combinations kept in vars: no rows.
 */
const P16_CONSTRAINTS = 610;

/** How commitmentCost counts, in words. */
export const COMMITMENT_COST_FORMULA =
  `${P16_CONSTRAINTS} constraints per Poseidon(16) (609 non-linear S-box rows: 203 x^5 of 3 rows each, plus 1 linear output row; ` +
  'round constants and mixing are linear combinations, no rows), ' +
  'times 1 + ceil(max(0, M - 13) / 15) permutations for M elements: TAG, LEN, salt and 13 elements fill the first, 15 elements each later one. ' +
  'TAG, LEN and zero padding are constants that --O1 folds; the result signal is a renaming.';

/** The exact constraint count (circom --O1) of circuits/hash.circom's ZkonnxHash(M, TAG, LEN); see COMMITMENT_COST_FORMULA. */
export function commitmentCost(m: number): number {
  if (!Number.isSafeInteger(m) || m < 1) throw new RangeError(`ZkonnxHash needs M >= 1 elements, got ${m}`);
  return P16_CONSTRAINTS * permutations(m);
}
