/**
 * The direct backend's file writers (src/circom/formats.ts) and the test-side equivalence checker
 * (test/helpers/r1cs-equivalence.ts):
 *
 * 1. a hand-made system written with writeR1csFile reads back (our reader and r1csfile's) field for field;
 *    encodeWtns of a satisfying witness passes snarkjs' wtns.check, a mutated one does not;
 * 2. against circom2: encodeWtns of circom's witness values is byte-identical to circom_runtime's .wtns, and
 *    circom's .r1cs rewritten through writeR1csFile (terms in file order, or ascending) is byte-identical;
 * 3. compareConstraintSystems: equal to itself under scaling, reordering, A/B swaps and renumbered wires;
 *    a changed coefficient, an unmappable wire and a moved public wire are reported;
 * 4. streaming: 2^18 lazily generated constraints (a 32 MiB file) are written with under 16 MiB of RSS growth.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readR1cs } from 'r1csfile';
import * as snarkjs from 'snarkjs';
import { F1Field } from 'ffjavascript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBigLE, readBinFile } from '../src/artifacts/binfile.ts';
import { circomTermKey, encodeWtns, writeR1csFile, writeSymFile, type R1csHeader, type SparseLc } from '../src/circom/formats.ts';
import { compileCircuit } from '../src/compile/compile.ts';
import { readR1csFile, readSymbols, violatedConstraints, type LinearCombination, type R1cs } from '../src/compile/r1cs.ts';
import { FIELD_PRIME } from '../src/field.ts';
import { computeWitness, parseWtns } from '../src/prove/witness.ts';
import { compareConstraintSystems, witnessForB, type EquivalenceSide } from './helpers/r1cs-equivalence.ts';

const P = FIELD_PRIME;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zkonnx-circom-formats-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const lc = (entries: [number, bigint][]): SparseLc => ({ wires: entries.map((e) => e[0]), coefs: entries.map((e) => e[1]) });
const toSparse = (m: LinearCombination, ascending = false): SparseLc => {
  const e = [...m];
  if (ascending) e.sort((x, y) => x[0] - y[0]);
  return lc(e);
};
const quietLogger = { info() {}, warn() {}, error() {}, debug() {} };

/** The map (section 3) and nLabels of an r1cs file, which readR1csFile does not return. */
async function mapAndLabels(path: string): Promise<{ map: number[]; nLabels: number }> {
  const bytes = await readFile(path);
  const { view, sections } = readBinFile(bytes, 'r1cs');
  const h = sections.get(1)!;
  const m = sections.get(3)!;
  const n8 = view.getUint32(h.at, true);
  const nLabels = Number(view.getBigUint64(h.at + 4 + n8 + 16, true));
  return { map: Array.from({ length: m.size / 8 }, (_, i) => Number(view.getBigUint64(m.at + 8 * i, true))), nLabels };
}

// Run in a child process so the RSS measured is the writer's, not vitest's or the other tests' garbage.
const STREAM_CHILD = (formatsUrl: string, path: string) => `
import { writeR1csFile } from ${JSON.stringify(formatsUrl)};
const P = ${P}n;
let peak = 0;
function* bits(n) {
  for (let i = 1; i <= n; i++) {
    if ((i & 4095) === 0) peak = Math.max(peak, process.memoryUsage().rss);
    yield [{ wires: [i], coefs: [1n] }, { wires: [0, i], coefs: [P - 1n, 1n] }, { wires: [], coefs: [] }];
  }
}
const labels = new Uint32Array((1 << 20) + 1).map((_, i) => i);
const write = (n) => writeR1csFile(${JSON.stringify(path)}, { prime: P, nWires: n + 1, nPubOut: 0, nPubIn: 0, nPrvIn: 0, nLabels: n + 1, nConstraints: n }, bits(n), labels.subarray(0, n + 1));
await write(1 << 12); // warm up: compiled code, the libuv write path
const before = process.memoryUsage().rss;
await write(1 << 20);
peak = Math.max(peak, process.memoryUsage().rss);
console.log(JSON.stringify({ growth: peak - before }));
`;

describe('writeR1csFile streams', () => {
  it('2^20 lazily generated bit constraints b*(b-1) = 0: expected size, RSS growth under 32 MiB for a 128 MiB file', async () => {
    const n = 1 << 20;
    const nWires = n + 1;
    const path = join(dir, 'bits.r1cs');
    const script = join(dir, 'stream-child.mts');
    await writeFile(script, STREAM_CHILD(pathToFileURL(resolve('src/circom/formats.ts')).href, path));
    const child = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 60_000 });
    expect(child.status, child.stderr).toBe(0);
    const { growth } = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { growth: number };

    // Per constraint: A (4 + 36), B (4 + 2*36), C (4) bytes.
    const expected = 12 + (12 + n * 120) + (12 + 4 + 32 + 16 + 8 + 4) + (12 + 8 * nWires);
    expect((await stat(path)).size).toBe(expected);
    // The writer holds one 4 MiB buffer; the rest is the generator's short-lived garbage (measured 6-17 MiB in
    // all, more when the machine is busy and GC runs late). Building the file in memory would need its 128 MiB.
    expect(growth, `RSS grew ${(growth / 2 ** 20).toFixed(1)} MiB for a ${(expected / 2 ** 20).toFixed(1)} MiB file`).toBeLessThan(32 * 2 ** 20);

    // Spot-check the last constraint and the header through our reader's section table.
    const bytes = await readFile(path);
    const { view, sections } = readBinFile(bytes, 'r1cs');
    expect(sections.get(2)!.size).toBe(n * 120);
    expect(view.getUint32(sections.get(1)!.at + 4 + 32 + 24, true)).toBe(n);
    const last = sections.get(2)!.at + (n - 1) * 120;
    expect([view.getUint32(last, true), view.getUint32(last + 4, true), view.getUint32(last + 40, true), view.getUint32(last + 44, true), view.getUint32(last + 80, true)]).toEqual([1, n, 2, 0, n]);
    expect(readBigLE(view, last + 48, 32)).toBe(P - 1n);
  }, 60_000);
});

describe('writeR1csFile / encodeWtns round trip on a hand-made system', () => {
  // Wires: 0 one, 1 out (public output), 2 x (public input), 3 y (private input), 4 z, 5..299 padding (so a
  // wire index needs two bytes), 16/49/277 used by one constraint to exercise circom's term order.
  const nWires = 300;
  const big = 0x1234567890abcdef1234567890abcdef1234567890abcdefn % P;
  const constraints: [SparseLc, SparseLc, SparseLc][] = [
    [lc([[2, 1n]]), lc([[3, 1n]]), lc([[4, 1n]])], // x * y = z
    [lc([]), lc([]), lc([[0, 3n], [1, P - 1n], [4, 1n]])], // z + 3 - out = 0
    [lc([[0, big], [2, 1n << 60n]]), lc([[0, 1n]]), lc([[0, big], [2, 1n << 60n]])], // a large coefficient, and 2^60
    [lc([[3, P - (1n << 40n)]]), lc([[0, 1n]]), lc([[3, P - (1n << 40n)]])], // p - 2^40
    // (7 + w16 + 2*w49 - 5*w277) * 1 = its value
    [lc([[0, 7n], [16, 1n], [49, 2n], [277, P - 5n]]), lc([[0, 1n]]), lc([[0, (((7n + 113n + 2n * 344n - 5n * 1940n) % P) + P) % P]])],
  ];
  const header: R1csHeader = { prime: P, nWires, nPubOut: 1, nPubIn: 1, nPrvIn: 1, nLabels: nWires + 2, nConstraints: constraints.length };
  const wireToLabel = Array.from({ length: nWires }, (_, w) => (w < 4 ? w : w + 2));
  const witness = Array.from({ length: nWires }, (_, w) => BigInt(w * 7 + 1)); // w16 = 113, w49 = 344, w277 = 1940
  witness[2] = 6n; // x
  witness[3] = 7n; // y
  witness[4] = 42n; // z
  witness[1] = 45n; // out

  it('reads back field for field with readR1csFile and r1csfile', async () => {
    const path = join(dir, 'hand.r1cs');
    await writeR1csFile(path, header, constraints, wireToLabel);
    const ours = await readR1csFile(path);
    expect(ours.prime).toBe(P);
    expect([ours.nWires, ours.nOutputs, ours.nPubInputs, ours.nPrvInputs]).toEqual([nWires, 1, 1, 1]);
    const asEntries = (s: SparseLc) => Array.from(s.wires, (w, i) => [w, s.coefs[i]] as const).sort((x, y) => x[0] - y[0]);
    expect(ours.constraints.map((c) => c.map((m) => [...m].sort((x, y) => x[0] - y[0])))).toEqual(constraints.map((c) => c.map(asEntries)));
    // circom's order within an LC: wire 277 = bytes [0x15, 0x01] sorts between 16 = [0x10] and 49 = [0x31].
    expect([...ours.constraints[4][0].keys()]).toEqual([0, 16, 277, 49]);
    expect([0, 1, 16, 49, 255, 256, 257, 277, 65536].sort((a, b) => circomTermKey(a) - circomTermKey(b))).toEqual([0, 65536, 256, 1, 257, 16, 277, 49, 255]);

    const theirs = await readR1cs(path, { loadConstraints: true, loadMap: true, F: new F1Field(P) });
    expect(theirs.n8).toBe(32);
    expect(theirs.prime).toBe(P);
    expect([theirs.nVars, theirs.nOutputs, theirs.nPubInputs, theirs.nPrvInputs, theirs.nLabels, theirs.nConstraints]).toEqual([nWires, 1, 1, 1, nWires + 2, constraints.length]);
    expect(theirs.map).toEqual(wireToLabel);
    const objLc = (s: SparseLc) => Object.fromEntries(Array.from(s.wires, (w, i) => [String(w), s.coefs[i]]));
    expect(theirs.constraints).toEqual(constraints.map((c) => c.map(objLc)));
    expect(violatedConstraints(ours, witness)).toEqual([]);
  });

  it('encodeWtns: parseWtns reads it back, snarkjs accepts it, a mutated witness is refused', async () => {
    const r1csPath = join(dir, 'hand.r1cs');
    await writeR1csFile(r1csPath, header, constraints, wireToLabel);
    const ours = await readR1csFile(r1csPath);
    const bin = encodeWtns(P, witness);
    expect(bin.length).toBe(12 + 12 + 4 + 32 + 4 + 12 + 32 * nWires);
    expect(parseWtns(bin)).toEqual(witness);
    await writeFile(join(dir, 'good.wtns'), bin);
    expect(await snarkjs.wtns.check(r1csPath, join(dir, 'good.wtns'), quietLogger)).toBe(true);

    const bad = [...witness];
    bad[4] = 43n; // z
    expect(violatedConstraints(ours, bad)).toEqual([0, 1]);
    await writeFile(join(dir, 'bad.wtns'), encodeWtns(P, bad));
    expect(await snarkjs.wtns.check(r1csPath, join(dir, 'bad.wtns'), quietLogger)).toBe(false);
    const bad2 = [...witness];
    bad2[277] = (bad2[277] + 1n) % P;
    expect(violatedConstraints(ours, bad2)).toEqual([4]);
  });

  it('refuses bad input and leaves no partial file', async () => {
    const path = join(dir, 'refused.r1cs');
    const exists = () => stat(path).then(() => true, () => false);
    await expect(writeR1csFile(path, { ...header, nConstraints: 4 }, constraints, wireToLabel)).rejects.toThrow(/more than header.nConstraints = 4/);
    expect(await exists()).toBe(false);
    await expect(writeR1csFile(path, { ...header, nConstraints: 6 }, constraints, wireToLabel)).rejects.toThrow(/yielded 5, header.nConstraints is 6/);
    await expect(writeR1csFile(path, header, [...constraints.slice(0, 4), [lc([[300, 1n]]), lc([]), lc([])]], wireToLabel)).rejects.toThrow(/wire 300/);
    await expect(writeR1csFile(path, header, [...constraints.slice(0, 4), [lc([[3, P]]), lc([]), lc([])]], wireToLabel)).rejects.toThrow(/not in \[0, p\)/);
    await expect(writeR1csFile(path, header, [...constraints.slice(0, 4), [lc([[3, 1n], [2, 1n], [3, 2n]]), lc([]), lc([])]], wireToLabel)).rejects.toThrow(/wire 3 twice/);
    await expect(writeR1csFile(path, header, constraints, wireToLabel.slice(1))).rejects.toThrow(/299 entries for 300 wires/);
    expect(await exists()).toBe(false);
    expect(() => encodeWtns(P, [1n, P])).toThrow(/value 1 is not in \[0, p\)/);
  });

  it('writeSymFile writes circom\'s .sym lines', async () => {
    const path = join(dir, 'hand.sym');
    await writeSymFile(path, [
      { label: 1, wire: 1, component: 0, name: 'main.out' },
      { label: 2, wire: -1, component: 0, name: 'main.w' },
      { label: 3, wire: 2, component: 1, name: 'main.sub[0].a' },
    ]);
    expect(await readFile(path, 'utf8')).toBe('1,1,0,main.out\n2,-1,0,main.w\n3,2,1,main.sub[0].a\n');
    expect(await readSymbols(path)).toEqual(new Map([['main.out', 1], ['main.w', -1], ['main.sub[0].a', 2]]));
  });
});

// A tiny circuit with a linear constraint, a quadratic one over a 300-term LC (wire indices past 255, so
// circom's byte-order sorting of terms shows), bit checks, and a signal --O1 removes (w = z).
const TINY = `pragma circom 2.0.0;
template Tiny(N) {
  signal input x;
  signal input y;
  signal input v[N];
  signal output out;
  signal output s;
  signal z;
  signal w;
  signal bits[8];
  z <== x * y;
  w <== z;
  var acc = 0;
  for (var i = 0; i < 8; i++) {
    bits[i] <-- (w >> i) & 1;
    bits[i] * (bits[i] - 1) === 0;
    acc += bits[i] * 2 ** i;
  }
  acc === w;
  var sum = 0;
  for (var i = 0; i < N; i++) sum += (i + 1) * v[i];
  s <== sum * x;
  out <== z + 3;
}
component main {public [x]} = Tiny(300);
`;

describe('against circom2 on a tiny circuit', () => {
  let out: string;
  let r1cs: R1cs;
  let names: Map<string, number>;
  let values: bigint[];
  let wtnsBin: Uint8Array;

  beforeAll(async () => {
    out = join(dir, 'tiny');
    await writeFile(join(dir, 'tiny.circom'), TINY);
    await compileCircuit(join(dir, 'tiny.circom'), out, 'wasm');
    r1cs = await readR1csFile(join(out, 'circuit.r1cs'));
    names = await readSymbols(join(out, 'circuit.sym'));
    const w = await computeWitness(join(out, 'circuit_js', 'circuit.wasm'), { x: 3, y: 5, v: Array.from({ length: 300 }, (_, i) => i) });
    values = w.values;
    wtnsBin = w.bin;
  });

  it('encodeWtns is byte-identical to circom_runtime\'s .wtns', () => {
    expect(names.get('main.w')).toBe(-1);
    expect(violatedConstraints(r1cs, values)).toEqual([]);
    expect(Buffer.from(encodeWtns(P, values)).equals(Buffer.from(wtnsBin))).toBe(true);
  });

  it('writeR1csFile rewrites circom\'s .r1cs byte for byte (terms in file order, or ascending)', async () => {
    const original = await readFile(join(out, 'circuit.r1cs'));
    const { map, nLabels } = await mapAndLabels(join(out, 'circuit.r1cs'));
    // circom's section order: 2 (constraints), 1 (header), 3 (map).
    const { view } = readBinFile(original, 'r1cs');
    expect([view.getUint32(12, true), view.getUint32(12 + 12 + Number(view.getBigUint64(16, true)), true)]).toEqual([2, 1]);
    // The long LC is not in ascending wire order in circom's file.
    expect(r1cs.constraints.some((c) => c.some((m) => [...m.keys()].some((w, i, a) => i > 0 && w < a[i - 1])))).toBe(true);
    const header: R1csHeader = { prime: r1cs.prime, nWires: r1cs.nWires, nPubOut: r1cs.nOutputs, nPubIn: r1cs.nPubInputs, nPrvIn: r1cs.nPrvInputs, nLabels, nConstraints: r1cs.constraints.length };
    for (const ascending of [false, true]) {
      const path = join(dir, `rewritten-${ascending}.r1cs`);
      await writeR1csFile(path, header, r1cs.constraints.map((c) => c.map((m) => toSparse(m, ascending)) as [SparseLc, SparseLc, SparseLc]), map);
      expect(Buffer.compare(await readFile(path), original), `ascending=${ascending}`).toBe(0);
    }
  });

  it('compareConstraintSystems: circom with itself, scaled, reordered and with A/B swapped is equal', () => {
    const self = { r1cs, nameToWire: names };
    expect(compareConstraintSystems(self, self)).toEqual({ equal: true, onlyInA: [], onlyInB: [], unmappedB: [], publicLayout: [] });

    const scale = (m: LinearCombination, k: bigint): LinearCombination => new Map([...m].map(([w, c]) => [w, (c * k) % P]));
    const quadratic = r1cs.constraints.findIndex(([a, b]) => a.size > 0 && b.size > 0);
    const linear = r1cs.constraints.findIndex(([a, b]) => a.size === 0 && b.size === 0);
    expect(quadratic).toBeGreaterThanOrEqual(0);
    expect(linear).toBeGreaterThanOrEqual(0);
    const changed = r1cs.constraints.map(([a, b, c], i): R1cs['constraints'][number] => {
      if (i === quadratic) return [scale(a, 5n), b, scale(c, 5n)];
      // A linear constraint 0 * 0 = L written as 1 * (5L) = 0 normalises to the same L.
      if (i === linear) return [new Map([[0, 1n]]), scale(c, 5n), new Map()];
      return [b, a, c]; // A and B swapped
    });
    changed.reverse();
    const report = compareConstraintSystems({ r1cs: { ...r1cs, constraints: changed }, nameToWire: names }, self);
    expect(report).toEqual({ equal: true, onlyInA: [], onlyInB: [], unmappedB: [], publicLayout: [] });
  });

  it('compareConstraintSystems: a changed coefficient is reported on both sides, in signal names', () => {
    // out = z + 3: the constant term changes by one.
    const outWire = names.get('main.out')!;
    const i = r1cs.constraints.findIndex(([, , c]) => c.has(outWire) && c.has(0));
    const constraints = r1cs.constraints.map((c, j) => (j === i ? ([c[0], c[1], new Map([...c[2]].map(([w, v]) => [w, w === 0 ? (v + 1n) % P : v]))] as R1cs['constraints'][number]) : c));
    expect(constraints[i][2].get(0)).not.toBe(r1cs.constraints[i][2].get(0));
    const report = compareConstraintSystems({ r1cs: { ...r1cs, constraints }, nameToWire: names }, { r1cs, nameToWire: names });
    expect(report.equal).toBe(false);
    expect(report.onlyInA).toHaveLength(1);
    expect(report.onlyInB).toHaveLength(1);
    expect(report.onlyInA[0]).toMatch(new RegExp(`^\\[a#${i}\\] .*main\\.out.*= 0$`));
    expect(report.onlyInA[0]).toMatch(/main\.z/);
    expect(report.onlyInB[0]).toMatch(new RegExp(`^\\[b#${i}\\] `));
  });

  it('compareConstraintSystems and witnessForB across renumbered wires and a removed signal', () => {
    // a: circom's system with the private wires numbered backwards; main.w (removed by --O1 in b) names
    // main.z's wire in a, as our optimizer's map would.
    const nPublic = 1 + r1cs.nOutputs + r1cs.nPubInputs;
    const perm = (w: number) => (w < nPublic ? w : r1cs.nWires - 1 - (w - nPublic));
    const renumber = (m: LinearCombination): LinearCombination => new Map([...m].map(([w, c]) => [perm(w), c]));
    const a: EquivalenceSide = {
      r1cs: { ...r1cs, constraints: r1cs.constraints.map((c) => c.map(renumber) as R1cs['constraints'][number]) },
      nameToWire: new Map([...names].map(([n, w]) => [n, w < 0 ? perm(names.get('main.z')!) : perm(w)])),
    };
    const b: EquivalenceSide = { r1cs, nameToWire: names };
    expect(compareConstraintSystems(a, b)).toEqual({ equal: true, onlyInA: [], onlyInB: [], unmappedB: [], publicLayout: [] });

    const aWitness = new Array<bigint>(values.length);
    values.forEach((v, w) => (aWitness[perm(w)] = v));
    expect(violatedConstraints(a.r1cs, aWitness)).toEqual([]);
    const bWitness = witnessForB(a, aWitness, b);
    expect(bWitness).toEqual(values);
    expect(violatedConstraints(r1cs, bWitness)).toEqual([]);

    // A b wire whose name a does not know cannot be mapped: reported, and no witness can be built.
    const lost = new Map(a.nameToWire);
    lost.delete('main.bits[3]');
    const r = compareConstraintSystems({ ...a, nameToWire: lost }, b);
    expect(r.equal).toBe(false);
    expect(r.unmappedB).toEqual([`b wire ${names.get('main.bits[3]')} (main.bits[3]): no name known to a`]);
    expect(r.onlyInB.join('\n')).toMatch(/b:main\.bits\[3\]/);
    expect(() => witnessForB({ nameToWire: lost }, aWitness, b)).toThrow(/main\.bits\[3\]/);

    // Swapping the two public outputs in a keeps the constraint multiset but changes publicSignals' order.
    const swap = (w: number) => (w === 1 ? 2 : w === 2 ? 1 : w);
    const swapped: EquivalenceSide = {
      r1cs: { ...r1cs, constraints: r1cs.constraints.map((c) => c.map((m) => new Map([...m].map(([w, v]) => [swap(w), v]))) as R1cs['constraints'][number]) },
      nameToWire: new Map([...names].map(([n, w]) => [n, w < 0 ? w : swap(w)])),
    };
    expect(r1cs.nOutputs).toBe(2);
    const s = compareConstraintSystems(swapped, b);
    expect(s.onlyInA).toEqual([]);
    expect(s.onlyInB).toEqual([]);
    expect(s.publicLayout).toEqual(['public wire 1 (main.out) is a\'s wire 2', 'public wire 2 (main.s) is a\'s wire 1']);
    expect(s.equal).toBe(false);
  });
});
