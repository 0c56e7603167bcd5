/**
 * Input and calibration files.
 * Input: a JSON object mapping graph-input names to (nested or flat, row-major) number arrays, or a bare
 * array for single-input models. Calibration: a JSON array of such inputs.
 */
import { InputError } from '../errors.ts';
import type { TensorSpec } from '../ir/types.ts';
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

/** Turn one input (object or bare array) into the flat float tensor for the model's single input. */
export function flattenInput(value: unknown, spec: TensorSpec, where = 'input'): Float64Array {
  let tensor: unknown;
  if (Array.isArray(value)) {
    tensor = value;
  } else if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const extra = Object.keys(obj).filter((k) => k !== spec.name);
    // Names as the file spells them, but a hostile file's 10 MB key or 100,000 keys do not end up in the message.
    const listed = extra.slice(0, 5).map((k) => `'${k.length > 40 ? `${k.slice(0, 40)}...` : k}'`).join(', ') + (extra.length > 5 ? ` and ${extra.length - 5} more` : '');
    if (!(spec.name in obj)) {
      throw new InputError(`${where}: no value for the model input '${spec.name}'.`, {
        hint: `Give {"${spec.name}": [...]} or a bare array.${extra.length ? ` Found keys: ${listed}.` : ''}`,
      });
    }
    if (extra.length) throw new InputError(`${where}: unknown input name(s) ${listed}; the model's input is '${spec.name}'.`);
    tensor = obj[spec.name];
  } else {
    throw new InputError(`${where}: expected a JSON object or array, got ${value === null ? 'null' : typeof value}.`);
  }
  const flat: number[] = [];
  const need = sizeOf(spec.shape);
  const rank = spec.shape.length;
  // An input nests at most as deep as its rank (a flat array is always fine).
  const maxDepth = Math.max(1, rank);
  const count = flatten(tensor, flat, need, spec.name, where, maxDepth, `'${spec.name}' has shape [${spec.shape}], rank ${rank}: at most ${maxDepth} deep`);
  if (count !== need) {
    throw new InputError(`${where}: input '${spec.name}' has ${count} values, the model expects ${need} (shape [${spec.shape}]).`);
  }
  return Float64Array.from(flat);
}

/** A calibration set: a JSON array of inputs. */
export function flattenCalibration(value: unknown, spec: TensorSpec, where = 'calibration'): Float64Array[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new InputError(`${where}: expected a non-empty JSON array of inputs.`);
  }
  return value.map((v, i) => flattenInput(v, spec, `${where}[${i}]`));
}
