/**
 * Lexer and parser for the subset of circom 2 that zkonnx's circuits use: templates and functions with
 * parameters, signal / var / component declarations (arrays of any rank), for / while / if, the assignment
 * operators (=, +=, -=, *=, ++, --, <--, <==, ===), assert and log, includes, and C-like expressions with
 * circom's operators (including \ for integer division and ** for powers). Anything else is a CircomSyntaxError
 * naming the file and line. The parser keeps no comments; positions are kept for error messages.
 */

export class CircomSyntaxError extends Error {
  constructor(readonly file: string, readonly line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'CircomSyntaxError';
  }
}

// ---------------------------------------------------------------------------------------------------------
// Lexer: tokens as parallel arrays (a generated circuit can hold millions of tokens).

const enum T { Num, Ident, Str, Punct, End }

const PUNCT = [
  '<==', '==>', '<--', '-->', '===', '**=', '>>=', '<<=', '\\=',
  '==', '!=', '<=', '>=', '<<', '>>', '&&', '||', '+=', '-=', '*=', '/=', '%=', '++', '--', '**', '&=', '|=', '^=',
  '+', '-', '*', '/', '\\', '%', '<', '>', '=', '!', '~', '&', '|', '^', '?', ':', ';', ',', '.', '(', ')', '[', ']', '{', '}',
];

interface Tokens {
  kind: Uint8Array;
  start: Int32Array;
  end: Int32Array;
  line: Int32Array;
  count: number;
}

function lex(src: string, file: string): Tokens {
  let cap = 1024;
  let kind = new Uint8Array(cap);
  let start = new Int32Array(cap);
  let end = new Int32Array(cap);
  let lineOf = new Int32Array(cap);
  let n = 0;
  const push = (k: T, s: number, e: number, l: number) => {
    if (n === cap) {
      cap *= 2;
      const k2 = new Uint8Array(cap); k2.set(kind); kind = k2;
      const s2 = new Int32Array(cap); s2.set(start); start = s2;
      const e2 = new Int32Array(cap); e2.set(end); end = e2;
      const l2 = new Int32Array(cap); l2.set(lineOf); lineOf = l2;
    }
    kind[n] = k; start[n] = s; end[n] = e; lineOf[n] = l; n++;
  };
  let i = 0;
  let line = 1;
  const len = src.length;
  while (i < len) {
    const c = src.charCodeAt(i);
    if (c === 10) { line++; i++; continue; }
    if (c === 32 || c === 9 || c === 13) { i++; continue; }
    if (c === 47 && src.charCodeAt(i + 1) === 47) { // //
      while (i < len && src.charCodeAt(i) !== 10) i++;
      continue;
    }
    if (c === 47 && src.charCodeAt(i + 1) === 42) { // /* */
      const close = src.indexOf('*/', i + 2);
      if (close < 0) throw new CircomSyntaxError(file, line, 'unterminated comment');
      for (let j = i; j < close; j++) if (src.charCodeAt(j) === 10) line++;
      i = close + 2;
      continue;
    }
    if (c >= 48 && c <= 57) {
      const s = i;
      if (c === 48 && (src.charCodeAt(i + 1) | 32) === 120) { // 0x
        i += 2;
        while (i < len && /[0-9a-fA-F]/.test(src[i])) i++;
      } else {
        while (i < len && src.charCodeAt(i) >= 48 && src.charCodeAt(i) <= 57) i++;
      }
      push(T.Num, s, i, line);
      continue;
    }
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36) {
      const s = i;
      i++;
      while (i < len) {
        const d = src.charCodeAt(i);
        if ((d >= 65 && d <= 90) || (d >= 97 && d <= 122) || (d >= 48 && d <= 57) || d === 95 || d === 36) i++;
        else break;
      }
      push(T.Ident, s, i, line);
      continue;
    }
    if (c === 34) { // "string"
      const close = src.indexOf('"', i + 1);
      if (close < 0) throw new CircomSyntaxError(file, line, 'unterminated string');
      push(T.Str, i + 1, close, line);
      i = close + 1;
      continue;
    }
    let matched = false;
    for (const p of PUNCT) {
      if (src.startsWith(p, i)) {
        push(T.Punct, i, i + p.length, line);
        i += p.length;
        matched = true;
        break;
      }
    }
    if (!matched) throw new CircomSyntaxError(file, line, `unexpected character '${src[i]}'`);
  }
  push(T.End, len, len, line);
  return { kind, start, end, line: lineOf, count: n };
}

// ---------------------------------------------------------------------------------------------------------
// AST

export type Expr =
  | { k: 'num'; v: bigint }
  | { k: 'nums'; v: bigint[] } // an array literal of plain numbers (weights), kept compact
  | { k: 'ref'; name: string; access: Access[]; line: number }
  | { k: 'array'; items: Expr[] }
  | { k: 'bin'; op: string; a: Expr; b: Expr; line: number }
  | { k: 'un'; op: string; a: Expr; line: number }
  | { k: 'tern'; c: Expr; a: Expr; b: Expr; line: number }
  | { k: 'call'; name: string; args: Expr[]; line: number };

/** `[expr]` or `.name` after a name. */
export type Access = { k: 'idx'; e: Expr } | { k: 'dot'; name: string };

export type Stmt =
  | { k: 'var'; name: string; dims: Expr[]; init?: Expr; line: number }
  | { k: 'signal'; io: 'input' | 'output' | 'intermediate'; name: string; dims: Expr[]; line: number; init?: { op: '<==' | '<--'; e: Expr } }
  | { k: 'component'; name: string; dims: Expr[]; init?: Expr; line: number }
  | { k: 'assign'; target: Extract<Expr, { k: 'ref' }>; op: string; e: Expr; line: number }
  | { k: 'constrain'; a: Expr; b: Expr; line: number }
  | { k: 'if'; c: Expr; then: Stmt[]; else?: Stmt[]; line: number }
  | { k: 'for'; init: Stmt | null; c: Expr; step: Stmt | null; body: Stmt[]; line: number }
  | { k: 'while'; c: Expr; body: Stmt[]; line: number }
  | { k: 'return'; e: Expr; line: number }
  | { k: 'assert'; e: Expr; line: number }
  | { k: 'log'; line: number }
  | { k: 'block'; body: Stmt[] };

export interface Definition {
  kind: 'template' | 'function';
  name: string;
  params: string[];
  body: Stmt[];
  file: string;
  line: number;
}

export interface ParsedFile {
  file: string;
  includes: string[];
  definitions: Definition[];
  main?: { template: string; args: Expr[]; publics: string[]; line: number };
}

// ---------------------------------------------------------------------------------------------------------
// Parser

/**
 * circom's binding, loosest first (its grammar, parser/src/lang.lalrpop, not C's): ||, &&, the six
 * comparisons in one tier, |, ^, &, shifts, + -, * / \ %, ** (left-associative like the rest); prefix
 * operators bind tighter still. So `n & 2 == 2` is `(n & 2) == 2` and `2 ** 3 ** 2` is 64.
 */
const BINARY_PRECEDENCE: Record<string, number> = {
  '||': 1, '&&': 2, '==': 3, '!=': 3, '<': 3, '>': 3, '<=': 3, '>=': 3, '|': 4, '^': 5, '&': 6,
  '<<': 7, '>>': 7, '+': 8, '-': 8, '*': 9, '/': 9, '\\': 9, '%': 9, '**': 10,
};

const ASSIGN_OPS = new Set(['=', '+=', '-=', '*=', '/=', '%=', '\\=', '**=', '>>=', '<<=', '&=', '|=', '^=', '<--', '<==']);

export function parseCircom(src: string, file: string): ParsedFile {
  const tk = lex(src, file);
  let p = 0;
  const text = (i = p) => src.slice(tk.start[i], tk.end[i]);
  const lineAt = (i = p) => tk.line[i];
  const fail = (msg: string, i = p): never => {
    throw new CircomSyntaxError(file, lineAt(i), msg);
  };
  const isP = (s: string, i = p) => tk.kind[i] === T.Punct && tk.end[i] - tk.start[i] === s.length && src.startsWith(s, tk.start[i]);
  const isId = (s: string, i = p) => tk.kind[i] === T.Ident && tk.end[i] - tk.start[i] === s.length && src.startsWith(s, tk.start[i]);
  const expectP = (s: string) => {
    if (!isP(s)) fail(`expected '${s}', found '${tk.kind[p] === T.End ? 'end of file' : text()}'`);
    p++;
  };
  const ident = (): string => {
    if (tk.kind[p] !== T.Ident) fail(`expected a name, found '${text()}'`);
    return text(p++);
  };

  const out: ParsedFile = { file, includes: [], definitions: [] };

  /** Comma-separated items up to (not including) `close`, which may follow at once (an empty list). */
  function listUntil<T>(close: string, item: () => T): T[] {
    const items: T[] = [];
    if (isP(close)) return items;
    for (;;) {
      items.push(item());
      if (!isP(',')) return items;
      p++;
    }
  }

  function primary(): Expr {
    const line = lineAt();
    if (tk.kind[p] === T.Num) return { k: 'num', v: BigInt(text(p++)) };
    if (isP('(')) {
      p++;
      const e = expr();
      expectP(')');
      return e;
    }
    if (isP('[')) {
      p++;
      // A literal of plain (possibly negative) numbers is stored compactly.
      const nums: bigint[] = [];
      let q = p;
      let plain = true;
      while (true) {
        let neg = false;
        if (isP('-', q)) { neg = true; q++; }
        if (tk.kind[q] !== T.Num) { plain = false; break; }
        const v = BigInt(text(q));
        nums.push(neg ? -v : v);
        q++;
        if (isP(',', q)) { q++; continue; }
        if (isP(']', q)) break;
        plain = false;
        break;
      }
      if (plain) {
        p = q + 1;
        return { k: 'nums', v: nums };
      }
      const items = listUntil(']', expr);
      expectP(']');
      return { k: 'array', items };
    }
    if (tk.kind[p] === T.Ident) {
      const name = text(p++);
      if (isP('(')) {
        p++;
        const args = listUntil(')', expr);
        expectP(')');
        if (isP('(')) fail('anonymous components (T(args)(inputs)) are not supported by the direct backend');
        return { k: 'call', name, args, line };
      }
      return refTail(name, line);
    }
    return fail(`unexpected '${tk.kind[p] === T.End ? 'end of file' : text()}' in an expression`);
  }

  function refTail(name: string, line: number): Extract<Expr, { k: 'ref' }> {
    const access: Access[] = [];
    for (;;) {
      if (isP('[')) {
        p++;
        access.push({ k: 'idx', e: expr() });
        expectP(']');
      } else if (isP('.')) {
        p++;
        access.push({ k: 'dot', name: ident() });
      } else break;
    }
    return { k: 'ref', name, access, line };
  }

  function unary(): Expr {
    if (isP('-') || isP('!') || isP('~') || isP('+')) {
      const line = lineAt();
      const op = text(p++);
      const a = unary();
      if (op === '+') return a;
      if (op === '-' && a.k === 'num') return { k: 'num', v: -a.v };
      return { k: 'un', op, a, line };
    }
    return primary();
  }

  function binary(minPrec: number): Expr {
    let a = unary();
    for (;;) {
      if (tk.kind[p] !== T.Punct) break;
      const op = text();
      const prec = BINARY_PRECEDENCE[op];
      if (prec === undefined || prec < minPrec) break;
      const line = lineAt();
      p++;
      const b = binary(prec + 1);
      a = { k: 'bin', op, a, b, line };
    }
    return a;
  }

  function expr(): Expr {
    const c = binary(1);
    if (isP('?')) {
      const line = lineAt();
      p++;
      const a = expr();
      expectP(':');
      const b = expr();
      return { k: 'tern', c, a, b, line };
    }
    return c;
  }

  function dims(): Expr[] {
    const ds: Expr[] = [];
    while (isP('[')) {
      p++;
      ds.push(expr());
      expectP(']');
    }
    return ds;
  }

  function block(): Stmt[] {
    if (isP('{')) {
      p++;
      const body: Stmt[] = [];
      while (!isP('}')) {
        if (tk.kind[p] === T.End) fail("expected '}'");
        body.push(...statement());
      }
      p++;
      return body;
    }
    return statement();
  }

  /** `name[dims]...` with an optional `= init` (var and component declarations). */
  function declarator(): { name: string; dims: Expr[]; init?: Expr } {
    const name = ident();
    const ds = dims();
    if (!isP('=')) return { name, dims: ds };
    p++;
    return { name, dims: ds, init: expr() };
  }

  /** A simple statement without its ';' (also used in for headers). */
  function simple(): Stmt {
    const line = lineAt();
    if (isId('var')) {
      p++;
      return { k: 'var', ...declarator(), line };
    }
    const e = expr();
    if (isP('++') || isP('--')) {
      const op = text(p++);
      if (e.k !== 'ref') fail(`'${op}' needs a variable`);
      return { k: 'assign', target: e as Extract<Expr, { k: 'ref' }>, op: op === '++' ? '+=' : '-=', e: { k: 'num', v: 1n }, line };
    }
    if (isP('===')) {
      p++;
      return { k: 'constrain', a: e, b: expr(), line };
    }
    if (isP('==>') || isP('-->')) {
      const op = text(p++) === '==>' ? '<==' : '<--';
      const t = expr();
      if (t.k !== 'ref') fail(`the right side of '${op}' must be a signal`);
      return { k: 'assign', target: t as Extract<Expr, { k: 'ref' }>, op, e, line };
    }
    if (tk.kind[p] === T.Punct && ASSIGN_OPS.has(text())) {
      const op = text(p++);
      if (e.k !== 'ref') fail(`the left side of '${op}' must be a variable or signal`);
      return { k: 'assign', target: e as Extract<Expr, { k: 'ref' }>, op, e: expr(), line };
    }
    return fail(`expected an assignment or constraint, found '${text()}'`);
  }

  function statement(): Stmt[] {
    const line = lineAt();
    if (isP(';')) { p++; return []; }
    if (isP('{')) return [{ k: 'block', body: block() }];
    if (isId('if')) {
      p++;
      expectP('(');
      const c = expr();
      expectP(')');
      const then = block();
      let els: Stmt[] | undefined;
      if (isId('else')) {
        p++;
        els = block();
      }
      return [{ k: 'if', c, then, else: els, line }];
    }
    if (isId('for')) {
      p++;
      expectP('(');
      const init = isP(';') ? null : simple();
      expectP(';');
      const c = expr();
      expectP(';');
      const step = isP(')') ? null : simple();
      expectP(')');
      return [{ k: 'for', init, c, step, body: block(), line }];
    }
    if (isId('while')) {
      p++;
      expectP('(');
      const c = expr();
      expectP(')');
      return [{ k: 'while', c, body: block(), line }];
    }
    if (isId('return')) {
      p++;
      const e = expr();
      expectP(';');
      return [{ k: 'return', e, line }];
    }
    if (isId('assert')) {
      p++;
      expectP('(');
      const e = expr();
      expectP(')');
      expectP(';');
      return [{ k: 'assert', e, line }];
    }
    if (isId('log')) {
      p++;
      expectP('(');
      let depth = 1;
      while (depth > 0) {
        if (tk.kind[p] === T.End) fail('unterminated log(...)');
        if (isP('(')) depth++;
        else if (isP(')')) depth--;
        p++;
      }
      expectP(';');
      return [{ k: 'log', line }];
    }
    if (isId('signal')) {
      p++;
      let io: 'input' | 'output' | 'intermediate' = 'intermediate';
      if (isId('input')) { io = 'input'; p++; } else if (isId('output')) { io = 'output'; p++; }
      if (isP('{')) fail('signal tags are not supported by the direct backend');
      const stmts: Stmt[] = [];
      for (;;) {
        const l = lineAt();
        const name = ident();
        const ds = dims();
        const s: Extract<Stmt, { k: 'signal' }> = { k: 'signal', io, name, dims: ds, line: l };
        if (isP('<==') || isP('<--')) {
          const op = text(p++) as '<==' | '<--';
          s.init = { op, e: expr() };
        }
        stmts.push(s);
        if (isP(',')) { p++; continue; }
        break;
      }
      expectP(';');
      return stmts;
    }
    if (isId('component')) {
      p++;
      const stmts: Stmt[] = [];
      for (;;) {
        const l = lineAt();
        stmts.push({ k: 'component', ...declarator(), line: l });
        if (isP(',')) { p++; continue; }
        break;
      }
      expectP(';');
      return stmts;
    }
    const s = simple();
    expectP(';');
    void line;
    return [s];
  }

  while (tk.kind[p] !== T.End) {
    const line = lineAt();
    if (isId('pragma')) {
      while (!isP(';')) {
        if (tk.kind[p] === T.End) fail("expected ';' after pragma");
        p++;
      }
      p++;
    } else if (isId('include')) {
      p++;
      if (tk.kind[p] !== T.Str) fail('expected a file name after include');
      out.includes.push(text(p++));
      expectP(';');
    } else if (isId('template') || isId('function')) {
      const kind = text(p++) as 'template' | 'function';
      while (isId('parallel') || isId('custom') || isId('extern_c')) {
        if (!isId('parallel')) fail(`'${text()}' templates are not supported by the direct backend`);
        p++;
      }
      const name = ident();
      expectP('(');
      const params = listUntil(')', ident);
      expectP(')');
      const body = block();
      out.definitions.push({ kind, name, params, body, file, line });
    } else if (isId('component')) {
      p++;
      if (!isId('main')) fail("expected 'component main'");
      p++;
      let publics: string[] = [];
      if (isP('{')) {
        p++;
        if (!isId('public')) fail("expected 'public'");
        p++;
        expectP('[');
        publics = listUntil(']', ident);
        expectP(']');
        expectP('}');
      }
      expectP('=');
      const template = ident();
      expectP('(');
      const args = listUntil(')', expr);
      expectP(')');
      expectP(';');
      if (out.main) fail('a second component main');
      out.main = { template, args, publics, line };
    } else if (isId('bus')) {
      fail('buses are not supported by the direct backend');
    } else {
      fail(`unexpected '${text()}' at the top level`);
    }
  }
  return out;
}

/**
 * Whether a var is declared again inside a block where an outer declaration (or a parameter) of the same name
 * is visible: circom's block scoping then hides the outer one. The JavaScript translations (jit.ts,
 * jit-main.ts) give each name one variable, so they leave such a definition to the interpreter.
 */
export function shadowsVar(def: Definition): boolean {
  const walk = (ss: Stmt[], outer: ReadonlySet<string>): boolean => {
    const visible = new Set(outer);
    for (const s of ss) {
      if (s.k === 'var') {
        if (outer.has(s.name)) return true;
        visible.add(s.name);
      } else if (s.k === 'if') {
        if (walk(s.then, visible) || (s.else && walk(s.else, visible))) return true;
      } else if (s.k === 'for') {
        const init = s.init ? [s.init] : [];
        if (walk([...init, { k: 'block', body: s.body }], visible)) return true;
      } else if (s.k === 'while' || s.k === 'block') {
        if (walk(s.body, visible)) return true;
      }
    }
    return false;
  };
  return walk(def.body, new Set(def.params));
}
