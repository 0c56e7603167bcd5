/**
 * The Redis queue at library level, against a real redis-server: createBullQueue (the server's side) and
 * runWorker (a `zkonnx worker`, here in the test process with its prover threads). Proofs that verify, JSON
 * results, input/model errors failed without retry, the per-job time limit, retries, a full queue, and a clear
 * error for an unreachable Redis. The multi-process tests through `zkonnx serve --redis` are in
 * test/serve-redis.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createBullQueue, RedisUnavailableError } from '../src/serve/bullmq.ts';
import { QueueFullError, type JobView, type ProofQueue } from '../src/serve/types.ts';
import { runWorker, type RunningWorker } from '../src/serve/worker.ts';
import { parseVerificationKey } from '../src/verify/key.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { describeWithRedis, startRedis, type RedisServer } from './helpers/redis.ts';
import { setUpModel, type ServedModel } from './helpers/serve.ts';

const MODELS = 'artifacts/test/serve-redis-queue/models';

describeWithRedis('BullMQ queue and worker (library, real redis-server)', () => {
  let redis: RedisServer;
  let model: ServedModel;
  let hashed: ServedModel;
  let queue: ProofQueue;
  let worker: RunningWorker;
  const finished: JobView[] = [];

  beforeAll(async () => {
    [redis, model] = await Promise.all([startRedis(), setUpModel(MODELS, 'mlp', { sizes: [8, 6, 4], seed: 11 })]);
    hashed = await setUpModel(MODELS, 'hashed', { seed: 21, visibility: { input: 'hashed' } });
    queue = await createBullQueue({ redisUrl: redis.url, queueName: 'lib', maxQueued: 100, keepResultsSeconds: 600, attempts: 2 });
    queue.onFinished((j) => finished.push(j));
    worker = await runWorker({ redisUrl: redis.url, queueName: 'lib', modelsDir: MODELS, concurrency: 1 });
  });

  afterAll(async () => {
    await worker?.close();
    await queue?.close(1000);
    await redis?.stop();
  });

  it('proves queued jobs: the bundles verify with the model key, the results are plain JSON, and onFinished sees each', async () => {
    const vk = parseVerificationKey(JSON.parse(await readFile(join(model.dir, 'verification_key.json'), 'utf8')));
    const added = await Promise.all([1, 2, 3].map((s) => queue.add({ modelId: 'mlp', input: model.input(s) }, { timeoutMs: 120_000 })));
    for (const a of added) {
      expect(a.status).toBe('queued');
      expect(a.modelId).toBe('mlp');
    }
    const done = await Promise.all(added.map((a) => queue.wait(a.id, 150_000)));
    for (const j of done) {
      expect(j?.status, JSON.stringify(j?.error)).toBe('completed');
      expect(j!.attempts).toBe(1);
      expect(j!.finishedAt).toBeTruthy();
      const r = j!.result!;
      expect(JSON.parse(JSON.stringify(r))).toEqual(r);
      expect(r.output).toEqual(r.bundle.output.values);
      expect((await verifyBundle(r.bundle, vk)).valid).toBe(true);
    }
    // Different inputs, different proofs (no result mixed up between jobs).
    expect(new Set(done.map((j) => j!.result!.bundle.publicSignals.join())).size).toBe(3);
    const again = await queue.get(added[0]!.id);
    expect(again?.result?.bundle.proof).toEqual(done[0]!.result!.bundle.proof);
    await expect.poll(() => finished.filter((f) => added.some((a) => a.id === f.id)).length).toBe(3);
    expect(await queue.depth()).toEqual({ waiting: 0, active: 0 });
  });

  it("a hashed input's opening is kept apart from the result and handed out once", async () => {
    const job = await queue.add({ modelId: 'hashed', input: hashed.input(1) }, { timeoutMs: 120_000, hashedInput: true });
    const done = await queue.wait(job.id, 120_000);
    expect(done?.status, JSON.stringify(done?.error)).toBe('completed');
    // Not in the view (the result as stored, GET /v1/jobs shows it to anyone holding the id).
    expect(done?.result?.opening).toBeUndefined();
    const takes = await Promise.all([queue.takeOpening(job.id), queue.takeOpening(job.id), queue.takeOpening(job.id)]);
    const got = takes.filter((t) => t !== undefined);
    expect(got.length).toBe(1);
    expect(got[0]).toMatchObject({ format: 'zkonnx-opening', commitment: done!.result!.bundle.commitments!.input });
    expect(await queue.takeOpening(job.id)).toBeUndefined();
    expect((await queue.get(job.id))?.result?.opening).toBeUndefined();
  });

  it('fails a bad input (BAD_INPUT) and an unknown model (ARTIFACT) at the first attempt, without retrying', async () => {
    const bad = await queue.add({ modelId: 'mlp', input: { input: [[1, 2, 3]] } }, { timeoutMs: 60_000 });
    const missing = await queue.add({ modelId: 'no-such-model', input: model.input(1) }, { timeoutMs: 60_000 });
    const [b, m] = await Promise.all([queue.wait(bad.id, 60_000), queue.wait(missing.id, 60_000)]);
    expect(b?.status).toBe('failed');
    expect(b?.error?.code).toBe('BAD_INPUT');
    expect(b?.error?.message).toMatch(/input/);
    expect(b?.attempts).toBe(1);
    expect(m?.status).toBe('failed');
    expect(m?.error?.code).toBe('ARTIFACT');
    expect(m?.error?.message).toMatch(/no-such-model/);
    expect(m?.attempts).toBe(1);
  });

  it('stops a proof past its time limit (TIMEOUT), retries it with backoff, and the worker goes on proving', async () => {
    const slow = await queue.add({ modelId: 'mlp', input: model.input(5) }, { timeoutMs: 1 });
    const j = await queue.wait(slow.id, 60_000);
    expect(j?.status).toBe('failed');
    expect(j?.error?.code).toBe('TIMEOUT');
    expect(j?.error?.message).toMatch(/time limit \(1 ms\)/);
    // attempts: 2 (the queue's setting): the first timed-out attempt was retried.
    expect(j?.attempts).toBe(2);
    const next = await queue.add({ modelId: 'mlp', input: model.input(6) }, { timeoutMs: 120_000 });
    expect((await queue.wait(next.id, 120_000))?.status).toBe('completed');
  });

  it('finished jobs are kept for keepResultsSeconds, then removed (BullMQ prunes them as later jobs finish)', async () => {
    const short = await createBullQueue({ redisUrl: redis.url, queueName: 'short', maxQueued: 10, keepResultsSeconds: 1, attempts: 1 });
    const w = await runWorker({ redisUrl: redis.url, queueName: 'short', modelsDir: MODELS });
    try {
      const first = await short.add({ modelId: 'mlp', input: model.input(1) }, { timeoutMs: 120_000 });
      expect((await short.wait(first.id, 120_000))?.status).toBe('completed');
      expect((await short.get(first.id))?.status).toBe('completed');
      await new Promise((r) => setTimeout(r, 1500));
      const second = await short.add({ modelId: 'mlp', input: model.input(2) }, { timeoutMs: 120_000 });
      expect((await short.wait(second.id, 120_000))?.status).toBe('completed');
      await expect.poll(() => short.get(first.id), { timeout: 5000 }).toBeUndefined();
      expect((await short.get(second.id))?.status).toBe('completed');
    } finally {
      await w.close();
      await short.close(100);
    }
  });

  it('an unknown job id is undefined; wait() gives the current state when its time is up', async () => {
    expect(await queue.get('00000000-0000-0000-0000-000000000000')).toBeUndefined();
    expect(await queue.wait('no-such-job', 100)).toBeUndefined();
    // Names of BullMQ's own keys are no job ids (they used to reach Redis: WRONGTYPE, a 500 over HTTP).
    for (const id of ['events', 'stalled-check', 'id', 'meta', 'wait']) {
      expect(await queue.get(id)).toBeUndefined();
      expect(await queue.wait(id, 10)).toBeUndefined();
    }
    // A queue nobody works on: the job is still queued after the wait.
    const idle = await createBullQueue({ redisUrl: redis.url, queueName: 'nobody', maxQueued: 2, keepResultsSeconds: 60, attempts: 1 });
    try {
      const a = await idle.add({ modelId: 'mlp', input: model.input(1) }, { timeoutMs: 1000 });
      expect((await idle.wait(a.id, 200))?.status).toBe('queued');
      await idle.add({ modelId: 'mlp', input: model.input(2) }, { timeoutMs: 1000 });
      expect(await idle.depth()).toEqual({ waiting: 2, active: 0 });
      // Full: QueueFullError with a Retry-After of at least a second.
      const full = await idle.add({ modelId: 'mlp', input: model.input(3) }, { timeoutMs: 1000 }).catch((e) => e);
      expect(full).toBeInstanceOf(QueueFullError);
      expect(full.code).toBe('QUEUE_FULL');
      expect(full.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    } finally {
      await idle.close(100);
    }
  });

  it('an unreachable Redis is a clear error naming the URL, at once (no reconnect loop)', async () => {
    // A port nothing listens on: the redis-server's, stopped.
    const gone = await startRedis();
    await gone.stop();
    const e = await createBullQueue({ redisUrl: gone.url, maxQueued: 1, keepResultsSeconds: 1, attempts: 1 }).catch((x) => x);
    expect(e).toBeInstanceOf(RedisUnavailableError);
    expect(e.message).toContain(gone.url.replace(/\/?$/, ''));
    expect(e.message).toMatch(/ECONNREFUSED/);
    const w = await runWorker({ redisUrl: gone.url, modelsDir: MODELS }).catch((x) => x);
    expect(w).toBeInstanceOf(RedisUnavailableError);
    const notUrl = await createBullQueue({ redisUrl: 'localhost:6379', maxQueued: 1, keepResultsSeconds: 1, attempts: 1 }).catch((x) => x);
    expect(notUrl.message).toMatch(/--redis: 'localhost:6379' is not a redis:\/\//);
  });

  it("the server's queue closing (SIGTERM) lets waiting clients get their proofs for up to graceMs, then answers with the job as it stands", async () => {
    const server = await createBullQueue({ redisUrl: redis.url, queueName: 'lib', maxQueued: 100, keepResultsSeconds: 600, attempts: 2 });
    const ps = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' }).stdout;
    const provers = ps.split('\n').filter((l) => l.includes('worker-process')).map((l) => Number(l.trim().split(/\s+/)[0]));
    expect(provers.length).toBe(1);
    // The prover frozen: the job is certainly still running when close() is called.
    process.kill(provers[0]!, 'SIGSTOP');
    try {
      const job = await server.add({ modelId: 'mlp', input: model.input(13) }, { timeoutMs: 120_000 });
      await expect.poll(async () => (await server.get(job.id))?.status, { timeout: 20_000 }).toBe('active');
      let answered: JobView | undefined;
      const waiting = server.wait(job.id, 120_000).then((v) => (answered = v));
      const closing = server.close(60_000);
      await new Promise((r) => setTimeout(r, 500));
      // Closing, but within its grace period: the waiter has no answer yet.
      expect(answered).toBeUndefined();
      process.kill(provers[0]!, 'SIGCONT');
      const v = await waiting;
      expect(v?.status, JSON.stringify(v)).toBe('completed');
      expect(v?.result?.bundle).toBeTruthy();
      await closing;
    } finally {
      process.kill(provers[0]!, 'SIGCONT');
    }
    // Grace over with the job still running: the waiter gets it as it stands (the HTTP layer answers 202).
    const short = await createBullQueue({ redisUrl: redis.url, queueName: 'lib', maxQueued: 100, keepResultsSeconds: 600, attempts: 2 });
    process.kill(provers[0]!, 'SIGSTOP');
    try {
      const job = await short.add({ modelId: 'mlp', input: model.input(14) }, { timeoutMs: 120_000 });
      await expect.poll(async () => (await short.get(job.id))?.status, { timeout: 20_000 }).toBe('active');
      const waiting = short.wait(job.id, 120_000);
      await short.close(300);
      expect((await waiting)?.status).toBe('active');
    } finally {
      process.kill(provers[0]!, 'SIGCONT');
    }
    // That job finishes on the worker all the same (the next test needs the worker idle).
    await expect.poll(async () => {
      const d = await queue.depth();
      return d.waiting + d.active;
    }, { timeout: 60_000 }).toBe(0);
  });

  it('close() lets the running job finish (no retry, no stall) before it resolves', async () => {
    // The worker's prover process (forked by this test process, which also runs redis-server): frozen, as a long
    // proof would be, so the job is certainly running when close() is called.
    const ps = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' }).stdout;
    const provers = ps.split('\n').filter((l) => l.includes('worker-process')).map((l) => Number(l.trim().split(/\s+/)[0]));
    expect(provers.length).toBe(1);
    process.kill(provers[0]!, 'SIGSTOP');
    const job = await queue.add({ modelId: 'mlp', input: model.input(9) }, { timeoutMs: 120_000 });
    await expect.poll(async () => (await queue.get(job.id))?.status, { timeout: 20_000 }).toBe('active');
    let closed = false;
    const closing = worker.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 500));
    expect(closed).toBe(false);
    expect((await queue.get(job.id))?.status).toBe('active');
    process.kill(provers[0]!, 'SIGCONT');
    await closing;
    const j = await queue.get(job.id);
    expect(j?.status).toBe('completed');
    expect(j?.attempts).toBe(1);
    // Its prover process is gone with the worker.
    await expect.poll(() => spawnSync('ps', ['-o', 'pid=', '-p', String(provers[0])], { encoding: 'utf8' }).stdout.trim()).toBe('');
  });
});
