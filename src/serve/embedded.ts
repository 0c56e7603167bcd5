/**
 * The embedded queue (`zkonnx serve` without --redis): an in-process FIFO bounded by `maxQueued`, and a pool
 * of `concurrency` prover child processes (src/serve/pool-worker.ts), each proving one job at a time with its
 * keys kept loaded. A job's time limit covers its own proof only: it starts when the child says the proof began
 * (a warm-up of a freshly loaded model, which the child skips when a job is waiting, never counts). A job running past its time limit kills its child (a fresh one replaces it) and fails with
 * TIMEOUT; a child that dies under a job is replaced and the job is tried once more on a fresh child, then
 * fails with WORKER_DIED. Finished jobs stay readable for `keepResultsSeconds`.
 *
 * Proofs run in child processes, never on the server's thread: a proof's CPU work (and a crash or a hang in
 * it) cannot stall the HTTP layer, and a timed-out proof can be stopped for certain (by killing its process).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { FromChild, ToChild } from './pool-worker.ts';
import { InputError } from '../errors.ts';
import { ShuttingDownError } from './errors.ts';
import type { OpeningFile } from '../prove/prove.ts';
import { QueueFullError, type AddJobOptions, type JobView, type ProofJobData, type ProofQueue } from './types.ts';

/** The longest --keep-results (seconds): Node's timers take at most 2^31 - 1 ms. */
export const MAX_KEEP_RESULTS_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

export interface EmbeddedQueueOptions {
  /** The models root the provers read artifact directories from (model id = folder name). */
  modelsDir: string;
  /** Prover processes (default 1). */
  concurrency?: number;
  /** Jobs waiting at most (QueueFullError beyond; default 64). */
  maxQueued?: number;
  /** How long finished jobs stay readable, in seconds (default 3600). */
  keepResultsSeconds?: number;
  /** Attempts per job when its prover dies under it (default 2: one retry on a fresh process). */
  attempts?: number;
  /** Where the pool reports children that died or were restarted (default: nowhere). */
  log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

interface JobRecord {
  view: JobView;
  /** A hashed input's opening, kept out of the view until takeOpening hands it out (once). */
  opening?: OpeningFile;
  data: ProofJobData;
  timeoutMs: number;
  waiters: Set<() => void>;
  expiry?: NodeJS.Timeout;
}

interface Slot {
  index: number;
  child?: ChildProcess;
  ready: boolean;
  job?: JobRecord;
  timer?: NodeJS.Timeout;
  /** The models whose keys were asked of this child (each once per child), with the answer. */
  preloads: Map<string, Promise<{ modelId: string; error?: { code: string; message: string } }>>;
  /** Set when the pool itself kills the child (timeout, shutdown): its exit is expected. */
  killedFor?: 'timeout' | 'shutdown';
  /** Consecutive deaths before 'ready' (a child that cannot start is restarted with a growing delay). */
  startFailures: number;
}

/**
 * The pool worker module beside this one: the .ts file under tsx (tests, scripts run from src/), the compiled
 * .js file under dist/ (bin/zkonnx.js, installed packages).
 */
function workerModule(): { path: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  return {
    path: fileURLToPath(new URL(fromSource ? './pool-worker.ts' : './pool-worker.js', import.meta.url)),
    execArgv: fromSource ? ['--import', 'tsx'] : [],
  };
}

export class EmbeddedQueue implements ProofQueue {
  readonly kind = 'embedded' as const;
  readonly concurrency: number;
  readonly maxQueued: number;
  private readonly keepMs: number;
  private readonly attempts: number;
  private readonly jobs = new Map<string, JobRecord>();
  private readonly waiting: JobRecord[] = [];
  private readonly slots: Slot[] = [];
  private readonly listeners: ((job: JobView) => void)[] = [];
  /** Models every prover preloads (the served ones), also sent to a restarted child. */
  private readonly preloaded = new Set<string>();
  private closed = false;
  private stopping = false;
  /** Recent proof wall times (ms), for Retry-After. */
  private readonly recentMs: number[] = [];
  private readonly log: NonNullable<EmbeddedQueueOptions['log']>;

  constructor(private readonly opts: EmbeddedQueueOptions) {
    this.concurrency = Math.max(1, Math.floor(opts.concurrency ?? 1));
    this.maxQueued = Math.max(0, Math.floor(opts.maxQueued ?? 64));
    const keepS = opts.keepResultsSeconds ?? 3600;
    // setTimeout takes at most 2^31 - 1 ms: a longer delay fires at once (results would vanish when made).
    if (!(keepS >= 0) || keepS > MAX_KEEP_RESULTS_SECONDS) {
      throw new InputError(`keepResultsSeconds: ${keepS} is not a number of seconds from 0 to ${MAX_KEEP_RESULTS_SECONDS} (about 24.8 days).`);
    }
    this.keepMs = keepS * 1000;
    this.attempts = Math.max(1, opts.attempts ?? 2);
    this.log = opts.log ?? (() => {});
    for (let i = 0; i < this.concurrency; i++) {
      const slot: Slot = { index: i, ready: false, startFailures: 0, preloads: new Map() };
      this.slots.push(slot);
      this.spawn(slot);
    }
  }

  /**
   * Load `modelIds`' keys in every prover now (and in every prover started later), so the first request does
   * not pay for it. Resolves when every current prover has them; a model that fails to load is reported, not thrown.
   */
  async preload(modelIds: string[]): Promise<{ modelId: string; error?: { code: string; message: string } }[]> {
    for (const id of modelIds) this.preloaded.add(id);
    const results = await Promise.all(this.slots.map((s) => this.whenReady(s).then(() => Promise.all(modelIds.map((id) => this.preloadOn(s, id))))));
    return results[0] ?? modelIds.map((modelId) => ({ modelId }));
  }

  /** Drop a model's cached keys in every prover (it was set up again, or removed). */
  forget(modelId: string): void {
    this.preloaded.delete(modelId);
    for (const s of this.slots) {
      s.preloads.delete(modelId);
      this.sendTo(s, { type: 'forget', modelId });
    }
  }

  async add(data: ProofJobData, opts: AddJobOptions): Promise<JobView> {
    if (this.closed) throw new ShuttingDownError('The node is shutting down: it takes no new jobs.', { hint: 'Retry on another node, or after it restarts.' });
    if (this.waiting.length >= this.maxQueued) throw new QueueFullError(this.retryAfterSeconds(), this.maxQueued);
    const view: JobView = { id: randomUUID(), modelId: data.modelId, status: 'queued', attempts: 0, createdAt: new Date().toISOString() };
    const rec: JobRecord = { view, data, timeoutMs: opts.timeoutMs, waiters: new Set() };
    this.jobs.set(view.id, rec);
    this.waiting.push(rec);
    this.dispatch();
    return { ...view };
  }

  async get(id: string): Promise<JobView | undefined> {
    const rec = this.jobs.get(id);
    return rec ? { ...rec.view } : undefined;
  }

  async wait(id: string, timeoutMs: number): Promise<JobView | undefined> {
    const rec = this.jobs.get(id);
    if (!rec) return undefined;
    if (rec.view.status === 'completed' || rec.view.status === 'failed' || timeoutMs <= 0) return { ...rec.view };
    await new Promise<void>((done) => {
      const finish = (): void => {
        clearTimeout(t);
        rec.waiters.delete(finish);
        done();
      };
      const t = setTimeout(finish, timeoutMs);
      rec.waiters.add(finish);
    });
    return { ...rec.view };
  }

  async takeOpening(id: string): Promise<OpeningFile | undefined> {
    const rec = this.jobs.get(id);
    const o = rec?.opening;
    if (rec) rec.opening = undefined;
    return o;
  }

  onFinished(listener: (job: JobView) => void): void {
    this.listeners.push(listener);
  }

  /** The prover processes' pids (operators' tools, tests): a slot restarting has none. */
  pids(): number[] {
    return this.slots.map((s) => s.child?.pid).filter((p): p is number => p !== undefined);
  }

  /** The pid of the prover running job `id`, if one is. */
  pidOf(jobId: string): number | undefined {
    return this.slots.find((s) => s.job?.view.id === jobId)?.child?.pid;
  }

  async depth(): Promise<{ waiting: number; active: number }> {
    return { waiting: this.waiting.length, active: this.slots.filter((s) => s.job).length };
  }

  /**
   * Take no new jobs; keep proving the queued and running ones for up to `graceMs`, then fail what is left
   * with SHUTDOWN (its waiting clients get that answer), stop the provers and resolve.
   */
  async close(graceMs: number): Promise<void> {
    if (this.stopping) return;
    this.closed = true;
    const end = Date.now() + Math.max(0, graceMs);
    while ((this.waiting.length || this.slots.some((s) => s.job)) && Date.now() < end) {
      await new Promise((d) => setTimeout(d, Math.min(50, Math.max(1, end - Date.now()))));
    }
    this.stopping = true;
    for (const rec of this.waiting.splice(0)) this.finish(rec, { error: { code: 'SHUTDOWN', message: 'The node shut down before this job ran.' } });
    for (const s of this.slots) {
      if (s.job) {
        const rec = s.job;
        s.job = undefined;
        clearTimeout(s.timer);
        s.timer = undefined;
        this.finish(rec, { error: { code: 'SHUTDOWN', message: `The node shut down while this job ran (it did not finish within the ${Math.round(graceMs / 1000)} s grace period).` } });
      }
      s.killedFor = 'shutdown';
      const c = s.child;
      if (c && c.exitCode === null && c.signalCode === null) {
        const gone = new Promise<void>((d) => c.once('exit', () => d()));
        c.kill('SIGKILL');
        await gone;
      }
    }
    for (const rec of this.jobs.values()) clearTimeout(rec.expiry);
    this.jobs.clear();
  }

  /** Seconds until a slot is likely free: the queue ahead times the recent mean proof time, over the provers. */
  private retryAfterSeconds(): number {
    const mean = this.recentMs.length ? this.recentMs.reduce((a, b) => a + b, 0) / this.recentMs.length : 1000;
    const ahead = this.waiting.length + this.slots.filter((s) => s.job).length;
    return Math.max(1, Math.ceil((mean * ahead) / this.concurrency / 1000));
  }

  private spawn(slot: Slot): void {
    const { path, execArgv } = workerModule();
    const child = fork(path, [this.opts.modelsDir], { execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'json' });
    slot.child = child;
    slot.ready = false;
    slot.killedFor = undefined;
    slot.preloads = new Map();
    child.on('message', (m: FromChild) => this.onMessage(slot, child, m));
    child.once('exit', (code, signal) => this.onExit(slot, child, code, signal));
    child.on('error', (e) => this.log('error', `prover ${slot.index}: ${e.message}`));
  }

  private readonly readyWaiters = new Map<Slot, (() => void)[]>();

  private whenReady(slot: Slot): Promise<void> {
    if (slot.ready || this.stopping) return Promise.resolve();
    return new Promise((d) => this.readyWaiters.set(slot, [...(this.readyWaiters.get(slot) ?? []), d]));
  }

  private readonly preloadWaiters = new Map<string, ((m: Extract<FromChild, { type: 'preloaded' }>) => void)[]>();

  /** Ask `slot`'s child for a model's keys, once per child: a repeated ask gets the first answer. */
  private preloadOn(slot: Slot, modelId: string): Promise<{ modelId: string; error?: { code: string; message: string } }> {
    const child = slot.child;
    if (!child || this.stopping) return Promise.resolve({ modelId });
    const asked = slot.preloads.get(modelId);
    if (asked) return asked;
    const p = new Promise<{ modelId: string; error?: { code: string; message: string } }>((d) => {
      const key = `${slot.index}:${child.pid}:${modelId}`;
      this.preloadWaiters.set(key, [...(this.preloadWaiters.get(key) ?? []), (m) => d({ modelId, ...(m.error ? { error: m.error } : {}) })]);
      // A child that dies before answering: resolve without an answer (the replacement preloads on its own).
      child.once('exit', () => this.resolvePreload(key, { type: 'preloaded', modelId }));
      this.sendTo(slot, { type: 'preload', modelId });
    });
    slot.preloads.set(modelId, p);
    // A failed load is asked again next time (the files may be fixed by then).
    void p.then((r) => {
      if (r.error && slot.preloads.get(modelId) === p) slot.preloads.delete(modelId);
    });
    return p;
  }

  private resolvePreload(key: string, m: Extract<FromChild, { type: 'preloaded' }>): void {
    const ws = this.preloadWaiters.get(key);
    this.preloadWaiters.delete(key);
    for (const w of ws ?? []) w(m);
  }

  private sendTo(slot: Slot, m: ToChild): void {
    const c = slot.child;
    if (!c || !c.connected) return;
    if (m.type === 'preload') this.log('info', `prover ${slot.index}: loading the keys of '${m.modelId}'`, { modelId: m.modelId, prover: slot.index });
    c.send(m);
  }

  private onMessage(slot: Slot, child: ChildProcess, m: FromChild): void {
    if (slot.child !== child) return;
    if (m.type === 'ready') {
      slot.ready = true;
      slot.startFailures = 0;
      for (const id of this.preloaded) void this.preloadOn(slot, id);
      for (const w of this.readyWaiters.get(slot) ?? []) w();
      this.readyWaiters.delete(slot);
      this.dispatch();
    } else if (m.type === 'started') {
      // The job's own proof begins (after any warm-up in the child): its time limit runs from now.
      const rec = slot.job;
      if (rec && rec.view.id === m.jobId && !slot.timer) this.startTimer(slot, child, rec);
    } else if (m.type === 'preloaded') {
      this.resolvePreload(`${slot.index}:${child.pid}:${m.modelId}`, m);
      if (m.error) this.log('warn', `prover ${slot.index}: could not load the keys of '${m.modelId}': ${m.error.message}`, { modelId: m.modelId });
    } else if (m.type === 'done' || m.type === 'failed') {
      const rec = slot.job;
      if (!rec || rec.view.id !== m.jobId) return;
      clearTimeout(slot.timer);
      slot.timer = undefined;
      slot.job = undefined;
      if (m.type === 'done') {
        const t = m.result.timings;
        this.recentMs.push((t.witnessSeconds + t.proveSeconds + t.verifySeconds) * 1000);
        if (this.recentMs.length > 20) this.recentMs.shift();
        this.finish(rec, { result: m.result });
      } else {
        this.finish(rec, { error: m.error });
      }
      this.dispatch();
    }
  }

  private onExit(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.child !== child) return;
    slot.child = undefined;
    slot.ready = false;
    const rec = slot.job;
    slot.job = undefined;
    clearTimeout(slot.timer);
    slot.timer = undefined;
    const why = slot.killedFor;
    if (this.stopping || why === 'shutdown') return;
    if (rec) {
      // Died under a job (out of memory, killed from outside, a crash): try it again on a fresh prover, once.
      if (rec.view.attempts < this.attempts) {
        this.log('warn', `prover ${slot.index} died (${signal ?? `exit ${code}`}) during job ${rec.view.id}; trying it again on a fresh prover`, { jobId: rec.view.id });
        rec.view.status = 'queued';
        this.waiting.unshift(rec);
      } else {
        this.finish(rec, { error: { code: 'WORKER_DIED', message: `The prover process died during this job (${signal ?? `exit code ${code}`}), ${rec.view.attempts} times.` } });
      }
    } else if (!rec && why === undefined) {
      slot.startFailures++;
      this.log('warn', `prover ${slot.index} exited (${signal ?? `exit ${code}`}); starting a new one`);
    }
    // A child that cannot even start is restarted with a growing delay (at most 10 s), not in a tight loop.
    const delay = slot.startFailures > 1 ? Math.min(10_000, 250 * 2 ** (slot.startFailures - 2)) : 0;
    setTimeout(() => {
      if (!this.stopping) this.spawn(slot);
    }, delay).unref();
  }

  private dispatch(): void {
    if (this.stopping) return;
    for (const slot of this.slots) {
      if (!this.waiting.length) return;
      if (!slot.ready || slot.job || !slot.child?.connected) continue;
      const rec = this.waiting.shift()!;
      slot.job = rec;
      rec.view.status = 'active';
      rec.view.attempts++;
      // The time limit starts when the child says the proof started (after a warm-up under way there), not now.
      clearTimeout(slot.timer);
      slot.timer = undefined;
      this.sendTo(slot, { type: 'prove', jobId: rec.view.id, data: rec.data });
    }
  }

  private startTimer(slot: Slot, child: ChildProcess, rec: JobRecord): void {
    slot.timer = setTimeout(() => {
      if (slot.job !== rec || slot.child !== child) return;
      // Past its time limit: the only sure way to stop a proof is to end its process (a fresh one replaces it).
      // Not ready from now on: no other job may be sent to the process being killed.
      slot.killedFor = 'timeout';
      slot.ready = false;
      slot.job = undefined;
      slot.timer = undefined;
      this.finish(rec, { error: { code: 'TIMEOUT', message: `The proof took longer than the job time limit (${rec.timeoutMs / 1000} s); it was stopped.` } });
      child.kill('SIGKILL');
    }, rec.timeoutMs);
  }

  private finish(rec: JobRecord, how: { result?: JobView['result']; error?: { code: string; message: string; hint?: string } }): void {
    if (rec.view.status === 'completed' || rec.view.status === 'failed') return;
    rec.view.status = how.result ? 'completed' : 'failed';
    rec.view.finishedAt = new Date().toISOString();
    if (how.result) {
      const { opening, ...result } = how.result;
      rec.view.result = result;
      if (opening) rec.opening = opening;
    }
    if (how.error) rec.view.error = { code: how.error.code, message: how.error.message };
    for (const w of [...rec.waiters]) w();
    const view = { ...rec.view };
    for (const l of this.listeners) {
      try {
        l(view);
      } catch (e) {
        this.log('error', `onFinished listener failed: ${(e as Error).message}`);
      }
    }
    if (!this.stopping) {
      rec.expiry = setTimeout(() => this.jobs.delete(rec.view.id), this.keepMs);
      rec.expiry.unref();
    }
  }
}

/** The embedded queue with its prover pool started (provers load their keys in the background: see preload). */
export function createEmbeddedQueue(opts: EmbeddedQueueOptions): EmbeddedQueue {
  return new EmbeddedQueue(opts);
}
