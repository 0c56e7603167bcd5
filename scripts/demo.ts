/**
 * npm start: the whole pipeline on the example MNIST MLP. Load, quantize, compile, set up keys (cached in
 * artifacts/), prove one digit, verify the bundle, and print what happened.
 * Usage: npm start [-- examples/mnist-mlp/digit-3.json]
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { releaseCurve } from '../src/curve.ts';
import { ZkonnxError } from '../src/errors.ts';
import { stderrProgress } from '../src/progress.ts';
import { runModel } from '../src/run.ts';

const MODEL = 'examples/mnist-mlp/model.onnx';
const inputPath = process.argv[2] ?? 'examples/mnist-mlp/digit-7.json';
const meta = JSON.parse(readFileSync('examples/mnist-mlp/meta.json', 'utf8')) as { floatTestAccuracy: number; labels: Record<string, number> };
const label = meta.labels[basename(inputPath)];

const argmax = (v: number[]) => v.reduce((b, x, i) => (x > v[b] ? i : b), 0);
const s = (x: number) => `${x.toFixed(x < 1 ? 3 : 2)} s`;

try {
  console.log(`zkonnx demo: a 784-56-10 ReLU MLP trained on MNIST (float test accuracy ${(100 * meta.floatTestAccuracy).toFixed(1)}%)`);
  const r = await runModel(MODEL, {
    input: JSON.parse(readFileSync(inputPath, 'utf8')),
    calibration: { json: JSON.parse(readFileSync('examples/mnist-mlp/calibration.json', 'utf8')), source: 'examples/mnist-mlp/calibration.json' },
    progress: stderrProgress(),
  });
  const out = r.verification.output ?? r.bundle.output.values;
  const c = r.manifest.circuit;
  console.log(`input:       ${inputPath}${label === undefined ? '' : ` (label ${label})`}`);
  console.log(`prediction:  ${argmax(out)}   logits [${out.map((v) => v.toFixed(2)).join(', ')}]`);
  console.log(`circuit:     ${c.constraints} constraints, ${c.wires} wires, ${c.publicSignals} public signals (${r.dir})`);
  console.log(
    `timings:     compile ${r.compiled ? s(r.timings.compile) : 'cached'}, setup ${r.setupRan ? s(r.timings.setup) : 'cached'}, ` +
      `witness ${s(r.timings.witness)}, prove ${s(r.timings.prove)}, verify ${s(r.timings.verify)}`,
  );
  console.log(`bundle:      ${r.bundlePath}`);
  if (r.verification.valid) {
    console.log(`proof verified: the model with sha256 ${r.manifest.model.sha256.slice(0, 16)}... gave this output on this input.`);
    if (r.manifest.setup?.keyKind === 'dev') console.log('(dev key: a single-party setup made on this machine; fine for a demo, not for production)');
  } else {
    console.log(`PROOF REJECTED: ${r.verification.reason}`);
    process.exitCode = 1;
  }
} catch (e) {
  console.error(e instanceof ZkonnxError ? `zkonnx: ${e.message}` : e);
  process.exitCode = e instanceof ZkonnxError ? e.exitCode : 3;
} finally {
  await releaseCurve();
}
