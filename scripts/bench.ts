/**
 * npm run bench: the measured figures in the README. About 10 minutes on 2 cores.
 * 1. `zkonnx bench` of the example models (MNIST MLP with its circomlib-ml baseline compiled and proven;
 *    MNIST CNN, whose 2.5M-constraint baseline is counted by formula; the CNN's QDQ variant; the MLP and
 *    CNN again with packed public inputs, for their EVM verifiers), proofs of held-out digits, and a sweep
 *    of MLP widths and CNN sizes (scripts/lib/sweep.ts).
 * 2. The scale ladder (scripts/lib/scale.ts): MLPs filling 2^12 .. 2^20 domains and the 256-1024-512-10 MLP,
 *    compiled (direct backend), set up, proven and verified, each stage the CLI in its own process.
 * 3. The snarkjs powers-of-tau route on the MNIST circuit, for comparison (skip with --skip-snarkjs).
 * 4. The browser bundle of `zkonnx/verify` (esbuild, minified and gzipped).
 * 5. Visibility (scripts/lib/visibility.ts): the example MLP and CNN under each input/output/parameter
 *    visibility: constraints, setup, prove, verify and EVM gas (skip with --skip-visibility).
 * 6. Exported models (scripts/lib/exported.ts): models written as PyTorch and skl2onnx export them, the small
 *    transformer block among them: constraints, setup, prove, verify, error (skip with --skip-exported).
 * 7. The issue-14 examples (scripts/lib/examples14.ts): the LSTM volatility forecaster and the boosted-tree risk
 *    scorer (skl2onnx and hummingbird forms): constraints, setup, prove, verify, accuracy (skip with --skip-examples14).
 * 8. The proving node (scripts/lib/serve-bench.ts): `zkonnx serve` over loopback with 4 concurrent clients, MNIST MLP
 *    and CNN, 1 and 2 provers, embedded and (with redis-server installed) Redis/BullMQ: proofs per minute, p50/p95
 *    latency (skip with --skip-serve).
 * Writes artifacts/bench/results.{json,md} and artifacts/bench/*.svg.
 * Usage: npm run bench [-- --runs 10] [-- --skip-snarkjs] [-- --skip-large] [-- --scale-max 18] [-- --skip-sweep] [-- --skip-visibility] [-- --skip-exported] [-- --skip-examples14] [-- --skip-serve]
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as snarkjs from 'snarkjs';
import { writeFileAtomic } from '../src/artifacts/io.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { benchModel, machineDescription, type BenchReport } from '../src/bench/bench.ts';
import { formatMarkdown, formatText, writeCharts } from '../src/bench/report.ts';
import { releaseCurve } from '../src/curve.ts';
import { stderrProgress } from '../src/progress.ts';
import { loadMnistSplit } from './lib/mnist-data.ts';
import { writeSweep } from './lib/sweep.ts';
import { scaleLadder, scaleMarkdown, type ScaleRow } from './lib/scale.ts';
import { visibilityMarkdown, visibilityTable, type VisibilityRow } from './lib/visibility.ts';
import { exportedMarkdown, exportedTable, type ExportedRow } from './lib/exported.ts';
import { examples14Markdown, examples14Table } from './lib/examples14.ts';
import { serveBench, serveMarkdown } from './lib/serve-bench.ts';
// @ts-expect-error plain JavaScript build script without declarations
import { bundleVerifier } from './bundle-verify.mjs';

const args = process.argv.slice(2);
const flag = (f: string) => args.includes(f);
const runs = Number(args[args.indexOf('--runs') + 1]) || 10;
const progress = stderrProgress();
const OUT = 'artifacts/bench';
const n = (x: number) => x.toLocaleString('en');
const started = performance.now();

await mkdir(OUT, { recursive: true });

// 1. The example models and the sweep, through the library behind `zkonnx bench`.
const { test } = loadMnistSplit();
const data = join(OUT, 'mnist-test-100.json');
await writeFile(data, JSON.stringify(test.x.slice(0, 100).map((x) => ({ input: Array.from(x) }))));
const report: BenchReport = { machine: machineDescription(), date: new Date().toISOString().slice(0, 10), runs, models: [] };
const examples: [string, boolean, 'plain' | 'packed'][] = [
  ['examples/mnist-mlp/model.onnx', true, 'plain'],
  ['examples/mnist-cnn/model.onnx', true, 'plain'],
  ['examples/mnist-cnn/model-qdq.onnx', false, 'plain'],
  ['examples/mnist-mlp/model.onnx', false, 'packed'],
  ['examples/mnist-cnn/model.onnx', false, 'packed'],
];
for (const [file, baseline, publicInputs] of examples) report.models.push(await benchModel(file, { runs, baseline, data, progress, publicInputs }));
const examplesReport = { ...report, models: [...report.models] };
if (!flag('--skip-sweep')) {
  const sweep = await writeSweep(join(OUT, 'sweep'), 'examples/mnist-mlp/calibration.json');
  for (const file of sweep) report.models.push(await benchModel(file, { runs: Math.min(runs, 3), data, progress, out: join(OUT, 'sweep-artifacts') }));
}
const mnist = report.models[0];

// 2. The scale ladder: MLPs filling 2^12 .. 2^20 domains and the wide 256-1024-512-10 MLP, every stage
// (compile with the direct backend, dev setup, prove, verify) as the CLI in its own process.
let scale: ScaleRow[] = [];
if (!flag('--skip-large')) {
  const maxPower = Number(args[args.indexOf('--scale-max') + 1]) || 20;
  scale = await scaleLadder(join(OUT, 'scale'), maxPower, progress);
}

// 3. The snarkjs powers-of-tau route on the MNIST circuit: new ptau, contribute, prepare phase 2, groth16 setup, contribute.
let snarkjsRoute: { power: number; seconds: number } | null = null;
if (!flag('--skip-snarkjs')) {
  const power = mnist.domainPower;
  const dir = join(OUT, 'snarkjs-route');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const done = progress.step(`bench: snarkjs powers-of-tau route at 2^${power} (for comparison)`);
  const t = performance.now();
  const curve = await snarkjs.curves.getCurveFromName('bn128');
  await snarkjs.powersOfTau.newAccumulator(curve, power, join(dir, '0.ptau'));
  await snarkjs.powersOfTau.contribute(join(dir, '0.ptau'), join(dir, '1.ptau'), 'bench', 'entropy-' + Math.random());
  await snarkjs.powersOfTau.preparePhase2(join(dir, '1.ptau'), join(dir, 'final.ptau'));
  await snarkjs.zKey.newZKey(artifactPath(join(OUT, 'mnist-mlp-model'), 'r1cs'), join(dir, 'final.ptau'), join(dir, '0.zkey'));
  await snarkjs.zKey.contribute(join(dir, '0.zkey'), join(dir, '1.zkey'), 'bench', 'entropy-' + Math.random());
  snarkjsRoute = { power, seconds: (performance.now() - t) / 1000 };
  done();
  await rm(dir, { recursive: true, force: true });
}

// 4. The browser verifier: `zkonnx/verify` bundled by esbuild as a consumer's bundler would.
const verifyBundleSize = await bundleVerifier({ cwd: '.', outfile: join(OUT, 'zkonnx-verify.js') });

// 5. Visibility settings of the example MLP and CNN.
let visibility: VisibilityRow[] = [];
if (!flag('--skip-visibility')) visibility = await visibilityTable(join(OUT, 'visibility'), { runs: Math.min(runs, 3), progress });

// 6. Models as exporters write them, the transformer block among them.
let exported: ExportedRow[] = [];
if (!flag('--skip-exported')) exported = await exportedTable(join(OUT, 'exported'), { progress });

// 7. The time-series and tabular examples.
const examples14 = flag('--skip-examples14') ? [] : await examples14Table(join(OUT, 'examples14'), { progress });

// 8. The proving node under load.
const serve = flag('--skip-serve') ? [] : await serveBench(join(OUT, 'serve'), { progress });

const results = { ...report, scale, snarkjsRoute, verifyBundle: verifyBundleSize, visibility, exported, examples14, serve, benchSeconds: (performance.now() - started) / 1000 };
const md = [
  formatMarkdown(examplesReport),
  '',
  ...(report.models.length > examplesReport.models.length
    ? ['Sweep (random weights; constraints and prove time across sizes):', '', '| model | constraints | domain | setup | prove |', '|---|---|---|---|---|',
      ...report.models.slice(examplesReport.models.length).map((m) => `| ${m.name} | ${n(m.constraints)} | 2^${m.domainPower} | ${m.timings.setup.median.toFixed(2)} s | ${m.timings.prove.median.toFixed(3)} s |`), '']
    : []),
  ...(scale.length
    ? ['Scale (random-weight MLPs; each stage the CLI in its own process; compile: the compiler, and in parentheses the whole process):', '', ...scaleMarkdown(scale), '']
    : []),
  ...(snarkjsRoute
    ? [`snarkjs powers-of-tau route for the MNIST MLP circuit (2^${snarkjsRoute.power}: new ptau, contribute, prepare phase 2, groth16 setup, contribute): ${snarkjsRoute.seconds.toFixed(1)} s, versus ${mnist.timings.setup.median.toFixed(2)} s for the dev key.`, '']
    : []),
  ...(visibility.length
    ? ['Visibility (dev keys; prove: median of 3; EVM gas: verifyProof execution, no base or calldata):', '', ...visibilityMarkdown(visibility), '',
      ...visibility.filter((r) => r.note).map((r) => `- ${r.model}, input ${r.visibility.input}, output ${r.visibility.output}, params ${r.visibility.params}: ${r.note}`), '']
    : []),
  ...(exported.length
    ? ['Exported models (direct backend, dev keys, one proof each; error: the proven first output against onnxruntime, of its range over 16 samples):', '', ...exportedMarkdown(exported), '']
    : []),
  ...(examples14.length ? ['Time-series and tabular examples (dev keys, one proof of sample-0 each):', '', ...examples14Markdown(examples14), ''] : []),
  ...(serve.length
    ? ['Proving node (`zkonnx serve` over loopback, 4 clients each sending the next request when its proof returns; latency as a client sees it: queue + witness + proof):', '', ...serveMarkdown(serve), '']
    : []),
  `\`zkonnx/verify\` bundled for browsers (esbuild, minified): ${(verifyBundleSize.bytes / 1024).toFixed(1)} KB, ${(verifyBundleSize.gzipBytes / 1024).toFixed(1)} KB gzipped.`,
  '',
  `The whole \`npm run bench\` took ${((performance.now() - started) / 60000).toFixed(1)} min.`,
].join('\n');
await writeFileAtomic(join(OUT, 'results.json'), JSON.stringify(results, null, 2) + '\n');
await writeFileAtomic(join(OUT, 'results.md'), md + '\n');
await writeCharts(report, OUT, (f, t) => writeFileAtomic(f, t));
console.log(formatText(report));
console.log(`\nwrote ${OUT}/results.json, ${OUT}/results.md, ${OUT}/constraints-per-layer.svg, ${OUT}/prove-vs-constraints.svg`);
await releaseCurve();
if (!existsSync(join(OUT, 'results.md'))) process.exitCode = 1;
