/**
 * The BN254 scalar field, and the one place where signed integers are mapped to field elements and back.
 * A negative integer x is the field element p + x; decoding maps elements above p/2 back to negatives.
 */
export const FIELD_PRIME = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
/** BN254 base field: coordinates of curve points (proofs, keys) live here. */
export const BASE_FIELD_PRIME = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
const HALF = FIELD_PRIME / 2n;

export function toField(x: bigint | number): bigint {
  const v = typeof x === 'bigint' ? x : BigInt(x);
  const r = v % FIELD_PRIME;
  return r < 0n ? r + FIELD_PRIME : r;
}

/** The inverse of a non-zero element of the scalar field (extended Euclid). */
export function fieldInverse(a: bigint): bigint {
  if (a % FIELD_PRIME === 0n) throw new RangeError('division by zero');
  let [r0, r1] = [FIELD_PRIME, toField(a)];
  let [t0, t1] = [0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return toField(t0);
}

/** b^e in the scalar field, e >= 0. */
export function fieldPow(b: bigint, e: bigint): bigint {
  let r = 1n;
  b = toField(b);
  while (e > 0n) {
    if (e & 1n) r = (r * b) % FIELD_PRIME;
    b = (b * b) % FIELD_PRIME;
    e >>= 1n;
  }
  return r;
}

export function fromField(x: bigint): bigint {
  if (x < 0n || x >= FIELD_PRIME) throw new RangeError(`not a canonical field element: ${x}`);
  return x > HALF ? x - FIELD_PRIME : x;
}

/** Decimal string of the field element for a signed integer, as snarkjs wants public signals. */
export function toFieldString(x: bigint | number): string {
  return toField(x).toString();
}

/** A non-negative integer in canonical decimal (digits only, no leading zeros, at most 78 of them), or null. */
export function parseDecimal(s: unknown): bigint | null {
  return typeof s === 'string' && /^(0|[1-9][0-9]{0,77})$/.test(s) ? BigInt(s) : null;
}

/** Parse a public signal string strictly: decimal digits only, canonical (< p). Returns null if not. */
export function parseCanonicalSignal(s: unknown): bigint | null {
  const v = parseDecimal(s);
  return v !== null && v < FIELD_PRIME ? v : null;
}

/** Parse a curve-point coordinate strictly: decimal digits only, canonical in the base field (< q). Null if not. */
export function parseCanonicalCoordinate(s: unknown): bigint | null {
  const v = parseDecimal(s);
  return v !== null && v < BASE_FIELD_PRIME ? v : null;
}
