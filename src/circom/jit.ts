/**
 * Witness code for a template instance as a JavaScript function: the interpreter's witness mode, translated
 * once per (template, parameters) and then run by V8 for every instance of it. Only templates without
 * subcomponents or function calls are translated (every zkonnx gadget); anything else stays interpreted.
 *
 * The generated source holds nothing from the circuit file but identifiers (letters, digits, _ and $, as the
 * lexer admits them, prefixed with `v_`) and decimal bigint literals, so a circuit file cannot inject code.
 * Semantics are the interpreter's (src/circom/algebra.ts): every value is a field element in [0, p).
 */
import { FIELD, inverse, knownOnly, mod, signed, unaryKnown, type Val } from './algebra.ts';
import { CircomEvalError, type Layout } from './evaluate.ts';
import { shadowsVar, type Definition, type Expr, type Stmt } from './parser.ts';

export type WitnessFn = (V: (bigint | undefined)[], base: number, path: string) => void;

class Unsupported extends Error {}

const H = {
  P: FIELD,
  ix(x: bigint): number {
    if (x > 0x7fffffffn) throw new RangeError(`index ${x} out of range`);
    return Number(x);
  },
  md: (x: bigint) => (x >= FIELD ? x - FIELD : x),
  ms: (x: bigint) => (x < 0n ? x + FIELD : x),
  k: knownOnly,
  u: unaryKnown,
  sg: signed,
  inv: inverse,
  mod,
  zeros(dims: bigint[], i = 0): Val {
    if (i === dims.length) return 0n;
    return Array.from({ length: Number(dims[i]) }, () => H.zeros(dims, i + 1));
  },
  copy(v: Val): Val {
    return Array.isArray(v) ? v.map(H.copy) : v;
  },
  read(V: (bigint | undefined)[], i: number, file: string, line: number, path: string): bigint {
    const v = V[i];
    if (v === undefined) throw new CircomEvalError(file, line, `a signal is read before it is assigned (in ${path})`);
    return v;
  },
  fail(file: string, line: number, path: string, msg: string): never {
    throw new CircomEvalError(file, line, `${msg} (in ${path})`);
  },
};

/** Translate an instance's template, or null when it uses something the translation does not cover. */
export function compileWitnessFn(def: Definition, args: Val[], layout: Layout): WitnessFn | null {
  try {
    return translate(def, args, layout);
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
}

function translate(def: Definition, args: Val[], layout: Layout): WitnessFn {
  if (shadowsVar(def)) throw new Unsupported();
  const consts: Val[] = [];
  const vars = new Set<string>(def.params);
  const collect = (ss: Stmt[]) => {
    for (const s of ss) {
      if (s.k === 'var') vars.add(s.name);
      if (s.k === 'if') { collect(s.then); if (s.else) collect(s.else); }
      if (s.k === 'for') { if (s.init) collect([s.init]); collect(s.body); }
      if (s.k === 'while' || s.k === 'block') collect(s.body);
      if (s.k === 'component' || s.k === 'return') throw new Unsupported();
    }
  };
  collect(def.body);
  const file = JSON.stringify(def.file);
  const q = (v: bigint) => `${mod(v)}n`;

  const sig = (e: Extract<Expr, { k: 'ref' }>): string => {
    const decl = layout.signals.get(e.name);
    if (!decl) throw new Unsupported();
    if (e.access.length !== decl.dims.length || e.access.some((a) => a.k !== 'idx')) throw new Unsupported();
    let idx = `${decl.offset}`;
    let stride = decl.size;
    e.access.forEach((a, d) => {
      stride /= decl.dims[d];
      const i = `H.ix(${ex((a as { e: Expr }).e)})`;
      idx += stride === 1 ? ` + ${i}` : ` + ${i} * ${stride}`;
    });
    return `base + ${idx}`;
  };

  const ex = (e: Expr): string => {
    switch (e.k) {
      case 'num': return q(e.v);
      case 'nums': consts.push(e.v.map(mod)); return `H.copy(C[${consts.length - 1}])`;
      case 'array': return `[${e.items.map(ex).join(', ')}]`;
      case 'ref': {
        if (vars.has(e.name)) {
          if (e.access.some((a) => a.k !== 'idx')) throw new Unsupported();
          return `v_${e.name}${e.access.map((a) => `[H.ix(${ex((a as { e: Expr }).e)})]`).join('')}`;
        }
        return `H.read(V, ${sig(e)}, ${file}, ${e.line}, path)`;
      }
      case 'un': {
        const a = ex(e.a);
        if (e.op === '-') return `H.ms(-(${a}))`;
        if (e.op === '!') return `((${a}) === 0n ? 1n : 0n)`;
        return `H.u(${JSON.stringify(e.op)}, ${a})`;
      }
      case 'bin': {
        const a = ex(e.a);
        const b = ex(e.b);
        switch (e.op) {
          case '+': return `H.md((${a}) + (${b}))`;
          case '-': return `H.ms((${a}) - (${b}))`;
          case '*': return `(((${a}) * (${b})) % H.P)`;
          case '&': return `((${a}) & (${b}))`;
          case '==': return `((${a}) === (${b}) ? 1n : 0n)`;
          case '!=': return `((${a}) !== (${b}) ? 1n : 0n)`;
          case '&&': return `((${a}) !== 0n && (${b}) !== 0n ? 1n : 0n)`;
          case '||': return `((${a}) !== 0n || (${b}) !== 0n ? 1n : 0n)`;
          case '<': case '>': case '<=': case '>=': return `(H.sg(${a}) ${e.op} H.sg(${b}) ? 1n : 0n)`;
          default: return `H.k(${JSON.stringify(e.op)}, ${a}, ${b})`;
        }
      }
      case 'tern': return `((${ex(e.c)}) !== 0n ? (${ex(e.a)}) : (${ex(e.b)}))`;
      default: throw new Unsupported();
    }
  };

  const lval = (t: Extract<Expr, { k: 'ref' }>): string => {
    if (!vars.has(t.name) || t.access.some((a) => a.k !== 'idx')) throw new Unsupported();
    return `v_${t.name}${t.access.map((a) => `[H.ix(${ex((a as { e: Expr }).e)})]`).join('')}`;
  };

  const st = (s: Stmt): string => {
    switch (s.k) {
      case 'var': {
        if (s.init) return `v_${s.name} = H.copy(${ex(s.init)});`;
        return `v_${s.name} = H.zeros([${s.dims.map(ex).join(', ')}]);`;
      }
      case 'signal': {
        if (s.io === 'input' && s.init) throw new Unsupported();
        if (!s.init) return '';
        return st({ k: 'assign', target: { k: 'ref', name: s.name, access: [], line: s.line }, op: s.init.op, e: s.init.e, line: s.line });
      }
      case 'assign': {
        if (s.op === '<--' || s.op === '<==') {
          const decl = layout.signals.get(s.target.name);
          if (!decl || decl.io === 'input') throw new Unsupported();
          const at = sig(s.target);
          return `{ const i_ = ${at}; if (V[i_] !== undefined) H.fail(${file}, ${s.line}, path, 'a signal is assigned twice'); V[i_] = ${ex(s.e)}; }`;
        }
        const t = lval(s.target);
        if (s.op === '=') return `${t} = H.copy(${ex(s.e)});`;
        const op = s.op.slice(0, -1);
        const rhs: Expr = { k: 'bin', op, a: s.target, b: s.e, line: s.line };
        return `${t} = ${ex(rhs)};`;
      }
      case 'constrain':
        return `{ const a_ = ${ex(s.a)}, b_ = ${ex(s.b)}; if (a_ !== b_) H.fail(${file}, ${s.line}, path, 'constraint not satisfied: ' + a_ + ' !== ' + b_); }`;
      case 'if':
        return `if ((${ex(s.c)}) !== 0n) {\n${s.then.map(st).join('\n')}\n}${s.else ? ` else {\n${s.else.map(st).join('\n')}\n}` : ''}`;
      case 'for':
        return `{ ${s.init ? st(s.init) : ''}\nwhile ((${ex(s.c)}) !== 0n) {\n${s.body.map(st).join('\n')}\n${s.step ? st(s.step) : ''}\n} }`;
      case 'while':
        return `while ((${ex(s.c)}) !== 0n) {\n${s.body.map(st).join('\n')}\n}`;
      case 'assert':
        return `if ((${ex(s.e)}) === 0n) H.fail(${file}, ${s.line}, path, 'assert failed');`;
      case 'log': return '';
      case 'block': return `{\n${s.body.map(st).join('\n')}\n}`;
      default: throw new Unsupported();
    }
  };

  const body = def.body.map(st).join('\n');
  // A template without parameters or vars (circomlib's Sigma) declares nothing: `let ;` is a syntax error.
  const decls = [...vars].map((v) => `v_${v}`).join(', ');
  const params = def.params.map((p, i) => `v_${p} = H.copy(A[${i}]);`).join(' ');
  const src = `"use strict";\nreturn function (V, base, path) {\n${decls ? `let ${decls};` : ''}\n${params}\n${body}\n};`;
  const make = new Function('H', 'A', 'C', src) as (h: typeof H, a: Val[], c: Val[]) => WitnessFn;
  return make(H, args, consts);
}
