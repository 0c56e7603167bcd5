/**
 * Structural self-check of a Groth16 .zkey: the header, every section's size against the header, and
 * points that decode to valid curve points (all of them, or a sample), gamma != delta.
 */
import { readFile } from 'node:fs/promises';
import { getCurveFromName } from 'ffjavascript';
import { readBinFile } from '../artifacts/binfile.ts';

export interface ZkeyCheck {
  ok: boolean;
  problems: string[];
  nVars: number;
  nPublic: number;
  domainSize: number;
  pointsChecked: number;
}

export async function checkZkey(path: string, opts: { allPoints?: boolean } = {}): Promise<ZkeyCheck> {
  const buf = await readFile(path);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const problems: string[] = [];
  const res: ZkeyCheck = { ok: false, problems, nVars: 0, nPublic: 0, domainSize: 0, pointsChecked: 0 };
  let sections: Map<number, { at: number; size: number }>;
  try {
    const f = readBinFile(buf, 'zkey');
    sections = f.sections;
    if (f.end !== buf.length) problems.push(`file is ${buf.length} bytes but its sections end at ${f.end}`);
  } catch (e) {
    problems.push((e as Error).message);
    return res;
  }
  const h = sections.get(2);
  if (dv.getUint32(sections.get(1)?.at ?? 0, true) !== 1 || !h) {
    problems.push('not a Groth16 zkey');
    return res;
  }
  const nVars = dv.getUint32(h.at + 72, true);
  const nPublic = dv.getUint32(h.at + 76, true);
  const domainSize = dv.getUint32(h.at + 80, true);
  Object.assign(res, { nVars, nPublic, domainSize });
  const want: [number, number][] = [
    [2, 84 + 64 * 3 + 128 * 3],
    [3, (nPublic + 1) * 64],
    [5, nVars * 64],
    [6, nVars * 64],
    [7, nVars * 128],
    [8, (nVars - nPublic - 1) * 64],
    [9, domainSize * 64],
  ];
  for (const [t, size] of want) {
    const s = sections.get(t);
    if (!s) problems.push(`section ${t} is missing`);
    else if (s.size !== size) problems.push(`section ${t} has ${s.size} bytes, expected ${size}`);
  }
  const coefs = sections.get(4);
  if (!coefs || coefs.size !== 4 + dv.getUint32(coefs.at, true) * 44) problems.push('coefficient section size does not match its count');
  if ((domainSize & (domainSize - 1)) !== 0) problems.push(`domain size ${domainSize} is not a power of two`);
  if (problems.length) return res;

  const curve = await getCurveFromName('bn128');
  const check = (g: 'G1' | 'G2', at: number, what: string, allowZero: boolean) => {
    const G = curve[g];
    const p = G.fromRprLEM(buf, at);
    res.pointsChecked++;
    if (G.isZero(p)) {
      if (!allowZero) problems.push(`${what} is the point at infinity`);
    } else if (!G.isValid(p)) problems.push(`${what} is not on the curve`);
    return p;
  };
  const a = h.at + 84;
  check('G1', a, 'alpha1', false);
  check('G1', a + 64, 'beta1', false);
  check('G2', a + 128, 'beta2', false);
  const gamma = check('G2', a + 256, 'gamma2', false);
  check('G1', a + 384, 'delta1', false);
  const delta = check('G2', a + 448, 'delta2', false);
  if (curve.G2.eq(gamma, delta)) problems.push('gamma2 == delta2 (no phase-2 contribution): proofs can be forged');
  for (const [t, g, count] of [[3, 'G1', nPublic + 1], [5, 'G1', nVars], [6, 'G1', nVars], [7, 'G2', nVars], [8, 'G1', nVars - nPublic - 1], [9, 'G1', domainSize]] as const) {
    const size = g === 'G1' ? 64 : 128;
    const s = sections.get(t)!;
    const idx = opts.allPoints ? Array.from({ length: count }, (_, i) => i) : [...new Set([0, 1, count >> 1, count - 2, count - 1].filter((i) => i >= 0 && i < count))];
    for (const i of idx) {
      check(g, s.at + i * size, `section ${t} point ${i}`, true);
      if (problems.length > 20) return res;
    }
  }
  res.ok = problems.length === 0;
  return res;
}
