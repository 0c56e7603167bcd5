/**
 * The issue-14 examples of `npm run bench`: examples/volatility-lstm (nn.LSTM + Linear, torch.onnx layout;
 * scripts/train-lstm.ts) and examples/risk-trees (boosted trees, skl2onnx TreeEnsembleClassifier;
 * scripts/train-trees.ts; and the same trees in hummingbird's GEMM form, risk-trees-gemm). Each is compiled on its calibration.json (direct backend), set up (dev key), proven once
 * on sample-0.json and verified; accuracy is the integer reference (what the circuit proves, bit for bit) against
 * onnxruntime on held-out data: for the forecaster 200 test windows (MAE of the log-variance, relative error of the
 * volatility exp(y/2), and the MAE against the true log-variance next to the float model's and a naive
 * baseline's), for the scorer 2000 test applicants (decision agreement, max |P(default) difference|, AUC and
 * accuracy against the labels next to the float model's). A model whose ops are not supported yet is a row
 * that says so (the importer's message), not an error.
 * Also runnable alone: `npx tsx scripts/lib/examples14.ts [--only volatility-lstm|risk-trees|risk-trees-gemm]`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { compileModel, loadModelFile } from '../../src/compile/model.ts';
import { UnsupportedModelError } from '../../src/errors.ts';
import { flattenCalibration } from '../../src/io/input.ts';
import { outputPartsOf, quantizeModelInput } from '../../src/ir/io.ts';
import type { QuantizedModel } from '../../src/ir/types.ts';
import { silentProgress, type ProgressReporter } from '../../src/progress.ts';
import { prove, readVerificationKey } from '../../src/prove/prove.ts';
import { quantizeModel } from '../../src/quantize/quantize.ts';
import { runInteger } from '../../src/reference/integer.ts';
import { setupKeys } from '../../src/setup/setup.ts';
import { artifactPath } from '../../src/artifacts/paths.ts';
import { dequantizeOutput } from '../../src/verify/dequantize.ts';
import { verifyBundle } from '../../src/verify/verify.ts';
import { SEED as LSTM_SEED, WINDOW, garchSeries, windows } from '../train-lstm.ts';
import { N_TEST, NF, SEED as TREES_SEED, auc, gbtGemmOnnx, riskData, trainGbt } from '../train-trees.ts';

export interface Examples14Row {
  model: string;
  description: string;
  /** Why the model was skipped (its ops are not supported yet), or undefined when it was proven. */
  skipped?: string;
  constraints?: number;
  setupSeconds?: number;
  proveSeconds?: number;
  verifyMs?: number;
  /** |proven - onnxruntime| on the proven sample (first output part). */
  provenError?: number;
  /** accuracy against onnxruntime and against the data, one line */
  accuracy?: string;
  metrics?: Record<string, number>;
}

interface Example {
  name: string;
  description: string;
  /** the example directory holding calibration.json and sample-0.json (default: name) */
  dataDir?: string;
  /** a model written at bench time (too large to commit) instead of <dataDir>/model.onnx */
  write?: () => Uint8Array;
  inputName: string;
  shape: number[];
  /** held-out inputs (flat) and their ground truth (log-variance or label) */
  testSet: () => { x: number[][]; y: number[] };
  metrics: (quant: number[][], onnx: number[][], y: number[]) => { accuracy: string; metrics: Record<string, number> };
}

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

function riskTrees(name: string, description: string, write?: () => Uint8Array): Example {
  return {
    name,
    description,
    dataDir: 'risk-trees',
    ...(write ? { write } : {}),
    inputName: 'input',
    shape: [1, NF],
    testSet: () => {
      const d = riskData(N_TEST, TREES_SEED + 1);
      return { x: d.x.map((r) => Array.from(r)), y: d.y };
    },
    metrics: (quant, onnx, y) => {
      // outputs, flat: [label, P(no default), P(default)]
      const agree = mean(quant.map((o, i) => (o[0] === onnx[i]![0] ? 1 : 0)));
      const maxPDiff = Math.max(...quant.map((o, i) => Math.abs(o[2]! - onnx[i]![2]!)));
      const quantAuc = auc(quant.map((o) => o[2]!), y);
      const floatAuc = auc(onnx.map((o) => o[2]!), y);
      const quantAcc = mean(quant.map((o, i) => (o[0] === y[i] ? 1 : 0)));
      const floatAcc = mean(onnx.map((o, i) => (o[0] === y[i] ? 1 : 0)));
      return {
        accuracy: `decisions agree with onnxruntime ${(100 * agree).toFixed(2)}%, max |P diff| ${maxPDiff.toFixed(4)}; AUC proven ${quantAuc.toFixed(4)} / float ${floatAuc.toFixed(4)}, accuracy ${(100 * quantAcc).toFixed(1)}% / ${(100 * floatAcc).toFixed(1)}%`,
        metrics: { agree, maxPDiff, quantAuc, floatAuc, quantAcc, floatAcc },
      };
    },
  };
}

const EXAMPLES: Example[] = [
  {
    name: 'volatility-lstm',
    description: 'nn.LSTM(1, 8) + Linear on the last step (torch.onnx: Transpose, LSTM, Squeeze, Transpose, Gather, Gemm); 24 GARCH(1,1) returns -> next log-variance',
    inputName: 'returns',
    shape: [1, WINDOW, 1],
    testSet: () => {
      // windows from the end of the training series (the test part), every 10th of the last 2000
      const w = windows(garchSeries(LSTM_SEED));
      const from = w.x.length - 2000;
      const idx = Array.from({ length: 200 }, (_, i) => from + i * 10);
      return { x: idx.map((i) => Array.from(w.x[i]!)), y: idx.map((i) => w.y[i]!) };
    },
    metrics: (quant, onnx, y) => {
      const q = quant.map((o) => o[0]!), f = onnx.map((o) => o[0]!);
      const maeVsOrt = mean(q.map((v, i) => Math.abs(v - f[i]!)));
      const volRel = mean(q.map((v, i) => Math.abs(Math.exp(v / 2) - Math.exp(f[i]! / 2)) / Math.exp(f[i]! / 2)));
      const quantMae = mean(q.map((v, i) => Math.abs(v - y[i]!)));
      const floatMae = mean(f.map((v, i) => Math.abs(v - y[i]!)));
      const baselineMae = mean(y.map((v) => Math.abs(0 - v))); // log of the unconditional variance (1)
      return {
        accuracy: `log-variance MAE vs onnxruntime ${maeVsOrt.toFixed(4)}, volatility rel. error ${(100 * volRel).toFixed(2)}%; MAE vs truth: proven ${quantMae.toFixed(4)}, float ${floatMae.toFixed(4)}, constant baseline ${baselineMae.toFixed(4)}`,
        metrics: { maeVsOrt, volRelErr: volRel, quantMae, floatMae, baselineMae },
      };
    },
  },
  riskTrees('risk-trees', '30 depth-3 boosted trees (skl2onnx GradientBoostingClassifier: TreeEnsembleClassifier, LOGISTIC), 6 applicant features -> label, P(default)'),
  riskTrees('risk-trees-gemm', 'the same trees in hummingbird\'s GEMM form (MatMul, LessOrEqual, Cast, MatMul, Equal, Cast, MatMul; Sigmoid, Concat, ArgMax), written at bench time (~200 KB)', () => gbtGemmOnnx(trainGbt().model)),
];

/** The integer reference's output (what the circuit proves), dequantized, flat over the output parts. */
function quantOutput(q: QuantizedModel, flat: number[]): number[] {
  const ints = runInteger(q, quantizeModelInput(q.input, flat));
  return outputPartsOf(q.output, dequantizeOutput(q.output.quant, ints)).flatMap((p) => p.values);
}

async function ortOutput(session: ort.InferenceSession, e: Example, flat: number[]): Promise<number[]> {
  const out = await session.run({ [e.inputName]: new ort.Tensor('float32', Float32Array.from(flat), e.shape) });
  return session.outputNames.flatMap((n) => Array.from(out[n]!.data as ArrayLike<number | bigint>, Number));
}

export async function examples14Table(root: string, opts: { only?: string; progress?: ProgressReporter; examplesDir?: string } = {}): Promise<Examples14Row[]> {
  const progress = opts.progress ?? silentProgress;
  const examplesDir = opts.examplesDir ?? 'examples';
  const rows: Examples14Row[] = [];
  for (const e of EXAMPLES) {
    if (opts.only && e.name !== opts.only) continue;
    const data = join(examplesDir, e.dataDir ?? e.name);
    const dir = join(root, e.name);
    await mkdir(dir, { recursive: true });
    const file = e.write ? join(dir, 'model.onnx') : join(data, 'model.onnx');
    if (e.write) await writeFile(file, e.write());
    const calJson = JSON.parse(await readFile(join(data, 'calibration.json'), 'utf8')) as unknown;
    const sample = JSON.parse(await readFile(join(data, 'sample-0.json'), 'utf8')) as Record<string, number[]>;
    let q: QuantizedModel;
    try {
      const { model } = await loadModelFile(file);
      q = quantizeModel(model, flattenCalibration(calJson, model.input, 'calibration.json'), {});
    } catch (err) {
      if (!(err instanceof UnsupportedModelError)) throw err;
      const reason = err.message.replace(/\s+/g, ' ');
      progress.info(`bench: ${e.name} skipped, its ops are not supported yet: ${reason}`);
      rows.push({ model: e.name, description: e.description, skipped: reason });
      continue;
    }
    const done = progress.step(`bench: issue-14 example ${e.name}`);
    const c = await compileModel(file, { out: dir, calibration: { json: calJson, source: 'calibration.json' }, force: true });
    const t0 = performance.now();
    await setupKeys(dir);
    const setupSeconds = (performance.now() - t0) / 1000;
    const session = await ort.InferenceSession.create(await readFile(file));
    const p = await prove(dir, sample);
    const vk = await readVerificationKey(artifactPath(dir, 'vk'));
    const t1 = performance.now();
    const check = await verifyBundle(p.bundle, vk);
    const verifyMs = performance.now() - t1;
    if (!check.valid) throw new Error(`bench: ${e.name}: the proof does not verify (${check.reason})`);
    const proven = p.bundle.output.parts ? p.bundle.output.parts.flatMap((part) => part.values) : p.bundle.output.values;
    const flat = sample[e.inputName]!;
    const ref = quantOutput(q, flat);
    if (ref.some((v, i) => Math.abs(v - proven[i]!) > 1e-9)) throw new Error(`bench: ${e.name}: the proven output ${proven.join(',')} is not the integer reference's ${ref.join(',')}`);
    const want = await ortOutput(session, e, flat);
    const provenError = Math.max(...want.map((v, i) => Math.abs(proven[i]! - v)));
    const test = e.testSet();
    const quant = test.x.map((x) => quantOutput(q, x));
    const onnx: number[][] = [];
    for (const x of test.x) onnx.push(await ortOutput(session, e, x));
    const m = e.metrics(quant, onnx, test.y);
    rows.push({ model: e.name, description: e.description, constraints: c.manifest.circuit.constraints, setupSeconds, proveSeconds: p.timings.proveSeconds, verifyMs, provenError, ...m });
    done(`${c.manifest.circuit.constraints} constraints, prove ${p.timings.proveSeconds.toFixed(2)} s; ${m.accuracy}`);
  }
  return rows;
}

const n = (x: number) => x.toLocaleString('en');

export function examples14Markdown(rows: Examples14Row[]): string[] {
  return [
    '| example | what | constraints | setup | prove | verify | proven sample vs onnxruntime | accuracy on held-out data |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) =>
      r.skipped !== undefined
        ? `| ${r.model} | ${r.description} | skipped: not supported yet (${r.skipped.replace(/\|/g, '/')}) | | | | | |`
        : `| ${r.model} | ${r.description} | ${n(r.constraints!)} | ${r.setupSeconds!.toFixed(1)} s | ${r.proveSeconds!.toFixed(2)} s | ${r.verifyMs!.toFixed(0)} ms | max abs ${r.provenError!.toFixed(4)} | ${r.accuracy} |`,
    ),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  const { stderrProgress } = await import('../../src/progress.ts');
  const rows = await examples14Table('artifacts/bench/examples14', { only, progress: stderrProgress() });
  console.log(examples14Markdown(rows).join('\n'));
  const { releaseCurve } = await import('../../src/curve.ts');
  await releaseCurve();
}
