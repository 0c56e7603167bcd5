/** parseVerificationKey: keys from strings or objects (browser-safe), every shape problem named by its field. */
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.ts';
import { BASE_FIELD_PRIME } from '../src/field.ts';
import { parseVerificationKey } from '../src/verify/key.ts';

const g1 = ['1', '2', '1'];
const g2 = [['1', '2'], ['3', '4'], ['1', '0']];
const key = () => ({
  protocol: 'groth16', curve: 'bn128', nPublic: 2,
  vk_alpha_1: g1, vk_beta_2: g2, vk_gamma_2: g2, vk_delta_2: g2, IC: [g1, g1, g1],
  zkonnx: { model: { name: 'm', sha256: 'ab' }, input: { name: 'x', shape: [1, 1] }, output: { name: 'y', shape: [1, 1] }, key: { kind: 'dev', ptauPower: null } },
});

function fieldOf(k: unknown): string {
  try {
    parseVerificationKey(k as object);
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return /field '([^']+)'/.exec((e as Error).message)?.[1] ?? (e as Error).message;
  }
  return 'accepted';
}

describe('parseVerificationKey', () => {
  it('accepts a well-shaped key as an object or as JSON text, unchanged', () => {
    const k = key();
    expect(parseVerificationKey(k)).toBe(k);
    expect(parseVerificationKey(JSON.stringify(k))).toEqual(k);
  });

  it('names the field that is wrong', () => {
    const cases: [string, (k: Record<string, unknown>) => void][] = [
      ['protocol', (k) => (k.protocol = 'plonk')],
      ['curve', (k) => (k.curve = 'bls12381')],
      ['nPublic', (k) => (k.nPublic = -1)],
      ['vk_alpha_1', (k) => (k.vk_alpha_1 = ['1', 'x'])],
      ['vk_delta_2', (k) => (k.vk_delta_2 = [['1', '2']])],
      ['IC', (k) => (k.IC = [g1])],
      ['IC[1]', (k) => ((k.IC as unknown[])[1] = ['01', '2'])],
      ['IC[2]', (k) => ((k.IC as unknown[])[2] = [BASE_FIELD_PRIME.toString(), '2'])],
      ['zkonnx', (k) => delete k.zkonnx],
      ['zkonnx.key', (k) => delete (k.zkonnx as Record<string, unknown>).key],
    ];
    for (const [field, mutate] of cases) {
      const k = key() as Record<string, unknown>;
      mutate(k);
      expect(fieldOf(k), field).toBe(field);
    }
    expect(fieldOf([])).toBe('(root)');
  });

  it('refuses text that is not JSON, naming the source', () => {
    expect(() => parseVerificationKey('{nope', "'vk.json'")).toThrow(/'vk.json' is not valid JSON/);
  });
});
