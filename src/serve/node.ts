/**
 * A whole proving node: the models under a root, a queue (the embedded prover pool, or BullMQ on Redis with
 * `redisUrl`), the HTTP server, and a graceful close. `zkonnx serve` is this with flags; a library user can
 * start one in their own process.
 */
import { pino, type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { artifactsRoot } from '../artifacts/paths.ts';
import { ZkonnxError } from '../errors.ts';
import { createEmbeddedQueue, type EmbeddedQueue } from './embedded.ts';
import { ModelRegistry } from './models.ts';
import { createServer } from './server.ts';
import type { BullQueueOptions, ProofQueue } from './types.ts';

export interface NodeOptions {
  /** Models root (default: the artifacts root, $ZKONNX_ARTIFACTS or ./artifacts). */
  modelsDir?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Bearer token for writes (uploads); none: uploads refused. */
  token?: string;
  /** Prover processes of the embedded pool (default 1). */
  concurrency?: number;
  /** Jobs waiting at most before 429 (default 64). */
  maxQueued?: number;
  /** Per-job time limit, seconds (default 300). */
  jobTimeoutSeconds?: number;
  /** Infer/verify body limit, bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Upload body limit, bytes (default 64 MiB). */
  uploadLimit?: number;
  /** How long finished jobs stay readable, seconds (default 3600). */
  keepResultsSeconds?: number;
  /** redis://host:port: jobs go on a BullMQ queue for `zkonnx worker` processes (no embedded pool). */
  redisUrl?: string;
  /** BullMQ queue name (default 'zkonnx-proofs'). */
  queueName?: string;
  /** BullMQ attempts per job (default 3). */
  attempts?: number;
  /** A pino logger, or a level for one on stderr (default 'info'). */
  logger?: Logger;
  logLevel?: string;
}

export interface ProvingNode {
  /** http://HOST:PORT */
  url: string;
  app: FastifyInstance;
  queue: ProofQueue;
  models: ModelRegistry;
  /** The models served at start (compiled and set up) whose keys the provers loaded. */
  preloaded: string[];
  /**
   * Stop: refuse new requests, let running jobs finish within `graceMs` (default: the job time limit, at most
   * 60 s) so their waiting clients get their proofs, then release everything.
   */
  close(graceMs?: number): Promise<void>;
}

/** The BullMQ queue, loaded only in Redis mode (bullmq and ioredis are not needed otherwise). */
async function bullQueue(opts: BullQueueOptions): Promise<ProofQueue> {
  // A computed specifier: resolved beside this file, as .ts from source (tsx) and .js from dist/.
  const spec = new URL(import.meta.url.endsWith('.ts') ? './bullmq.ts' : './bullmq.js', import.meta.url).href;
  let mod: { createBullQueue?: (o: BullQueueOptions) => Promise<ProofQueue> };
  try {
    mod = (await import(spec)) as typeof mod;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes('bullmq')) {
      throw new ZkonnxError('Redis mode (--redis) is not available in this build of zkonnx (src/serve/bullmq.ts is missing).', { cause: e });
    }
    throw e;
  }
  if (typeof mod.createBullQueue !== 'function') throw new ZkonnxError('Redis mode (--redis) is not available in this build of zkonnx (no createBullQueue).');
  return mod.createBullQueue(opts);
}

/** Start a proving node and listen. Resolves once it accepts requests (keys preloaded in the embedded pool). */
export async function startNode(opts: NodeOptions = {}): Promise<ProvingNode> {
  const log = opts.logger ?? pino({ level: opts.logLevel ?? 'info', base: { name: 'zkonnx-serve' } }, pino.destination({ dest: 2, sync: true }));
  const modelsDir = opts.modelsDir ?? artifactsRoot();
  const jobTimeoutSeconds = opts.jobTimeoutSeconds ?? 300;
  const maxQueued = opts.maxQueued ?? 64;
  const keepResultsSeconds = opts.keepResultsSeconds ?? 3600;
  const logFn = (level: 'info' | 'warn' | 'error', msg: string, f: Record<string, unknown> = {}) => log[level](f, msg);

  let embedded: EmbeddedQueue | undefined;
  const models = new ModelRegistry(modelsDir, {
    log: logFn,
    // An uploaded model: every prover loads its keys before its first job.
    onReady: async (id) => {
      await embedded?.preload([id]);
    },
  });
  await models.cleanStaleUploads();
  const list = await models.list();
  const ready = list.filter((m) => m.status === 'ready').map((m) => m.id);
  for (const m of list) {
    if (m.status === 'ready') log.info({ modelId: m.id, constraints: m.constraints, keyKind: m.keyKind, vkSha256: m.vkSha256 }, `serving model '${m.id}'`);
    else log.warn({ modelId: m.id, status: m.status, error: m.error }, `not serving '${m.id}': ${m.status}`);
  }
  if (!list.length) log.warn({ modelsDir }, `no models under ${modelsDir}: upload one (POST /v1/models) or put artifact directories there`);

  let queue: ProofQueue;
  if (opts.redisUrl) {
    queue = await bullQueue({ redisUrl: opts.redisUrl, queueName: opts.queueName, maxQueued, keepResultsSeconds, attempts: opts.attempts ?? 3 });
  } else {
    embedded = createEmbeddedQueue({ modelsDir, concurrency: opts.concurrency ?? 1, maxQueued, keepResultsSeconds, log: logFn });
    queue = embedded;
    for (const r of await embedded.preload(ready)) {
      if (r.error) log.warn({ modelId: r.modelId, error: r.error }, `could not preload the keys of '${r.modelId}'`);
    }
  }

  let app: FastifyInstance;
  try {
    app = await createServer({ queue, models, token: opts.token, jobTimeoutSeconds, bodyLimit: opts.bodyLimit, uploadLimit: opts.uploadLimit, logger: log });
    await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8080 });
  } catch (e) {
    await queue.close(0);
    throw e;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port ?? 8080;
  const host = opts.host ?? '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  const close = (graceMs = Math.min(jobTimeoutSeconds * 1000, 60_000)): Promise<void> =>
    (closing ??= (async () => {
      log.info({ graceMs }, 'shutting down: no new requests; running jobs finish');
      // New requests are refused from now on (503, or the connection is refused); requests under way go on, and
      // those waiting for a proof get it as the queue finishes its jobs.
      const appClosed = app.close();
      await queue.close(graceMs);
      await Promise.race([models.idle(), new Promise((d) => setTimeout(d, graceMs).unref())]);
      // Every answer is out: close kept-alive connections (idle now) so the server's close completes; any
      // connection still open after 5 s is cut.
      app.server.closeIdleConnections();
      await Promise.race([appClosed, new Promise((d) => setTimeout(d, 5_000).unref())]);
      app.server.closeAllConnections();
      log.info('stopped');
    })());
  return { url, app, queue, models, preloaded: ready, close };
}
