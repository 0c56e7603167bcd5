/** Calling a deployed zkonnx verifier contract in tests (test/evm*.test.ts). */
import { expect } from 'vitest';
import { calldata, encodeVerifierCall, functionSelector, type VerifierCallArgs } from '../../src/evm/calldata.ts';
import type { DeployedContract } from '../../src/evm/measure.ts';
import type { ProofBundle } from '../../src/verify/types.ts';

/** A call's return data as 32-byte words. */
export const words = (ret: Uint8Array): bigint[] => {
  const hex = Buffer.from(ret).toString('hex');
  return Array.from({ length: hex.length / 64 }, (_, i) => BigInt(`0x${hex.slice(64 * i, 64 * i + 64)}`));
};

/** The call's arguments for a bundle, as bigints (calldata() returns them as hex). */
export function argsOf(bundle: ProofBundle): VerifierCallArgs {
  const c = calldata(bundle);
  const b = (p: string[]) => [BigInt(p[0]), BigInt(p[1])] as const;
  return { a: b(c.a), b: [b(c.b[0]), b(c.b[1])], c: b(c.c), publicSignals: c.publicSignals.map((s) => BigInt(s)) };
}

/** verifyProof's answer, requiring that the call did not revert. */
export async function verifyProof(d: DeployedContract, args: VerifierCallArgs): Promise<boolean> {
  const r = await d.call(encodeVerifierCall(args));
  expect(r.success, r.error).toBe(true);
  const [w] = words(r.returnValue);
  expect(w === 0n || w === 1n).toBe(true);
  return w === 1n;
}

/** A return word read as a signed int256. */
export const int256 = (w: bigint): bigint => (w >= 1n << 255n ? w - (1n << 256n) : w);

/** Call a function taking the public signals alone (`name(uint256[N])`); the raw call result. */
export async function callWithSignals(d: DeployedContract, name: string, signals: readonly bigint[]) {
  const sel = functionSelector(`${name}(uint256[${signals.length}])`);
  return d.call(sel + signals.map((s) => s.toString(16).padStart(64, '0')).join(''));
}

/** The values of a lone dynamic int256[] return (offset word, length word, then the values). */
export function int256Array(ret: Uint8Array): bigint[] {
  const w = words(ret);
  const at = Number(w[0]) / 32;
  return w.slice(at + 1, at + 1 + Number(w[at])).map(int256);
}
