/**
 * circom's --O1 simplification, on the rows the interpreter produced: a linear row saying a signal equals a
 * constant, or two signals are equal (x - y = 0), removes the row and one of the signals (never a public
 * signal or an input of main), substituting it everywhere. Applied until nothing changes. Then the surviving
 * signals are numbered as circom numbers wires: 0 the constant one, main's outputs, main's public inputs,
 * main's private inputs, then the rest in declaration order.
 */
import { FIELD, inverse, Lin } from './algebra.ts';
import type { Row } from './evaluate.ts';

export interface MainSignals {
  /** Total ids (1 + number of signals). */
  size: number;
  outputs: number[];
  publicInputs: number[];
  privateInputs: number[];
}

export interface WireRow {
  a: [Int32Array, bigint[]];
  b: [Int32Array, bigint[]];
  c: [Int32Array, bigint[]];
}

export interface Simplified {
  /** The rows in wire form, made as they are iterated (`count` of them). */
  rows: () => Generator<WireRow>;
  count: number;
  nWires: number;
  /** Wire of each signal id (-1: replaced by a constant); ids replaced by another signal get that one's wire. */
  wireOfId: Int32Array;
  /** Whether the id itself is a wire (not removed). */
  kept: Uint8Array;
  /** Signal id of each wire (wire 0: id 0). */
  idOfWire: Int32Array;
  nonLinear: number;
  linear: number;
}

export function simplifyO1(rowsIn: Row[], main: MainSignals): Simplified {
  const n = main.size;
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
  const protectedId = new Uint8Array(n);
  // main's inputs and outputs are never removed. (circom also removes a private input of main that equals
  // another signal, and then writes a header counting more inputs than wires; zkonnx's circuits have none.)
  for (const id of [...main.outputs, ...main.publicInputs, ...main.privateInputs]) protectedId[id] = 1;
  const constant = new Map<number, bigint>();
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  const removed = new Uint8Array(rowsIn.length);
  const isLinear = (r: Row) => !r.quadratic;

  /** The row's linear form with ids replaced by their class representative and constants folded. */
  const canonical = (l: Lin, shift: number): Map<number, bigint> => {
    const m = new Map<number, bigint>();
    for (const [id, c] of l.m) {
      let key = 0;
      let coef = c;
      if (id !== 0) {
        const r = find(id + shift);
        const k = constant.get(r);
        if (k !== undefined) coef = (c * k) % FIELD;
        else key = r;
      }
      const v = ((m.get(key) ?? 0n) + coef) % FIELD;
      if (v === 0n) m.delete(key);
      else m.set(key, v);
    }
    return m;
  };

  // Like circom, only rows that are written as a renaming (x - y = 0) or a constant (k * x + c = 0) are used,
  // judged by their own terms: a row that only becomes one after other substitutions stays (circom keeps
  // `t4 = -3 * t2` when t2 = 5, for instance).
  const candidates: number[] = [];
  for (let i = 0; i < rowsIn.length; i++) {
    const r = rowsIn[i];
    if (!isLinear(r)) continue;
    let sigs = 0;
    let sum = 0n;
    for (const [id, c] of r.c.m) if (id !== 0) { sigs++; sum += c; }
    if (sigs === 1 || (sigs === 2 && !r.c.m.has(0) && sum % FIELD === 0n)) candidates.push(i);
  }
  let changed = true;
  while (changed) {
    changed = false;
    for (const i of candidates) {
      if (removed[i]) continue;
      const r = rowsIn[i];
      const m = canonical(r.c, r.shift);
      const konst = m.get(0) ?? 0n;
      const sigs = [...m.keys()].filter((k) => k !== 0);
      if (sigs.length === 1) {
        const s = sigs[0];
        if (protectedId[s]) continue;
        // k * s + konst = 0
        constant.set(s, ((FIELD - konst) * inverse(m.get(s)!)) % FIELD);
        removed[i] = 1;
        changed = true;
      } else if (sigs.length === 2 && konst === 0n) {
        const [x, y] = sigs;
        if ((m.get(x)! + m.get(y)!) % FIELD !== 0n) continue;
        if (protectedId[x] && protectedId[y]) continue;
        // Keep the protected one, else the one declared first.
        const keep = protectedId[x] ? x : protectedId[y] ? y : Math.min(x, y);
        const drop = keep === x ? y : x;
        parent[drop] = keep;
        removed[i] = 1;
        changed = true;
      }
    }
  }

  // Number the wires.
  const kept = new Uint8Array(n);
  for (let id = 1; id < n; id++) if (find(id) === id && !constant.has(id)) kept[id] = 1;
  const wireOfId = new Int32Array(n).fill(-1);
  const order: number[] = [0];
  const seen = new Uint8Array(n);
  const take = (id: number) => {
    if (!kept[id] || seen[id]) return;
    seen[id] = 1;
    order.push(id);
  };
  for (const id of main.outputs) take(id);
  for (const id of main.publicInputs) take(id);
  for (const id of main.privateInputs) take(id);
  for (let id = 1; id < n; id++) take(id);
  const idOfWire = Int32Array.from(order);
  order.forEach((id, w) => (wireOfId[id] = w));
  for (let id = 1; id < n; id++) {
    if (kept[id]) continue;
    const r = find(id);
    wireOfId[id] = constant.has(r) ? -1 : wireOfId[r];
  }

  const constOf = new Map<number, bigint>();
  for (const [r, k] of constant) constOf.set(r, k);
  const EMPTY: [Int32Array, bigint[]] = [new Int32Array(0), []];
  const toWires = (l: Lin, shift: number): [Int32Array, bigint[]] => {
    if (l.m.size === 0) return EMPTY;
    let ws = new Int32Array(l.m.size + 1);
    let cs: bigint[] = [];
    let n = 0;
    let konst = 0n;
    let merged = false;
    const { ids, coefs } = l.terms();
    for (let j = 0; j < ids.length; j++) {
      const id = ids[j];
      const c = coefs[j];
      if (id === 0) { konst += c; continue; }
      const g = id + shift;
      const w = wireOfId[g];
      if (w < 0) { konst += c * constOf.get(find(g))!; continue; }
      if (!kept[g]) merged = true;
      ws[n++] = w;
      cs.push(c);
    }
    konst %= FIELD;
    if (konst !== 0n) { ws[n++] = 0; cs.push(konst); }
    ws = ws.subarray(0, n);
    // The writer puts terms in circom's order; only a merge of two signals into one wire needs work here.
    if (merged) {
      const order = Array.from(ws.keys()).sort((p, q) => ws[p] - ws[q]);
      const w2: number[] = [];
      const c2: bigint[] = [];
      for (const i of order) {
        if (w2.length && w2[w2.length - 1] === ws[i]) {
          const v = (c2[c2.length - 1] + cs[i]) % FIELD;
          if (v === 0n) { w2.pop(); c2.pop(); } else c2[c2.length - 1] = v;
          continue;
        }
        w2.push(ws[i]);
        c2.push(cs[i]);
      }
      ws = Int32Array.from(w2);
      cs = c2;
    }
    return [ws, cs];
  };
  // Rows in wire form are made on demand (the writer streams them): first count them, dropping the linear rows
  // that renaming and constants reduce to 0 = 0.
  let nonLinear = 0;
  let linear = 0;
  for (let i = 0; i < rowsIn.length; i++) {
    if (removed[i]) continue;
    const r = rowsIn[i];
    if (r.quadratic) nonLinear++;
    else if (toWires(r.c, r.shift)[0].length === 0) removed[i] = 1; // 0 = 0
    else linear++;
  }
  function* rows(): Generator<WireRow> {
    for (let i = 0; i < rowsIn.length; i++) {
      if (removed[i]) continue;
      const r = rowsIn[i];
      yield { a: toWires(r.a, r.shift), b: toWires(r.b, r.shift), c: toWires(r.c, r.shift) };
    }
  }
  return { rows, count: nonLinear + linear, nWires: order.length, wireOfId, kept, idOfWire, nonLinear, linear };
}
