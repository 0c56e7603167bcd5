/**
 * npm run bench: measured figures for the README.
 * 1. The example MNIST MLP: compile (cached unless --fresh), dev-key setup, then N proofs and verifications
 *    of held-out digits in one warm process (medians, min-max).
 * 2. Dev-key setup at scale: synthetic MLPs near 2^16 and 2^18 constraints (made here, seed fixed), each
 *    set up in its own process to report its time and peak RSS.
 * 3. The snarkjs powers-of-tau route on the MNIST circuit, for comparison (skip with --skip-snarkjs).
 * Writes artifacts/bench/results.json and results.md.
 * Usage: npm run bench [-- --runs 10] [-- --fresh] [-- --skip-snarkjs] [-- --skip-large]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import * as snarkjs from 'snarkjs';
import { writeFileAtomic } from '../src/artifacts/io.ts';
import { readManifest } from '../src/artifacts/manifest.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileModel } from '../src/compile/model.ts';
import { releaseCurve } from '../src/curve.ts';
import { mulberry32, randomMlp } from '../src/onnx/builder.ts';
import { stderrProgress } from '../src/progress.ts';
import { prove, readVerificationKey } from '../src/prove/prove.ts';
import { setupKeys } from '../src/setup/setup.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { loadMnistSplit } from './lib/mnist-data.ts';

const args = process.argv.slice(2);
const flag = (f: string) => args.includes(f);
const runs = Number(args[args.indexOf('--runs') + 1]) || 10;
const progress = stderrProgress();
const OUT = 'artifacts/bench';

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const stat = (v: number[]) => ({ median: median(v), min: Math.min(...v), max: Math.max(...v) });
type Stat = ReturnType<typeof stat>;
const ms = (s: Stat) => `${(s.median * 1000).toFixed(1)} ms (${(s.min * 1000).toFixed(1)}-${(s.max * 1000).toFixed(1)})`;
const sec = (s: Stat) => `${s.median.toFixed(3)} s (${s.min.toFixed(3)}-${s.max.toFixed(3)})`;
const n = (x: number) => x.toLocaleString('en');

await mkdir(OUT, { recursive: true });

// 1. MNIST MLP
const cal = JSON.parse(readFileSync('examples/mnist-mlp/calibration.json', 'utf8'));
const t0 = performance.now();
const c = await compileModel('examples/mnist-mlp/model.onnx', { calibration: { json: cal, source: 'calibration.json' }, force: flag('--fresh'), progress });
const compileSeconds = c.compiled ? (performance.now() - t0) / 1000 : c.manifest.circuit.compileSeconds;
const setupMnist = await setupKeys(c.dir, { progress });
const m = await readManifest(c.dir);
const vk = await readVerificationKey(artifactPath(c.dir, 'vk'));
const { test } = loadMnistSplit();
const witness: number[] = [];
const proveT: number[] = [];
const verifyT: number[] = [];
for (let i = 0; i < runs; i++) {
  const { bundle, timings } = await prove(c.dir, { input: Array.from(test.x[i]) });
  const t = performance.now();
  const v = await verifyBundle(bundle, vk);
  verifyT.push((performance.now() - t) / 1000);
  if (!v.valid) throw new Error(`bench proof ${i} did not verify: ${v.reason}`);
  witness.push(timings.witnessSeconds);
  proveT.push(timings.proveSeconds);
}
// Peak memory of proving alone: one `zkonnx prove` in a fresh process.
const proveInput = join(OUT, 'digit.json');
await writeFile(proveInput, JSON.stringify({ input: Array.from(test.x[0]) }));
const proveRun = JSON.parse(
  execFileSync(process.execPath, ['bin/zkonnx.js', 'prove', c.dir, '--input', proveInput, '--out', join(OUT, 'bundle.json'), '--json', '--quiet'], { encoding: 'utf8' }),
) as { peakRssMiB: number };
const mnist = {
  model: 'MNIST MLP 784-56-10',
  constraints: m.circuit.constraints,
  wires: m.circuit.wires,
  publicSignals: m.circuit.publicSignals,
  compileSeconds,
  devSetupSeconds: setupMnist.seconds,
  witness: stat(witness),
  prove: stat(proveT),
  verify: stat(verifyT),
  proveProcessPeakRssMiB: proveRun.peakRssMiB,
};

// 2. Dev setup at scale, each in its own process (time and peak RSS of that process alone).
const scale: { name: string; constraints: number; domain: number; seconds: number; peakRssMiB: number }[] = [];
if (!flag('--skip-large')) {
  for (const [name, width] of [['mlp-64-1600-4', 1600], ['mlp-64-6800-4', 6800]] as const) {
    const model = join(OUT, `${name}.onnx`);
    await writeFile(model, randomMlp({ sizes: [64, width, 4], seed: 5, style: 'gemm-transB' }).bytes);
    const rnd = mulberry32(6);
    const calib = Array.from({ length: 64 }, () => Array.from({ length: 64 }, () => rnd() * 2 - 1));
    // r1cs only: setup needs no witness generator, and circom2 (WASM) runs out of memory building one at 2^18.
    const r = await compileModel(model, { out: join(OUT, name), calibration: calib.map((x) => Float64Array.from(x)), witness: false, progress });
    const done = progress.step(`bench: dev setup of ${name} (${n(r.manifest.circuit.constraints)} constraints) in a fresh process`);
    const out = execFileSync(process.execPath, ['bin/zkonnx.js', 'setup', r.dir, '--json', '--quiet'], { encoding: 'utf8' });
    const j = JSON.parse(out) as { seconds: number; peakRssMiB: number };
    const mm = await readManifest(r.dir);
    done(`${j.seconds.toFixed(2)} s`);
    scale.push({ name, constraints: mm.circuit.constraints, domain: mm.setup!.domainPower, seconds: j.seconds, peakRssMiB: j.peakRssMiB });
  }
}

// 3. The snarkjs powers-of-tau route on the MNIST circuit: new ptau, contribute, prepare phase 2, groth16 setup, contribute.
let snarkjsRoute: { power: number; seconds: number } | null = null;
if (!flag('--skip-snarkjs')) {
  const power = m.setup!.domainPower;
  const dir = join(OUT, 'snarkjs-route');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const done = progress.step(`bench: snarkjs powers-of-tau route at 2^${power} (for comparison)`);
  const t = performance.now();
  const curve = await snarkjs.curves.getCurveFromName('bn128');
  await snarkjs.powersOfTau.newAccumulator(curve, power, join(dir, '0.ptau'));
  await snarkjs.powersOfTau.contribute(join(dir, '0.ptau'), join(dir, '1.ptau'), 'bench', 'entropy-' + Math.random());
  await snarkjs.powersOfTau.preparePhase2(join(dir, '1.ptau'), join(dir, 'final.ptau'));
  await snarkjs.zKey.newZKey(artifactPath(c.dir, 'r1cs'), join(dir, 'final.ptau'), join(dir, '0.zkey'));
  await snarkjs.zKey.contribute(join(dir, '0.zkey'), join(dir, '1.zkey'), 'bench', 'entropy-' + Math.random());
  snarkjsRoute = { power, seconds: (performance.now() - t) / 1000 };
  done();
  await rm(dir, { recursive: true, force: true });
}

const results = {
  machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
  date: new Date().toISOString().slice(0, 10),
  runs,
  mnist,
  devSetup: scale,
  snarkjsRoute,
};
const md = [
  '| model | constraints | compile | setup (dev key) | witness | prove | verify | prove peak RSS |',
  '|---|---|---|---|---|---|---|---|',
  `| ${mnist.model} | ${n(mnist.constraints)} | ${compileSeconds.toFixed(1)} s | ${mnist.devSetupSeconds.toFixed(2)} s | ${ms(mnist.witness)} | ${sec(mnist.prove)} | ${ms(mnist.verify)} | ${mnist.proveProcessPeakRssMiB} MiB |`,
  '',
  ...(scale.length
    ? ['| dev-key setup | constraints | domain | time | peak RSS |', '|---|---|---|---|---|', ...scale.map((s) => `| ${s.name} | ${n(s.constraints)} | 2^${s.domain} | ${s.seconds.toFixed(1)} s | ${s.peakRssMiB} MiB |`), '']
    : []),
  ...(snarkjsRoute
    ? [`snarkjs powers-of-tau route for the MNIST circuit (2^${snarkjsRoute.power}: new ptau, contribute, prepare phase 2, groth16 setup, contribute): ${snarkjsRoute.seconds.toFixed(1)} s, versus ${mnist.devSetupSeconds.toFixed(2)} s for the dev key.`, '']
    : []),
  `Measured by \`npm run bench\` on ${results.date}: ${results.machine}. Prove and verify: medians (min-max) of ${runs} held-out digits in one warm process; prove peak RSS: one \`zkonnx prove\` in a fresh process. circomlib-ml needs 73,416 constraints for the MNIST MLP's shape.`,
].join('\n');
await writeFileAtomic(join(OUT, 'results.json'), JSON.stringify(results, null, 2) + '\n');
await writeFileAtomic(join(OUT, 'results.md'), md + '\n');
console.log(md);
await releaseCurve();
if (!existsSync(join(OUT, 'results.md'))) process.exitCode = 1;
