/**
 * The proving node under load (section 8 of `npm run bench`): `zkonnx serve` driven over loopback by concurrent
 * HTTP clients, for the MNIST MLP and CNN, with one and two provers — in the embedded mode (`--concurrency 1|2`)
 * and, when `redis-server` is installed, in the Redis/BullMQ mode (`serve --redis` and one or two
 * `zkonnx worker` processes). Each client sends `POST /v1/models/ID/infer` with `wait` and sends the next request
 * when the proof returns; the figures are proofs per minute over the whole run and the p50/p95 of the request
 * latency (queueing + witness + proof, as a client sees it). Every returned bundle is verified (verifyBundle
 * against the served key): a run with a failed or invalid proof throws.
 * Also runnable alone: `npx tsx scripts/lib/serve-bench.ts [--clients 4] [--jobs-mlp 40] [--jobs-cnn 8] [--skip-redis]`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { artifactPath } from '../../src/artifacts/paths.ts';
import { silentProgress, type ProgressReporter } from '../../src/progress.ts';
import { readVerificationKey } from '../../src/prove/prove.ts';
import { runModel } from '../../src/run.ts';
import type { ProofBundle } from '../../src/verify/types.ts';
import { verifyBundle } from '../../src/verify/verify.ts';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const BIN = join(ROOT, 'bin', 'zkonnx.js');

export interface ServeBenchRow {
  mode: 'embedded' | 'redis';
  workers: number;
  model: string;
  clients: number;
  jobs: number;
  seconds: number;
  proofsPerMinute: number;
  p50: number;
  p95: number;
}

export interface ServeBenchOptions {
  progress?: ProgressReporter;
  clients?: number;
  /** Jobs per (mode, workers) run for each model. */
  jobs?: Record<string, number>;
  skipRedis?: boolean;
}

const MODELS = [
  { id: 'mnist-mlp', dir: 'examples/mnist-mlp' },
  { id: 'mnist-cnn', dir: 'examples/mnist-cnn' },
];
const DIGITS = ['digit-0.json', 'digit-3.json', 'digit-5.json', 'digit-7.json', 'digit-9.json'];

/** Compile and set up the examples under `modelsDir/ID` (cached by runModel: a current directory is reused). */
async function prepareModels(modelsDir: string, progress: ProgressReporter): Promise<void> {
  for (const m of MODELS) {
    const input = JSON.parse(await readFile(join(m.dir, DIGITS[0]), 'utf8'));
    const calibration = { json: JSON.parse(await readFile(join(m.dir, 'calibration.json'), 'utf8')), source: join(m.dir, 'calibration.json') };
    const done = progress.step(`serve bench: compile and set up ${m.id}`);
    await runModel(join(m.dir, 'model.onnx'), { input, calibration, out: join(modelsDir, m.id), bundleOut: join(tmpdir(), `zkonnx-serve-bench-${process.pid}.json`) });
    done();
  }
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/** Start a process and resolve once a stdout line matches `ready` (rejects if it exits first or after 120 s). */
function startProcess(cmd: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<{ proc: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((ok, fail) => {
    const proc = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => fail(new Error(`${args.slice(0, 2).join(' ')}: not ready after 120 s\n${err.slice(-2000)}`)), 120_000);
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        ok({ proc, match: m });
      }
    });
    proc.stderr!.on('data', (d) => (err = (err + d).slice(-20_000)));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`${cmd} ${args.join(' ')} exited (${code}) before it was ready:\n${err.slice(-2000)}`));
    });
  });
}

async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((ok) => proc.once('exit', ok));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 90_000);
  await exited;
  clearTimeout(timer);
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

/** `clients` loops sending infer requests until `jobs` proofs have returned; every bundle verified. */
async function drive(url: string, modelId: string, inputs: unknown[], vk: Awaited<ReturnType<typeof readVerificationKey>>, clients: number, jobs: number): Promise<{ seconds: number; latencies: number[] }> {
  let next = 0;
  const latencies: number[] = [];
  const bundles: ProofBundle[] = [];
  const t0 = performance.now();
  const client = async (): Promise<void> => {
    while (next < jobs) {
      const k = next++;
      const t = performance.now();
      const res = await fetch(`${url}/v1/models/${modelId}/infer`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: inputs[k % inputs.length], wait: 600 }),
      });
      const body = (await res.json()) as { bundle?: ProofBundle; error?: { message: string } };
      if (res.status !== 200 || !body.bundle) throw new Error(`infer ${modelId} #${k}: HTTP ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
      latencies.push((performance.now() - t) / 1000);
      bundles.push(body.bundle);
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const seconds = (performance.now() - t0) / 1000;
  for (const b of bundles) {
    const v = await verifyBundle(b, vk);
    if (!v.valid) throw new Error(`a bundle of ${modelId} does not verify: ${v.reason}`);
  }
  return { seconds, latencies: latencies.sort((a, b) => a - b) };
}

async function startRedis(): Promise<{ url: string; proc: ChildProcess; dir: string } | undefined> {
  const which = spawn('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' });
  if ((await new Promise((ok) => which.once('exit', ok))) !== 0) return undefined;
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'zkonnx-bench-redis-'));
  const { proc } = await startProcess('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], /Ready to accept connections/);
  return { url: `redis://127.0.0.1:${port}`, proc, dir };
}

export async function serveBench(outDir: string, opts: ServeBenchOptions = {}): Promise<ServeBenchRow[]> {
  const progress = opts.progress ?? silentProgress;
  const clients = opts.clients ?? 4;
  const jobsOf = (id: string) => opts.jobs?.[id] ?? (id === 'mnist-cnn' ? 8 : 40);
  const modelsDir = resolve(outDir, 'models');
  await mkdir(modelsDir, { recursive: true });
  await prepareModels(modelsDir, progress);
  const inputs: Record<string, unknown[]> = {};
  const vks: Record<string, Awaited<ReturnType<typeof readVerificationKey>>> = {};
  for (const m of MODELS) {
    inputs[m.id] = await Promise.all(DIGITS.map(async (d) => JSON.parse(await readFile(join(m.dir, d), 'utf8'))));
    vks[m.id] = await readVerificationKey(artifactPath(join(modelsDir, m.id), 'vk'));
  }
  const rows: ServeBenchRow[] = [];
  const measure = async (mode: ServeBenchRow['mode'], workers: number, url: string): Promise<void> => {
    // First one proof per prover of every model: each prover has its keys loaded, its curve built and its warm-up
    // proofs done before any clock starts (a warm-up running during a measurement would be counted in it).
    for (const m of MODELS) await drive(url, m.id, inputs[m.id], vks[m.id], workers, 2 * workers);
    for (const m of MODELS) {
      const done = progress.step(`serve bench: ${mode}, ${workers} worker(s), ${m.id}, ${jobsOf(m.id)} proofs from ${clients} clients`);
      const { seconds, latencies } = await drive(url, m.id, inputs[m.id], vks[m.id], clients, jobsOf(m.id));
      done();
      rows.push({ mode, workers, model: m.id, clients, jobs: jobsOf(m.id), seconds, proofsPerMinute: (60 * jobsOf(m.id)) / seconds, p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95) });
    }
  };
  const listening = /zkonnx serve: listening on (http:\/\/\S+)/;
  for (const workers of [1, 2]) {
    const { proc, match } = await startProcess(process.execPath, [BIN, 'serve', '--port', '0', '--models', modelsDir, '--concurrency', String(workers), '--max-queued', '256', '--log-level', 'warn'], listening);
    try {
      await measure('embedded', workers, match[1]);
    } finally {
      await stopProcess(proc);
    }
  }
  if (!opts.skipRedis) {
    const redis = await startRedis();
    if (!redis) progress.info('serve bench: redis-server is not installed; the Redis/BullMQ rows are left out (apt-get install redis-server)');
    else {
      try {
        for (const workers of [1, 2]) {
          const queueName = `bench-${process.pid}-${workers}`;
          const { proc, match } = await startProcess(process.execPath, [BIN, 'serve', '--port', '0', '--models', modelsDir, '--redis', redis.url, '--queue-name', queueName, '--max-queued', '256', '--log-level', 'warn'], listening);
          const ws: ChildProcess[] = [];
          try {
            for (let w = 0; w < workers; w++) {
              ws.push((await startProcess(process.execPath, [BIN, 'worker', '--redis', redis.url, '--queue-name', queueName, '--models', modelsDir, '--concurrency', '1', '--log-level', 'warn'], /zkonnx worker: ready/)).proc);
            }
            await measure('redis', workers, match[1]);
          } finally {
            await Promise.all(ws.map(stopProcess));
            await stopProcess(proc);
          }
        }
      } finally {
        await stopProcess(redis.proc);
        await rm(redis.dir, { recursive: true, force: true });
      }
    }
  }
  return rows;
}

export function serveMarkdown(rows: ServeBenchRow[]): string[] {
  const f = (x: number, d = 2) => x.toFixed(d);
  return [
    '| mode | provers | model | clients | proofs | proofs/min | p50 latency (s) | p95 latency (s) |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.mode} | ${r.workers} | ${r.model} | ${r.clients} | ${r.jobs} | ${f(r.proofsPerMinute, 1)} | ${f(r.p50)} | ${f(r.p95)} |`),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const num = (flag: string, d: number) => (args.includes(flag) ? Number(args[args.indexOf(flag) + 1]) : d);
  const { stderrProgress } = await import('../../src/progress.ts');
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const rows = await serveBench('artifacts/bench/serve', {
    progress: stderrProgress(), clients: num('--clients', 4), jobs: { 'mnist-mlp': num('--jobs-mlp', 40), 'mnist-cnn': num('--jobs-cnn', 8) }, skipRedis: args.includes('--skip-redis'),
  });
  console.log(serveMarkdown(rows).join('\n'));
  process.exit(0);
}
