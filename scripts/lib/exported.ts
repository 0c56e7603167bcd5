/**
 * The exported-models table of `npm run bench`: models written the way PyTorch and skl2onnx export them
 * (scripts/lib/exported-models.ts), among them the small transformer block (int64 token ids, embedding lookup,
 * one attention head with Softmax, LayerNorm, GELU MLP; 16 tokens, width 32). Each is calibrated on 32 seeded
 * samples, compiled (direct backend), set up (dev key), proven once and verified; the error is the proven output
 * against onnxruntime on the proven sample, as a share of onnxruntime's output range over 16 samples.
 * Also runnable alone: `npx tsx scripts/lib/exported.ts [--only transformer-block]`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { compileModel } from '../../src/compile/model.ts';
import { mulberry32 } from '../../src/onnx/builder.ts';
import { silentProgress, type ProgressReporter } from '../../src/progress.ts';
import { prove, readVerificationKey } from '../../src/prove/prove.ts';
import { setupKeys } from '../../src/setup/setup.ts';
import { artifactPath } from '../../src/artifacts/paths.ts';
import { verifyBundle } from '../../src/verify/verify.ts';
import * as M from './exported-models.ts';
import type { ExportedModel } from './exported-models.ts';

export interface ExportedRow {
  model: string;
  description: string;
  constraints: number;
  setupSeconds: number;
  proveSeconds: number;
  verifyMs: number;
  /** max |proven - onnxruntime| over the proven sample's first output, / max |onnxruntime output| over 16 samples. */
  errorOfRange: number;
}

export const EXPORTED: { make: () => ExportedModel; description: string }[] = [
  { make: () => M.viewFlattenMlp(), description: 'x.view(x.size(0), -1) + Gemm (Shape/Gather/Unsqueeze/Concat/Reshape folded)' },
  { make: () => M.sklearnMlp(), description: 'skl2onnx MLPClassifier: MatMul/Add/Relu, label (ArgMax) and probabilities (Softmax left out)' },
  { make: () => M.layerNormGelu(), description: 'decomposed LayerNorm + GELU via Erf on [1, 4, 8]' },
  { make: () => M.attentionHead(), description: 'one attention head on [1, 4, 8] (Shape/Gather/Reshape/Transpose/Softmax/MatMul)' },
  { make: () => M.dlinear(), description: 'DLinear forecaster, 24 steps x 2 series -> 6 steps' },
  { make: () => M.transformerBlock(), description: 'transformer block: 16 int64 tokens, width 32, vocab 50, 1 head, LayerNorm, GELU MLP 32-64-32' },
];

/** One sample as an input file: an object keyed by graph-input name. */
export function inputJson(m: ExportedModel, sample: number[][]): Record<string, number[]> {
  return Object.fromEntries(m.inputs.map((inp, k) => [inp.name, sample[k]]));
}

export function samplesOf(m: ExportedModel, n: number, seed: number): number[][][] {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, () => m.inputs.map((i) => i.sample(rnd)));
}

/** onnxruntime on one sample; every graph output, flat, by name (in graph order). */
export async function ortOutputs(session: ort.InferenceSession, m: ExportedModel, sample: number[][]): Promise<Record<string, number[]>> {
  const feeds: Record<string, ort.Tensor> = {};
  m.inputs.forEach((inp, k) => {
    const v = sample[k];
    feeds[inp.name] = inp.dtype === 'int64'
      ? new ort.Tensor('int64', BigInt64Array.from(v, (e) => BigInt(e)), inp.shape)
      : inp.dtype === 'bool' ? new ort.Tensor('bool', Uint8Array.from(v), inp.shape) : new ort.Tensor('float32', Float32Array.from(v), inp.shape);
  });
  const out = await session.run(feeds);
  return Object.fromEntries(session.outputNames.map((n) => [n, Array.from(out[n].data as ArrayLike<number | bigint>, Number)]));
}

export async function exportedTable(root: string, opts: { only?: string; progress?: ProgressReporter } = {}): Promise<ExportedRow[]> {
  const progress = opts.progress ?? silentProgress;
  const rows: ExportedRow[] = [];
  for (const e of EXPORTED) {
    const m = e.make();
    if (opts.only && m.name !== opts.only) continue;
    const done = progress.step(`bench: exported model ${m.name}`);
    const dir = join(root, m.name);
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'model.onnx');
    await writeFile(file, m.bytes);
    const calibration = { json: samplesOf(m, 32, 1).map((s) => inputJson(m, s)), source: 'seeded samples (scripts/lib/exported.ts)' };
    const c = await compileModel(file, { out: dir, calibration, force: true });
    const t0 = performance.now();
    await setupKeys(dir);
    const setupSeconds = (performance.now() - t0) / 1000;
    const test = samplesOf(m, 16, 2);
    const session = await ort.InferenceSession.create(Buffer.from(m.bytes));
    const want = await Promise.all(test.map((s) => ortOutputs(session, m, s)));
    const first = (o: Record<string, number[]>) => Object.values(o)[0];
    const range = Math.max(...want.flatMap((o) => first(o).map(Math.abs)));
    const p = await prove(dir, inputJson(m, test[0]));
    const vk = await readVerificationKey(artifactPath(dir, 'vk'));
    const t1 = performance.now();
    const check = await verifyBundle(p.bundle, vk);
    const verifyMs = performance.now() - t1;
    if (!check.valid) throw new Error(`bench: ${m.name}: the proof does not verify (${check.reason})`);
    const proven = p.bundle.output.parts ? p.bundle.output.parts[0].values : p.bundle.output.values;
    const ref = first(want[0]);
    const errorOfRange = Math.max(...ref.map((v, i) => Math.abs(proven[i] - v))) / range;
    rows.push({ model: m.name, description: e.description, constraints: c.manifest.circuit.constraints, setupSeconds, proveSeconds: p.timings.proveSeconds, verifyMs, errorOfRange });
    done(`${c.manifest.circuit.constraints} constraints, prove ${p.timings.proveSeconds.toFixed(2)} s, error ${(100 * errorOfRange).toFixed(2)}% of range`);
  }
  return rows;
}

const n = (x: number) => x.toLocaleString('en');

export function exportedMarkdown(rows: ExportedRow[]): string[] {
  return [
    '| model | what | constraints | setup | prove | verify | error (of output range) |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.model} | ${r.description} | ${n(r.constraints)} | ${r.setupSeconds.toFixed(1)} s | ${r.proveSeconds.toFixed(2)} s | ${r.verifyMs.toFixed(0)} ms | ${(100 * r.errorOfRange).toFixed(2)}% |`),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const { stderrProgress } = await import('../../src/progress.ts');
  const rows = await exportedTable('artifacts/bench/exported', { only, progress: stderrProgress() });
  console.log(exportedMarkdown(rows).join('\n'));
  const { releaseCurve } = await import('../../src/curve.ts');
  await releaseCurve();
}
