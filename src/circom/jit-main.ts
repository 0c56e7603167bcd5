/**
 * main's body as JavaScript: the interpreter's semantics (src/circom/evaluate.ts), translated once per
 * circuit and mode so that the long linear layers of a generated circuit run at V8 speed instead of walking
 * the syntax tree for every multiply-accumulate. Everything that touches signals, components or rows goes
 * through the Evaluator (the same code the interpreter uses), so both paths build the same system; the
 * translation covers the statements zkonnx writes and returns null for anything else (the interpreter then
 * runs main, with the same result, more slowly).
 *
 * Like jit.ts, the generated source holds only identifiers (prefixed) and numeric literals from the file.
 */
import { add, FIELD, inverse, isQuad, knownOnly, Lin, mod, mul, neg, signed, sub, unaryKnown, UNKNOWN, type Scalar, type Val } from './algebra.ts';
import { CircomEvalError, type ComponentSlot, type Evaluator, type Frame, type SignalDecl } from './evaluate.ts';
import { shadowsVar, type Definition, type Expr, type Stmt } from './parser.ts';

class Unsupported extends Error {}
/** Thrown at run time when main needs something only the interpreter does (a condition on a signal). */
export class NeedsInterpreter extends Error {}

type RefExpr = Extract<Expr, { k: 'ref' }>;

/** Lets the event loop run now and then (Ctrl-C, progress output) while main runs. */
const YIELD = 'if (R.due()) await R.pause();\n';

/** The run-time side of the generated code: one per run of main. */
class Runtime {
  readonly P = FIELD;
  readonly C: Val[];
  constructor(readonly ev: Evaluator, readonly f: Frame, consts: Val[]) {
    this.C = consts;
  }
  fail(line: number, msg: string): never {
    throw new CircomEvalError(this.f.def.file, line, msg);
  }
  ix(v: Val, line: number): number {
    if (typeof v !== 'bigint') {
      if (v === UNKNOWN || v instanceof Lin || isQuad(v)) throw new NeedsInterpreter();
      this.fail(line, 'an index must be a number');
    }
    if (v > 0x7fffffffn) this.fail(line, `index ${v} out of range`);
    return Number(v);
  }
  t(v: Val, line: number): boolean {
    if (typeof v === 'bigint') return v !== 0n;
    if (v === UNKNOWN || v instanceof Lin || isQuad(v)) throw new NeedsInterpreter();
    return this.fail(line, 'a condition must be a number');
  }
  /** Element i of a var array, bounds-checked; Lin values are marked shared (they belong to the array). */
  at(a: Val, i: Val, line: number): Val {
    if (!Array.isArray(a)) return a === UNKNOWN ? UNKNOWN : this.fail(line, 'indexing a value that is not an array');
    const k = this.ix(i, line);
    if (k < 0 || k >= a.length) this.fail(line, `index ${k} out of range (size ${a.length})`);
    const v = a[k];
    if (v instanceof Lin) v.shared = true;
    return v;
  }
  /** The array holding element [i]: bounds-checked index into it. */
  slot(a: Val, i: Val, line: number): number {
    if (!Array.isArray(a)) this.fail(line, 'indexing a value that is not an array');
    const k = this.ix(i, line);
    if (k < 0 || k >= a.length) this.fail(line, `index ${k} out of range (size ${a.length})`);
    return k;
  }
  sh(v: Val): Val {
    if (v instanceof Lin) v.shared = true;
    else if (Array.isArray(v)) for (const x of v) this.sh(x);
    return v;
  }
  copy(v: Val): Val {
    if (Array.isArray(v)) return v.map((x) => this.copy(x));
    if (v instanceof Lin) v.shared = true;
    return v;
  }
  zeros(dims: Val[], line: number, i = 0): Val {
    if (i === dims.length) return 0n;
    const n = this.ix(dims[i], line);
    return Array.from({ length: n }, () => this.zeros(dims, line, i + 1));
  }
  // arithmetic (constraints mode: any value; witness mode uses inline bigint code instead)
  add = add;
  sub = sub;
  mul = mul;
  neg = neg;
  /** cur + a * b, updating cur in place when it is an unshared combination and one factor is a number. */
  mac(cur: Scalar, a: Scalar, b: Scalar): Scalar {
    if (cur instanceof Lin && !cur.shared) {
      if (typeof a === 'bigint' && b instanceof Lin) {
        cur.addScaled(b, a);
        return cur;
      }
      if (typeof b === 'bigint' && a instanceof Lin) {
        cur.addScaled(a, b);
        return cur;
      }
    }
    return add(cur, mul(a, b));
  }
  div(a: Scalar, b: Scalar, line: number): Scalar {
    return this.ev.binop(this.f, line, '/', a, b);
  }
  op(op: string, a: Val, b: Val, line: number): Scalar {
    if (Array.isArray(a) || Array.isArray(b)) this.fail(line, 'an operator on an array');
    return this.ev.binop(this.f, line, op, a, b);
  }
  un(op: string, a: Val, line: number): Scalar {
    if (Array.isArray(a)) this.fail(line, 'an operator on an array');
    if (typeof a !== 'bigint') return UNKNOWN;
    return unaryKnown(op, a);
  }
  k = knownOnly;
  sg = signed;
  inv = inverse;
  md = (x: bigint) => (x >= FIELD ? x - FIELD : x);
  ms = (x: bigint) => (x < 0n ? x + FIELD : x);
  // signals and components
  decl(name: string, io: SignalDecl['io'], dims: Val[], line: number): number {
    return this.ev.declareSignal(this.f, line, name, io, dims.map((d) => this.ix(d, line)));
  }
  /** Id of own signal `name[idx]` (fully indexed). */
  id(name: string, idx: Val[], line: number): number {
    const decl = this.f.signals!.get(name)!;
    const r = this.ev.idsOf(this.f, line, decl, this.f.base, idx.map((i) => this.ix(i, line)));
    if (r.partial) this.fail(line, `signal '${name}' needs ${decl.dims.length} indices here`);
    return r.ids[0];
  }
  /** Id of a one-dimensional own signal's element (the common case, inlined checks). */
  id1(base: number, size: number, i: Val, line: number): number {
    const k = this.ix(i, line);
    if (k < 0 || k >= size) this.fail(line, `signal index ${k} out of range (size ${size})`);
    return base + k;
  }
  rd(id: number, line: number): Scalar {
    if (this.ev.mode === 'constraints') return Lin.signal(id);
    const v = this.ev.values[id];
    if (v === undefined) this.fail(line, 'a signal is read before it is assigned');
    return v;
  }
  /** Own signal `<==` (rows) or `<--`/`<==` (witness). */
  set(name: string, id: number, v: Val, line: number): void {
    const decl = this.f.signals!.get(name)!;
    this.ev.assignIds(this.f, line, { ids: [id], partial: false, decl }, v);
  }
  hint(name: string, id: number, line: number): void {
    this.ev.hintIds(this.f, line, { ids: [id], partial: false, decl: this.f.signals!.get(name)! });
  }
  hintSub(name: string, slot: ComponentSlot, idx: Val[], sig: string, sidx: Val[], line: number): void {
    this.ev.hintIds(this.f, line, this.ev.componentSignal(this.f, line, name, slot, idx.map((i) => this.ix(i, line)), sig, sidx.map((i) => this.ix(i, line))));
  }
  comp(name: string, dims: Val[], line: number): ComponentSlot {
    return this.ev.declareComponent(this.f, line, name, dims.map((d) => this.ix(d, line)));
  }
  create(name: string, slot: ComponentSlot, idx: Val[], template: string, args: Val[], line: number): void {
    this.ev.fillComponent(this.f, line, name, slot, idx.map((i) => this.ix(i, line)), template, args.map((a) => this.copy(a)));
  }
  subRd(name: string, slot: ComponentSlot, idx: Val[], sig: string, sidx: Val[], line: number): Val {
    const ref = this.ev.componentSignal(this.f, line, name, slot, idx.map((i) => this.ix(i, line)), sig, sidx.map((i) => this.ix(i, line)));
    const vals = ref.ids.map((id) => this.ev.readSignal(this.f, line, id, ref));
    return ref.partial ? vals : vals[0];
  }
  subSet(name: string, slot: ComponentSlot, idx: Val[], sig: string, sidx: Val[], v: Val, line: number): void {
    const ref = this.ev.componentSignal(this.f, line, name, slot, idx.map((i) => this.ix(i, line)), sig, sidx.map((i) => this.ix(i, line)));
    this.ev.assignIds(this.f, line, ref, v);
  }
  eq(a: Val, b: Val, line: number): void {
    if (Array.isArray(a) || Array.isArray(b)) this.fail(line, 'a constraint over arrays');
    if (this.ev.mode === 'witness') {
      if (a !== b) this.fail(line, `constraint not satisfied: ${String(a)} !== ${String(b)}`);
      return;
    }
    this.ev.emitZero(this.f, line, sub(a, b));
  }
  call(name: string, args: Val[], line: number): Val {
    return this.ev.callFunction(this.f, line, name, args);
  }
  progress(done: number, total: number): void {
    this.ev.reportProgress(done, total);
  }
  private calls = 0;
  private last = performance.now();
  /** True every ~50 ms: the generated code then awaits pause(), letting signals (Ctrl-C) and timers run. */
  due(): boolean {
    if (++this.calls & 255) return false;
    const now = performance.now();
    if (now - this.last < 50) return false;
    this.last = now;
    return true;
  }
  pause(): Promise<void> {
    return new Promise((r) => setImmediate(r));
  }
  check(v: Val, line: number): void {
    if (typeof v === 'bigint' && v === 0n) this.fail(line, 'assert failed');
  }
}

export type MainFn = (R: Runtime, A: Val[]) => Promise<void>;

/** Translate main's template for one mode; null when it uses something the translation does not cover. */
export function compileMain(def: Definition, witness: boolean): { fn: MainFn; consts: Val[] } | null {
  try {
    return translate(def, witness);
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
}

/** Run a translated main against an evaluator's frame (set up by Evaluator.runMainWith). */
export function runCompiledMain(ev: Evaluator, f: Frame, compiled: { fn: MainFn; consts: Val[] }, args: Val[]): Promise<void> {
  return compiled.fn(new Runtime(ev, f, compiled.consts), args);
}

function translate(def: Definition, W: boolean): { fn: MainFn; consts: Val[] } {
  if (shadowsVar(def)) throw new Unsupported();
  const consts: Val[] = [];
  const vars = new Set<string>(def.params);
  const signals = new Map<string, number>(); // name -> rank
  const comps = new Set<string>();
  const collect = (ss: Stmt[]) => {
    for (const s of ss) {
      if (s.k === 'var') vars.add(s.name);
      if (s.k === 'signal') signals.set(s.name, s.dims.length);
      if (s.k === 'component') comps.add(s.name);
      if (s.k === 'if') { collect(s.then); if (s.else) collect(s.else); }
      if (s.k === 'for') { if (s.init) collect([s.init]); collect(s.body); }
      if (s.k === 'while' || s.k === 'block') collect(s.body);
      if (s.k === 'return') throw new Unsupported();
    }
  };
  collect(def.body);
  for (const n of vars) if (signals.has(n) || comps.has(n)) throw new Unsupported();
  for (const n of signals.keys()) if (comps.has(n)) throw new Unsupported();
  const q = (v: bigint) => `${mod(v)}n`;
  const list = (es: Expr[]) => `[${es.map(ex).join(', ')}]`;

  /** Own-signal element id. */
  const sigId = (e: RefExpr): string => {
    const rank = signals.get(e.name)!;
    if (e.access.some((a) => a.k !== 'idx') || e.access.length !== rank) throw new Unsupported();
    const idx = e.access.map((a) => ex((a as { e: Expr }).e));
    if (rank === 0) return `o_${e.name}`;
    if (rank === 1) return `R.id1(o_${e.name}, n_${e.name}, ${idx[0]}, ${e.line})`;
    return `R.id(${JSON.stringify(e.name)}, [${idx.join(', ')}], ${e.line})`;
  };
  /** A component signal reference split into (slot index list, signal name, signal index list). */
  const compParts = (e: RefExpr): [string, string, string] => {
    const dot = e.access.findIndex((a) => a.k === 'dot');
    if (dot < 0 || e.access.slice(dot + 1).some((a) => a.k !== 'idx')) throw new Unsupported();
    const idx = e.access.slice(0, dot).map((a) => ex((a as { e: Expr }).e));
    const sidx = e.access.slice(dot + 1).map((a) => ex((a as { e: Expr }).e));
    return [`[${idx.join(', ')}]`, JSON.stringify((e.access[dot] as { name: string }).name), `[${sidx.join(', ')}]`];
  };

  const ex = (e: Expr): string => {
    switch (e.k) {
      case 'num': return q(e.v);
      case 'nums': consts.push(e.v.map(mod)); return `R.C[${consts.length - 1}].slice()`;
      case 'array': return list(e.items);
      case 'ref': {
        if (vars.has(e.name)) {
          if (e.access.some((a) => a.k !== 'idx')) throw new Unsupported();
          let s = `v_${e.name}`;
          for (const a of e.access) s = `R.at(${s}, ${ex((a as { e: Expr }).e)}, ${e.line})`;
          return W || e.access.length ? s : `R.sh(${s})`;
        }
        if (signals.has(e.name)) {
          if (e.access.length !== signals.get(e.name)) throw new Unsupported();
          return `R.rd(${sigId(e)}, ${e.line})`;
        }
        if (comps.has(e.name)) {
          const [idx, sig, sidx] = compParts(e);
          return `R.subRd(${JSON.stringify(e.name)}, c_${e.name}, ${idx}, ${sig}, ${sidx}, ${e.line})`;
        }
        throw new Unsupported();
      }
      case 'un': {
        const a = ex(e.a);
        if (e.op === '-') return W ? `R.ms(-(${a}))` : `R.neg(${a})`;
        return `R.un(${JSON.stringify(e.op)}, ${a}, ${e.line})`;
      }
      case 'bin': {
        const a = ex(e.a);
        const b = ex(e.b);
        if (e.op === '&&') return `(R.t(${a}, ${e.line}) && R.t(${b}, ${e.line}) ? 1n : 0n)`;
        if (e.op === '||') return `(R.t(${a}, ${e.line}) || R.t(${b}, ${e.line}) ? 1n : 0n)`;
        if (W) {
          switch (e.op) {
            case '+': return `R.md((${a}) + (${b}))`;
            case '-': return `R.ms((${a}) - (${b}))`;
            case '*': return `(((${a}) * (${b})) % R.P)`;
            case '==': return `((${a}) === (${b}) ? 1n : 0n)`;
            case '!=': return `((${a}) !== (${b}) ? 1n : 0n)`;
            case '<': case '>': case '<=': case '>=': return `(R.sg(${a}) ${e.op} R.sg(${b}) ? 1n : 0n)`;
          }
          return `R.op(${JSON.stringify(e.op)}, ${a}, ${b}, ${e.line})`;
        }
        switch (e.op) {
          case '+': return `R.add(${a}, ${b})`;
          case '-': return `R.sub(${a}, ${b})`;
          case '*': return `R.mul(${a}, ${b})`;
          case '/': return `R.div(${a}, ${b}, ${e.line})`;
        }
        return `R.op(${JSON.stringify(e.op)}, ${a}, ${b}, ${e.line})`;
      }
      case 'tern': return `(R.t(${ex(e.c)}, ${e.line}) ? (${ex(e.a)}) : (${ex(e.b)}))`;
      case 'call': return `R.call(${JSON.stringify(e.name)}, ${list(e.args)}, ${e.line})`;
      default: throw new Unsupported();
    }
  };

  const st = (s: Stmt): string => {
    switch (s.k) {
      case 'var':
        if (s.init) return `v_${s.name} = R.copy(${ex(s.init)});`;
        return `v_${s.name} = R.zeros(${list(s.dims)}, ${s.line});`;
      case 'signal': {
        const dims = list(s.dims);
        let code = `o_${s.name} = R.decl(${JSON.stringify(s.name)}, ${JSON.stringify(s.io)}, ${dims}, ${s.line});`;
        if (s.dims.length === 1) code += ` n_${s.name} = R.ix(${ex(s.dims[0])}, ${s.line});`;
        if (s.init) code += '\n' + st({ k: 'assign', target: { k: 'ref', name: s.name, access: [], line: s.line }, op: s.init.op, e: s.init.e, line: s.line });
        return code;
      }
      case 'component': {
        let code = `c_${s.name} = R.comp(${JSON.stringify(s.name)}, ${list(s.dims)}, ${s.line});`;
        if (s.init) {
          if (s.init.k !== 'call' || s.dims.length) throw new Unsupported();
          code += ` R.create(${JSON.stringify(s.name)}, c_${s.name}, [], ${JSON.stringify(s.init.name)}, ${list(s.init.args)}, ${s.line});`;
        }
        return code;
      }
      case 'assign': {
        const t = s.target;
        if (s.op === '<--' || s.op === '<==') {
          if (!W && s.op === '<--') {
            // No row, but the signal counts as assigned (circom refuses a second assignment or a missing one).
            if (signals.has(t.name)) {
              if (t.access.length !== signals.get(t.name)) throw new Unsupported();
              return `R.hint(${JSON.stringify(t.name)}, ${sigId(t)}, ${s.line});`;
            }
            if (comps.has(t.name)) {
              const [idx, sig, sidx] = compParts(t);
              return `R.hintSub(${JSON.stringify(t.name)}, c_${t.name}, ${idx}, ${sig}, ${sidx}, ${s.line});`;
            }
            throw new Unsupported();
          }
          if (signals.has(t.name)) {
            if (t.access.length !== signals.get(t.name)) throw new Unsupported();
            return `R.set(${JSON.stringify(t.name)}, ${sigId(t)}, ${ex(s.e)}, ${s.line});`;
          }
          if (comps.has(t.name)) {
            const [idx, sig, sidx] = compParts(t);
            return `R.subSet(${JSON.stringify(t.name)}, c_${t.name}, ${idx}, ${sig}, ${sidx}, ${ex(s.e)}, ${s.line});`;
          }
          throw new Unsupported();
        }
        if (comps.has(t.name) && s.op === '=') {
          if (s.e.k !== 'call' || t.access.some((a) => a.k !== 'idx')) throw new Unsupported();
          return `R.create(${JSON.stringify(t.name)}, c_${t.name}, ${list(t.access.map((a) => (a as { e: Expr }).e))}, ${JSON.stringify(s.e.name)}, ${list(s.e.args)}, ${s.line});`;
        }
        if (!vars.has(t.name) || t.access.some((a) => a.k !== 'idx')) throw new Unsupported();
        const rhs = ex(s.e);
        const opOf = (cur: string): string => {
          if (s.op === '=') return `R.copy(${rhs})`;
          const op = s.op.slice(0, -1);
          if (W) {
            if (op === '+') return `R.md((${cur}) + (${rhs}))`;
            if (op === '-') return `R.ms((${cur}) - (${rhs}))`;
            if (op === '*') return `(((${cur}) * (${rhs})) % R.P)`;
            return `R.op(${JSON.stringify(op)}, ${cur}, ${rhs}, ${s.line})`;
          }
          // The multiply-accumulate of a linear layer: add k * x into the sum in place, no temporary.
          if (op === '+' && s.e.k === 'bin' && s.e.op === '*') return `R.mac(${cur}, ${ex(s.e.a)}, ${ex(s.e.b)})`;
          if (op === '+') return `R.add(${cur}, ${rhs})`;
          if (op === '-') return `R.sub(${cur}, ${rhs})`;
          if (op === '*') return `R.mul(${cur}, ${rhs})`;
          if (op === '/') return `R.div(${cur}, ${rhs}, ${s.line})`;
          return `R.op(${JSON.stringify(op)}, ${cur}, ${rhs}, ${s.line})`;
        };
        if (t.access.length === 0) return `v_${t.name} = ${opOf(`v_${t.name}`)};`;
        // Walk to the innermost array, then update its element (the element is owned by the array: no R.sh).
        let arr = `v_${t.name}`;
        const idx = t.access.map((a) => ex((a as { e: Expr }).e));
        for (const i of idx.slice(0, -1)) arr = `R.at(${arr}, ${i}, ${s.line})`;
        return `{ const a_ = ${arr}; const i_ = R.slot(a_, ${idx[idx.length - 1]}, ${s.line}); a_[i_] = ${opOf('a_[i_]')}; }`;
      }
      case 'constrain': return `R.eq(${ex(s.a)}, ${ex(s.b)}, ${s.line});`;
      case 'if':
        return `if (R.t(${ex(s.c)}, ${s.line})) {\n${s.then.map(st).join('\n')}\n}${s.else ? ` else {\n${s.else.map(st).join('\n')}\n}` : ''}`;
      case 'for':
        return `{ ${s.init ? st(s.init) : ''}\nwhile (R.t(${ex(s.c)}, ${s.line})) {\n${YIELD}${s.body.map(st).join('\n')}\n${s.step ? st(s.step) : ''}\n} }`;
      case 'while':
        return `while (R.t(${ex(s.c)}, ${s.line})) {\n${YIELD}${s.body.map(st).join('\n')}\n}`;
      case 'assert': return `R.check(${ex(s.e)}, ${s.line});`;
      case 'log': return '';
      case 'block': return `{\n${s.body.map(st).join('\n')}\n}`;
      default: throw new Unsupported();
    }
  };

  const n = def.body.length;
  const body = def.body.map((x, i) => (i % 64 === 0 ? `R.progress(${i}, ${n});\n${YIELD}` : '') + st(x)).join('\n') + `\nR.progress(${n}, ${n});`;
  const decls = [
    ...[...vars].map((v) => `v_${v}`),
    ...[...signals.keys()].flatMap((n) => [`o_${n}`, `n_${n}`]),
    ...[...comps].map((c) => `c_${c}`),
  ];
  const params = def.params.map((p, i) => `v_${p} = R.copy(A[${i}]);`).join(' ');
  const src = `"use strict";\nreturn async function (R, A) {\n${decls.length ? `let ${decls.join(', ')};` : ''}\n${params}\n${body}\n};`;
  const fn = new Function(src)() as MainFn;
  return { fn, consts };
}
