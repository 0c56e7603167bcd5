/**
 * The proving node on many machines, as separate processes over loopback: a real redis-server, `zkonnx serve
 * --redis` and two `zkonnx worker --redis` processes sharing one models directory (bin/zkonnx.js, from dist/).
 *
 * - 50 concurrent inference requests all return bundles that verify with the key the server serves, proved by
 *   both workers (BullMQ records which worker processed each job).
 * - One worker is killed (SIGKILL) while a job is active on it, and every job still completes: the job is picked
 *   up by the other worker through BullMQ's stalled-job recovery. To be sure the kill lands mid-proof (a proof of
 *   this tiny model takes ~0.1 s), the killed worker's prover process is frozen (SIGSTOP) first, as a proof
 *   that takes long would be; BullMQ is then asked which job is active on that worker, and the worker and its
 *   prover are killed together, as when a machine dies.
 * - A full queue answers 429 with Retry-After; a malformed body 400 naming the field; an upload without the
 *   token 401; SIGTERM stops a worker with exit code 0; an unreachable Redis is a clear error.
 */
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseVerificationKey } from '../src/verify/key.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { cli } from './helpers/cli.ts';
import { describeWithRedis, startRedis, type RedisServer } from './helpers/redis.ts';
import { getJson, pollJob, postJson, setUpModel, startCommand, startServe, type ServeProcess, type ServedModel } from './helpers/serve.ts';

const MODELS = 'artifacts/test/serve-redis/models';
const JOBS = 50;

function startWorker(redisUrl: string, extra: string[] = []): Promise<ServeProcess> {
  return startCommand(['worker', '--redis', redisUrl, '--models', MODELS, '--concurrency', '1', ...extra], {}, { ready: /zkonnx worker: ready \(queue (\S+), concurrency \d+\)/ });
}

/** The worker's prover processes (its children). */
function childrenOf(pid: number): number[] {
  const r = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  return r.stdout.split(/\s+/).filter(Boolean).map(Number);
}

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeWithRedis('zkonnx serve --redis with two zkonnx worker processes (real redis-server)', () => {
  let redis: RedisServer;
  let model: ServedModel;
  let server: ServeProcess;
  let workers: ServeProcess[] = [];
  let queue: Queue;
  const stopped: number[] = [];

  beforeAll(async () => {
    [redis, model] = await Promise.all([startRedis(), setUpModel(MODELS, 'mlp', { sizes: [8, 6, 4], seed: 23 })]);
    [server, ...workers] = await Promise.all([
      startServe(['--port', '0', '--models', MODELS, '--redis', redis.url, '--job-timeout', '150', '--max-queued', '200', '--token', 'sesame']),
      startWorker(redis.url),
      startWorker(redis.url),
    ]);
    // BullMQ's own view of the jobs, to see which worker processed each.
    queue = new Queue('zkonnx-proofs', { connection: { url: redis.url } });
  });

  afterAll(async () => {
    await queue?.close();
    await Promise.allSettled([server?.stop('SIGTERM', 10_000), ...workers.map((w) => w.stop('SIGKILL'))]);
    for (const pid of stopped) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await redis?.stop();
  });

  it(`${JOBS} concurrent inferences all return verifying proofs, on both workers, with one worker killed mid-proof`, async () => {
    const [a, b] = workers as [ServeProcess, ServeProcess];
    const nameA = `${hostname()}:${a.proc.pid}`;
    const nameB = `${hostname()}:${b.proc.pid}`;
    const vkReply = await getJson(`${server.url}/v1/models/mlp/vk`);
    expect(vkReply.status).toBe(200);
    const vk = parseVerificationKey(vkReply.body);

    const requests = Array.from({ length: JOBS }, (_, i) => postJson(`${server.url}/v1/models/mlp/infer`, { ...model.input(100 + i), wait: 150 }));

    // Worker A has proved a few jobs (so its prover process exists): freeze it, then wait until A holds an active job.
    await until('worker A to complete 5 jobs', () => ((a.stderr().match(/"msg":"job completed"/g) ?? []).length >= 5 ? true : undefined));
    const provers = childrenOf(a.proc.pid!);
    expect(provers.length).toBe(1);
    stopped.push(...provers);
    for (const p of provers) process.kill(p, 'SIGSTOP');
    const stuck = await until('a job active on worker A', async () => (await queue.getJobs(['active'])).find((j) => j.processedBy === nameA), 30_000);
    const before = await getJson(`${server.url}/v1/jobs/${stuck.id}`);
    expect(before.body.status).toBe('active');
    a.proc.kill('SIGKILL');
    for (const p of provers) process.kill(p, 'SIGKILL');
    expect((await a.exited).signal).toBe('SIGKILL');

    const replies = await Promise.all(requests);
    // A request that outwaited its `wait` gets 202: poll those to the end (none are lost).
    const finals = await Promise.all(replies.map(async (r) => (r.status === 202 ? (await pollJob(server.url, r.body.jobId, 150_000)).body : r.body)));
    const statuses = replies.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 202), JSON.stringify(replies.filter((r) => r.status >= 300).map((r) => r.body))).toBe(true);
    const ids = new Set<string>();
    for (const [i, f] of finals.entries()) {
      const bundle = f.bundle ?? f.result?.bundle;
      expect(bundle, `job ${i}: ${JSON.stringify(f).slice(0, 300)}`).toBeTruthy();
      const v = await verifyBundle(bundle, vk);
      expect(v.valid, v.reason).toBe(true);
      ids.add(f.jobId ?? f.id);
    }
    expect(ids.size).toBe(JOBS);

    // The job that was active on the killed worker completed on the other one, in a second attempt.
    const after = await pollJob(server.url, stuck.id!, 60_000);
    expect(after.body.status).toBe('completed');
    expect(after.body.attempts).toBeGreaterThanOrEqual(2);
    expect(ids.has(stuck.id!)).toBe(true);
    const recovered = await queue.getJob(stuck.id!);
    expect(recovered?.processedBy).toBe(nameB);
    expect(b.stderr()).toMatch(/stalled/);

    // Both workers proved some of the 50.
    const by = new Map<string, number>();
    for (const id of ids) {
      const j = await queue.getJob(id);
      by.set(j!.processedBy!, (by.get(j!.processedBy!) ?? 0) + 1);
    }
    expect(by.get(nameA) ?? 0).toBeGreaterThanOrEqual(5);
    expect(by.get(nameB) ?? 0).toBeGreaterThanOrEqual(1);
    expect((by.get(nameA) ?? 0) + (by.get(nameB) ?? 0)).toBe(JOBS);
    console.log(`serve-redis: ${JOBS} jobs, worker A (killed) proved ${by.get(nameA)}, worker B ${by.get(nameB)}; job ${stuck.id} recovered on B after ${after.body.attempts} attempts`);
    const health = await getJson(`${server.url}/healthz`);
    if (health.status === 200) expect(health.body).toMatchObject({ queue: 'redis', waiting: 0, active: 0 });
  });

  it('a malformed body is 400 naming the field; an upload without the token is 401', async () => {
    const missing = await postJson(`${server.url}/v1/models/mlp/infer`, { inptu: [[0]] });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body)).toMatch(/input/);
    const wrongShape = await postJson(`${server.url}/v1/models/mlp/infer`, { input: [[1, 2, 3]] });
    expect(wrongShape.status).toBe(400);
    expect(JSON.stringify(wrongShape.body)).toMatch(/input/);
    const notJson = await postJson(`${server.url}/v1/models/mlp/infer`, '{"input": [[1, 2');
    expect(notJson.status).toBe(400);
    const upload = await postJson(`${server.url}/v1/models`, { id: 'x', onnx: 'AAAA', calibration: [] });
    expect(upload.status).toBe(401);
    const wrongToken = await postJson(`${server.url}/v1/models`, { id: 'x', onnx: 'AAAA', calibration: [] }, { authorization: 'Bearer nope' });
    expect(wrongToken.status).toBe(401);
    // Job ids are UUIDs: names of BullMQ's own Redis keys are refused by the route (they gave 500 WRONGTYPE).
    for (const id of ['events', 'stalled-check', 'meta']) {
      const r = await getJson(`${server.url}/v1/jobs/${id}`);
      expect(r.status, r.text).toBe(400);
      expect(r.body.error.message).toMatch(/^params\/id must match pattern/);
    }
    expect((await getJson(`${server.url}/v1/jobs/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
  });

  it('a full queue (no worker on it) answers 429 with Retry-After', async () => {
    const idle = await startServe(['--port', '0', '--models', MODELS, '--redis', redis.url, '--queue-name', 'nobody', '--max-queued', '2']);
    try {
      const first = await Promise.all([1, 2].map((s) => postJson(`${idle.url}/v1/models/mlp/infer`, { ...model.input(s), wait: 0 })));
      expect(first.map((r) => r.status)).toEqual([202, 202]);
      const full = await postJson(`${idle.url}/v1/models/mlp/infer`, { ...model.input(3), wait: 0 });
      expect(full.status).toBe(429);
      expect(Number(full.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // The two queued jobs are still there, queued.
      const j = await getJson(`${idle.url}/v1/jobs/${first[0]!.body.jobId}`);
      expect(j.body.status).toBe('queued');
    } finally {
      expect((await idle.stop()).code).toBe(0);
    }
  });

  it('SIGTERM stops a worker with exit code 0; an unreachable Redis, a missing models directory and a bad --concurrency are clear errors (exit 2)', async () => {
    const b = workers[1]!;
    const r = await b.stop('SIGTERM', 30_000);
    expect(r.code).toBe(0);
    expect(b.stderr()).toMatch(/"msg":"stopped"/);
    await queue.close();
    await redis.stop();
    const gone = await cli('worker', '--redis', redis.url, '--models', MODELS);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(new RegExp(`Cannot reach Redis at ${redis.url.replace(/[.]/g, '\\.')}.*ECONNREFUSED`));
    const serveGone = await cli('serve', '--port', '0', '--models', MODELS, '--redis', redis.url);
    expect(serveGone.code).toBe(2);
    expect(serveGone.stderr).toMatch(/Cannot reach Redis at/);
    const noModels = await cli('worker', '--redis', redis.url, '--models', 'artifacts/test/serve-redis/no-such-dir');
    expect(noModels.code).toBe(2);
    expect(noModels.stderr).toMatch(/--models: '.*no-such-dir' is not a directory/);
    const badConcurrency = await cli('worker', '--redis', redis.url, '--models', MODELS, '--concurrency', '0');
    expect(badConcurrency.code).toBe(2);
    expect(badConcurrency.stderr).toMatch(/--concurrency: 0 is not a whole number/);
  });
});
