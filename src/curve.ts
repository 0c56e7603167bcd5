/**
 * snarkjs keeps one BN254 curve (with worker threads) alive in globalThis.curve_bn128; a process that does
 * not release it never exits. Call releaseCurve() when done proving or verifying.
 */
export async function releaseCurve(): Promise<void> {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } | null };
  const c = g.curve_bn128;
  if (c) {
    g.curve_bn128 = null;
    await c.terminate();
  }
}
