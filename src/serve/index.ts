/**
 * `zkonnx/serve`: the proving node as a library (what `zkonnx serve` and `zkonnx worker` run). Its HTTP server,
 * metrics and logs need the optional packages fastify, @fastify/swagger, prom-client and pino (Redis mode also
 * bullmq and ioredis): `npm install fastify @fastify/swagger prom-client pino [bullmq ioredis]`. A separate entry
 * point, so that `zkonnx` and `zkonnx/verify` (and their type declarations) never reach those packages.
 */
export { startNode, createServer } from './api.ts';
export type { NodeOptions, ProvingNode } from './node.ts';
export type { ServerOptions } from './server.ts';
export { createEmbeddedQueue, EmbeddedQueue } from './embedded.ts';
export type { EmbeddedQueueOptions } from './embedded.ts';
export { ModelRegistry } from './models.ts';
export type { ModelInfo, ModelStatus, UploadOptions, TensorInfo } from './models.ts';
export { ModelProver, modelDir } from './prover.ts';
export { QueueFullError } from './types.ts';
export type { ProofQueue, ProofJobData, ProofJobResult, JobView, JobStatus, AddJobOptions, BullQueueOptions } from './types.ts';
