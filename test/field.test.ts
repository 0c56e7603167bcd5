import { describe, expect, it } from 'vitest';
import { buildBn128 } from 'ffjavascript';
import { FIELD_PRIME, fromField, parseCanonicalSignal, toField } from '../src/field.ts';

describe('field encoding', () => {
  it('uses the BN254 scalar field that circom and snarkjs use', async () => {
    const curve = await buildBn128(true);
    expect(FIELD_PRIME).toBe(curve.r as bigint);
    await curve.terminate();
  });

  it('maps signed integers to field elements and back', () => {
    for (const v of [0n, 1n, -1n, 255n, -36267n, 2n ** 100n, -(2n ** 100n)]) {
      const f = toField(v);
      expect(f >= 0n && f < FIELD_PRIME).toBe(true);
      expect(fromField(f)).toBe(v);
    }
    expect(toField(-1)).toBe(FIELD_PRIME - 1n);
    expect(() => fromField(FIELD_PRIME)).toThrow(RangeError);
  });

  it('accepts only canonical decimal public signals', () => {
    expect(parseCanonicalSignal('0')).toBe(0n);
    expect(parseCanonicalSignal((FIELD_PRIME - 1n).toString())).toBe(FIELD_PRIME - 1n);
    for (const bad of [FIELD_PRIME.toString(), '-1', '01', '0x10', '1e3', '', ' 1', 5]) expect(parseCanonicalSignal(bad)).toBeNull();
  });
});
