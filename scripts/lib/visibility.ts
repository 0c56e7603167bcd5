/**
 * The visibility table of `npm run bench`: for the example MLP and CNN, each visibility setting compiled
 * (direct backend), set up (dev key), proven `runs` times and verified, with its EVM verifier's gas.
 * Figures: constraints (of them the visibility machinery's), public signals, setup, prove (median), verify,
 * and gas. Also runnable alone: `npx tsx scripts/lib/visibility.ts [--runs N] [--skip-params]`.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { benchEvmVerifier, stat } from '../../src/bench/bench.ts';
import { compileModel } from '../../src/compile/model.ts';
import { silentProgress, type ProgressReporter } from '../../src/progress.ts';
import { prove, readVerificationKey } from '../../src/prove/prove.ts';
import { setupKeys } from '../../src/setup/setup.ts';
import { artifactPath } from '../../src/artifacts/paths.ts';
import type { Visibility } from '../../src/verify/layout.ts';
import { verifyBundle } from '../../src/verify/verify.ts';

export interface VisibilityRow {
  model: string;
  visibility: Visibility;
  constraints: number;
  visibilityConstraints: number;
  publicSignals: number;
  setupSeconds: number;
  proveSeconds: number;
  verifyMs: number;
  verifyGas: number | null;
  note?: string;
}

const MODELS = [
  { name: 'MNIST MLP', file: 'examples/mnist-mlp/model.onnx', calibration: 'examples/mnist-mlp/calibration.json', input: 'examples/mnist-mlp/digit-3.json' },
  { name: 'MNIST CNN', file: 'examples/mnist-cnn/model.onnx', calibration: 'examples/mnist-cnn/calibration.json', input: 'examples/mnist-cnn/digit-3.json' },
];

/** Every input x output setting with constant weights; with hashed parameters, the all-public and the all-hashed one. */
export const SETTINGS: Visibility[] = [
  ...(['public', 'hashed', 'private'] as const).flatMap((input) => (['public', 'hashed'] as const).map((output) => ({ input, output, params: 'fixed' as const }))),
  { input: 'public', output: 'public', params: 'hashed' },
  { input: 'hashed', output: 'hashed', params: 'hashed' },
];

export async function visibilityTable(root: string, opts: { runs?: number; skipParams?: boolean; progress?: ProgressReporter } = {}): Promise<VisibilityRow[]> {
  const runs = opts.runs ?? 3;
  const progress = opts.progress ?? silentProgress;
  const rows: VisibilityRow[] = [];
  for (const m of MODELS) {
    const calibration = { json: JSON.parse(readFileSync(m.calibration, 'utf8')), source: m.calibration };
    const input = JSON.parse(readFileSync(m.input, 'utf8'));
    for (const v of SETTINGS) {
      if (opts.skipParams && v.params === 'hashed') continue;
      const label = `${m.name}: input ${v.input}, output ${v.output}, params ${v.params}`;
      const dir = join(root, `${m.file.split('/')[1]}-${v.input}-${v.output}-${v.params}`);
      await mkdir(dir, { recursive: true });
      const done = progress.step(`bench: visibility ${label}`);
      const c = await compileModel(m.file, { out: dir, calibration, visibility: v });
      const t0 = performance.now();
      await setupKeys(dir);
      const setupSeconds = (performance.now() - t0) / 1000;
      const proofs = [];
      for (let r = 0; r < runs; r++) proofs.push(await prove(dir, input));
      const vk = await readVerificationKey(artifactPath(dir, 'vk'));
      const t1 = performance.now();
      const check = await verifyBundle(proofs[0].bundle, vk);
      const verifyMs = performance.now() - t1;
      if (!check.valid) throw new Error(`bench: ${label}: the proof does not verify (${check.reason})`);
      const notes: string[] = [];
      let verifyGas: number | null = null;
      try {
        verifyGas = (await benchEvmVerifier(vk, proofs[0].bundle, dir, notes))?.verifyGas ?? null;
      } catch (e) {
        notes.push(`EVM verifier not measured: ${(e as Error).message.split('\n')[0]}`);
      }
      rows.push({
        model: m.name, visibility: v, constraints: c.manifest.circuit.constraints, visibilityConstraints: c.manifest.circuit.visibilityConstraints ?? 0,
        publicSignals: c.manifest.circuit.publicSignals, setupSeconds, proveSeconds: stat(proofs.map((p) => p.timings.proveSeconds)).median, verifyMs, verifyGas,
        ...(notes.length ? { note: notes.join('; ') } : {}),
      });
      done(`${c.manifest.circuit.constraints} constraints, prove ${rows[rows.length - 1].proveSeconds.toFixed(3)} s`);
    }
  }
  return rows;
}

const n = (x: number) => x.toLocaleString('en');

export function visibilityMarkdown(rows: VisibilityRow[]): string[] {
  return [
    '| model | input | output | params | constraints | of which visibility | public signals | setup | prove | verify | EVM gas |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) =>
      `| ${r.model} | ${r.visibility.input} | ${r.visibility.output} | ${r.visibility.params} | ${n(r.constraints)} | ${n(r.visibilityConstraints)} | ${r.publicSignals} | ${r.setupSeconds.toFixed(1)} s | ${r.proveSeconds.toFixed(3)} s | ${r.verifyMs.toFixed(0)} ms | ${r.verifyGas === null ? '-' : n(r.verifyGas)} |`),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const runs = Number(args[args.indexOf('--runs') + 1]) || 3;
  const { stderrProgress } = await import('../../src/progress.ts');
  const rows = await visibilityTable('artifacts/bench/visibility', { runs, skipParams: args.includes('--skip-params'), progress: stderrProgress() });
  console.log(visibilityMarkdown(rows).join('\n'));
  for (const r of rows) if (r.note) console.log(`note (${r.model}, ${r.visibility.input}/${r.visibility.output}/${r.visibility.params}): ${r.note}`);
  const { releaseCurve } = await import('../../src/curve.ts');
  await releaseCurve();
}
