/**
 * Input and calibration files.
 * Input: a JSON object mapping graph-input names to (nested or flat, row-major) number arrays, or a bare
 * array for single-input models. Calibration: a JSON array of such inputs.
 */
import { InputError } from '../errors.ts';
import type { IoSpec, TensorSpec } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';
import { describeValue } from '../verify/describe.ts';

export type InputValue = number | InputValue[];
export type ModelInput = InputValue[] | Record<string, InputValue>;

/**
 * Flatten a nested (row-major) array of numbers into `out`, iteratively: arrays may nest at most `maxDepth`
 * deep (the tensor's rank; a flat array is depth 1), and deeper nesting is refused where it starts, so an
 * input nested 200,000 deep costs a few steps, never the stack. Returns how many numbers it saw; it stores
 * at most `keep` of them (the caller reports a wrong count, and an oversized input allocates nothing extra).
 */
function flatten(v: unknown, out: number[], keep: number, path: string, where: string, maxDepth: number, rankNote: string): number {
  let count = 0;
  const stack: { v: unknown; depth: number; path: () => string }[] = [{ v, depth: 0, path: () => path }];
  while (stack.length) {
    const f = stack.pop()!;
    const x = f.v;
    if (Array.isArray(x)) {
      if (f.depth >= maxDepth) {
        throw new InputError(`${where}: the value at ${f.path()} is an array nested ${f.depth + 1} deep, deeper than the input can be (${rankNote}).`, {
          hint: 'Give the input as a flat array of numbers, or nested as the input\'s shape.',
        });
      }
      for (let i = x.length - 1; i >= 0; i--) {
        const parent = f.path;
        stack.push({ v: x[i], depth: f.depth + 1, path: () => `${parent()}[${i}]` });
      }
    } else if (typeof x === 'number' && Number.isFinite(x)) {
      if (count < keep) out.push(x);
      count++;
    } else {
      throw new InputError(`${where}: value at ${f.path()} is ${describeValue(x)}, expected a finite number.`);
    }
  }
  return count;
}

/** Names as a file spells them, but a hostile file's 10 MB key or 100,000 keys do not end up in a message. */
function listNames(names: string[]): string {
  return names.slice(0, 5).map((k) => `'${k.length > 40 ? `${k.slice(0, 40)}...` : k}'`).join(', ') + (names.length > 5 ? ` and ${names.length - 5} more` : '');
}

/** Flatten one tensor's value (nested or flat) to exactly its size; integer and bool tensors must hold integers. */
function flattenTensor(tensor: unknown, spec: TensorSpec, where: string): number[] {
  const flat: number[] = [];
  const need = sizeOf(spec.shape);
  const rank = spec.shape.length;
  // An input nests at most as deep as its rank (a flat array is always fine).
  const maxDepth = Math.max(1, rank);
  // A bool tensor may be written with JSON booleans.
  const value = spec.dtype === 'bool' ? mapBooleans(tensor) : tensor;
  const count = flatten(value, flat, need, spec.name, where, maxDepth, `'${spec.name}' has shape [${spec.shape}], rank ${rank}: at most ${maxDepth} deep`);
  if (count !== need) {
    throw new InputError(`${where}: input '${spec.name}' has ${count} values, the model expects ${need} (shape [${spec.shape}]).`);
  }
  if (spec.dtype !== undefined) {
    const bad = flat.findIndex((v) => !Number.isInteger(v) || (spec.dtype === 'bool' && v !== 0 && v !== 1));
    if (bad >= 0) {
      throw new InputError(`${where}: input '${spec.name}' element ${bad} is ${flat[bad]}, not ${spec.dtype === 'bool' ? 'a bool (0, 1, true or false)' : 'an integer'} (the input is ${spec.dtype}).`);
    }
  }
  return flat;
}

/** true/false -> 1/0 in a nested array (iteratively; anything else is left for flatten to judge). */
function mapBooleans(v: unknown): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (!Array.isArray(v)) return v;
  const root: unknown[] = [];
  const stack: [unknown[], unknown[]][] = [[v, root]];
  while (stack.length) {
    const [src, dst] = stack.pop()!;
    for (const x of src) {
      if (typeof x === 'boolean') dst.push(x ? 1 : 0);
      else if (Array.isArray(x)) {
        const d: unknown[] = [];
        dst.push(d);
        stack.push([x, d]);
      } else dst.push(x);
    }
  }
  return root;
}

/**
 * Turn one input into the model's flat input: for one graph input, a JSON object {name: tensor} or a bare
 * array; for several (spec.parts), an object keyed by every input's name, each value that tensor (nested or
 * flat), concatenated in declaration order. InputError names a missing, unknown or wrong-length input.
 */
export function flattenInput(value: unknown, spec: IoSpec, where = 'input'): Float64Array {
  const parts = spec.parts;
  if (!parts || parts.length === 1) {
    const one: TensorSpec = parts ? parts[0] : spec;
    let tensor: unknown;
    if (Array.isArray(value)) {
      tensor = value;
    } else if (value !== null && typeof value === 'object') {
      const obj = value as Record<string, unknown>;
      const extra = Object.keys(obj).filter((k) => k !== one.name);
      const listed = listNames(extra);
      if (!(one.name in obj)) {
        throw new InputError(`${where}: no value for the model input '${one.name}'.`, {
          hint: `Give {"${one.name}": [...]} or a bare array.${extra.length ? ` Found keys: ${listed}.` : ''}`,
        });
      }
      if (extra.length) throw new InputError(`${where}: unknown input name(s) ${listed}; the model's input is '${one.name}'.`);
      tensor = obj[one.name];
    } else {
      throw new InputError(`${where}: expected a JSON object or array, got ${value === null ? 'null' : typeof value}.`);
    }
    return Float64Array.from(flattenTensor(tensor, one, where));
  }
  const names = parts.map((p) => p.name);
  const example = `{${names.slice(0, 4).map((n) => `"${n}": [...]`).join(', ')}${names.length > 4 ? ', ...' : ''}}`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InputError(`${where}: the model has ${parts.length} inputs (${listNames(names)}): give a JSON object keyed by input name, not ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}.`, {
      hint: `For example ${example}.`,
    });
  }
  const obj = value as Record<string, unknown>;
  const missing = names.filter((n) => !Object.hasOwn(obj, n));
  const extra = Object.keys(obj).filter((k) => !names.includes(k));
  if (missing.length) {
    throw new InputError(`${where}: no value for the model input${missing.length > 1 ? 's' : ''} ${listNames(missing)}.`, {
      hint: `Give ${example}.${extra.length ? ` Found unknown keys: ${listNames(extra)}.` : ''}`,
    });
  }
  if (extra.length) throw new InputError(`${where}: unknown input name(s) ${listNames(extra)}; the model's inputs are ${listNames(names)}.`);
  const out = new Float64Array(sizeOf(spec.shape));
  for (const p of parts) out.set(flattenTensor(obj[p.name], p, where), p.offset);
  return out;
}

/** A calibration set: a JSON array of inputs (each as flattenInput takes it). */
export function flattenCalibration(value: unknown, spec: IoSpec, where = 'calibration'): Float64Array[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new InputError(`${where}: expected a non-empty JSON array of inputs.`);
  }
  return value.map((v, i) => flattenInput(v, spec, `${where}[${i}]`));
}

/** The dimensions of a nested array, following first elements (a flat array: one dimension). */
function nestedShape(v: unknown): number[] {
  const dims: number[] = [];
  let x = v;
  while (Array.isArray(x) && dims.length < 64) {
    dims.push(x.length);
    x = x[0];
  }
  return dims;
}

/**
 * Sizes of symbolic input dimensions read from one input's nesting (an input or the first calibration sample):
 * for each graph input with a symbolic or unknown dimension other than the batch, its value in the file nested
 * as the tensor's shape (with or without the batch dimension) gives the dimension. Keys as ImportOptions.dims
 * takes them (the dim_param name, or `input[i]`). Dimensions it cannot read are left out.
 */
export function dimsFromInput(inputs: readonly { name: string; dims: (number | string)[] }[], value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (value === null || typeof value !== 'object') return out;
  const single = inputs.length === 1 && Array.isArray(value);
  for (const info of inputs) {
    const tensor = single ? value : Array.isArray(value) ? undefined : (value as Record<string, unknown>)[info.name];
    if (!Array.isArray(tensor)) continue;
    const got = nestedShape(tensor);
    const rank = info.dims.length;
    // Aligned from the last dimension: the file may leave out the batch dimension.
    if (got.length !== rank && got.length !== rank - 1) continue;
    const skip = rank - got.length;
    info.dims.forEach((d, i) => {
      if (typeof d === 'number' || i < skip) return;
      const key = d !== '?' ? d : `${info.name}[${i}]`;
      if (i === 0 && got.length === rank && got[0] === 1) return; // a batch of 1 is the default
      if (got[i - skip] > 0 && !(key in out)) out[key] = got[i - skip];
    });
  }
  return out;
}
