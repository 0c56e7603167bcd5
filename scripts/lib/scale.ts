/**
 * The scale ladder of `npm run bench`: MLPs 64-W-4 with seeded random weights, W chosen so that the circuit
 * fills a 2^12, 2^14, 2^16, 2^18 and 2^20 domain (about 36 constraints per hidden unit), and the wide
 * 256-1024-512-10 MLP that circom2 cannot compile. Each stage is the CLI in its own process, as a user runs
 * it: `zkonnx compile` (direct backend), `setup` (dev key), `prove`, `verify`; the figures are the ones the
 * commands print with --json (seconds and the process's peak RSS), plus the wall time of the process.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mulberry32, randomMlp } from '../../src/onnx/builder.ts';
import type { ProgressReporter } from '../../src/progress.ts';

export interface StageFigure {
  /** What the command reports as its own time (compile: the circuit compiler's; setup: the key's). */
  seconds: number;
  /** The whole process, start to exit (loading Node and zkonnx included). */
  wallSeconds: number;
  peakRssMiB: number | null;
}

export interface ScaleRow {
  name: string;
  sizes: number[];
  weightTerms: number;
  constraints: number;
  domainPower: number;
  compile: StageFigure;
  setup: StageFigure;
  prove: StageFigure & { witnessSeconds: number };
  verify: StageFigure;
  valid: boolean;
}

/** Hidden widths of 64-W-4 MLPs for domains 2^12 .. 2^20. */
export const LADDER: [power: number, width: number][] = [[12, 100], [14, 420], [16, 1700], [18, 6900], [20, 27_500]];

function cli(args: string[]): { json: Record<string, unknown>; wallSeconds: number } {
  const t = performance.now();
  const out = execFileSync(process.execPath, ['bin/zkonnx.js', ...args, '--json', '--quiet'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const wallSeconds = (performance.now() - t) / 1000;
  return { json: JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>, wallSeconds };
}

const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);

export async function scaleModel(outDir: string, name: string, sizes: number[], progress: ProgressReporter): Promise<ScaleRow> {
  await mkdir(outDir, { recursive: true });
  const model = join(outDir, `${name}.onnx`);
  await writeFile(model, randomMlp({ sizes, seed: 5, style: 'gemm-transB' }).bytes);
  const rnd = mulberry32(6);
  const calibration = join(outDir, `${name}.calibration.json`);
  await writeFile(calibration, JSON.stringify(Array.from({ length: 16 }, () => Array.from({ length: sizes[0] }, () => rnd() * 2 - 1))));
  const input = join(outDir, `${name}.input.json`);
  await writeFile(input, JSON.stringify(Array.from({ length: sizes[0] }, () => rnd() * 2 - 1)));
  const dir = join(outDir, name);
  const bundle = join(dir, 'bundle.json');
  let done = progress.step(`bench scale: compile ${name}`);
  const c = cli(['compile', model, '--calibration', calibration, '--out', dir, '--force', '--backend', 'direct']);
  done(`${num(c.json.constraints).toLocaleString('en')} constraints`);
  done = progress.step(`bench scale: dev setup of ${name}`);
  const s = cli(['setup', dir]);
  done();
  done = progress.step(`bench scale: prove ${name}`);
  const p = cli(['prove', dir, '--input', input, '--out', bundle]);
  done();
  const v = cli(['verify', bundle, '--vk', join(dir, 'verification_key.json')]);
  const timings = p.json.timings as { witnessSeconds: number; proveSeconds: number };
  const manifest = JSON.parse(execFileSync('cat', [join(dir, 'manifest.json')], { encoding: 'utf8' })) as { setup: { domainPower: number } };
  let weightTerms = 0;
  for (let i = 1; i < sizes.length; i++) weightTerms += sizes[i - 1] * sizes[i];
  return {
    name, sizes, weightTerms,
    constraints: num(c.json.constraints),
    domainPower: manifest.setup.domainPower,
    compile: { seconds: num(c.json.seconds), wallSeconds: c.wallSeconds, peakRssMiB: (c.json.peakRssMiB as number | null) ?? null },
    setup: { seconds: num(s.json.seconds), wallSeconds: s.wallSeconds, peakRssMiB: (s.json.peakRssMiB as number | null) ?? null },
    prove: { seconds: timings.proveSeconds, witnessSeconds: timings.witnessSeconds, wallSeconds: p.wallSeconds, peakRssMiB: (p.json.peakRssMiB as number | null) ?? null },
    verify: { seconds: num(v.json.ms) / 1000, wallSeconds: v.wallSeconds, peakRssMiB: (v.json.peakRssMiB as number | null) ?? null },
    valid: v.json.valid === true,
  };
}

/** The ladder up to 2^maxPower, then the wide MLP. */
export async function scaleLadder(outDir: string, maxPower: number, progress: ProgressReporter): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  for (const [power, width] of LADDER) {
    if (power > maxPower) continue;
    rows.push(await scaleModel(outDir, `mlp-64-${width}-4`, [64, width, 4], progress));
  }
  rows.push(await scaleModel(outDir, 'mlp-256-1024-512-10', [256, 1024, 512, 10], progress));
  return rows;
}

const t = (s: number) => (s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(1)} s`);
const mem = (m: number | null) => (m === null ? '-' : m >= 1024 ? `${(m / 1024).toFixed(1)} GiB` : `${m} MiB`);

export function scaleMarkdown(rows: ScaleRow[]): string[] {
  return [
    '| model | weight terms | constraints | domain | compile | setup (dev key) | witness | prove | verify | peak RSS compile / setup / prove |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.name} | ${r.weightTerms.toLocaleString('en')} | ${r.constraints.toLocaleString('en')} | 2^${r.domainPower} | ${t(r.compile.seconds)} (${t(r.compile.wallSeconds)}) | ${t(r.setup.seconds)} | ${t(r.prove.witnessSeconds)} | ${t(r.prove.seconds)} | ${r.valid ? t(r.verify.seconds) : 'INVALID'} | ${mem(r.compile.peakRssMiB)} / ${mem(r.setup.peakRssMiB)} / ${mem(r.prove.peakRssMiB)} |`),
  ];
}
