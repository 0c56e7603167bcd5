/**
 * The proving node in tests: a real `zkonnx serve` (or `zkonnx worker`) process from bin/zkonnx.js, small
 * compiled + set-up models to serve, and HTTP calls over loopback. Shared by test/serve*.test.ts and the
 * Redis tests (keep these exports stable).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compileModel } from '../../src/compile/model.ts';
import { mulberry32, randomMlp } from '../../src/onnx/builder.ts';
import { setupKeys } from '../../src/setup/setup.ts';
import type { Visibility } from '../../src/verify/layout.ts';
import { ROOT } from './cli.ts';

export interface ServeProcess {
  /** http://HOST:PORT, from the `zkonnx serve: listening on ...` line. */
  url: string;
  proc: ChildProcess;
  /** Everything the process wrote so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process exits (code, or null when killed by a signal, with the signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Send `signal` (default SIGTERM) and wait for the exit; SIGKILL after `killAfterMs` (default 90 s). */
  stop(signal?: NodeJS.Signals, killAfterMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Start a long-running CLI command (`serve` by default: `args` are its flags) and resolve once it printed a
 * line matching `ready` (for serve: `zkonnx serve: listening on http://...`). Rejects with its stderr when it
 * exits first or takes longer than `timeoutMs`.
 */
export function startCommand(args: string[], env: NodeJS.ProcessEnv = {}, opts: { ready?: RegExp; timeoutMs?: number } = {}): Promise<ServeProcess> {
  const ready = opts.ready ?? /zkonnx serve: listening on (http:\/\/\S+)/;
  const proc = spawn(process.execPath, ['bin/zkonnx.js', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => proc.once('exit', (code, signal) => done({ code, signal })));
  const handle = (url: string): ServeProcess => ({
    url,
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(signal = 'SIGTERM', killAfterMs = 90_000) {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill(signal);
        const t = setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
        const r = await exited;
        clearTimeout(t);
        return r;
      }
      return exited;
    },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`zkonnx ${args.join(' ')}: not ready after ${opts.timeoutMs ?? 120_000} ms.\nstdout: ${out}\nstderr: ${err.slice(-4000)}`));
    }, opts.timeoutMs ?? 120_000);
    const check = () => {
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.stdout!.off('data', check);
        resolve(handle(m[1] ?? ''));
      }
    };
    proc.stdout!.on('data', check);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`zkonnx ${args.join(' ')} exited (${code ?? signal}) before it was ready.\nstdout: ${out}\nstderr: ${err.slice(-4000)}`));
    });
  });
}

/** `zkonnx serve ARGS` (e.g. ['--port', '0', '--models', dir]); resolves with its URL once it listens. */
export function startServe(args: string[], env: NodeJS.ProcessEnv = {}, opts: { timeoutMs?: number } = {}): Promise<ServeProcess> {
  return startCommand(['serve', ...args], env, opts);
}

export interface ServedModel {
  id: string;
  dir: string;
  /** The ONNX file it was compiled from (beside the models root, not in it). */
  onnxPath: string;
  /** Number of input values (shape [1, inputSize]). */
  inputSize: number;
  /** A deterministic input in [-1, 1), as the JSON an input file holds: {"input": [[...]]}. */
  input(seed: number): { input: number[][] };
}

/**
 * A small random MLP (`sizes`, default [8, 6, 4]: ~200 constraints, proofs ~0.1 s) compiled (with `visibility`,
 * default public input and output) and set up (dev key) into ROOT/ID, ready for `zkonnx serve --models ROOT`.
 * The .onnx file is written beside ROOT.
 */
export async function setUpModel(root: string, id: string, opts: { sizes?: number[]; seed?: number; visibility?: Partial<Visibility> } = {}): Promise<ServedModel> {
  const sizes = opts.sizes ?? [8, 6, 4];
  const seed = opts.seed ?? 7;
  await mkdir(root, { recursive: true });
  const onnxPath = join(root, '..', `${id}.onnx`);
  await writeFile(onnxPath, randomMlp({ sizes, seed, style: 'gemm' }).bytes);
  const dir = join(root, id);
  const calibration = Array.from({ length: 16 }, (_, i) => randomRow(sizes[0]!, seed * 1000 + i));
  await compileModel(onnxPath, { out: dir, calibration: calibration.map((r) => Float64Array.from(r)), ...(opts.visibility ? { visibility: opts.visibility } : {}) });
  await setupKeys(dir);
  return { id, dir, onnxPath, inputSize: sizes[0]!, input: (s) => ({ input: [randomRow(sizes[0]!, s)] }) };
}

/** `n` deterministic values in [-1, 1). */
export function randomRow(n: number, seed: number): number[] {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, () => Math.round((rnd() * 2 - 1) * 1e4) / 1e4);
}

export interface HttpReply {
  status: number;
  headers: Headers;
  /** Parsed JSON (or the text when the body is not JSON). */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

async function reply(r: Response): Promise<HttpReply> {
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: r.status, headers: r.headers, body, text };
}

/** POST a JSON body (an object, or a string sent as it is). */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpReply> {
  return reply(await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) }));
}

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<HttpReply> {
  return reply(await fetch(url, { headers }));
}

/** Poll GET /v1/jobs/ID until the job is completed or failed (or `timeoutMs` passes: the last view). */
export async function pollJob(base: string, id: string, timeoutMs = 120_000): Promise<HttpReply> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await getJson(`${base}/v1/jobs/${id}`);
    if (r.status !== 200 || r.body.status === 'completed' || r.body.status === 'failed' || Date.now() > end) return r;
    await new Promise((d) => setTimeout(d, 100));
  }
}
