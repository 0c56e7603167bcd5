/**
 * The proving node's queue on Redis (`zkonnx serve --redis URL`): a BullMQ Queue the server adds jobs to and
 * reads them back from, and QueueEvents for completions; `zkonnx worker` processes (src/serve/worker.ts) on any
 * number of machines take the jobs. BullMQ owns retries (attempts, exponential backoff), stalled-job recovery
 * (a job whose worker died goes back to waiting) and result expiry; this file only maps its states onto the
 * node's ProofQueue.
 *
 * Job ids are random UUIDs; a job's data is {modelId, input, timeoutMs}; its result is the ProofJobResult
 * (plain JSON: the bundle's field elements are decimal strings). A failed attempt's reason is stored as
 * `[CODE] message` (see failureReason) so the code survives Redis.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { OpeningFile } from '../prove/prove.ts';
import { connect } from 'node:net';
import { Queue, QueueEvents, type Job, type JobState } from 'bullmq';
import { ZkonnxError } from '../errors.ts';
import {
  JOB_ID,
  QueueFullError,
  type AddJobOptions,
  type BullQueueOptions,
  type JobView,
  type ProofJobData,
  type ProofJobResult,
  type ProofQueue,
} from './types.ts';

export const DEFAULT_QUEUE_NAME = 'zkonnx-proofs';

/** What a BullMQ job carries: the proof request and its per-attempt time limit. */
export interface BullJobData extends ProofJobData {
  timeoutMs: number;
  /** The model's input is hashed: the result has an opening (workers log a hash of the job id, not the id). */
  hashedInput?: boolean;
}

/**
 * The job hash field where a worker stores a hashed input's opening (JSON), apart from the job's result: the
 * server hands it out once (HGET, then the one HDEL that removes it), and BullMQ deletes it with the job.
 */
export const OPENING_FIELD = 'zkonnxOpening';

/** A short, stable stand-in for a job id in logs (a job whose result carries an opening must not be logged by id). */
export function jobIdDigest(id: string | undefined): string {
  return createHash('sha256').update(String(id)).digest('hex').slice(0, 16);
}

/** Redis cannot be reached (or refused us) at the given URL; exit code 2: the environment must change. */
export class RedisUnavailableError extends ZkonnxError {
  override name = 'RedisUnavailableError';
  override readonly code = 'REDIS_UNAVAILABLE';
}

/** A URL's parts for the reachability check; BullMQ's ioredis client parses the URL itself. */
export function parseRedisUrl(url: string): { host: string; port: number; tls: boolean } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ZkonnxError(`--redis: '${url}' is not a URL.`, { hint: 'Give it as redis://HOST:PORT (or rediss:// for TLS, redis://:PASSWORD@HOST:PORT/DB).' });
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new ZkonnxError(`--redis: '${url}' is not a redis:// or rediss:// URL.`, { hint: 'Give it as redis://HOST:PORT.' });
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  return { host, port: u.port ? Number(u.port) : 6379, tls: u.protocol === 'rediss:' };
}

/** The URL without its password, for messages and logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** BullMQ connection options for a redis:// URL (BullMQ makes the ioredis clients from them). */
export function redisConnection(url: string): { url: string; connectionName: string } {
  parseRedisUrl(url);
  return { url, connectionName: 'zkonnx' };
}

/**
 * Fail fast when nothing listens at the URL: a plain TCP connect with a short timeout, so a wrong --redis gives
 * one clear error instead of ioredis' endless reconnect loop.
 */
export async function checkRedisReachable(url: string, timeoutMs = 3000): Promise<void> {
  const { host, port } = parseRedisUrl(url);
  await new Promise<void>((resolve, reject) => {
    const sock = connect({ host, port });
    const fail = (why: string) => {
      sock.destroy();
      reject(
        new RedisUnavailableError(`Cannot reach Redis at ${redactRedisUrl(url)}: ${why}.`, {
          hint: 'Start redis-server there (Debian: apt-get install redis-server), or give the right --redis URL.',
        }),
      );
    };
    sock.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs} ms`));
    sock.once('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
    sock.once('connect', () => {
      sock.end();
      resolve();
    });
  });
}

/**
 * Wait until a BullMQ object's Redis connection is ready; RedisUnavailableError after `timeoutMs` or on an error
 * (wrong password, not Redis, ioredis missing). The object is closed on failure.
 */
export async function readyOrFail(what: { waitUntilReady(): Promise<unknown>; close(): Promise<void>; on(e: 'error', f: (e: Error) => void): unknown }, url: string, timeoutMs = 10_000): Promise<void> {
  let lastError: Error | undefined;
  what.on('error', (e: Error) => (lastError = e));
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      what.waitUntilReady(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`not ready after ${timeoutMs} ms`)), timeoutMs))),
    ]);
  } catch (e) {
    const err = lastError ?? (e as Error);
    await what.close().catch(() => undefined);
    if (/could not load the optional 'ioredis'/.test(err.message)) {
      throw new ZkonnxError('The Redis client library (ioredis) is not installed: BullMQ needs it for --redis.', {
        hint: 'Install it beside zkonnx: npm install ioredis@5.',
        cause: err,
      });
    }
    throw new RedisUnavailableError(`Redis at ${redactRedisUrl(url)} did not accept the connection: ${err.message}`, {
      hint: 'Check the URL (password, database number) and that it is a Redis server (6.2 or newer).',
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** A failed attempt's reason as stored in Redis: `[CODE] message`. */
export function failureReason(code: string, message: string): string {
  return `[${code}] ${message}`;
}

/** The code and message of a stored failure reason (BullMQ's own reasons, e.g. a stalled job's, are INTERNAL / STALLED). */
export function parseFailureReason(reason: string | undefined): { code: string; message: string } {
  const m = /^\[([A-Z0-9_]+)\] ([\s\S]*)$/.exec(reason ?? '');
  if (m) return { code: m[1]!, message: m[2]! };
  if (/stalled/i.test(reason ?? '')) return { code: 'STALLED', message: `The job's worker stopped ${reason ? `(${reason})` : ''}, too many times.` };
  return { code: 'INTERNAL', message: reason || 'The job failed.' };
}

function statusOf(state: JobState | 'unknown'): JobView['status'] | undefined {
  switch (state) {
    case 'waiting':
    case 'delayed':
    case 'prioritized':
    case 'waiting-children':
      return 'queued';
    case 'active':
      return 'active';
    case 'completed':
      return 'completed';
    case 'failed':
      return 'failed';
    default:
      return undefined;
  }
}

/** A BullMQ job as the node shows it (undefined when it has expired in between). */
export async function jobView(job: Job<BullJobData, ProofJobResult>): Promise<JobView | undefined> {
  const status = statusOf(await job.getState());
  if (!status) return undefined;
  const view: JobView = {
    id: job.id!,
    modelId: job.data.modelId,
    status,
    attempts: Math.max(job.attemptsMade ?? 0, job.attemptsStarted ?? 0),
    createdAt: new Date(job.timestamp).toISOString(),
  };
  if ((status === 'completed' || status === 'failed') && job.finishedOn) view.finishedAt = new Date(job.finishedOn).toISOString();
  if (status === 'completed') {
    // The opening is never part of a view (see OPENING_FIELD).
    const { opening: _opening, ...result } = job.returnvalue ?? ({} as ProofJobResult);
    view.result = result as ProofJobResult;
  }
  if (status === 'failed') view.error = parseFailureReason(job.failedReason);
  return view;
}

/** Seconds a proof took on a worker, for Retry-After; the last 20 kept. */
class RecentDurations {
  private readonly seconds: number[] = [];
  add(s: number): void {
    if (!(s >= 0) || !Number.isFinite(s)) return;
    this.seconds.push(s);
    if (this.seconds.length > 20) this.seconds.shift();
  }
  mean(fallback: number): number {
    return this.seconds.length ? this.seconds.reduce((a, b) => a + b, 0) / this.seconds.length : fallback;
  }
}

/**
 * The server's side of the Redis queue: connects (RedisUnavailableError naming the URL when it cannot), then adds,
 * reads and waits on jobs. Workers are separate processes (`zkonnx worker --redis URL`) sharing the models.
 */
export async function createBullQueue(opts: BullQueueOptions): Promise<ProofQueue> {
  const url = opts.redisUrl;
  const name = opts.queueName ?? DEFAULT_QUEUE_NAME;
  await checkRedisReachable(url);
  const queue = new Queue<BullJobData, ProofJobResult>(name, { connection: redisConnection(url) });
  await readyOrFail(queue, url);
  const events = new QueueEvents(name, { connection: redisConnection(url) });
  try {
    await readyOrFail(events, url);
  } catch (e) {
    await queue.close().catch(() => undefined);
    throw e;
  }
  const durations = new RecentDurations();
  const listeners: ((job: JobView) => void)[] = [];
  /** Jobs someone waits for: called on any completed/failed event of that id (a failed attempt may be retried). */
  const waiters = new Map<string, Set<() => void>>();
  /** No new jobs (close() was called). */
  let closed = false;
  /** close()'s grace period is over: waiters answer with the state they last read. */
  let released = false;

  const getJob = (id: string) => queue.getJob(id) as Promise<Job<BullJobData, ProofJobResult> | undefined>;
  const get = async (id: string): Promise<JobView | undefined> => {
    // Only the UUIDs add() makes: any other string could name one of BullMQ's own keys ('events', 'stalled-check', ...).
    if (typeof id !== 'string' || !JOB_ID.test(id)) return undefined;
    const job = await getJob(id);
    return job ? jobView(job) : undefined;
  };

  const finished = async (jobId: string) => {
    for (const w of waiters.get(jobId) ?? []) w();
    if (!listeners.length) return;
    const view = await get(jobId).catch(() => undefined);
    // A failed attempt that will be retried is 'queued' again: only final outcomes are reported.
    if (!view || (view.status !== 'completed' && view.status !== 'failed')) return;
    for (const l of listeners) l(view);
  };
  events.on('completed', ({ jobId, returnvalue }) => {
    const t = (returnvalue as unknown as ProofJobResult | undefined)?.timings;
    if (t) durations.add(t.witnessSeconds + t.proveSeconds + t.verifySeconds);
    void finished(jobId);
  });
  events.on('failed', ({ jobId }) => void finished(jobId));
  // Redis hiccups after start: ioredis reconnects by itself; keep the process alive meanwhile.
  queue.on('error', () => undefined);
  events.on('error', () => undefined);

  return {
    kind: 'redis',

    async add(data: ProofJobData, addOpts: AddJobOptions): Promise<JobView> {
      if (closed) throw new ZkonnxError('The proof queue is closed (the server is shutting down).');
      const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
      const waiting = (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.delayed ?? 0);
      if (waiting >= opts.maxQueued) {
        // Time for the jobs ahead to drain over the workers there are (at least one: a worker may be starting).
        const workers = Math.max(1, await queue.getWorkersCount().catch(() => 1));
        const seconds = Math.ceil(((waiting + 1) * durations.mean(5)) / workers);
        throw new QueueFullError(Math.min(600, Math.max(1, seconds)), opts.maxQueued);
      }
      const keep = { age: Math.max(1, Math.round(opts.keepResultsSeconds)) };
      const job = await queue.add(data.modelId, { modelId: data.modelId, input: data.input, timeoutMs: addOpts.timeoutMs, ...(addOpts.hashedInput ? { hashedInput: true } : {}) }, {
        jobId: randomUUID(),
        attempts: Math.max(1, opts.attempts),
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: keep,
        removeOnFail: keep,
      });
      return {
        id: job.id!,
        modelId: data.modelId,
        status: 'queued',
        attempts: 0,
        createdAt: new Date(job.timestamp).toISOString(),
      };
    },

    get,

    async takeOpening(id: string): Promise<OpeningFile | undefined> {
      if (typeof id !== 'string' || !JOB_ID.test(id)) return undefined;
      const client = await queue.getBackend().client;
      const key = queue.toKey(id);
      const json = await client.hget(key, OPENING_FIELD);
      // Of concurrent takers, only the one whose HDEL removed the field hands it out.
      if (!json || (await client.hdel(key, OPENING_FIELD)) !== 1) return undefined;
      return JSON.parse(json) as OpeningFile;
    },

    async wait(id: string, timeoutMs: number): Promise<JobView | undefined> {
      let wake: () => void = () => undefined;
      const set = waiters.get(id) ?? new Set();
      waiters.set(id, set);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), Math.max(0, timeoutMs))));
      try {
        for (;;) {
          // Listen before reading, so an event between the read and the listen is not missed.
          const event = new Promise<'event'>((r) => {
            wake = () => r('event');
            set.add(wake);
          });
          const view = await get(id);
          if (!view || view.status === 'completed' || view.status === 'failed') return view;
          const why = await Promise.race([event, timedOut]);
          if (released) return view;
          if (why === 'timeout') return get(id);
          set.delete(wake);
        }
      } finally {
        clearTimeout(timer);
        set.delete(wake);
        if (!set.size) waiters.delete(id);
      }
    },

    onFinished(listener: (job: JobView) => void): void {
      listeners.push(listener);
    },

    async depth(): Promise<{ waiting: number; active: number }> {
      const c = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
      return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0), active: c.active ?? 0 };
    },

    // The server runs no jobs: they stay in Redis, and running ones finish on their workers. Clients waiting for a
    // proof get it if it arrives within `graceMs` (the events connection stays open meanwhile), else their job as
    // it stands (202: poll it, on this node after its restart or on another one).
    async close(graceMs = 0): Promise<void> {
      if (closed) return;
      closed = true;
      const end = Date.now() + Math.max(0, graceMs);
      while (waiters.size && Date.now() < end) await new Promise((d) => setTimeout(d, Math.min(50, Math.max(1, end - Date.now()))));
      released = true;
      for (const set of waiters.values()) for (const w of set) w();
      // Let the woken waiters answer before the connections close.
      await new Promise((d) => setImmediate(d));
      await Promise.allSettled([events.close(), queue.close()]);
    },
  };
}
