/**
 * The interpreter of zkonnx's circom subset, in two modes over the same code:
 *
 * - constraints: signals are symbolic (linear combinations), `<==` and `===` add R1CS rows, `<--` adds none.
 *   A template without subcomponents is run once per distinct argument list and its rows are reused for
 *   every instance, shifted to the instance's signal ids.
 * - witness: every value is a field element; `<--` and `<==` assign, `===` (and `<==`) is checked, and a
 *   component runs once all its inputs are assigned, as circom's witness generator does.
 *
 * Signal ids are given in the same order in both modes: each component instance owns a contiguous block
 * (its own signals in declaration order, its subcomponents' blocks at their declarations), reserved when the
 * component is declared. Id 0 is the constant one.
 */
import { add, inverse, isQuad, knownOnly, Lin, mod, mul, neg, sub, unaryKnown, UNKNOWN, type Quad, type Scalar, type Val } from './algebra.ts';
import { compileWitnessFn, type WitnessFn } from './jit.ts';
import { compileMain, runCompiledMain } from './jit-main.ts';
import type { Access, Definition, Expr, ParsedFile, Stmt } from './parser.ts';

export class CircomEvalError extends Error {
  constructor(readonly file: string, readonly line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'CircomEvalError';
  }
}

/** One R1CS row A * B = C over signal ids; ids other than 0 are shifted by `shift` (template rows reused per instance). */
export interface Row {
  a: Lin;
  b: Lin;
  c: Lin;
  shift: number;
  /** Built from a quadratic expression (circom's --O1 never removes such a row, even when a factor is 0). */
  quadratic: boolean;
}

/** What a template instance looks like: its block's size, its signals' names, and (constraints mode) its rows. */
export interface Layout {
  size: number;
  /** Signal names relative to the instance (`bits[3]`, `sub.x[0]`), by local id (id - 1). */
  names: string[];
  /** Rows with ids of a block placed at 1 (constraint mode only). */
  rows: Row[];
  /** Own signals: name -> declaration. */
  signals: Map<string, SignalDecl>;
  /** Number of own input signal elements (the witness runs the body when that many are assigned). */
  inputCount: number;
}

export interface SignalDecl {
  io: 'input' | 'output' | 'intermediate';
  dims: number[];
  /** Offset of element 0 within the block (local id - 1). */
  offset: number;
  size: number;
}

export interface Instance {
  def: Definition;
  args: Val[];
  key: string;
  layout: Layout;
  base: number;
  path: string;
  inputsLeft: number;
  ran: boolean;
  /** Where it was created (for 'never assigned' errors). */
  file: string;
  line: number;
}

export interface SignalRef {
  ids: number[];
  /** Fewer indices than dimensions: the value is an array. */
  partial: boolean;
  decl: SignalDecl;
  owner?: Instance;
}

export type ComponentSlot = { dims: number[]; items: (Instance | undefined)[] };

/** Frame of one template or function execution. */
export interface Frame {
  def: Definition;
  vars: Map<string, Val>;
  /** Template frames only. */
  signals?: Map<string, SignalDecl>;
  components?: Map<string, ComponentSlot>;
  base: number;
  /** Next free local offset in the block. */
  next: number;
  /** Names of the block's signals by local offset (layout runs only). */
  names?: string[];
  instance?: Instance;
  /** Open blocks, innermost last: for each var declared in it, the value it hides (ABSENT: none). */
  scopes?: Map<string, Val | typeof ABSENT>[];
}

class Return {
  constructor(readonly value: Val) {}
}

export type Mode = 'constraints' | 'witness';

export interface EvalHooks {
  /** Constraint mode: a row, in global ids. */
  row?(r: Row): void;
  /** Progress of main's top-level statements. */
  progress?(done: number, total: number): void;
}

export class Program {
  readonly defs = new Map<string, Definition>();
  readonly layouts = new Map<string, Layout>();
  private readonly mains = new Map<string, ReturnType<typeof compileMain>>();
  /** main translated to JavaScript for one mode (null: interpreted). */
  mainFn(def: Definition, witness: boolean): ReturnType<typeof compileMain> {
    const key = `${def.name}:${witness}`;
    if (!this.mains.has(key)) this.mains.set(key, compileMain(def, witness));
    return this.mains.get(key)!;
  }
  /** Witness functions by instance key (null: the template is interpreted). */
  readonly witnessFns = new Map<string, WitnessFn | null>();
  constructor(files: ParsedFile[]) {
    for (const f of files) {
      for (const d of f.definitions) {
        if (this.defs.has(d.name)) {
          const o = this.defs.get(d.name)!;
          if (o.file !== d.file) throw new CircomEvalError(d.file, d.line, `'${d.name}' is also defined in ${o.file}:${o.line}`);
          continue;
        }
        this.defs.set(d.name, d);
      }
    }
  }
}

const keyOf = (name: string, args: Val[]): string => `${name}(${args.map(valKey).join(';')})`;
function valKey(v: Val): string {
  if (Array.isArray(v)) return `[${v.map(valKey).join(',')}]`;
  if (typeof v === 'bigint') return v.toString(36);
  return '?';
}

function dimsSize(dims: number[]): number {
  return dims.reduce((a, d) => a * d, 1);
}

function zeros(dims: number[], i = 0): Val {
  if (i === dims.length) return 0n;
  return Array.from({ length: dims[i] }, () => zeros(dims, i + 1));
}

function copyVal(v: Val): Val {
  if (Array.isArray(v)) return v.map(copyVal);
  if (v instanceof Lin) v.shared = true;
  return v;
}

function indexSuffix(dims: number[], flat: number): string {
  let s = '';
  let rest = flat;
  const idx: number[] = [];
  for (let d = dims.length - 1; d >= 0; d--) {
    idx.unshift(rest % dims[d]);
    rest = Math.floor(rest / dims[d]);
  }
  for (const i of idx) s += `[${i}]`;
  return s;
}

/**
 * Runs one program. Constraint mode: runMain() emits every row through hooks.row (in global
 * ids) and returns the signal layout. Witness mode: runMain(.., inputs) fills `values`.
 */
export class Evaluator {
  /** Witness mode: value of each signal id (undefined until assigned). */
  values: (bigint | undefined)[] = [];

  constructor(readonly program: Program, readonly mode: Mode, private readonly hooks: EvalHooks = {}) {}

  /** Layout (and rows, placed at base 1) of a template instance, computed once per argument list. */
  layoutOf(def: Definition, args: Val[], key: string): Layout {
    const cached = this.program.layouts.get(key);
    if (cached) return cached;
    const rows: Row[] = [];
    const sub = new Evaluator(this.program, 'constraints', { row: (r) => rows.push(r) });
    const frame = sub.runTemplate(def, args, 1, undefined, true);
    sub.checkInputsAssigned();
    const layout: Layout = {
      size: frame.next, names: frame.names!, rows, signals: frame.signals!,
      inputCount: [...frame.signals!.values()].filter((s) => s.io === 'input').reduce((a, s) => a + s.size, 0),
    };
    this.program.layouts.set(key, layout);
    return layout;
  }

  /** main's template arguments (expressions of constants, as `component main = T(3, 4)` gives them). */
  mainArgs(def: Definition, exprs: Expr[]): Val[] {
    const f: Frame = { def, vars: new Map(), base: 0, next: 0 };
    return exprs.map((e) => this.eval(e, f));
  }

  /**
   * Run main. Witness mode: `inputs` are main's input signals by name. Returns the number of ids used, the
   * signal names (constraints mode) and main's signals. With `jit`, main runs as translated JavaScript
   * (src/circom/jit-main.ts); NeedsInterpreter is thrown when it cannot, and the caller starts over without.
   */
  async runMain(def: Definition, args: Val[], inputs?: Record<string, readonly bigint[]>, jit = true): Promise<{ size: number; names: string[]; signals: Map<string, SignalDecl> }> {
    this.mainInputs = inputs;
    let f: Frame;
    const compiled = jit ? this.program.mainFn(def, this.mode === 'witness') : null;
    if (compiled) {
      if (def.kind !== 'template') throw new CircomEvalError(def.file, def.line, `'${def.name}' is a function, not a template`);
      if (args.length !== def.params.length) throw new CircomEvalError(def.file, def.line, `${def.name} takes ${def.params.length} parameters, got ${args.length}`);
      f = { def, vars: new Map(), signals: new Map(), components: new Map(), base: 1, next: 0, names: this.mode === 'constraints' ? [] : undefined };
      this.depth++;
      try {
        await runCompiledMain(this, f, compiled, args);
      } finally {
        this.depth--;
      }
    } else {
      f = this.runTemplate(def, args, 1, undefined, this.mode === 'constraints');
    }
    this.checkInputsAssigned();
    if (this.mode === 'witness' && inputs) {
      for (const name of Object.keys(inputs)) {
        const s = f.signals!.get(name);
        if (!s || s.io !== 'input') throw new CircomEvalError(def.file, def.line, `main has no input signal '${name}'`);
      }
    }
    return { size: f.next, names: f.names ?? [], signals: f.signals! };
  }

  reportProgress(done: number, total: number): void {
    this.hooks.progress?.(done, total);
  }

  private mainInputs?: Record<string, readonly bigint[]>;
  depth = 0;

  /** Execute a template body with its block at `base`; `record` keeps signal names (layout runs). */
  runTemplate(def: Definition, args: Val[], base: number, instance: Instance | undefined, record: boolean): Frame {
    if (def.kind !== 'template') throw new CircomEvalError(def.file, def.line, `'${def.name}' is a function, not a template`);
    if (args.length !== def.params.length) throw new CircomEvalError(def.file, def.line, `${def.name} takes ${def.params.length} parameters, got ${args.length}`);
    const frame: Frame = { def, vars: new Map(), signals: new Map(), components: new Map(), base, next: 0, names: record ? [] : undefined, instance };
    def.params.forEach((p, i) => frame.vars.set(p, copyVal(args[i])));
    this.depth++;
    try {
      const top = this.depth === 1 && this.hooks.progress;
      if (top) {
        const n = def.body.length;
        def.body.forEach((s, i) => {
          this.exec(s, frame);
          if (i % 64 === 0) this.hooks.progress!(i, n);
        });
        this.hooks.progress!(n, n);
      } else this.execAll(def.body, frame);
    } finally {
      this.depth--;
    }
    return frame;
  }

  private execAll(body: Stmt[], f: Frame): void {
    for (const s of body) this.exec(s, f);
  }

  err(f: Frame, line: number, msg: string): never {
    const where = f.instance ? ` (in ${f.instance.path})` : '';
    throw new CircomEvalError(f.def.file, line, msg + where);
  }

  private known(f: Frame, line: number, v: Val, what: string): bigint {
    if (typeof v !== 'bigint') this.err(f, line, `${what} must be known when the circuit is built, not depend on signals`);
    return v;
  }

  int(f: Frame, line: number, v: Val, what: string): number {
    const b = this.known(f, line, v, what);
    if (b > 1n << 31n) this.err(f, line, `${what} is too large (${b})`);
    return Number(b);
  }

  /** Declare a signal of frame f; returns the id of its first element. Main's inputs take their values (witness). */
  declareSignal(f: Frame, line: number, name: string, io: SignalDecl['io'], dims: number[]): number {
    if (!f.signals) this.err(f, line, 'signals can only be declared in templates');
    if (f.signals.has(name)) this.err(f, line, `signal '${name}' is declared twice`);
    const size = dimsSize(dims);
    const decl: SignalDecl = { io, dims, offset: f.next, size };
    f.signals.set(name, decl);
    if (f.names) for (let i = 0; i < size; i++) f.names.push(name + indexSuffix(dims, i));
    f.next += size;
    if (f.base === 1 && this.depth === 1 && this.mode === 'witness' && io === 'input' && this.mainInputs) {
      const given = Object.hasOwn(this.mainInputs, name) ? this.mainInputs[name] : undefined;
      if (!given) throw new CircomEvalError(f.def.file, line, `no value for main's input signal '${name}'`);
      if (given.length !== size) throw new CircomEvalError(f.def.file, line, `input '${name}' has ${size} elements, got ${given.length}`);
      for (let i = 0; i < size; i++) this.values[f.base + decl.offset + i] = mod(given[i]);
    }
    return f.base + decl.offset;
  }

  /** Declare a component slot of frame f. */
  declareComponent(f: Frame, line: number, name: string, dims: number[]): ComponentSlot {
    if (!f.components) this.err(f, line, 'components can only be declared in templates');
    const slot: ComponentSlot = { dims, items: new Array(dimsSize(dims)).fill(undefined) };
    f.components.set(name, slot);
    return slot;
  }

  /** The position of component slotName[idx] in its slot, bounds-checked. */
  private slotIndex(f: Frame, line: number, slotName: string, slot: ComponentSlot, idx: number[]): number {
    if (idx.length !== slot.dims.length) this.err(f, line, `component '${slotName}' needs ${slot.dims.length} indices`);
    let flat = 0;
    idx.forEach((v, d) => {
      if (v < 0 || v >= slot.dims[d]) this.err(f, line, `index ${v} out of range for component '${slotName}'`);
      flat = flat * slot.dims[d] + v;
    });
    return flat;
  }

  /** Create the component slot[idx] (an `x[i] = T(...)` statement). */
  fillComponent(f: Frame, line: number, slotName: string, slot: ComponentSlot, idx: number[], template: string, args: Val[]): void {
    const flat = this.slotIndex(f, line, slotName, slot, idx);
    if (slot.items[flat]) this.err(f, line, `component '${slotName}' is created twice`);
    slot.items[flat] = this.instantiateTemplate(f, line, template, args, slotName, slot.dims.length ? idx : undefined);
  }

  private exec(s: Stmt, f: Frame): void {
    switch (s.k) {
      case 'var': {
        const dims = s.dims.map((d) => this.int(f, s.line, this.eval(d, f), 'an array size'));
        let v: Val = zeros(dims);
        if (s.init) {
          const init = this.eval(s.init, f);
          v = Array.isArray(init) ? copyVal(init) : init instanceof Lin ? ((init.shared = true), init) : init;
        }
        // Block scope: a var declared in an inner block hides an outer one until the block ends.
        const scope = f.scopes?.[f.scopes.length - 1];
        if (scope && !scope.has(s.name)) scope.set(s.name, f.vars.has(s.name) ? f.vars.get(s.name)! : ABSENT);
        f.vars.set(s.name, v);
        return;
      }
      case 'signal': {
        const dims = s.dims.map((d) => this.int(f, s.line, this.eval(d, f), 'a signal array size'));
        this.declareSignal(f, s.line, s.name, s.io, dims);
        if (s.init) {
          this.assignSignal(f, s.line, { k: 'ref', name: s.name, access: [], line: s.line }, s.init.op, s.init.e);
        }
        return;
      }
      case 'component': {
        const dims = s.dims.map((d) => this.int(f, s.line, this.eval(d, f), 'a component array size'));
        const slot = this.declareComponent(f, s.line, s.name, dims);
        if (s.init) {
          if (dims.length) this.err(f, s.line, 'a component array cannot be initialised in its declaration');
          slot.items[0] = this.instantiate(f, s.line, s.init, s.name);
        }
        return;
      }
      case 'assign': return this.assign(s, f);
      case 'constrain': {
        if (this.mode === 'witness') {
          const a = this.eval(s.a, f);
          const b = this.eval(s.b, f);
          if (typeof a !== 'bigint' || typeof b !== 'bigint') this.err(f, s.line, 'a constraint over arrays');
          if (a !== b) this.err(f, s.line, `constraint not satisfied: ${a} !== ${b}`);
          return;
        }
        const d = sub(this.scalar(f, s.line, this.eval(s.a, f)), this.scalar(f, s.line, this.eval(s.b, f)));
        this.emitZero(f, s.line, d);
        return;
      }
      case 'if': {
        const c = this.eval(s.c, f);
        if (c === UNKNOWN || c instanceof Lin || isQuad(c)) {
          if (this.mode === 'witness') this.err(f, s.line, 'condition is not a value');
          this.unknownBranch(f, s.line, [...s.then, ...(s.else ?? [])]);
          return;
        }
        if (this.known(f, s.line, c, 'a condition') !== 0n) this.block(s.then, f);
        else if (s.else) this.block(s.else, f);
        return;
      }
      case 'for': {
        this.scoped(f, () => {
          if (s.init) this.exec(s.init, f);
          for (;;) {
            const c = this.known(f, s.line, this.eval(s.c, f), 'a loop condition');
            if (c === 0n) break;
            this.block(s.body, f);
            if (s.step) this.exec(s.step, f);
          }
        });
        return;
      }
      case 'while': {
        for (;;) {
          const c = this.known(f, s.line, this.eval(s.c, f), 'a loop condition');
          if (c === 0n) break;
          this.block(s.body, f);
        }
        return;
      }
      case 'return': throw new Return(this.eval(s.e, f));
      case 'assert': {
        const v = this.eval(s.e, f);
        if (typeof v === 'bigint' && v === 0n) this.err(f, s.line, 'assert failed');
        return;
      }
      case 'log': return;
      case 'block': return this.block(s.body, f);
    }
  }

  /** Run `fn` in a new var scope of frame f: vars it declares are gone (outer ones visible again) after. */
  private scoped(f: Frame, fn: () => void): void {
    (f.scopes ??= []).push(new Map());
    try {
      fn();
    } finally {
      for (const [name, old] of f.scopes.pop()!) {
        if (old === ABSENT) f.vars.delete(name);
        else f.vars.set(name, old);
      }
    }
  }

  private block(body: Stmt[], f: Frame): void {
    this.scoped(f, () => this.execAll(body, f));
  }

  /** Constraint mode, a condition that depends on signals: its branches may only compute witness values. */
  private unknownBranch(f: Frame, line: number, body: Stmt[]): void {
    const walk = (ss: Stmt[]) => {
      for (const s of ss) {
        if (s.k === 'constrain' || s.k === 'signal' || s.k === 'component' || (s.k === 'assign' && s.op === '<==')) {
          this.err(f, line, 'constraints, signals and components cannot depend on a signal value');
        }
        if (s.k === 'assign' && f.vars.has(s.target.name)) f.vars.set(s.target.name, UNKNOWN);
        if (s.k === 'var') f.vars.set(s.name, UNKNOWN);
        if (s.k === 'if') walk([...s.then, ...(s.else ?? [])]);
        if (s.k === 'for') walk([...(s.init ? [s.init] : []), ...s.body, ...(s.step ? [s.step] : [])]);
        if (s.k === 'while') walk(s.body);
        if (s.k === 'block') walk(s.body);
      }
    };
    walk(body);
  }

  private scalar(f: Frame, line: number, v: Val): Scalar {
    if (Array.isArray(v)) this.err(f, line, 'an array where a single value is expected');
    return v;
  }

  /** Constraint mode: the row `d == 0`. */
  emitZero(f: Frame, line: number, d: Scalar): void {
    if (d === UNKNOWN) this.err(f, line, 'this constraint is not quadratic, or uses a value computed from signals by a non-arithmetic operator');
    if (typeof d === 'bigint') {
      if (d !== 0n) this.err(f, line, 'this constraint can never hold (it reduces to a non-zero constant)');
      return;
    }
    if (isQuad(d)) {
      // a * b + c = 0  ->  a * b = -c
      const q = d as Quad;
      this.hooks.row?.({ a: q.a, b: q.b, c: q.c.scaled(mod(-1n)), shift: 0, quadratic: true });
      return;
    }
    const lin = d as Lin;
    if (lin.asConstant() !== undefined) {
      if (lin.asConstant() !== 0n) this.err(f, line, 'this constraint can never hold (it reduces to a non-zero constant)');
      return;
    }
    // Linear: 0 * 0 = -d (A and B empty).
    this.hooks.row?.({ a: EMPTY, b: EMPTY, c: lin.shared ? lin.scaled(mod(-1n)) : (neg(lin) as Lin), shift: 0, quadratic: false });
  }

  private instantiate(f: Frame, line: number, init: Expr, slotName: string, index?: number[]): Instance {
    if (init.k !== 'call') this.err(f, line, 'a component must be initialised with a template call');
    return this.instantiateTemplate(f, line, init.name, init.args.map((a) => this.eval(a, f)), slotName, index);
  }

  /** Create a component of template `name` with evaluated `args` in frame f's block. */
  instantiateTemplate(f: Frame, line: number, name: string, args: Val[], slotName: string, index?: number[]): Instance {
    const def = this.program.defs.get(name);
    if (!def || def.kind !== 'template') this.err(f, line, `unknown template '${name}'`);
    for (const a of args) if (!isKnownDeep(a)) this.err(f, line, `the parameters of ${name} must be known when the circuit is built`);
    const key = keyOf(def.name, args);
    const layout = this.layoutOf(def, args, key);
    const base = f.base + f.next;
    f.next += layout.size;
    const path = `${f.instance?.path ?? 'main'}.${slotName}${index ? index.map((i) => `[${i}]`).join('') : ''}`;
    if (f.names) for (const n of layout.names) f.names.push(`${slotName}${index ? index.map((i) => `[${i}]`).join('') : ''}.${n}`);
    const inst: Instance = { def, args, key, layout, base, path, inputsLeft: layout.inputCount, ran: false, file: f.def.file, line };
    this.instances.push(inst);
    if (this.mode === 'constraints') {
      const shift = base - 1;
      for (const r of layout.rows) this.hooks.row?.({ a: r.a, b: r.b, c: r.c, shift: r.shift + shift, quadratic: r.quadratic });
    } else if (inst.inputsLeft === 0) {
      this.runInstance(inst);
    }
    return inst;
  }

  private runInstance(inst: Instance): void {
    inst.ran = true;
    let fn = this.program.witnessFns.get(inst.key);
    if (fn === undefined) {
      fn = compileWitnessFn(inst.def, inst.args, inst.layout);
      this.program.witnessFns.set(inst.key, fn);
    }
    if (fn) fn(this.values, inst.base, inst.path);
    else this.runTemplate(inst.def, inst.args, inst.base, inst, false);
  }

  // ---- references -------------------------------------------------------------------------------------

  /** Resolve a reference to a signal: its global id (fully indexed), or undefined if the name is not a signal. */
  private signalRef(f: Frame, ref: Extract<Expr, { k: 'ref' }>): SignalRef | undefined {
    const own = f.signals?.get(ref.name);
    if (own) return { ...this.elementIds(f, ref.line, own, f.base, ref.access, 0), decl: own };
    const slot = f.components?.get(ref.name);
    if (!slot) return undefined;
    let i = 0;
    const idx: number[] = [];
    while (i < ref.access.length && ref.access[i].k === 'idx') {
      idx.push(this.int(f, ref.line, this.eval((ref.access[i] as { e: Expr }).e, f), 'a component index'));
      i++;
    }
    const dot = ref.access[i];
    if (!dot || dot.k !== 'dot') this.err(f, ref.line, `a component ('${ref.name}') can only be used through its signals`);
    const sidx: number[] = [];
    for (let j = i + 1; j < ref.access.length; j++) {
      const a = ref.access[j];
      if (a.k !== 'idx') this.err(f, ref.line, 'a signal has no members');
      sidx.push(this.int(f, ref.line, this.eval(a.e, f), 'a signal index'));
    }
    return this.componentSignal(f, ref.line, ref.name, slot, idx, dot.name, sidx);
  }

  /** The signal `slotName[idx].name[sidx]` of a subcomponent. */
  componentSignal(f: Frame, line: number, slotName: string, slot: ComponentSlot, idx: number[], name: string, sidx: number[]): SignalRef {
    const flat = this.slotIndex(f, line, slotName, slot, idx);
    const inst = slot.items[flat];
    if (!inst) this.err(f, line, `component '${slotName}' is used before it is created`);
    const decl = inst.layout.signals.get(name);
    if (!decl) this.err(f, line, `${inst.def.name} has no signal '${name}'`);
    if (decl.io === 'intermediate') this.err(f, line, `'${name}' of ${inst.def.name} is not an input or output`);
    return { ...this.idsOf(f, line, decl, inst.base, sidx), decl, owner: inst };
  }

  private elementIds(f: Frame, line: number, decl: SignalDecl, base: number, access: Access[], from: number): { ids: number[]; partial: boolean } {
    const idx: number[] = [];
    for (let i = from; i < access.length; i++) {
      const a = access[i];
      if (a.k !== 'idx') this.err(f, line, 'a signal has no members');
      idx.push(this.int(f, line, this.eval(a.e, f), 'a signal index'));
    }
    return this.idsOf(f, line, decl, base, idx);
  }

  /** Ids of `decl[idx...]` (all elements of the rest when partially indexed). */
  idsOf(f: Frame, line: number, decl: SignalDecl, base: number, idx: number[]): { ids: number[]; partial: boolean } {
    if (idx.length > decl.dims.length) this.err(f, line, 'too many indices for a signal');
    let flat = 0;
    idx.forEach((v, d) => {
      if (v < 0 || v >= decl.dims[d]) this.err(f, line, `signal index ${v} out of range (size ${decl.dims[d]})`);
      flat = flat * decl.dims[d] + v;
    });
    if (idx.length === decl.dims.length) return { ids: [base + decl.offset + flat], partial: false };
    const rest = decl.dims.slice(idx.length);
    const count = dimsSize(rest);
    const start = base + decl.offset + flat * count;
    return { ids: Array.from({ length: count }, (_, k) => start + k), partial: true };
  }

  readSignal(f: Frame, line: number, id: number, ref: SignalRef): Scalar {
    if (this.mode === 'constraints') return Lin.signal(id);
    const owner = ref.owner;
    if (owner && !owner.ran && ref.decl.io === 'output') this.err(f, line, `an output of ${owner.path} is read before all its inputs are assigned`);
    const v = this.values[id];
    if (v === undefined) this.err(f, line, 'a signal is read before it is assigned');
    return v;
  }

  private assign(s: Extract<Stmt, { k: 'assign' }>, f: Frame): void {
    const t = s.target;
    if (s.op === '<--' || s.op === '<==') return this.assignSignal(f, s.line, t, s.op, s.e);
    if (f.components?.has(t.name) && s.op === '=') {
      const idx = t.access.map((a) => (a.k === 'idx' ? this.int(f, s.line, this.eval(a.e, f), 'a component index') : this.err(f, s.line, 'bad component target')));
      if (s.e.k !== 'call') this.err(f, s.line, 'a component must be initialised with a template call');
      this.fillComponent(f, s.line, t.name, f.components.get(t.name)!, idx, s.e.name, s.e.args.map((a) => this.eval(a, f)));
      return;
    }
    if (!f.vars.has(t.name)) {
      if (f.signals?.has(t.name) || f.components?.has(t.name)) this.err(f, s.line, `'${s.op}' cannot assign the signal '${t.name}' (use <== or <--)`);
      this.err(f, s.line, `unknown variable '${t.name}'`);
    }
    // Locate the container and index of the target element.
    let container: Val[] | Map<string, Val> = f.vars;
    let key: number | string = t.name;
    for (const a of t.access) {
      if (a.k !== 'idx') this.err(f, s.line, 'a variable has no members');
      const cur: Val = container instanceof Map ? container.get(key as string)! : container[key as number];
      if (!Array.isArray(cur)) this.err(f, s.line, `'${t.name}' has fewer dimensions than indexed`);
      const i = this.int(f, s.line, this.eval(a.e, f), 'an array index');
      if (i < 0 || i >= cur.length) this.err(f, s.line, `index ${i} out of range for '${t.name}' (size ${cur.length})`);
      container = cur;
      key = i;
    }
    const get = (): Val => (container instanceof Map ? container.get(key as string)! : container[key as number]);
    const set = (v: Val) => (container instanceof Map ? container.set(key as string, v) : (container[key as number] = v));
    const rhs = this.eval(s.e, f);
    if (s.op === '=') {
      set(Array.isArray(rhs) ? copyVal(rhs) : rhs);
      return;
    }
    const cur = get();
    if (Array.isArray(cur) || Array.isArray(rhs)) this.err(f, s.line, `'${s.op}' on an array`);
    set(this.binop(f, s.line, s.op.slice(0, -1), cur, rhs));
  }

  private assignSignal(f: Frame, line: number, t: Extract<Expr, { k: 'ref' }>, op: '<--' | '<==' | string, e: Expr): void {
    const ref = this.signalRef(f, t);
    if (!ref) this.err(f, line, `'${t.name}' is not a signal`);
    if (this.mode === 'constraints' && op === '<--') {
      this.hintIds(f, line, ref);
      return;
    }
    this.assignIds(f, line, ref, this.eval(e, f));
  }

  private checkAssignable(f: Frame, line: number, ref: SignalRef): void {
    if (ref.owner && ref.decl.io !== 'input') this.err(f, line, `only the inputs of a subcomponent can be assigned`);
    if (!ref.owner && ref.decl.io === 'input') this.err(f, line, `an input signal of the template itself cannot be assigned`);
  }

  /** Constraints mode, `ref <-- ...`: no row, but the signals count as assigned (once). */
  hintIds(f: Frame, line: number, ref: SignalRef): void {
    this.checkAssignable(f, line, ref);
    for (const id of ref.ids) this.markAssigned(f, line, id, ref.owner);
  }

  /** Signals assigned so far (constraints mode): circom refuses a second assignment. */
  private readonly assigned = new Set<number>();
  /** Components created by this evaluator: every input must be assigned (checked by checkInputsAssigned). */
  private readonly instances: Instance[] = [];

  private markAssigned(f: Frame, line: number, id: number, owner?: Instance): void {
    if (this.assigned.has(id)) this.err(f, line, 'a signal is assigned twice');
    this.assigned.add(id);
    if (owner) owner.inputsLeft--;
  }

  /** Constraints mode: refuse a component with an input never assigned (its wire would be free). */
  checkInputsAssigned(): void {
    if (this.mode !== 'constraints') return;
    for (const inst of this.instances) {
      if (inst.inputsLeft > 0) {
        throw new CircomEvalError(inst.file, inst.line, `${inst.inputsLeft} input signal(s) of ${inst.path} (${inst.def.name}) are never assigned`);
      }
    }
  }

  /** `ref <== v` (constraints mode: a row per element) or `ref <-- v` / `<==` (witness mode: the values). */
  assignIds(f: Frame, line: number, ref: SignalRef, v: Val): void {
    this.checkAssignable(f, line, ref);
    const vals: Val[] = Array.isArray(v) ? flatten(v) : [v];
    if (ref.partial !== Array.isArray(v)) this.err(f, line, ref.partial ? 'a signal array needs an array value' : 'an array assigned to one signal');
    if (vals.length !== ref.ids.length) this.err(f, line, `assigning ${vals.length} values to ${ref.ids.length} signals`);
    ref.ids.forEach((id, k) => {
      const x = vals[k] as Scalar;
      if (this.mode === 'constraints') {
        this.markAssigned(f, line, id, ref.owner);
        this.emitZero(f, line, sub(Lin.signal(id), x));
        return;
      }
      if (typeof x !== 'bigint') this.err(f, line, 'a signal value must be a field element');
      if (this.values[id] !== undefined) this.err(f, line, 'a signal is assigned twice');
      this.values[id] = x;
      if (ref.owner) {
        ref.owner.inputsLeft--;
        if (ref.owner.inputsLeft === 0) this.runInstance(ref.owner);
      }
    });
  }

  // ---- expressions ------------------------------------------------------------------------------------

  eval(e: Expr, f: Frame): Val {
    switch (e.k) {
      case 'num': return mod(e.v);
      case 'nums': return e.v.map(mod);
      case 'array': return e.items.map((x) => this.eval(x, f));
      case 'ref': return this.evalRef(e, f);
      case 'un': {
        const a = this.eval(e.a, f);
        if (Array.isArray(a)) this.err(f, e.line, 'an operator on an array');
        if (e.op === '-') return neg(a);
        if (typeof a !== 'bigint') return UNKNOWN;
        return unaryKnown(e.op, a);
      }
      case 'bin': {
        // Short-circuit, as circom does.
        if (e.op === '&&' || e.op === '||') {
          const a = this.eval(e.a, f);
          if (typeof a === 'bigint') {
            if (e.op === '&&' && a === 0n) return 0n;
            if (e.op === '||' && a !== 0n) return 1n;
            const b = this.eval(e.b, f);
            if (typeof b !== 'bigint') return UNKNOWN;
            return b !== 0n ? 1n : 0n;
          }
          return UNKNOWN;
        }
        const a = this.eval(e.a, f);
        const b = this.eval(e.b, f);
        if (Array.isArray(a) || Array.isArray(b)) this.err(f, e.line, 'an operator on an array');
        return this.binop(f, e.line, e.op, a, b);
      }
      case 'tern': {
        const c = this.eval(e.c, f);
        if (typeof c !== 'bigint') return UNKNOWN;
        return this.eval(c !== 0n ? e.a : e.b, f);
      }
      case 'call': return this.callFunction(f, e.line, e.name, e.args.map((a) => this.eval(a, f)));
    }
  }

  /** Call a circom function with evaluated arguments. */
  callFunction(f: Frame, line: number, name: string, args: Val[]): Val {
    const def = this.program.defs.get(name);
    if (!def) this.err(f, line, `unknown function '${name}'`);
    if (def.kind !== 'function') this.err(f, line, `template '${name}' can only be used to create a component`);
    if (args.length !== def.params.length) this.err(f, line, `${name} takes ${def.params.length} arguments`);
    const frame: Frame = { def, vars: new Map(), base: 0, next: 0 };
    def.params.forEach((p, i) => frame.vars.set(p, copyVal(args[i])));
    try {
      this.execAll(def.body, frame);
    } catch (r) {
      if (r instanceof Return) return r.value;
      throw r;
    }
    return this.err(f, line, `function '${name}' ended without return`);
  }

  private evalRef(e: Extract<Expr, { k: 'ref' }>, f: Frame): Val {
    // Building constraints, an index computed from signals (ArgMax's `x[best]`) makes the value unknown: usable
    // in witness code only (a constraint using it is refused by emitZero).
    if (this.mode === 'constraints' && e.access.some((a) => a.k === 'idx' && typeof this.eval(a.e, f) !== 'bigint')) return UNKNOWN;
    if (f.vars.has(e.name)) {
      let v: Val = f.vars.get(e.name)!;
      for (const a of e.access) {
        if (a.k !== 'idx') this.err(f, e.line, 'a variable has no members');
        if (!Array.isArray(v)) {
          if (v === UNKNOWN) return UNKNOWN;
          this.err(f, e.line, `'${e.name}' has fewer dimensions than indexed`);
        }
        const i = this.int(f, e.line, this.eval(a.e, f), 'an array index');
        if (i < 0 || i >= v.length) this.err(f, e.line, `index ${i} out of range for '${e.name}' (size ${v.length})`);
        v = v[i];
      }
      if (v instanceof Lin) v.shared = true;
      else if (Array.isArray(v)) markShared(v);
      return v;
    }
    const ref = this.signalRef(f, e);
    if (!ref) this.err(f, e.line, `unknown name '${e.name}'`);
    if (!ref.partial) return this.readSignal(f, e.line, ref.ids[0], ref);
    // A (partial) signal array as a value, flat.
    return ref.ids.map((id) => this.readSignal(f, e.line, id, ref));
  }

  binop(f: Frame, line: number, op: string, a: Scalar, b: Scalar): Scalar {
    switch (op) {
      case '+': return add(a, b);
      case '-': return sub(a, b);
      case '*': return mul(a, b);
      case '/':
        if (typeof b === 'bigint' && typeof a !== 'bigint') {
          if (b === 0n) this.err(f, line, 'division by zero');
          return mul(a, inverse(b));
        }
    }
    if (typeof a !== 'bigint' || typeof b !== 'bigint') return UNKNOWN;
    try {
      return knownOnly(op, a, b);
    } catch (err) {
      return this.err(f, line, (err as Error).message);
    }
  }
}

function markShared(v: Val[]): void {
  for (const x of v) {
    if (x instanceof Lin) x.shared = true;
    else if (Array.isArray(x)) markShared(x);
  }
}

function flatten(v: Val[]): Val[] {
  const out: Val[] = [];
  const walk = (x: Val) => (Array.isArray(x) ? x.forEach(walk) : out.push(x));
  v.forEach(walk);
  return out;
}

function isKnownDeep(v: Val): boolean {
  return Array.isArray(v) ? v.every(isKnownDeep) : typeof v === 'bigint';
}

const ABSENT: unique symbol = Symbol('absent');
const EMPTY = new Lin();
EMPTY.shared = true;
