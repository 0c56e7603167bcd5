/**
 * Input and calibration files.
 * Input: a JSON object mapping graph-input names to (nested or flat, row-major) number arrays, or a bare
 * array for single-input models. Calibration: a JSON array of such inputs.
 */
import { InputError } from '../errors.ts';
import type { TensorSpec } from '../ir/types.ts';
import { sizeOf } from '../ir/types.ts';

export type InputValue = number | InputValue[];
export type ModelInput = InputValue[] | Record<string, InputValue>;

function flatten(v: unknown, out: number[], path: string, where: string): void {
  if (Array.isArray(v)) {
    v.forEach((x, i) => flatten(x, out, `${path}[${i}]`, where));
  } else if (typeof v === 'number' && Number.isFinite(v)) {
    out.push(v);
  } else {
    throw new InputError(`${where}: value at ${path} is ${JSON.stringify(v)}, expected a finite number.`);
  }
}

/** Turn one input (object or bare array) into the flat float tensor for the model's single input. */
export function flattenInput(value: unknown, spec: TensorSpec, where = 'input'): Float64Array {
  let tensor: unknown;
  if (Array.isArray(value)) {
    tensor = value;
  } else if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const extra = Object.keys(obj).filter((k) => k !== spec.name);
    if (!(spec.name in obj)) {
      throw new InputError(`${where}: no value for the model input '${spec.name}'.`, {
        hint: `Give {"${spec.name}": [...]} or a bare array.${extra.length ? ` Found keys: ${extra.join(', ')}.` : ''}`,
      });
    }
    if (extra.length) throw new InputError(`${where}: unknown input name(s) ${extra.map((k) => `'${k}'`).join(', ')}; the model's input is '${spec.name}'.`);
    tensor = obj[spec.name];
  } else {
    throw new InputError(`${where}: expected a JSON object or array, got ${value === null ? 'null' : typeof value}.`);
  }
  const flat: number[] = [];
  flatten(tensor, flat, spec.name, where);
  const need = sizeOf(spec.shape);
  if (flat.length !== need) {
    throw new InputError(`${where}: input '${spec.name}' has ${flat.length} values, the model expects ${need} (shape [${spec.shape}]).`);
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
