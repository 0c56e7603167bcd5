/**
 * Visibility (src/verify/layout.ts): every combination of input public|hashed|private, output public|hashed
 * and params fixed|hashed, compiled, keyed, proven and verified on a small MLP and a small CNN (and the six
 * fixed-parameter combinations on the example MNIST MLP), with the tampered bundles and options each
 * combination must refuse; witness mutation on the signals visibility adds (the private input's byte range
 * checks, the commitments, the private biases' range checks, the private weights' products); one key for
 * every weight set; salts; and defaults that did not change.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { publicInputLayoutOf, readManifest, readQuantizedModel, visibilityOf, type Manifest } from '../src/artifacts/manifest.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileModel, loadModelFile } from '../src/compile/model.ts';
import { constraintsByWire, readR1csFile, readSymbols, violatedConstraints, type R1cs } from '../src/compile/r1cs.ts';
import { InputError } from '../src/errors.ts';
import { FIELD_PRIME as P, toField } from '../src/field.ts';
import { flattenInput } from '../src/io/input.ts';
import { paramLayout, paramSetOf, paramSignals, paramsCommitment, withParamSet, type ParamSet } from '../src/ir/params.ts';
import { sizeOf, type QuantizedModel } from '../src/ir/types.ts';
import { randomMlp } from '../src/onnx/builder.ts';
import { prove, readVerificationKey } from '../src/prove/prove.ts';
import { artifactWitness, visibilityWitnessInput } from '../src/prove/witness.ts';
import { quantizeInput } from '../src/quantize/quantize.ts';
import { runInteger } from '../src/reference/integer.ts';
import { setupKeys } from '../src/setup/setup.ts';
import { commitBytes, commitFieldElements, TAG_INPUT, TAG_OUTPUT } from '../src/verify/commitment.ts';
import { dequantizeOutput } from '../src/verify/dequantize.ts';
import { INPUT_VISIBILITIES, OUTPUT_VISIBILITIES, PARAM_VISIBILITIES, signalLayout, type Visibility } from '../src/verify/layout.ts';
import type { ProofBundle, ZkonnxVerificationKey } from '../src/verify/types.ts';
import { verifyBundle, type VerifyOptions } from '../src/verify/verify.ts';
import { randomInputs, TEST_ROOT } from './helpers/fixtures.ts';
import { smallCnn } from './helpers/visibility-models.ts';

const ROOT = join(TEST_ROOT, 'visibility');

const ALL: Visibility[] = INPUT_VISIBILITIES.flatMap((input) => OUTPUT_VISIBILITIES.flatMap((output) => PARAM_VISIBILITIES.map((params) => ({ input, output, params }))));
const visKey = (v: Visibility) => `${v.input}-${v.output}-${v.params}`;

/** A bundle as loose JSON, to tamper with. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;
const clone = (b: ProofBundle): Loose => structuredClone(b) as unknown as Loose;
const asBundle = (b: Loose) => b as unknown as ProofBundle;
const plusOne = (s: string) => ((BigInt(s) + 1n) % P).toString();

interface ModelSource {
  name: string;
  modelPath: string;
  calibration: Float64Array[] | { json: unknown; source: string };
  /** The float input every combination proves. */
  input: Float64Array;
}

interface Combo {
  vis: Visibility;
  dir: string;
  manifest: Manifest;
  q: QuantizedModel;
  vk: ZkonnxVerificationKey;
}

/** Compile (reused when current) and key (reused when current) one combination. */
async function prepare(src: ModelSource, vis: Visibility): Promise<Combo> {
  const dir = join(ROOT, src.name, visKey(vis));
  await compileModel(src.modelPath, { out: dir, calibration: src.calibration, visibility: vis });
  let m = await readManifest(dir);
  if (!m.setup || m.setup.r1csSha256 !== m.circuit.r1csSha256 || !existsSync(artifactPath(dir, 'zkey')) || !existsSync(artifactPath(dir, 'vk'))) {
    await setupKeys(dir);
    m = await readManifest(dir);
  }
  return { vis, dir, manifest: m, q: await readQuantizedModel(dir), vk: await readVerificationKey(artifactPath(dir, 'vk')) };
}

async function mlpSource(): Promise<ModelSource> {
  await mkdir(ROOT, { recursive: true });
  const modelPath = join(ROOT, 'mlp.onnx');
  await writeFile(modelPath, randomMlp({ sizes: [16, 8, 4], seed: 4242, style: 'gemm-transB' }).bytes);
  return { name: 'mlp', modelPath, calibration: randomInputs(16, 24, 4243), input: randomInputs(16, 1, 4244)[0] };
}

async function cnnSource(): Promise<ModelSource> {
  await mkdir(ROOT, { recursive: true });
  const modelPath = join(ROOT, 'cnn.onnx');
  await writeFile(modelPath, smallCnn(404).bytes);
  return { name: 'cnn', modelPath, calibration: randomInputs(36, 24, 405, 0, 1), input: randomInputs(36, 1, 406, 0, 1)[0] };
}

const MNIST_CAL = 'examples/mnist-mlp/calibration.json';
async function mnistSource(): Promise<ModelSource> {
  const { model } = await loadModelFile('examples/mnist-mlp/model.onnx');
  const input = flattenInput(JSON.parse(readFileSync('examples/mnist-mlp/digit-3.json', 'utf8')), model.input);
  return { name: 'mnist-mlp', modelPath: 'examples/mnist-mlp/model.onnx', calibration: { json: JSON.parse(readFileSync(MNIST_CAL, 'utf8')), source: MNIST_CAL }, input };
}

/**
 * Prove `src.input` under a combination and check the bundle: valid, the output runInteger gives on the
 * quantized input, as many public signals as signalLayout says, the input and commitments shown as the
 * visibility says; then every tampered form that applies must be refused. Returns how many tampered forms ran.
 */
async function checkCombination(src: ModelSource, c: Combo): Promise<number> {
  const { vis, q, vk } = c;
  const xq = quantizeInput(q.input.quant, src.input);
  const expected = runInteger(q, xq).map(String);
  const nIn = sizeOf(q.input.shape);
  const nOut = sizeOf(q.output.shape);
  const sl = signalLayout(vis, publicInputLayoutOf(c.manifest), nIn, nOut);
  expect(visibilityOf(c.manifest)).toEqual(vis);
  // The cost formulas (ops, range checks, commitments, output bindings) predict the compiled count exactly.
  expect(c.manifest.circuit.predictedConstraints).toBe(c.manifest.circuit.constraints);

  const r = await prove(c.dir, src.input, vis.input === 'hashed' ? { includeOpening: true } : {});
  const b = r.bundle;
  expect((await verifyBundle(b, vk)).valid).toBe(true);
  expect(b.output.quantized).toEqual(expected);
  expect(b.publicSignals).toHaveLength(sl.total);
  expect(vk.nPublic).toBe(sl.total);
  expect(c.manifest.circuit.publicSignals).toBe(sl.total);

  // What the bundle shows of the input and the commitments.
  const hashedParts = (['input', 'output', 'params'] as const).filter((p) => vis[p] === 'hashed');
  const at = { input: sl.inputHash, output: sl.outputs.at, params: sl.paramsHash };
  expect(Object.keys(b.commitments ?? {}).sort()).toEqual([...hashedParts].sort());
  for (const p of hashedParts) expect(b.commitments![p]).toBe(b.publicSignals[at[p]]);
  if (vis.output === 'hashed') expect(b.commitments!.output).toBe(commitFieldElements(TAG_OUTPUT, expected.map((v) => toField(BigInt(v)))).toString());
  if (vis.params === 'hashed') expect(b.commitments!.params).toBe(paramsCommitment(q).toString());
  if (vis.input === 'private') {
    expect(b.input.quantized).toBeUndefined();
    expect(b.opening).toBeUndefined();
    expect(r.opening).toBeUndefined();
  } else if (vis.input === 'hashed') {
    expect(b.input.quantized).toEqual(xq);
    expect(r.opening?.input).toEqual(xq);
    expect(b.opening?.salt).toBe(r.opening!.salt);
    expect(b.commitments!.input).toBe(commitBytes(TAG_INPUT, xq, BigInt(r.opening!.salt)).toString());
  } else {
    expect(b.input.quantized).toEqual(xq);
    expect(b.opening).toBeUndefined();
  }

  // Positive controls: the forms below differ from these in one respect each.
  const salt = vis.input === 'hashed' ? BigInt(r.opening!.salt) : 0n;
  const noOpening = clone(b);
  if (vis.input === 'hashed') {
    delete noOpening.input.quantized;
    delete noOpening.opening;
    expect(await verifyBundle(asBundle(noOpening), vk)).toMatchObject({ valid: true });
    expect(await verifyBundle(asBundle(noOpening), vk, { opening: { input: xq, salt } })).toMatchObject({ valid: true });
    expect(await verifyBundle(b, vk, { opening: { input: xq, salt: salt.toString() } })).toMatchObject({ valid: true });
  }
  if (vis.params === 'hashed') expect(await verifyBundle(b, vk, { paramsCommitment: b.commitments!.params! })).toMatchObject({ valid: true });

  const cases: { what: string; bundle: Loose; opts?: VerifyOptions; reason?: RegExp }[] = [];
  const tamper = (what: string, f: (t: Loose) => void, base: Loose = clone(b), opts?: VerifyOptions, reason?: RegExp) => {
    const t = structuredClone(base);
    f(t);
    cases.push({ what, bundle: t, opts, reason });
  };

  // Changed commitments, for each hashed part: the stated one, the public signal, both.
  for (const p of hashedParts) {
    tamper(`${p} commitment stated + 1`, (t) => (t.commitments[p] = plusOne(t.commitments[p])), clone(b), undefined, new RegExp(`${p} commitment`));
    tamper(`${p} commitment public signal + 1`, (t) => (t.publicSignals[at[p]] = plusOne(t.publicSignals[at[p]])));
    tamper(`${p} commitment stated and public signal + 1`, (t) => {
      t.commitments[p] = plusOne(t.commitments[p]);
      t.publicSignals[at[p]] = t.commitments[p];
    });
    tamper(`${p} commitment left out`, (t) => delete t.commitments[p]);
  }
  // A commitment stated for a part the key does not hash.
  for (const p of (['input', 'output', 'params'] as const).filter((x) => vis[x] !== 'hashed')) {
    tamper(`${p} commitment stated for an unhashed ${p}`, (t) => (t.commitments = { ...(t.commitments ?? {}), [p]: '1' }), clone(b), undefined, /not hashed/);
  }

  if (vis.input === 'hashed') {
    const other = xq.map((v, i) => (i === 0 ? v ^ 1 : v));
    // The included opening: one byte changed; the salt + 1; the input without its salt.
    tamper('included input byte 0 changed', (t) => (t.input.quantized[0] ^= 1), clone(b), undefined, /do not open/);
    tamper(`included input byte ${nIn - 1} changed`, (t) => (t.input.quantized[nIn - 1] ^= 0x80), clone(b), undefined, /do not open/);
    tamper('included salt + 1', (t) => (t.opening.salt = (BigInt(t.opening.salt) + 1n).toString()), clone(b), undefined, /do not open/);
    tamper('included input without its salt', (t) => delete t.opening);
    tamper('salt without the input', (t) => delete t.input.quantized);
    // The opening option: a byte changed, the salt + 1 (with and without an included opening).
    for (const [name, base] of [['included', clone(b)], ['no included', noOpening]] as const) {
      tamper(`${name} opening; option with a changed byte`, () => {}, base, { opening: { input: other, salt } }, /not open|differs/);
      tamper(`${name} opening; option with salt + 1`, () => {}, base, { opening: { input: xq, salt: salt + 1n } }, /not open/);
      tamper(`${name} opening; option with one byte too few`, () => {}, base, { opening: { input: xq.slice(1), salt } });
    }
  } else {
    // An opening for an input that is not hashed: as an option, and in the bundle.
    tamper(`option opening for a ${vis.input} input`, () => {}, clone(b), { opening: { input: xq, salt: 1n } }, /opening was given/);
    tamper(`bundle opening for a ${vis.input} input`, (t) => (t.opening = { salt: '1' }), clone(b), undefined, /opening/);
  }
  if (vis.input === 'private') {
    tamper('input claimed for a private input', (t) => (t.input.quantized = [...xq]), clone(b), undefined, /private/);
    tamper('input and salt claimed for a private input', (t) => {
      t.input.quantized = [...xq];
      t.opening = { salt: '1' };
    });
  }
  if (vis.input === 'public') tamper('public input byte 0 changed', (t) => (t.input.quantized[0] ^= 1));

  // A wrong parameter commitment option.
  if (vis.params === 'hashed') {
    tamper('paramsCommitment option + 1', () => {}, clone(b), { paramsCommitment: plusOne(b.commitments!.params!) }, /another weight set/);
  } else {
    tamper('paramsCommitment option for fixed parameters', () => {}, clone(b), { paramsCommitment: paramsCommitment(q) }, /fixed/);
  }

  // A changed output (its floats changed along, so only the proof or the commitment can catch it).
  for (const [k, d] of [[0, 1n], [nOut - 1, -1n]] as const) {
    tamper(`output ${k} ${d > 0 ? '+' : '-'} 1`, (t) => {
      const ints = (t.output.quantized as string[]).map((v) => BigInt(v));
      ints[k] += d;
      t.output.quantized = ints.map(String);
      t.output.values = dequantizeOutput(vk.zkonnx.output.quant, ints);
    }, clone(b), undefined, vis.output === 'hashed' ? /does not open the output commitment/ : /differs from public signal/);
  }

  const accepted: string[] = [];
  for (const t of cases) {
    const v = await verifyBundle(asBundle(t.bundle), vk, t.opts);
    if (v.valid) accepted.push(t.what);
    else if (t.reason && !t.reason.test(v.reason)) accepted.push(`${t.what} (refused for another reason: ${v.reason})`);
  }
  expect(accepted, `${c.dir}: tampered forms not refused as expected`).toEqual([]);
  return cases.length;
}

// ---------------------------------------------------------------------------------------------------------

for (const [label, source, combos] of [
  ['small MLP 16-8-4', mlpSource, ALL],
  ['small CNN [1,1,6,6] conv 3x3 -> relu -> gemm 3', cnnSource, ALL],
  ['MNIST MLP (example), fixed parameters', mnistSource, ALL.filter((v) => v.params === 'fixed')],
] as const) {
  describe(`every visibility: ${label}`, () => {
    let src: ModelSource;
    const prepared = new Map<string, Combo>();
    beforeAll(async () => {
      src = await source();
      for (const v of combos) prepared.set(visKey(v), await prepare(src, v));
    });
    for (const v of combos) {
      it(`input ${v.input}, output ${v.output}, params ${v.params}: proves, verifies, refuses tampering`, async () => {
        const n = await checkCombination(src, prepared.get(visKey(v))!);
        expect(n).toBeGreaterThanOrEqual(5);
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------------------
// Witness mutation

interface Circuit {
  c: Combo;
  r1cs: R1cs;
  syms: Map<string, number>;
  byWire: number[][];
}

async function circuitOf(c: Combo): Promise<Circuit> {
  const r1cs = await readR1csFile(artifactPath(c.dir, 'r1cs'));
  return { c, r1cs, syms: await readSymbols(artifactPath(c.dir, 'sym')), byWire: constraintsByWire(r1cs) };
}

function wireOf(k: Circuit, name: string): number {
  const w = k.syms.get(name);
  if (w === undefined || w < 0) throw new Error(`${k.c.dir}: no wire for ${name}`);
  return w;
}

/** The honest witness of a combination for the uint8 input xq (salt 7 for a hashed input). */
async function honestWitness(k: Circuit, xq: number[], salt = 7n): Promise<bigint[]> {
  const vis = k.c.vis;
  const input = visibilityWitnessInput(publicInputLayoutOf(k.c.manifest), vis, xq, {
    ...(vis.input === 'hashed' ? { salt } : {}),
    ...(vis.params === 'hashed' ? { params: paramSignals(k.c.q) } : {}),
  });
  const w = (await artifactWitness(k.c.dir, input)).values;
  expect(violatedConstraints(k.r1cs, w), `${k.c.dir}: the honest witness`).toEqual([]);
  return w;
}

/** Rows that involve only the given wires (and the constant one). */
function rowsWithin(r1cs: R1cs, wires: Iterable<number>): number[] {
  const allowed = new Set([0, ...wires]);
  const rows: number[] = [];
  r1cs.constraints.forEach((row, i) => {
    if (row.every((lc) => [...lc.keys()].every((key) => allowed.has(key)))) rows.push(i);
  });
  return rows;
}

/** The mutation breaks a constraint (checked on the rows of the mutated wires: every other row is unchanged). */
function breaks(k: Circuit, w: readonly bigint[], wire: number, delta: bigint): boolean {
  const m = [...w];
  m[wire] = (((m[wire] + delta) % P) + P) % P;
  return violatedConstraints(k.r1cs, m, k.byWire[wire]).length > 0;
}

const bitsOf = (v: bigint, n: number) => Array.from({ length: n }, (_, i) => (v >> BigInt(i)) & 1n);

describe('witness mutation: the signals visibility adds', () => {
  let mlpSrc: ModelSource;
  let cnnSrc: ModelSource;
  const circuits = new Map<string, Circuit>();
  const get = (model: string, v: Visibility) => circuits.get(`${model}/${visKey(v)}`)!;
  beforeAll(async () => {
    mlpSrc = await mlpSource();
    cnnSrc = await cnnSource();
    const want: [ModelSource, Visibility][] = [
      [mlpSrc, { input: 'hashed', output: 'public', params: 'fixed' }],
      [mlpSrc, { input: 'private', output: 'public', params: 'fixed' }],
      [mlpSrc, { input: 'hashed', output: 'hashed', params: 'hashed' }],
      [cnnSrc, { input: 'private', output: 'hashed', params: 'hashed' }],
    ];
    for (const [s, v] of want) circuits.set(`${s.name}/${visKey(v)}`, await circuitOf(await prepare(s, v)));
  });

  for (const input of ['hashed', 'private'] as const) {
    it(`${input} input: in[0] = x0 + 256 with in[1] = x1 - 1 (inPacked[0] unchanged) fails the range rows for all 128 bit choices`, async () => {
      const k = get('mlp', { input, output: 'public', params: 'fixed' });
      const nIn = sizeOf(k.c.q.input.shape);
      expect(nIn).toBe(16);
      // One packed signal of 16 bytes: its gadget is inUnpackLast.
      const xq = Array.from({ length: nIn }, (_, i) => (37 * i + 11) % 256);
      xq[1] = 200;
      const w = await honestWitness(k, xq);
      const packed = wireOf(k, 'main.inPacked[0]');
      const bytes = Array.from({ length: nIn }, (_, i) => wireOf(k, `main.in[${i}]`));
      const bits = Array.from({ length: nIn }, (_, i) => Array.from({ length: 7 }, (_, b) => wireOf(k, `main.inUnpackLast.bits[${i}][${b}]`)));
      expect(w[packed]).toBe(xq.reduce((a, v, i) => a + (BigInt(v) << BigInt(8 * i)), 0n));
      expect(bytes.map((b) => w[b])).toEqual(xq.map(BigInt));
      // The unpacking gadget's own rows: 8 per byte, 1 recomposition.
      const rows = rowsWithin(k.r1cs, [packed, ...bytes, ...bits.flat()]);
      expect(rows).toHaveLength(8 * nIn + 1);
      const recomposition = rows.filter((r) => k.r1cs.constraints[r].some((lc) => lc.has(packed)));
      expect(recomposition).toHaveLength(1);
      expect(violatedConstraints(k.r1cs, w, rows)).toEqual([]);

      const m = [...w];
      m[bytes[0]] = BigInt(xq[0] + 256);
      m[bytes[1]] = BigInt(xq[1] - 1);
      bitsOf(BigInt(xq[1] - 1), 7).forEach((v, b) => (m[bits[1][b]] = v));
      let tried = 0;
      for (let choice = 0n; choice < 128n; choice++) {
        bitsOf(choice, 7).forEach((v, b) => (m[bits[0][b]] = v));
        // The packed value is unchanged (the recomposition holds): only the range rows can refuse it.
        expect(violatedConstraints(k.r1cs, m, recomposition)).toEqual([]);
        expect(violatedConstraints(k.r1cs, m, rows).length, `bits ${choice}`).toBeGreaterThan(0);
        expect(violatedConstraints(k.r1cs, m).length).toBeGreaterThan(0);
        tried++;
      }
      expect(tried).toBe(128);
    });
  }

  it('inHash, outHash and paramsHash changed (+1, -1, +2^64) violate a constraint', async () => {
    const k = get('mlp', { input: 'hashed', output: 'hashed', params: 'hashed' });
    const w = await honestWitness(k, Array.from({ length: 16 }, (_, i) => (i * 29) % 256), 12345n);
    // They are main's outputs: wires 1, 2, 3 in the layout's order (outputs first).
    const sl = signalLayout(k.c.vis, 'plain', 16, 4);
    expect([wireOf(k, 'main.outHash'), wireOf(k, 'main.inHash'), wireOf(k, 'main.paramsHash')]).toEqual([1 + sl.outputs.at, 1 + sl.inputHash, 1 + sl.paramsHash]);
    expect(w[wireOf(k, 'main.paramsHash')]).toBe(paramsCommitment(k.c.q));
    expect(w[wireOf(k, 'main.inHash')]).toBe(commitBytes(TAG_INPUT, Array.from({ length: 16 }, (_, i) => (i * 29) % 256), 12345n));
    for (const name of ['main.inHash', 'main.outHash', 'main.paramsHash']) {
      for (const d of [1n, P - 1n, 1n << 64n]) expect(breaks(k, w, wireOf(k, name), d), `${name} + ${d}`).toBe(true);
    }
  });

  it('a private bias out of its SignedRange (+2^biasBits, and the first value above and below the range) fails the range rows for every bit assignment', async () => {
    const k = get('mlp', { input: 'hashed', output: 'hashed', params: 'hashed' });
    const w = await honestWitness(k, Array.from({ length: 16 }, (_, i) => (i * 13) % 256));
    const pl = paramLayout(k.c.q);
    // Layer 1 (its biases take 16 bits here: 2^16 assignments each).
    const layer = pl.layers.findIndex((l) => l.biasBits <= 16);
    expect(layer).toBeGreaterThanOrEqual(0);
    const { bias, biasBits: B } = pl.layers[layer];
    const biasWire = wireOf(k, `main.wBias[${bias}]`);
    const bitWires = Array.from({ length: B }, (_, i) => wireOf(k, `main.wRange${layer}[0].b[${i}]`));
    const rows = rowsWithin(k.r1cs, [biasWire, ...bitWires]);
    expect(rows).toHaveLength(B + 1); // B booleanity rows, one recomposition
    const honest = k.c.q.layers.find((l) => l.name === pl.layers[layer].name) as { bias: number[] };
    expect(w[biasWire]).toBe(toField(honest.bias[0]));
    expect(violatedConstraints(k.r1cs, w, rows)).toEqual([]);
    const recomposition = rows.filter((r) => k.r1cs.constraints[r].some((lc) => lc.has(biasWire)));
    expect(recomposition).toHaveLength(1);
    const booleanity = rows.filter((r) => r !== recomposition[0]);
    const half = 1n << BigInt(B - 1);
    let tried = 0;
    for (const bad of [BigInt(honest.bias[0]) + (1n << BigInt(B)), half, -half - 1n]) {
      const m = [...w];
      m[biasWire] = toField(bad);
      // Every 0/1 assignment of the B bits satisfies the booleanity rows; none satisfies the recomposition.
      for (let a = 0n; a < 1n << BigInt(B); a++) {
        for (let i = 0; i < B; i++) m[bitWires[i]] = (a >> BigInt(i)) & 1n;
        if (a % 4099n === 0n) expect(violatedConstraints(k.r1cs, m, booleanity)).toEqual([]);
        if (violatedConstraints(k.r1cs, m, recomposition).length === 0) throw new Error(`bias ${bad} with bits ${a} satisfies the range rows`);
        tried++;
      }
      // Bits that are not 0/1 fail their booleanity row whatever the rest.
      m[bitWires[0]] = 2n;
      expect(violatedConstraints(k.r1cs, m, rows).length).toBeGreaterThan(0);
    }
    expect(tried).toBe(3 * 2 ** B);
    // The honest bias + 2^B also breaks the full system, whatever its range bits (e.g. the honest ones).
    expect(breaks(k, w, biasWire, 1n << BigInt(B))).toBe(true);
  });

  it('every product signal of a private-weight layer (dense and conv) changed by +1, -1 or +2^64 violates a constraint', async () => {
    let n = 0;
    for (const [model, v, xq] of [
      ['mlp', { input: 'hashed', output: 'hashed', params: 'hashed' }, Array.from({ length: 16 }, (_, i) => (i * 53 + 1) % 256)],
      ['cnn', { input: 'private', output: 'hashed', params: 'hashed' }, Array.from({ length: 36 }, (_, i) => (i * 71 + 5) % 256)],
    ] as const) {
      const k = get(model, v);
      const w = await honestWitness(k, [...xq]);
      const products = [...k.syms.entries()].filter(([name, wire]) => /^main\.(acc|conv)\d+_p\[\d+\]$/.test(name) && wire >= 0);
      const kinds = new Set(products.map(([name]) => name.replace(/\d+_p\[\d+\]$/, '')));
      expect([...kinds].sort()).toEqual(model === 'mlp' ? ['main.acc'] : ['main.acc', 'main.conv']);
      const macs = k.c.q.layers.reduce((a, l) => a + (l.kind === 'dense' ? l.inSize * l.outSize : 0), 0);
      expect(products.length).toBeGreaterThanOrEqual(macs);
      for (const [name, wire] of products) {
        for (const d of [1n, P - 1n, 1n << 64n]) {
          if (!breaks(k, w, wire, d)) throw new Error(`${k.c.dir}: ${name} + ${d} satisfies every constraint`);
          n++;
        }
      }
    }
    expect(n).toBeGreaterThan(3 * (160 + 96));
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('hashed parameters: one key serves every weight set', () => {
  let src: ModelSource;
  let c: Combo;
  beforeAll(async () => {
    src = await mlpSource();
    c = await prepare(src, { input: 'public', output: 'public', params: 'hashed' });
  });

  function secondSet(q: QuantizedModel): ParamSet {
    const set = paramSetOf(q);
    const pl = paramLayout(q);
    set.layers.forEach((l, k) => {
      l.weights = l.weights.map((w, i) => (i % 3 === 0 ? (i % 2 ? 127 : -128) : i % 5 === 0 ? -w === 128 ? 127 : -w : w));
      const max = 2 ** (pl.layers[k].biasBits - 1) - 1;
      l.bias = l.bias.map((b, j) => (j === 0 ? max : j === 1 ? -max - 1 : Math.trunc(b / 2)));
    });
    set.commitment = paramsCommitment(withParamSet(q, set)).toString();
    return set;
  }

  it('a second weight set proves under the same key; its commitment, not the first, is what verifies', async () => {
    const q = c.q;
    const first = paramSetOf(q);
    const set = secondSet(q);
    expect(set.commitment).not.toBe(first.commitment);
    const vkBefore = readFileSync(artifactPath(c.dir, 'vk'), 'utf8');
    const xq = quantizeInput(q.input.quant, src.input);
    const r1 = await prove(c.dir, src.input);
    const r2 = await prove(c.dir, src.input, { params: set });
    expect(readFileSync(artifactPath(c.dir, 'vk'), 'utf8')).toBe(vkBefore);
    expect(r2.bundle.vkSha256).toBe(r1.bundle.vkSha256);
    expect((await verifyBundle(r2.bundle, c.vk)).valid).toBe(true);
    const expected2 = runInteger(withParamSet(q, set), xq).map(String);
    expect(r2.bundle.output.quantized).toEqual(expected2);
    expect(r2.bundle.output.quantized).not.toEqual(r1.bundle.output.quantized);
    expect(r2.bundle.commitments?.params).toBe(set.commitment);
    expect(r1.bundle.commitments?.params).toBe(first.commitment);
    expect(await verifyBundle(r2.bundle, c.vk, { paramsCommitment: first.commitment })).toMatchObject({ valid: false });
    expect(await verifyBundle(r2.bundle, c.vk, { paramsCommitment: set.commitment })).toMatchObject({ valid: true });
    expect(await verifyBundle(r1.bundle, c.vk, { paramsCommitment: set.commitment })).toMatchObject({ valid: false });
    expect(await verifyBundle(r1.bundle, c.vk, { paramsCommitment: BigInt(first.commitment) })).toMatchObject({ valid: true });
    // The second proof's public signals with the first set's commitment put in: the pairing refuses it.
    const swapped = clone(r2.bundle);
    const at = signalLayout(c.vis, 'plain', 16, 4).paramsHash;
    swapped.publicSignals[at] = first.commitment;
    swapped.commitments.params = first.commitment;
    expect(await verifyBundle(asBundle(swapped), c.vk)).toMatchObject({ valid: false, reason: expect.stringMatching(/pairing/) });
  });

  it('a weight of 128 (or -129, or 1.5) or a bias outside its range is refused by prove with an InputError naming the field', async () => {
    const q = c.q;
    const pl = paramLayout(q);
    const bad: [string, (s: ParamSet) => void, RegExp][] = [
      ['weight 128', (s) => (s.layers[0].weights[5] = 128), /layers\[0\]\.weights\[5\]/],
      ['weight -129', (s) => (s.layers[1].weights[0] = -129), /layers\[1\]\.weights\[0\]/],
      ['weight 1.5', (s) => (s.layers[1].weights[3] = 1.5), /layers\[1\]\.weights\[3\]/],
      ['bias 2^(bits-1)', (s) => (s.layers[0].bias[2] = 2 ** (pl.layers[0].biasBits - 1)), /layers\[0\]\.bias\[2\]/],
      ['bias -2^(bits-1) - 1', (s) => (s.layers[1].bias[1] = -(2 ** (pl.layers[1].biasBits - 1)) - 1), /layers\[1\]\.bias\[1\]/],
    ];
    for (const [what, f, field] of bad) {
      const set = paramSetOf(q);
      f(set);
      const e = await prove(c.dir, src.input, { params: set }).then(() => null, (x: unknown) => x);
      expect(e, what).toBeInstanceOf(InputError);
      expect((e as Error).message, what).toMatch(field);
    }
    // The edges of the ranges are accepted (the refusals above are about the values, not the layers).
    const edge = paramSetOf(q);
    edge.layers[0].weights[5] = 127;
    edge.layers[1].weights[0] = -128;
    edge.layers[0].bias[2] = 2 ** (pl.layers[0].biasBits - 1) - 1;
    edge.layers[1].bias[1] = -(2 ** (pl.layers[1].biasBits - 1));
    // Its stated commitment must be its weights' (prove refuses a stale one).
    await expect(prove(c.dir, src.input, { params: edge })).rejects.toThrow(/not the commitment of its weights/);
    edge.commitment = paramsCommitment(withParamSet(q, edge)).toString();
    const r = await prove(c.dir, src.input, { params: edge });
    expect((await verifyBundle(r.bundle, c.vk)).valid).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('salts', () => {
  let src: ModelSource;
  let c: Combo;
  beforeAll(async () => {
    src = await mlpSource();
    c = await prepare(src, { input: 'hashed', output: 'public', params: 'fixed' });
  });

  it('two proofs of one input with random salts commit differently; a given salt gives commitBytes(TAG_INPUT, xq, salt)', async () => {
    const xq = quantizeInput(c.q.input.quant, src.input);
    const a = await prove(c.dir, src.input);
    const b = await prove(c.dir, src.input);
    expect(a.opening!.salt).not.toBe(b.opening!.salt);
    expect(a.bundle.commitments!.input).not.toBe(b.bundle.commitments!.input);
    expect(a.bundle.output.quantized).toEqual(b.bundle.output.quantized);
    for (const r of [a, b]) {
      expect(r.bundle.commitments!.input).toBe(commitBytes(TAG_INPUT, xq, BigInt(r.opening!.salt)).toString());
      expect(r.opening!.commitment).toBe(r.bundle.commitments!.input);
      expect(BigInt(r.opening!.salt)).toBeLessThan(1n << 248n);
    }
    const salt = 0x1234_5678_9abc_def0n;
    const g = await prove(c.dir, src.input, { salt });
    expect(g.opening!.salt).toBe(salt.toString());
    expect(g.bundle.commitments!.input).toBe(commitBytes(TAG_INPUT, xq, salt).toString());
    expect(g.bundle.publicSignals[signalLayout(c.vis, 'plain', 16, 4).inputHash]).toBe(commitBytes(TAG_INPUT, xq, salt).toString());
    expect(g.bundle.opening).toBeUndefined();
    expect((await verifyBundle(g.bundle, c.vk, { opening: { input: xq, salt } })).valid).toBe(true);
    expect((await verifyBundle(a.bundle, c.vk, { opening: { input: xq, salt } })).valid).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('defaults unchanged', () => {
  it('no visibility compiles the circuit of { public, public, fixed }, and its key has no visibility field', async () => {
    const src = await mlpSource();
    const explicit = await prepare(src, { input: 'public', output: 'public', params: 'fixed' });
    const dir = join(ROOT, src.name, 'no-visibility');
    await compileModel(src.modelPath, { out: dir, calibration: src.calibration });
    let m = await readManifest(dir);
    if (!m.setup || m.setup.r1csSha256 !== m.circuit.r1csSha256 || !existsSync(artifactPath(dir, 'vk'))) {
      await setupKeys(dir);
      m = await readManifest(dir);
    }
    expect(m.circuit.circomSha256).toBe(explicit.manifest.circuit.circomSha256);
    expect(m.circuit.r1csSha256).toBe(explicit.manifest.circuit.r1csSha256);
    expect(m.circuit.constraints).toBe(explicit.manifest.circuit.constraints);
    expect(m.circuit.publicSignals).toBe(explicit.manifest.circuit.publicSignals);
    expect(visibilityOf(m)).toEqual({ input: 'public', output: 'public', params: 'fixed' });
    const vk = await readVerificationKey(artifactPath(dir, 'vk'));
    expect('visibility' in vk.zkonnx).toBe(false);
    expect('visibility' in explicit.vk.zkonnx).toBe(false);
    // A key for another visibility does state it (so the check above can fail).
    const hashed = await prepare(src, { input: 'hashed', output: 'public', params: 'fixed' });
    expect((hashed.vk.zkonnx as { visibility?: unknown }).visibility).toEqual({ input: 'hashed', output: 'public', params: 'fixed' });
    const r = await prove(dir, src.input);
    expect(r.bundle.commitments).toBeUndefined();
    expect(r.bundle.circuit.visibility).toBeUndefined();
    expect((await verifyBundle(r.bundle, vk)).valid).toBe(true);
  });
});
