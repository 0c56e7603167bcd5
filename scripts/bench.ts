/**
 * npm run bench: measured figures for the README. Compiles and sets up the example MNIST MLP (cached keys
 * are reused; pass --fresh to redo compile and setup), then proves and verifies N digits in one warm process
 * and reports medians (min..max). Writes artifacts/bench/results.json and results.md.
 * Usage: npm run bench [-- --runs 10] [-- --fresh]
 */
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { writeFileAtomic } from '../src/artifacts/io.ts';
import { readManifest } from '../src/artifacts/manifest.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileModel } from '../src/compile/model.ts';
import { releaseCurve } from '../src/curve.ts';
import { prove, readVerificationKey } from '../src/prove/prove.ts';
import { setupKeys } from '../src/setup/setup.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { loadMnistSplit } from './lib/mnist-data.ts';
import { stderrProgress } from '../src/progress.ts';

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 10;
const fresh = args.includes('--fresh');
const progress = stderrProgress();

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const stat = (v: number[]) => ({ median: median(v), min: Math.min(...v), max: Math.max(...v) });
const fmt = (s: { median: number; min: number; max: number }, unit = 's') =>
  unit === 'ms' ? `${(s.median * 1000).toFixed(1)} ms (${(s.min * 1000).toFixed(1)}-${(s.max * 1000).toFixed(1)})` : `${s.median.toFixed(3)} s (${s.min.toFixed(3)}-${s.max.toFixed(3)})`;

const cal = JSON.parse(readFileSync('examples/mnist-mlp/calibration.json', 'utf8'));
const t0 = performance.now();
const c = await compileModel('examples/mnist-mlp/model.onnx', { calibration: { json: cal, source: 'calibration.json' }, force: fresh, progress });
const compileSeconds = c.compiled ? (performance.now() - t0) / 1000 : c.manifest.circuit.compileSeconds;
let m = await readManifest(c.dir);
if (fresh || !m.setup || m.setup.r1csSha256 !== m.circuit.r1csSha256) await setupKeys(c.dir, { progress });
m = await readManifest(c.dir);
const vk = await readVerificationKey(artifactPath(c.dir, 'vk'));

const { test } = loadMnistSplit();
const witness: number[] = [];
const proveT: number[] = [];
const verifyT: number[] = [];
const rssBefore = process.memoryUsage().rss;
let peakRss = rssBefore;
for (let i = 0; i < runs; i++) {
  const { bundle, timings } = await prove(c.dir, { input: Array.from(test.x[i]) });
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const t = performance.now();
  const v = await verifyBundle(bundle, vk);
  verifyT.push((performance.now() - t) / 1000);
  if (!v.valid) throw new Error(`bench proof ${i} did not verify: ${v.reason}`);
  witness.push(timings.witnessSeconds);
  proveT.push(timings.proveSeconds);
}
const results = {
  machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
  date: new Date().toISOString().slice(0, 10),
  model: 'MNIST MLP 784-56-10 (examples/mnist-mlp)',
  constraints: m.circuit.constraints,
  wires: m.circuit.wires,
  publicSignals: m.circuit.publicSignals,
  compileSeconds,
  setupSeconds: m.setup!.seconds,
  setupKind: m.setup!.keyKind,
  runs,
  witness: stat(witness),
  prove: stat(proveT),
  verify: stat(verifyT),
  peakRssMiB: Math.round(peakRss / 2 ** 20),
};
const md = [
  `| model | constraints | compile | setup (${results.setupKind} key) | witness | prove | verify | peak RSS |`,
  '|---|---|---|---|---|---|---|---|',
  `| ${results.model} | ${results.constraints.toLocaleString('en')} | ${compileSeconds.toFixed(1)} s | ${results.setupSeconds.toFixed(1)} s | ${fmt(results.witness, 'ms')} | ${fmt(results.prove)} | ${fmt(results.verify, 'ms')} | ${results.peakRssMiB} MiB |`,
  '',
  `Measured by \`npm run bench\` on ${results.date}: ${results.machine}; medians (min-max) of ${runs} proofs of held-out digits in one warm process. Setup time is the last setup of this circuit (includes generating the local powers of tau when it was not cached). circomlib-ml needs 73,416 constraints for the same shape.`,
].join('\n');
await writeFileAtomic('artifacts/bench/results.json', JSON.stringify(results, null, 2) + '\n');
await writeFileAtomic('artifacts/bench/results.md', md + '\n');
console.log(md);
await releaseCurve();
