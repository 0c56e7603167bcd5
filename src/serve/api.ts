/**
 * The proving node as the library exports it (`zkonnx/serve`, src/serve/index.ts). The HTTP parts (fastify, pino, prom-client) load
 * only when a node is started, so `import { verifyBundle } from 'zkonnx'` stays light.
 */
import type { FastifyInstance } from 'fastify';
import type { NodeOptions, ProvingNode } from './node.ts';
import type { NodeMetrics } from './metrics.ts';
import type { ServerOptions } from './server.ts';
import { REDIS_PACKAGES, requireOptional, SERVE_PACKAGES } from '../toolchain.ts';

/** Start a proving node (models, queue, HTTP server) and listen; see NodeOptions. `close()` stops it gracefully. */
export async function startNode(opts: NodeOptions = {}): Promise<ProvingNode> {
  await requireOptional(opts.redisUrl ? [...SERVE_PACKAGES, ...REDIS_PACKAGES] : SERVE_PACKAGES);
  return (await import('./node.ts')).startNode(opts);
}

/** The node's fastify app on a queue and models you made (not listening): for embedding in your own server. */
export async function createServer(opts: ServerOptions): Promise<FastifyInstance & { metrics: NodeMetrics }> {
  await requireOptional(SERVE_PACKAGES);
  return (await import('./server.ts')).createServer(opts);
}
