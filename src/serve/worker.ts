/**
 * `zkonnx worker --redis URL`: a BullMQ Worker that takes proof jobs off the queue `zkonnx serve --redis` fills,
 * on any number of machines sharing the models directory.
 *
 * - Each job is proved in a prover process (src/serve/worker-process.ts; one per concurrent job, reused, so keys
 *   and witness calculators stay loaded). The worker's own event loop never blocks, so BullMQ renews the job's lock on time
 *   with a short lock (10 s) and another worker's stalled-job check (every 5 s) picks up the job of a worker
 *   that died within ~10-15 s.
 * - Per-job time limit (the job's `timeoutMs`): the prover process is killed and the attempt fails with TIMEOUT
 *   (retried like any other transient failure; a fresh process takes the next job).
 * - InputError (bad input for the model) and ArtifactError (unknown or unusable model) fail the job at once
 *   (UnrecoverableError); other failures are retried with BullMQ's exponential backoff up to the job's attempts.
 * - close(): stop taking jobs, finish the running ones, then stop the prover processes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { ZkonnxError } from '../errors.ts';
import { checkRedisReachable, DEFAULT_QUEUE_NAME, failureReason, jobIdDigest, OPENING_FIELD, readyOrFail, redactRedisUrl, redisConnection, type BullJobData } from './bullmq.ts';
import type { ProofJobData, ProofJobResult } from './types.ts';
import type { ProverReply, ProverRequest } from './worker-process.ts';

/** A proof ran past its job's time limit. */
export class JobTimeoutError extends ZkonnxError {
  override name = 'JobTimeoutError';
  override readonly code = 'TIMEOUT';
}

/** Codes that no retry can fix: the input or the model is wrong. */
export const UNRECOVERABLE_CODES = new Set(['BAD_INPUT', 'ARTIFACT']);

/** Used when a job carries no usable time limit. */
const DEFAULT_JOB_TIMEOUT_MS = 10 * 60_000;

/** Minimal structured logger (pino's shape); the CLI passes pino writing JSON lines to stderr. */
export interface WorkerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

const silentLogger: WorkerLogger = { info() {}, warn() {}, error() {}, debug() {} };

/** The prover process's module beside this file: worker-process.js in dist/, worker-process.ts from the sources (run through tsx). */
function proverModule(): { path: string; execArgv: string[] } {
  const js = new URL('./worker-process.js', import.meta.url);
  if (existsSync(js)) return { path: fileURLToPath(js), execArgv: [] };
  const ts = new URL('./worker-process.ts', import.meta.url);
  if (existsSync(ts)) return { path: fileURLToPath(ts), execArgv: ['--import', 'tsx'] };
  throw new ZkonnxError(`The prover process file is missing beside ${import.meta.url} (worker-process.js).`, { hint: 'Rebuild zkonnx (npm run build).' });
}

/**
 * Prover processes, at most one per concurrent job (BullMQ's concurrency bounds how many run at once). A process
 * that finished a job waits for the next; one that timed out or died is replaced by a fresh one.
 */
export class ProverProcesses {
  private readonly idle: ChildProcess[] = [];
  private readonly busy = new Set<ChildProcess>();

  constructor(readonly modelsDir: string) {}

  /** Prover processes alive (idle or proving). */
  get size(): number {
    return this.idle.length + this.busy.size;
  }

  private spawn(): ChildProcess {
    const { path, execArgv } = proverModule();
    // stdout to our stderr: our stdout carries only the ready line.
    const child = fork(path, [this.modelsDir], { execArgv, stdio: ['ignore', 2, 2, 'ipc'], serialization: 'json' });
    child.on('error', () => undefined);
    return child;
  }

  run(data: ProofJobData, timeoutMs: number): Promise<ProofJobResult> {
    const child = this.idle.pop() ?? this.spawn();
    this.busy.add(child);
    return new Promise<ProofJobResult>((resolve, reject) => {
      let settled = false;
      const done = (keep: boolean, f: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.off('message', onMessage).off('exit', onExit);
        this.busy.delete(child);
        if (keep) this.idle.push(child);
        else child.kill('SIGKILL');
        f();
      };
      const onMessage = (reply: ProverReply) => {
        if (reply.ok) done(true, () => resolve(reply.result as ProofJobResult));
        else done(true, () => reject(Object.assign(new Error(reply.error.message), { name: reply.error.name, code: reply.error.code })));
      };
      const onExit = (code: number | null, signal: string | null) =>
        done(false, () => reject(Object.assign(new Error(`The prover process exited (${code ?? signal}) during the proof.`), { code: 'INTERNAL' })));
      const timer = setTimeout(
        () => done(false, () => reject(new JobTimeoutError(`The proof ran past its time limit (${Math.round(timeoutMs)} ms) and was stopped.`, { hint: 'Give the job a longer timeout, or use a smaller model.' }))),
        timeoutMs,
      );
      child.on('message', onMessage).on('exit', onExit);
      child.send({ data } satisfies ProverRequest);
    });
  }

  /** Stop every prover process (running proofs are cut off: call after the BullMQ worker has closed). */
  async close(): Promise<void> {
    const all = [...this.idle, ...this.busy];
    this.idle.length = 0;
    this.busy.clear();
    await Promise.all(
      all.map((c) => {
        if (c.exitCode !== null || c.signalCode !== null) return undefined;
        const gone = new Promise<void>((d) => c.once('exit', () => d()));
        c.kill('SIGKILL');
        return gone;
      }),
    );
  }
}

export interface RunWorkerOptions {
  redisUrl: string;
  queueName?: string;
  /** Jobs proved at once (one prover process each). Default 1. */
  concurrency?: number;
  /** The models root: each model id is a folder under it (the server's --models). */
  modelsDir: string;
  /** Shown on jobs as processedBy. Default HOST:PID. */
  name?: string;
  logger?: WorkerLogger;
  /** BullMQ job lock in ms (renewed at half of it while the job runs). Default 10 s. */
  lockDurationMs?: number;
  /** How often this worker looks for jobs whose worker died, in ms. Default 5 s. */
  stalledIntervalMs?: number;
}

export interface RunningWorker {
  readonly name: string;
  readonly queueName: string;
  readonly concurrency: number;
  readonly worker: Worker<BullJobData, ProofJobResult>;
  /** Stop taking jobs, let the running ones finish, then stop the prover processes and disconnect. */
  close(): Promise<void>;
}

/** The stored failure of one attempt: UnrecoverableError for input/model errors, else a retryable Error. */
export function attemptError(e: unknown): Error {
  const err = e as { code?: unknown; message?: string };
  const code = typeof err?.code === 'string' && /^[A-Z0-9_]+$/.test(err.code) ? err.code : 'INTERNAL';
  const reason = failureReason(code, err?.message ?? String(e));
  return UNRECOVERABLE_CODES.has(code) ? new UnrecoverableError(reason) : new Error(reason);
}

/**
 * Connect to Redis (RedisUnavailableError naming the URL when it cannot) and start taking jobs. Resolves once the
 * worker is connected and running.
 */
export async function runWorker(opts: RunWorkerOptions): Promise<RunningWorker> {
  const queueName = opts.queueName ?? DEFAULT_QUEUE_NAME;
  const concurrency = opts.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new ZkonnxError(`--concurrency: ${concurrency} is not a whole number from 1 to 64.`);
  }
  const name = opts.name ?? `${hostname()}:${process.pid}`;
  const log = opts.logger ?? silentLogger;
  const lockDuration = opts.lockDurationMs ?? 10_000;
  await checkRedisReachable(opts.redisUrl);
  // A hashed-input job (its result carries the private input's opening) is logged by a hash of its id.
  const jobRef = (job: Job<BullJobData, ProofJobResult>) => (job.data.hashedInput ? { job: jobIdDigest(job.id) } : { jobId: job.id });
  const provers = new ProverProcesses(opts.modelsDir);

  const processor = async (job: Job<BullJobData, ProofJobResult>): Promise<ProofJobResult> => {
    const { modelId, input, timeoutMs } = job.data;
    const limit = typeof timeoutMs === 'number' && timeoutMs > 0 ? timeoutMs : DEFAULT_JOB_TIMEOUT_MS;
    log.info({ ...jobRef(job), modelId, attempt: job.attemptsStarted, worker: name }, 'job started');
    let result: ProofJobResult;
    try {
      result = await provers.run({ modelId, input }, limit);
    } catch (e) {
      throw attemptError(e);
    }
    // A hashed input's opening goes beside the result, in the job's own hash: the server hands it out once.
    const { opening, ...rest } = result;
    if (opening) {
      const client = await worker.getBackend().client;
      await client.hset(worker.toKey(job.id!), { [OPENING_FIELD]: JSON.stringify(opening) });
    }
    return rest as ProofJobResult;
  };

  const worker = new Worker<BullJobData, ProofJobResult>(queueName, processor, {
    connection: redisConnection(opts.redisUrl),
    name,
    concurrency,
    autorun: false,
    lockDuration,
    stalledInterval: opts.stalledIntervalMs ?? 5_000,
    // A job whose worker died twice is failed (STALLED) rather than passed around forever.
    maxStalledCount: 2,
  });
  worker.on('completed', (job, result) => {
    const t = result?.timings;
    log.info({ ...jobRef(job), modelId: job.data.modelId, worker: name, proveSeconds: t?.proveSeconds, witnessSeconds: t?.witnessSeconds }, 'job completed');
  });
  worker.on('failed', (job, err) => {
    const final = !job || err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    log.warn({ jobId: job?.id, modelId: job?.data.modelId, worker: name, reason: err.message, attemptsMade: job?.attemptsMade, final }, 'job attempt failed');
  });
  worker.on('stalled', (jobId) => log.warn({ jobId, worker: name }, 'job stalled (its worker stopped): back to the queue'));

  try {
    await readyOrFail(worker, opts.redisUrl);
  } catch (e) {
    await provers.close();
    throw e;
  }
  // Connection errors before this are the startup error thrown above; from now on ioredis reconnects by itself.
  worker.on('error', (e) => log.error({ worker: name, err: e.message }, 'worker error'));
  const running = worker.run().catch((e: Error) => log.error({ worker: name, err: e.message }, 'worker stopped on an error'));
  log.info({ worker: name, queue: queueName, concurrency, redis: redactRedisUrl(opts.redisUrl), models: opts.modelsDir }, 'worker ready');

  let closing: Promise<void> | undefined;
  return {
    name,
    queueName,
    concurrency,
    worker,
    close() {
      closing ??= (async () => {
        await worker.close();
        await running;
        await provers.close();
      })();
      return closing;
    },
  };
}
