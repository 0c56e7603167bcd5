/**
 * Reading a verification key from a JSON string or an already-parsed object (a fetch() result, a module
 * import, a database row): no file system, so it runs in browsers. Checks the shape, names the first field
 * that is wrong, and returns the key typed. Whether the key can be trusted is a separate question: pin it
 * by hash (`verifyBundle(..., { vkSha256 })`).
 */
import { InputError } from '../errors.ts';
import { parseCanonicalCoordinate } from '../field.ts';
import type { ZkonnxVerificationKey } from './types.ts';

const isCoordinate = (v: unknown) => parseCanonicalCoordinate(v) !== null;
const isG1 = (v: unknown) => Array.isArray(v) && (v.length === 2 || v.length === 3) && v.every(isCoordinate);
const isG2 = (v: unknown) =>
  Array.isArray(v) && (v.length === 2 || v.length === 3) && v.every((p) => Array.isArray(p) && p.length === 2 && p.every(isCoordinate));

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
  const bad = (field: string, what: string): never => {
    throw new InputError(`${source}: field '${field}' ${what}.`, { hint: 'Use the verification_key.json that `zkonnx setup` wrote, unmodified.' });
  };
  if (!v || typeof v !== 'object' || Array.isArray(v)) return bad('(root)', 'must be a JSON object');
  const k = v as Record<string, unknown>;
  if (k.protocol !== 'groth16') bad('protocol', `is ${JSON.stringify(k.protocol)}, expected "groth16"`);
  if (k.curve !== 'bn128') bad('curve', `is ${JSON.stringify(k.curve)}, expected "bn128"`);
  if (typeof k.nPublic !== 'number' || !Number.isInteger(k.nPublic) || k.nPublic < 0) bad('nPublic', 'must be a non-negative integer');
  if (!isG1(k.vk_alpha_1)) bad('vk_alpha_1', 'must be a G1 point (canonical decimal coordinates, < q)');
  for (const f of ['vk_beta_2', 'vk_gamma_2', 'vk_delta_2']) if (!isG2(k[f])) bad(f, 'must be a G2 point (pairs of canonical decimal coordinates, < q)');
  if (!Array.isArray(k.IC) || k.IC.length !== (k.nPublic as number) + 1) bad('IC', 'must hold nPublic + 1 points');
  (k.IC as unknown[]).forEach((p, i) => isG1(p) || bad(`IC[${i}]`, 'must be a G1 point (canonical decimal coordinates, < q)'));
  const z = k.zkonnx as Record<string, unknown> | undefined;
  if (!z || typeof z !== 'object') return bad('zkonnx', 'is missing: this is not a key made by `zkonnx setup`');
  for (const f of ['model', 'input', 'output', 'key']) if (!z[f] || typeof z[f] !== 'object') bad(`zkonnx.${f}`, 'is missing');
  return v as ZkonnxVerificationKey;
}
