/**
 * Values of the circom interpreter (src/circom/evaluate.ts) and their arithmetic over the BN254 scalar field,
 * with circom's semantics for every operator: field elements (bigint in [0, p)), and, while building the
 * constraint system, linear combinations of signals, quadratic expressions (a * b + c), and "unknown" (a value
 * that depends on signals in a way no constraint can use; allowed only in witness code such as `<--`).
 */
import { fieldInverse as inverse, fieldPow as power, FIELD_PRIME as P } from '../field.ts';

const HALF = P / 2n;

export const mod = (x: bigint): bigint => {
  const r = x % P;
  return r < 0n ? r + P : r;
};

export { fieldInverse as inverse, fieldPow as power } from '../field.ts';

/** Signed view of a field element, as circom compares values: (-p/2, p/2]. */
export const signed = (x: bigint): bigint => (x > HALF ? x - P : x);

/** A linear combination: signal id -> coefficient, id 0 is the constant one. `shared` forbids in-place updates. */
export class Lin {
  shared = false;
  constructor(readonly m: Map<number, bigint> = new Map()) {}
  static signal(id: number): Lin {
    return new Lin(new Map([[id, 1n]]));
  }
  static constant(v: bigint): Lin {
    return new Lin(v === 0n ? new Map() : new Map([[0, v]]));
  }
  clone(): Lin {
    return new Lin(new Map(this.m));
  }
  /** this += k * o, in place. */
  addScaled(o: Lin, k: bigint): void {
    for (const [id, c] of o.m) {
      const v = ((this.m.get(id) ?? 0n) + k * c) % P;
      if (v === 0n) this.m.delete(id);
      else this.m.set(id, v);
    }
  }
  addConstant(v: bigint): void {
    const s = ((this.m.get(0) ?? 0n) + v) % P;
    if (s === 0n) this.m.delete(0);
    else this.m.set(0, s);
  }
  scaled(k: bigint): Lin {
    const r = new Lin();
    if (k === 0n) return r;
    for (const [id, c] of this.m) r.m.set(id, (c * k) % P);
    return r;
  }
  private frozenForm?: { ids: Int32Array; coefs: bigint[] };
  /**
   * The terms as arrays, made once: for a combination that is no longer updated (a row's; rows are reused
   * for every instance of a template, so this saves walking the map each time).
   */
  terms(): { ids: Int32Array; coefs: bigint[] } {
    if (!this.frozenForm) this.frozenForm = { ids: Int32Array.from(this.m.keys()), coefs: [...this.m.values()] };
    return this.frozenForm;
  }
  /** The constant when the combination has no signal; undefined otherwise. */
  asConstant(): bigint | undefined {
    if (this.m.size === 0) return 0n;
    if (this.m.size === 1 && this.m.has(0)) return this.m.get(0)!;
    return undefined;
  }
}

export interface Quad {
  readonly quad: true;
  a: Lin;
  b: Lin;
  c: Lin;
}

export const UNKNOWN: unique symbol = Symbol('unknown');
export type Unknown = typeof UNKNOWN;

export type Scalar = bigint | Lin | Quad | Unknown;
export type Val = Scalar | Val[];

export const isQuad = (v: unknown): v is Quad => typeof v === 'object' && v !== null && (v as Quad).quad === true;

/** Lin or bigint -> Lin (a fresh, unshared one when it must be copied for mutation). */
function owned(v: bigint | Lin): Lin {
  if (typeof v === 'bigint') return Lin.constant(v);
  return v.shared ? v.clone() : v;
}


export function add(a: Scalar, b: Scalar): Scalar {
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    const s = a + b;
    return s >= P ? s - P : s;
  }
  if (a === UNKNOWN || b === UNKNOWN) return UNKNOWN;
  if (isQuad(a) || isQuad(b)) {
    if (isQuad(a) && isQuad(b)) return UNKNOWN;
    const q = (isQuad(a) ? a : b) as Quad;
    const o = (isQuad(a) ? b : a) as bigint | Lin;
    const c = q.c.clone();
    if (typeof o === 'bigint') c.addConstant(o);
    else c.addScaled(o, 1n);
    return { quad: true, a: q.a, b: q.b, c };
  }
  if (typeof a === 'bigint') [a, b] = [b, a];
  const r = owned(a as Lin);
  if (typeof b === 'bigint') r.addConstant(b);
  else r.addScaled(b as Lin, 1n);
  // Like circom, a combination stays one when its signals cancel: a product with it is still quadratic.
  return r;
}

export function neg(a: Scalar): Scalar {
  if (typeof a === 'bigint') return a === 0n ? 0n : P - a;
  return scale(a, P - 1n);
}

export function scale(a: Scalar, k: bigint): Scalar {
  if (typeof a === 'bigint') return (a * k) % P;
  if (a === UNKNOWN) return UNKNOWN;
  if (k === 0n) return isQuad(a) ? { quad: true, a: a.a, b: new Lin(), c: new Lin() } : new Lin();
  if (isQuad(a)) return { quad: true, a: a.a.scaled(k), b: a.b, c: a.c.scaled(k) };
  if (!a.shared) {
    for (const [id, c] of a.m) a.m.set(id, (c * k) % P);
    return a;
  }
  return a.scaled(k);
}

export function sub(a: Scalar, b: Scalar): Scalar {
  return add(a, neg(b));
}

export function mul(a: Scalar, b: Scalar): Scalar {
  if (typeof a === 'bigint' && typeof b === 'bigint') return (a * b) % P;
  if (a === UNKNOWN || b === UNKNOWN) return UNKNOWN;
  if (typeof a === 'bigint') return scale(b, a);
  if (typeof b === 'bigint') return scale(a, b);
  if (isQuad(a) || isQuad(b)) return UNKNOWN;
  return { quad: true, a: a.shared ? a.clone() : a, b: b.shared ? b.clone() : b, c: new Lin() };
}

const bool = (x: boolean): bigint => (x ? 1n : 0n);

/** Operators that only apply to known values: anything symbolic gives UNKNOWN. */
export function knownOnly(op: string, a: bigint, b: bigint): bigint {
  switch (op) {
    case '/': return (a * inverse(b)) % P;
    case '\\':
      if (b === 0n) throw new RangeError('integer division by zero');
      return a / b;
    case '%':
      if (b === 0n) throw new RangeError('modulo by zero');
      return a % b;
    case '**': return power(a, b);
    case '<<': return shiftLeft(a, b);
    case '>>': return shiftRight(a, b);
    case '&': return (a & b) % P;
    case '|': return (a | b) % P;
    case '^': return (a ^ b) % P;
    case '==': return bool(a === b);
    case '!=': return bool(a !== b);
    case '<': return bool(signed(a) < signed(b));
    case '>': return bool(signed(a) > signed(b));
    case '<=': return bool(signed(a) <= signed(b));
    case '>=': return bool(signed(a) >= signed(b));
    case '&&': return bool(a !== 0n && b !== 0n);
    case '||': return bool(a !== 0n || b !== 0n);
  }
  throw new Error(`unknown operator '${op}'`);
}

const MASK254 = (1n << 254n) - 1n;

/** circom: x << k for k <= p/2 (kept to its low 254 bits, then reduced mod p), else x >> (p - k). */
function shiftLeft(x: bigint, k: bigint): bigint {
  if (k > HALF) return shiftRight(x, P - k);
  if (k >= 254n) return 0n;
  return ((x << k) & MASK254) % P;
}

function shiftRight(x: bigint, k: bigint): bigint {
  if (k > HALF) return shiftLeft(x, P - k);
  if (k >= 256n) return 0n;
  return x >> k;
}

export function unaryKnown(op: string, a: bigint): bigint {
  switch (op) {
    case '-': return a === 0n ? 0n : P - a;
    case '!': return bool(a === 0n);
    case '~': return ((1n << 254n) - 1n - a) % P;
  }
  throw new Error(`unknown unary operator '${op}'`);
}

export { P as FIELD };
