/**
 * Class labels in the bundle: a tree classifier's string labels (classlabels_strings) or int64 labels that are
 * not an arithmetic progression (classlabels_int64s) travel with the model's output. The circuit proves the
 * class index; the label table is part of the model description: the quantized model's output part carries it
 * (withOutputLabels), the verification key pins it, the bundle states the key's, verifyBundle refuses any other
 * and reports the key's label for the proven index, and `zkonnx prove` / `verify` / `run` show it.
 *
 * One compiled fixture (two classifiers on one input: string labels and int64 labels, with their
 * probabilities: four graph outputs), plus a bundle tampered in every place a table can be stated; a
 * label-less (older) key and bundle stay valid.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { readQuantizedModel } from '../src/artifacts/manifest.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileModel } from '../src/compile/model.ts';
import { labelTablesOf, outputLabelTables, withOutputLabels } from '../src/ir/io.ts';
import { importGraph } from '../src/ir/import.ts';
import { mulberry32 } from '../src/onnx/builder.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { prove, readVerificationKey, type ProveResult } from '../src/prove/prove.ts';
import { setupKeys } from '../src/setup/setup.ts';
import { vkHash } from '../src/verify/canonical.ts';
import { checkVerificationKey } from '../src/verify/key.ts';
import type { ProofBundle, ZkonnxVerificationKey } from '../src/verify/types.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { cli } from './helpers/cli.ts';
import { labelledClassifiersModel, randomTrees, runOrtAll } from './helpers/tree-models.ts';

const NF = 4;
const DIR = 'artifacts/test/trees-labels';
const STRINGS = ['approve', 'review', 'fraud'];
const INTS = [3, 7, -1];
const OUTPUTS = ['label_s', 'p_s', 'label_i', 'p_i'];

const bytes = labelledClassifiersModel(NF, [
  { spec: randomTrees(51, 2, 3, NF, 3, ['BRANCH_LEQ', 'BRANCH_GT']), labels: STRINGS, label: 'label_s', probabilities: 'p_s' },
  { spec: randomTrees(52, 2, 3, NF, 3, ['BRANCH_LT', 'BRANCH_GTE']), labels: INTS, label: 'label_i', probabilities: 'p_i' },
], OUTPUTS);

const rows = (n: number, seed: number) => {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, () => Array.from({ length: NF }, () => Math.round((2 * rnd() - 1) * 1000) / 1000));
};
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

let vk: ZkonnxVerificationKey;
let proved: ProveResult;
let x: number[];

beforeAll(async () => {
  await mkdir(DIR, { recursive: true });
  await writeFile(`${DIR}/model.onnx`, bytes);
  const cal = rows(64, 1);
  await writeFile(`${DIR}/calibration.json`, JSON.stringify(cal.map((r) => ({ x: r }))));
  await compileModel(`${DIR}/model.onnx`, { out: DIR, calibration: cal.map((r) => Float64Array.from(r)), force: true });
  await setupKeys(DIR);
  vk = await readVerificationKey(artifactPath(DIR, 'vk'));
  // One input (the test checks its proven labels are onnxruntime's).
  x = rows(1, 5)[0];
  await writeFile(`${DIR}/input.json`, JSON.stringify({ x }));
  proved = await prove(DIR, { x });
}, 300_000);

describe('label tables: model, key, bundle', () => {
  it('the quantized model\'s label outputs carry their tables (index -> label); the float IR names them too', async () => {
    const q = withOutputLabels(await readQuantizedModel(DIR));
    const parts = q.output.parts!;
    expect(parts.map((p) => p.name)).toEqual(OUTPUTS);
    expect(parts[0].labels).toEqual(STRINGS);
    expect(parts[2].labels).toEqual(INTS);
    expect(parts[1].labels).toBeUndefined();
    expect(parts[3].labels).toBeUndefined();
    expect(withOutputLabels(q)).toEqual(q);
    const f = importGraph(loadOnnx(bytes));
    expect([...outputLabelTables(f)]).toEqual([['label_s', STRINGS], ['label_i', INTS]]);
    expect(f.notes.join('\n')).toMatch(/the proven label is the class index; the labels are \["approve", "review", "fraud"\]/);
  });

  it('the verification key pins the tables; the bundle states them; verifyBundle gives the key\'s label for the proven index == onnxruntime\'s label', async () => {
    expect([...labelTablesOf(vk.zkonnx.output)]).toEqual([['label_s', STRINGS], ['label_i', INTS]]);
    const b = proved.bundle;
    expect([...labelTablesOf(b.quantization.output)]).toEqual([['label_s', STRINGS], ['label_i', INTS]]);
    expect(b.output.parts!.map((p) => p.labels ?? null)).toEqual([STRINGS, null, INTS, null]);
    const r = await verifyBundle(b, vk);
    expect(r.valid).toBe(true);
    if (!r.valid) return;
    const want = await runOrtAll(bytes, x, ['label_s', 'label_i']);
    expect(r.labels).toEqual([
      { output: 'label_s', index: STRINGS.indexOf(want.label_s[0] as string), label: want.label_s[0] },
      { output: 'label_i', index: INTS.indexOf(want.label_i[0] as number), label: want.label_i[0] },
    ]);
    // The proven values are the indices.
    expect(b.output.parts![0].values).toEqual([r.labels![0].index]);
    expect(b.output.parts![2].values).toEqual([r.labels![1].index]);
  });

  it('the compiled model states its tables itself, and a recompile over existing keys (same circuit) keeps them in the key', async () => {
    const q = await readQuantizedModel(DIR);
    expect(q.output.parts!.map((p) => p.labels ?? null)).toEqual([STRINGS, null, INTS, null]);
    const cal = rows(64, 1);
    await compileModel(`${DIR}/model.onnx`, { out: DIR, calibration: cal.map((r) => Float64Array.from(r)), force: true });
    const again = await readVerificationKey(artifactPath(DIR, 'vk'));
    expect([...labelTablesOf(again.zkonnx.output)]).toEqual([['label_s', STRINGS], ['label_i', INTS]]);
    expect((await verifyBundle(proved.bundle, again)).valid).toBe(true);
  });

  it('a bundle with an edited label table is refused, wherever it states it', async () => {
    const edited = (edit: (b: ProofBundle) => void) => {
      const b = clone(proved.bundle);
      edit(b);
      return verifyBundle(b, vk);
    };
    const swapped = ['fraud', 'review', 'approve'];
    let r = await edited((b) => void (b.quantization.output.parts![0].labels = swapped));
    expect(r.valid).toBe(false);
    expect(r.reason).toBe('bundle\'s label table for output "label_s" (in its quantization) differs from the verification key\'s: the proof covers the class index, and the key\'s table says what it means');
    r = await edited((b) => void (b.output.parts![0].labels = swapped));
    expect(r.reason).toMatch(/label table for output "label_s" \(in its output parts\) differs from the verification key's/);
    r = await edited((b) => void (b.output.parts![2].labels = [3, 7, 8]));
    expect(r.reason).toMatch(/label table for output "label_i" \(in its output parts\) differs/);
    r = await edited((b) => void delete b.quantization.output.parts![2].labels);
    expect(r.reason).toMatch(/label table for output "label_i" \(in its quantization\) differs/);
    r = await edited((b) => void (b.output.parts![1].labels = ['a', 'b', 'c']));
    expect(r.reason).toMatch(/bundle states a label table for output "p_s" \(in its output parts\), but the verification key has none/);
    // A key with another table is another key: the bundle names the key it was made for.
    const otherKey = clone(vk);
    otherKey.zkonnx.output.parts![0].labels = swapped;
    const b = clone(proved.bundle);
    b.quantization.output.parts![0].labels = swapped;
    b.output.parts![0].labels = swapped;
    expect((await verifyBundle(b, otherKey)).reason).toBe('verification key does not match the one the bundle was made for (vkSha256 differs)');
  });

  it('keys state well-formed tables only', () => {
    const bad = (labels: unknown) => {
      const k = clone(vk) as unknown as { zkonnx: { output: { parts: { labels?: unknown }[] } } };
      k.zkonnx.output.parts[0].labels = labels;
      return checkVerificationKey(k);
    };
    expect(bad(['a', 2])).toEqual({ field: 'zkonnx.output.parts[0].labels', what: 'must hold labels that are all strings (of at most 256 characters) or all integers' });
    expect(bad([])).toEqual({ field: 'zkonnx.output.parts[0].labels', what: 'must be a non-empty array of at most 4096 labels' });
    expect(bad('fraud')?.field).toBe('zkonnx.output.parts[0].labels');
    expect(bad(STRINGS)).toBeNull();
  });

  it('a key and bundle without label tables (as made before them) stay valid', async () => {
    const old = clone(vk);
    for (const p of old.zkonnx.output.parts!) delete p.labels;
    const b = clone(proved.bundle);
    for (const p of b.quantization.output.parts!) delete p.labels;
    for (const p of b.output.parts!) delete p.labels;
    b.vkSha256 = await vkHash(old);
    const r = await verifyBundle(b, old);
    expect(r.valid).toBe(true);
    expect(r.valid && r.labels).toBeUndefined();
  });
});

describe('label tables: a single label output', () => {
  it('a binary classifier with one score column and string labels, its label the only graph output: compiled, proved, verified with its label', async () => {
    // skl2onnx's binary GradientBoosting form: one score column; the label is the model's only output.
    const one = randomTrees(53, 2, 3, NF, 1, ['BRANCH_LEQ', 'BRANCH_GT']);
    const single = labelledClassifiersModel(NF, [{ spec: one, labels: ['legit', 'fraud'], label: 'label', probabilities: 'p' }], ['label']);
    const dir = `${DIR}-single`;
    await mkdir(dir, { recursive: true });
    await writeFile(`${dir}/model.onnx`, single);
    await compileModel(`${dir}/model.onnx`, { out: dir, calibration: rows(64, 1).map((r) => Float64Array.from(r)), force: true });
    await setupKeys(dir);
    const key = await readVerificationKey(artifactPath(dir, 'vk'));
    expect(key.zkonnx.output.parts).toBeUndefined();
    expect(key.zkonnx.output.labels).toEqual(['legit', 'fraud']);
    for (const input of rows(2, 8)) {
      const res = await prove(dir, { x: input });
      expect(res.bundle.quantization.output.labels).toEqual(['legit', 'fraud']);
      expect(res.bundle.output.parts).toEqual([{ name: 'label', shape: [1], labels: ['legit', 'fraud'], values: res.bundle.output.values }]);
      const r = await verifyBundle(res.bundle, key);
      expect(r.valid).toBe(true);
      const want = (await runOrtAll(single, input, ['label'])).label[0];
      expect(r.valid && r.labels).toEqual([{ output: 'label', index: ['legit', 'fraud'].indexOf(want as string), label: want }]);
      const b = clone(res.bundle);
      b.quantization.output.labels = ['fraud', 'legit'];
      expect((await verifyBundle(b, key)).reason).toMatch(/label table for output "label" \(in its quantization\) differs from the verification key's/);
    }
  }, 300_000);
});

describe('label tables: CLI', () => {
  it('prove, verify (human and --json) and run show the label next to the proven index', async () => {
    const want = await runOrtAll(bytes, x, ['label_s', 'label_i']);
    const s = want.label_s[0] as string;
    const i = want.label_i[0] as number;
    const line = (out: string, name: string) => out.split('\n').find((l) => l.startsWith(`output '${name}'`));

    const p = await cli('prove', DIR, '--input', `${DIR}/input.json`, '--out', `${DIR}/bundle.json`, '--quiet');
    expect(p.stderr).toBe('');
    expect(p.code).toBe(0);
    expect(line(p.stdout, 'label_s')).toBe(`output 'label_s' [1]: label: ${JSON.stringify(s)} (class ${STRINGS.indexOf(s)})`);
    expect(line(p.stdout, 'label_i')).toBe(`output 'label_i' [1]: label: ${i} (class ${INTS.indexOf(i)})`);

    const v = await cli('verify', `${DIR}/bundle.json`, '--vk', artifactPath(DIR, 'vk'), '--quiet');
    expect(v.code).toBe(0);
    expect(line(v.stdout, 'label_s')).toBe(`output 'label_s' [1]: label: ${JSON.stringify(s)} (class ${STRINGS.indexOf(s)})`);
    const vj = await cli('verify', `${DIR}/bundle.json`, '--vk', artifactPath(DIR, 'vk'), '--json');
    expect(vj.code).toBe(0);
    const j = JSON.parse(vj.stdout) as { valid: boolean; outputs: { name: string; values: number[]; label?: unknown }[] };
    expect(j.valid).toBe(true);
    expect(j.outputs.map((o) => o.label ?? null)).toEqual([s, null, i, null]);
    expect(j.outputs[0].values).toEqual([STRINGS.indexOf(s)]);

    // An edited table in the bundle file: refused, exit 1, the reason names it.
    const edited = JSON.parse(await readFile(`${DIR}/bundle.json`, 'utf8')) as ProofBundle;
    edited.output.parts![0].labels = [...STRINGS].reverse();
    await writeFile(`${DIR}/edited.json`, JSON.stringify(edited));
    const ve = await cli('verify', `${DIR}/edited.json`, '--vk', artifactPath(DIR, 'vk'), '--json');
    expect(ve.code).toBe(1);
    expect(JSON.parse(ve.stdout).reason).toMatch(/label table for output "label_s" \(in its output parts\) differs from the verification key's/);

    // run: the same directory, compiled and set up already (cached).
    const r = await cli('run', `${DIR}/model.onnx`, '--dir', DIR, '--input', `${DIR}/input.json`, '--calibration', `${DIR}/calibration.json`, '--quiet', '--json');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { outputs: { label?: unknown }[] }).outputs.map((o) => o.label ?? null)).toEqual([s, null, i, null]);
  }, 300_000);
});
