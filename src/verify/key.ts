/**
 * Reading a verification key from a JSON string or an already-parsed object (a fetch() result, a module
 * import, a database row): no file system, so it runs in browsers. Checks the shape, names the first field
 * that is wrong, and returns the key typed. Whether the key can be trusted is a separate question: pin it
 * by hash (`verifyBundle(..., { vkSha256 })`).
 *
 * The snarkjs part (protocol, curve, nPublic, the points, IC; vk_alphabeta_12, which snarkjs adds and zkonnx
 * does not read) is checked field by field; other top-level fields are allowed (a later snarkjs may add some)
 * but count against the size bound. The `zkonnx` section is zkonnx's own format: a field it does not define
 * is refused at any level, as are fields of the wrong type. Every field that keys written so far lack
 * (`publicInputs` before the public-input layouts, `wires` before it was recorded, an output's `labels` before
 * label tables were carried) stays optional.
 */
import { InputError } from '../errors.ts';
import { parseCanonicalCoordinate } from '../field.ts';
import { checkJsonBounds, MAX_JSON_DEPTH, type JsonBounds } from './bounds.ts';
import { describeValue } from './describe.ts';
import { parseVisibility, PUBLIC_INPUT_LAYOUTS } from './layout.ts';
import type { ZkonnxVerificationKey } from './types.ts';

/** More public signals than any circuit zkonnx can compile (circom's largest domain is 2^28 rows). */
export const MAX_PUBLIC_SIGNALS = 1 << 24;

/** The deepest tensor zkonnx handles has rank 4; anything past 16 is not a shape. */
export const MAX_RANK = 16;

/**
 * The size bound for a key with `nPublic` public signals: nPublic + 1 IC points of at most 4 values and 3
 * coordinates of at most 78 digits each, the output's quantization (3 numbers per output, and outputs <=
 * nPublic), plus a fixed allowance for the other points, shapes, hashes and names, and one label table.
 */
export function keyBounds(nPublic: number): JsonBounds {
  // Plus room for one label table (a classifier's class-index output): MAX_LABELS values, MAX_LABEL_TABLE_CHARS of JSON.
  return { maxDepth: MAX_JSON_DEPTH, maxNodes: 4096 + MAX_LABELS + 8 * (nPublic + 1), maxChars: 65536 + MAX_LABEL_TABLE_CHARS + 256 * (nPublic + 1) };
}

/** The first thing wrong with a key: the field (dotted path) and what is wrong with it. */
export interface KeyProblem {
  field: string;
  what: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isCoordinate = (v: unknown) => parseCanonicalCoordinate(v) !== null;
const isG1 = (v: unknown) => Array.isArray(v) && (v.length === 2 || v.length === 3) && v.every(isCoordinate);
const isG2 = (v: unknown) =>
  Array.isArray(v) && (v.length === 2 || v.length === 3) && v.every((p) => Array.isArray(p) && p.length === 2 && p.every(isCoordinate));
const isShortString = (v: unknown, max = 256): v is string => typeof v === 'string' && v.length <= max;

/** Largest label table a key may state (src/ops/trees.ts refuses larger ones at import): labels, and characters of its JSON. */
export const MAX_LABELS = 4096;
export const MAX_LABEL_TABLE_CHARS = 32768;

/**
 * What is wrong with a class-index output's label table, or null: 1..MAX_LABELS labels, all strings of at most
 * 256 characters or all safe integers, at most MAX_LABEL_TABLE_CHARS characters of JSON.
 */
export function labelsProblem(v: unknown): string | null {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_LABELS) return `must be a non-empty array of at most ${MAX_LABELS} labels`;
  if (!v.every((x) => isShortString(x, 256)) && !v.every((x) => Number.isSafeInteger(x))) return 'must hold labels that are all strings (of at most 256 characters) or all integers';
  if (JSON.stringify(v).length > MAX_LABEL_TABLE_CHARS) return `must be at most ${MAX_LABEL_TABLE_CHARS} characters of JSON`;
  return null;
}

/** A shape: at most MAX_RANK non-negative integer dimensions with a product that is a safe integer. */
export function shapeSize(v: unknown): number | null {
  if (!Array.isArray(v) || v.length > MAX_RANK) return null;
  let n = 1;
  for (const d of v) {
    if (!isCount(d)) return null;
    n *= d;
  }
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * The public signals a key can really have, for its size bound (keyBounds) before anything hashes or walks
 * it further: the least of its nPublic (0 unless a count <= MAX_PUBLIC_SIGNALS), its IC points less one (0
 * unless IC is an array), and, when both tensor shapes are shapes, its outputs plus inputs (the most public
 * signals any input layout gives them). A key's claim costs nothing to write; IC points cost their size, so
 * a hostile key is bounded by what it really holds, and an honest key (nPublic == IC.length - 1 == outputs +
 * input signals) gets the bound of its nPublic. Never throws on JSON values (reads a few fields, cheaply).
 */
export function keySignalBudget(k: Record<string, unknown>): number {
  const claimed = isCount(k.nPublic) && k.nPublic <= MAX_PUBLIC_SIGNALS ? k.nPublic : 0;
  const points = Array.isArray(k.IC) ? Math.max(0, k.IC.length - 1) : 0;
  let n = Math.min(claimed, points);
  const z = k.zkonnx;
  if (isObject(z) && isObject(z.input) && isObject(z.output)) {
    const nIn = shapeSize(z.input.shape);
    const nOut = shapeSize(z.output.shape);
    // Outputs and inputs, plus the input and parameter commitments a hashed visibility adds.
    if (nIn !== null && nOut !== null) n = Math.min(n, nIn + nOut + 2);
  }
  return n;
}

/**
 * The parts of a key's input or output (several graph inputs or outputs, an integer input): objects
 * { name, shape, offset, dtype?, softmaxOmitted?, labels?, quant?, tensor? } that tile [0, size) in order. An input part's
 * quant is uint8 or (an integer input) an accumulator of scale 1 with integer bounds lo <= hi the same for every
 * element; an output part has none (the concatenation's applies). Returns the first problem (field relative to
 * the parts array), or null.
 */
function partsProblem(parts: unknown, side: 'input' | 'output', size: number): KeyProblem | null {
  if (!Array.isArray(parts) || parts.length === 0 || parts.length > 4096) return { field: '', what: 'must be a non-empty array of at most 4096 tensors' };
  let offset = 0;
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k];
    const at = (f: string, what: string): KeyProblem => ({ field: `[${k}]${f}`, what });
    if (!isObject(p)) return at('', 'must be an object');
    const extra = unknownField(p, side === 'output' ? ['name', 'shape', 'offset', 'dtype', 'softmaxOmitted', 'labels', 'tensor'] : ['name', 'shape', 'offset', 'dtype', 'quant']);
    if (extra !== undefined) return at(`.${extra}`, 'is not a field of the key format');
    if (!isShortString(p.name, 4096)) return at('.name', 'must be a string');
    if (p.dtype !== undefined && !isShortString(p.dtype, 16)) return at('.dtype', 'must be a short string (an ONNX element type)');
    if (p.tensor !== undefined && !isShortString(p.tensor, 4096)) return at('.tensor', 'must be a string');
    if (p.softmaxOmitted !== undefined && p.softmaxOmitted !== 'Softmax' && p.softmaxOmitted !== 'LogSoftmax') return at('.softmaxOmitted', 'must be "Softmax" or "LogSoftmax"');
    if (p.labels !== undefined) {
      const problem = labelsProblem(p.labels);
      if (problem) return at('.labels', problem);
    }
    const n = shapeSize(p.shape);
    if (n === null) return at('.shape', `must be an array of at most ${MAX_RANK} non-negative integers`);
    if (p.offset !== offset) return at('.offset', `must be ${offset} (the parts tile the ${side} in order)`);
    offset += n;
    if (side === 'input') {
      const q = p.quant;
      if (!isObject(q)) return at('.quant', 'must be an object (the quantization parameters)');
      if (q.kind === 'u8') {
        const qExtra = unknownField(q, ['kind', 'scale', 'zeroPoint']);
        if (qExtra !== undefined) return at(`.quant.${qExtra}`, 'is not a field of the key format');
        if (!(typeof q.scale === 'number' && Number.isFinite(q.scale))) return at('.quant.scale', 'must be a finite number');
        if (!isCount(q.zeroPoint) || q.zeroPoint > 255) return at('.quant.zeroPoint', 'must be an integer in 0..255');
      } else if (q.kind === 'acc') {
        const qExtra = unknownField(q, ['kind', 'scales', 'lo', 'hi']);
        if (qExtra !== undefined) return at(`.quant.${qExtra}`, 'is not a field of the key format');
        const { scales, lo, hi } = q;
        const ok = (a: unknown, f: (v: unknown, i: number) => boolean) => Array.isArray(a) && a.length === n && a.every(f);
        if (!ok(scales, (v) => v === 1)) return at('.quant.scales', `must hold ${n} ones (an integer input has scale 1)`);
        const lo0 = Array.isArray(lo) ? lo[0] : undefined;
        const hi0 = Array.isArray(hi) ? hi[0] : undefined;
        if (!Number.isSafeInteger(lo0) || !Number.isSafeInteger(hi0) || (lo0 as number) > (hi0 as number) || (hi0 as number) - (lo0 as number) >= 2 ** 52) {
          return at('.quant.lo', 'must hold integer bounds lo <= hi (less than 2^52 apart)');
        }
        if (!ok(lo, (v) => v === lo0) || !ok(hi, (v) => v === hi0)) return at('.quant.lo', `must hold ${n} equal integer bounds`);
      } else return at('.quant.kind', 'must be "u8" or "acc"');
    }
  }
  if (offset !== size) return { field: '', what: `must tile the ${side}'s ${size} elements (they hold ${offset})` };
  return null;
}

/** The name of the first own field of `o` (with a defined value) that `allowed` does not list. */
export function unknownField(o: Record<string, unknown>, allowed: readonly string[]): string | undefined {
  for (const k of Object.keys(o)) if (o[k] !== undefined && !allowed.includes(k)) return k;
  return undefined;
}

const ZKONNX_FIELDS = ['version', 'model', 'r1csSha256', 'constraints', 'wires', 'input', 'output', 'key', 'publicInputs', 'visibility'];

/**
 * The zkonnx section's problems, in field order. `complete` (what verifyBundle needs) also requires the
 * fields a verifier reads: `constraints` and both quantizations. The layout's value is left to the caller
 * when `checkLayout` is false (verifyBundle words that one itself).
 */
function zkonnxProblem(z: Record<string, unknown>, complete: boolean, checkLayout: boolean): KeyProblem | null {
  const at = (field: string, what: string): KeyProblem => ({ field: `zkonnx.${field}`, what });
  const extra = unknownField(z, ZKONNX_FIELDS);
  if (extra !== undefined) return at(extra, 'is not a field of the key format');
  if (z.version !== undefined && !isShortString(z.version, 100)) return at('version', 'must be a string of at most 100 characters');
  if (!isObject(z.model)) return at('model', 'is missing');
  const modelExtra = unknownField(z.model, ['name', 'sha256']);
  if (modelExtra !== undefined) return at(`model.${modelExtra}`, 'is not a field of the key format');
  if (typeof z.model.name !== 'string') return at('model.name', 'must be a string');
  if (!isShortString(z.model.sha256, 128)) return at('model.sha256', 'must be a string (the model\'s sha256)');
  if (z.r1csSha256 !== undefined && !isShortString(z.r1csSha256, 128)) return at('r1csSha256', 'must be a string (the r1cs file\'s sha256)');
  if (z.constraints !== undefined || complete) {
    if (!isCount(z.constraints)) return at('constraints', 'must be a non-negative integer');
  }
  if (z.wires !== undefined && !isCount(z.wires)) return at('wires', 'must be a non-negative integer');
  for (const side of ['input', 'output'] as const) {
    const t = z[side];
    if (!isObject(t)) return at(side, 'is missing');
    const tExtra = unknownField(t, side === 'output' ? ['name', 'shape', 'dtype', 'quant', 'parts', 'softmaxOmitted', 'labels'] : ['name', 'shape', 'dtype', 'quant', 'parts']);
    if (tExtra !== undefined) return at(`${side}.${tExtra}`, 'is not a field of the key format');
    if (typeof t.name !== 'string') return at(`${side}.name`, 'must be a string');
    if (t.dtype !== undefined && !isShortString(t.dtype, 16)) return at(`${side}.dtype`, 'must be a short string (an ONNX element type)');
    const size = shapeSize(t.shape);
    if (size === null) return at(`${side}.shape`, `must be an array of at most ${MAX_RANK} non-negative integers`);
    if (t.softmaxOmitted !== undefined && t.softmaxOmitted !== 'Softmax' && t.softmaxOmitted !== 'LogSoftmax') return at(`${side}.softmaxOmitted`, 'must be "Softmax" or "LogSoftmax"');
    if (t.labels !== undefined) {
      const problem = labelsProblem(t.labels);
      if (problem) return at(`${side}.labels`, problem);
      if (t.parts !== undefined) return at(`${side}.labels`, 'must be on the output part it labels, not on the concatenation');
    }
    if (t.parts !== undefined) {
      const problem = partsProblem(t.parts, side, size);
      if (problem) return at(`${side}.parts${problem.field}`, problem.what);
    }
    if (t.quant === undefined && !complete) continue;
    const q = t.quant;
    if (!isObject(q)) return at(`${side}.quant`, 'must be an object (the quantization parameters)');
    const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
    if (q.kind === 'u8') {
      const qExtra = unknownField(q, ['kind', 'scale', 'zeroPoint']);
      if (qExtra !== undefined) return at(`${side}.quant.${qExtra}`, 'is not a field of the key format');
      if (!finite(q.scale)) return at(`${side}.quant.scale`, 'must be a finite number');
      if (!isCount(q.zeroPoint) || q.zeroPoint > 255) return at(`${side}.quant.zeroPoint`, 'must be an integer in 0..255');
    } else if (q.kind === 'acc' && side === 'output') {
      const qExtra = unknownField(q, ['kind', 'scales', 'lo', 'hi']);
      if (qExtra !== undefined) return at(`${side}.quant.${qExtra}`, 'is not a field of the key format');
      for (const f of ['scales', 'lo', 'hi']) {
        const a = q[f];
        if (!Array.isArray(a) || a.length !== size || !a.every(finite)) return at(`${side}.quant.${f}`, `must hold ${size} finite numbers (one per output)`);
      }
    } else {
      return at(`${side}.quant.kind`, side === 'input' ? 'must be "u8"' : 'must be "u8" or "acc"');
    }
  }
  if (!isObject(z.key)) return at('key', 'is missing');
  const keyExtra = unknownField(z.key, ['kind', 'ptauPower']);
  if (keyExtra !== undefined) return at(`key.${keyExtra}`, 'is not a field of the key format');
  if (z.key.kind !== 'dev' && z.key.kind !== 'ceremony') return at('key.kind', 'must be "dev" or "ceremony"');
  if (z.key.ptauPower !== undefined && z.key.ptauPower !== null && !isCount(z.key.ptauPower)) return at('key.ptauPower', 'must be null or a non-negative integer');
  if (z.publicInputs !== undefined) {
    const p = z.publicInputs;
    if (!isObject(p)) return at('publicInputs', 'must be an object ({ layout, signals })');
    const pExtra = unknownField(p, ['layout', 'signals']);
    if (pExtra !== undefined) return at(`publicInputs.${pExtra}`, 'is not a field of the key format');
    if (checkLayout && !(PUBLIC_INPUT_LAYOUTS as readonly unknown[]).includes(p.layout)) return at('publicInputs.layout', `is ${describeValue(p.layout)}, expected "plain" or "packed"`);
    if (!isCount(p.signals)) return at('publicInputs.signals', 'must be a non-negative integer');
  }
  if (z.visibility !== undefined) {
    const v = parseVisibility(z.visibility);
    if ('bad' in v) return at(v.bad ? `visibility.${v.bad}` : 'visibility', v.bad ? 'is not a visibility the key format defines' : 'must be an object ({ input, output, params })');
  }
  return null;
}

/**
 * Check a verification key's shape and size: returns the first problem, or null. Never throws, whatever `v`
 * is (depth and size are bounded by keyBounds(nPublic) before anything walks it). `complete` also requires
 * the fields verifyBundle reads; `checkLayout` (default true) checks the public-input layout's value.
 */
export function checkVerificationKey(v: unknown, opts: { complete?: boolean; checkLayout?: boolean } = {}): KeyProblem | null {
  if (!isObject(v)) return { field: '(root)', what: 'must be a JSON object' };
  const k = v;
  if (k.protocol !== 'groth16') return { field: 'protocol', what: `is ${describeValue(k.protocol)}, expected "groth16"` };
  if (k.curve !== 'bn128') return { field: 'curve', what: `is ${describeValue(k.curve)}, expected "bn128"` };
  if (!isCount(k.nPublic) || k.nPublic > MAX_PUBLIC_SIGNALS) return { field: 'nPublic', what: `must be a non-negative integer (at most ${MAX_PUBLIC_SIGNALS})` };
  const nPublic = k.nPublic;
  // IC's length before the size bound: the bound grows with nPublic, so a key claiming 2^24 public signals
  // must hold the 2^24 + 1 points to be walked that far (a cheap check, whatever the key holds).
  if (!Array.isArray(k.IC) || k.IC.length !== nPublic + 1) return { field: 'IC', what: 'must hold nPublic + 1 points' };
  const over = checkJsonBounds(k, keyBounds(nPublic));
  if (over) {
    return over.kind === 'depth'
      ? { field: over.path, what: `is nested more than ${over.limit} deep` }
      : { field: over.path, what: `makes the key larger than a key with ${nPublic} public signals can be (more than ${over.limit} ${over.kind === 'nodes' ? 'values' : 'characters of text'} in all)` };
  }
  if (!isG1(k.vk_alpha_1)) return { field: 'vk_alpha_1', what: 'must be a G1 point (canonical decimal coordinates, < q)' };
  for (const f of ['vk_beta_2', 'vk_gamma_2', 'vk_delta_2']) {
    if (!isG2(k[f])) return { field: f, what: 'must be a G2 point (pairs of canonical decimal coordinates, < q)' };
  }
  for (let i = 0; i < k.IC.length; i++) {
    if (!isG1(k.IC[i])) return { field: `IC[${i}]`, what: 'must be a G1 point (canonical decimal coordinates, < q)' };
  }
  if (!isObject(k.zkonnx)) return { field: 'zkonnx', what: 'is missing: this is not a key made by `zkonnx setup`' };
  return zkonnxProblem(k.zkonnx, opts.complete ?? false, opts.checkLayout ?? true);
}

/** Parse and shape-check a zkonnx verification key (verification_key.json). Throws InputError naming the field. */
export function parseVerificationKey(input: string | object, source = 'verification key'): ZkonnxVerificationKey {
  let v: unknown = input;
  if (typeof input === 'string') {
    try {
      v = JSON.parse(input);
    } catch (e) {
      throw new InputError(`${source} is not valid JSON.`, { cause: e, hint: 'Use the verification_key.json that `zkonnx setup` wrote.' });
    }
  }
  const problem = checkVerificationKey(v);
  if (problem) {
    throw new InputError(`${source}: field '${problem.field}' ${problem.what}.`, { hint: 'Use the verification_key.json that `zkonnx setup` wrote, unmodified.' });
  }
  return v as ZkonnxVerificationKey;
}
