/**
 * The embedded queue's prover pool (src/serve/embedded.ts) as a library user drives it, with real child
 * processes: a prover killed under a job is replaced and the job completes on the fresh one (attempt 2); killed
 * on every attempt, the job fails with WORKER_DIED; a full queue throws QueueFullError; close() lets a running
 * job finish within the grace period and fails what is left with SHUTDOWN.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactPath } from '../src/artifacts/paths.ts';
import { InputError } from '../src/errors.ts';
import { readVerificationKey } from '../src/prove/prove.ts';
import { createEmbeddedQueue, type EmbeddedQueue } from '../src/serve/embedded.ts';
import { QueueFullError, type JobView } from '../src/serve/types.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { randomRow, setUpModel, type ServedModel } from './helpers/serve.ts';

let work: string;
let root: string;
let big: ServedModel;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'zkonnx-pool-'));
  root = join(work, 'models');
  // ~4,600 constraints: a proof takes a few tenths of a second, time enough to kill its prover under it.
  big = await setUpModel(root, 'big', { sizes: [64, 64, 64, 10], seed: 3 });
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const job = (seed: number) => ({ modelId: 'big', input: { input: [randomRow(64, seed)] } });

/** Resolve when job `id` is being proven, with the pid of its prover. */
async function activePid(q: EmbeddedQueue, id: string): Promise<number> {
  for (;;) {
    const pid = q.pidOf(id);
    if (pid !== undefined) return pid;
    await new Promise((d) => setTimeout(d, 5));
  }
}

describe('embedded prover pool', () => {
  it('refuses a keepResultsSeconds that a timer cannot hold (over 2^31 - 1 ms: results would be dropped at once)', () => {
    expect(() => createEmbeddedQueue({ modelsDir: root, keepResultsSeconds: 3_000_000 })).toThrow(/keepResultsSeconds: 3000000 is not a number of seconds from 0 to 2147483/);
    expect(() => createEmbeddedQueue({ modelsDir: root, keepResultsSeconds: -1 })).toThrow(InputError);
  });

  it('each prover is asked for a served model\'s keys (and warms it up) once, however many paths ask', async () => {
    const logs: string[] = [];
    const q = createEmbeddedQueue({ modelsDir: root, concurrency: 2, log: (_l, msg) => logs.push(msg) });
    try {
      await q.preload(['big']);
      // Each prover is asked for the model's keys (and so warms it up) once, not once per path that asks.
      expect(logs.filter((l) => /loading the keys of 'big'/.test(l)).sort()).toEqual(["prover 0: loading the keys of 'big'", "prover 1: loading the keys of 'big'"]);
      const again = await q.preload(['big']);
      expect(again).toEqual([{ modelId: 'big' }]);
      expect(logs.filter((l) => /loading the keys/.test(l)).length).toBe(2);
    } finally {
      await q.close(0);
    }
  });

  it("a job's time limit covers its own proof only: time its prover spends before the proof starts (a warm-up) does not count", async () => {
    const q1 = createEmbeddedQueue({ modelsDir: root, concurrency: 1 });
    try {
      await q1.preload(['big']);
      // The prover is busy before the job's proof can start (frozen here, as a long cold warm-up would keep it):
      // the job's 3 s limit must not run meanwhile.
      const [pid] = q1.pids();
      process.kill(pid!, 'SIGSTOP');
      const j = await q1.add(job(21), { timeoutMs: 3000 });
      await new Promise((d) => setTimeout(d, 4000));
      expect((await q1.get(j.id))?.status).toBe('active');
      process.kill(pid!, 'SIGCONT');
      const done = await q1.wait(j.id, 120_000);
      expect(done?.status, JSON.stringify(done?.error)).toBe('completed');
      expect(done?.attempts).toBe(1);
    } finally {
      await q1.close(0);
    }
  });


  it('a prover that dies under a job is replaced, and the job completes on the fresh prover', async () => {
    const q = createEmbeddedQueue({ modelsDir: root, concurrency: 1, attempts: 2 });
    const finished: JobView[] = [];
    q.onFinished((j) => finished.push(j));
    try {
      await q.preload(['big']);
      const first = q.pids();
      const j = await q.add(job(1), { timeoutMs: 120_000 });
      const pid = await activePid(q, j.id);
      process.kill(pid, 'SIGKILL');
      const done = await q.wait(j.id, 120_000);
      expect(done?.status, JSON.stringify(done?.error)).toBe('completed');
      expect(done?.attempts).toBe(2);
      expect(q.pids()).not.toEqual(first);
      const v = await verifyBundle(done!.result!.bundle, await readVerificationKey(artifactPath(big.dir, 'vk')));
      expect(v.valid, v.reason).toBe(true);
      expect(finished.map((f) => [f.id, f.status])).toEqual([[j.id, 'completed']]);

      // Killed on every attempt: WORKER_DIED after the second.
      const k = await q.add(job(2), { timeoutMs: 120_000 });
      process.kill(await activePid(q, k.id), 'SIGKILL');
      for (;;) {
        const v2 = await q.get(k.id);
        if (v2?.status === 'active' && v2.attempts === 2 && q.pidOf(k.id) !== undefined) break;
        await new Promise((d) => setTimeout(d, 5));
      }
      process.kill(q.pidOf(k.id)!, 'SIGKILL');
      const failed = await q.wait(k.id, 120_000);
      expect(failed).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'WORKER_DIED' } });
      // The pool is whole again: the next job proves.
      const n = await q.add(job(3), { timeoutMs: 120_000 });
      expect((await q.wait(n.id, 120_000))?.status).toBe('completed');
    } finally {
      await q.close(0);
    }
  });

  it('a job past its time limit fails with TIMEOUT, and the next job goes to a fresh prover, not the one being killed', async () => {
    const q = createEmbeddedQueue({ modelsDir: root, concurrency: 1 });
    try {
      await q.preload(['big']);
      let next: Promise<JobView> | undefined;
      // Queued the moment the first job times out (its prover is being killed then, not yet gone).
      q.onFinished((j) => {
        if (j.error?.code === 'TIMEOUT' && !next) next = q.add(job(12), { timeoutMs: 120_000 });
      });
      const slow = await q.add(job(11), { timeoutMs: 50 });
      const failed = await q.wait(slow.id, 120_000);
      expect(failed).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'TIMEOUT' } });
      const n = await next!;
      const done = await q.wait(n.id, 120_000);
      expect(done?.status, JSON.stringify(done)).toBe('completed');
      expect(done?.attempts).toBe(1);
    } finally {
      await q.close(0);
    }
  });

  it('bounds the queue (QueueFullError) and closes gracefully: running jobs finish, the rest fail with SHUTDOWN', async () => {
    const q = createEmbeddedQueue({ modelsDir: root, concurrency: 1, maxQueued: 2 });
    await q.preload(['big']);
    const a = await q.add(job(4), { timeoutMs: 120_000 });
    await activePid(q, a.id);
    const b = await q.add(job(5), { timeoutMs: 120_000 });
    const c = await q.add(job(6), { timeoutMs: 120_000 });
    const full = await q.add(job(7), { timeoutMs: 120_000 }).catch((e: unknown) => e);
    expect(full).toBeInstanceOf(QueueFullError);
    expect((full as QueueFullError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(await q.depth()).toEqual({ waiting: 2, active: 1 });
    // A long grace: every queued job is proven before the pool stops.
    await q.close(120_000);
    for (const id of [a.id, b.id, c.id]) expect((await q.get(id)) ?? 'expired after close').toBe('expired after close');
    await expect(q.add(job(8), { timeoutMs: 1000 })).rejects.toThrow(/shutting down/);

    const q2 = createEmbeddedQueue({ modelsDir: root, concurrency: 1 });
    const results: JobView[] = [];
    q2.onFinished((j) => results.push(j));
    await q2.preload(['big']);
    const r = await q2.add(job(9), { timeoutMs: 120_000 });
    const s = await q2.add(job(10), { timeoutMs: 120_000 });
    await activePid(q2, r.id);
    // No grace: the running and the waiting job both fail with SHUTDOWN, and their waiters hear it.
    const waiting = q2.wait(s.id, 120_000);
    await q2.close(0);
    expect((await waiting)?.error?.code).toBe('SHUTDOWN');
    expect(results.map((j) => [j.id, j.status, j.error?.code]).sort()).toEqual([[r.id, 'failed', 'SHUTDOWN'], [s.id, 'failed', 'SHUTDOWN']].sort());
  });
});
