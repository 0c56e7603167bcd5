/**
 * The proving node's HTTP layer (fastify): every route has a JSON schema (body, params, querystring,
 * responses), validated before any work and published as an OpenAPI document at /openapi.json. It answers
 * fast and never proves on its own thread: proofs go on a ProofQueue (embedded pool or BullMQ), and the
 * request waits for the job up to the time the client chose.
 *
 * Errors always have one shape, `{ error: { code, message, hint? } }`: 400 bad request (a schema failure names
 * the field, as "body/input must be ..."; an input that does not fit the model names it too), 401 a write without
 * the right bearer token, 403 writes disabled (no token configured), 404 unknown model or job, 409 a model id
 * that exists or a model that is not ready, 400 BODY_TOO_LARGE a body over the limit, 429 a full queue (Retry-After), 503
 * shutting down, 504 a job past its time limit.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { visibilityOf } from '../artifacts/manifest.ts';
import { exportSolidity } from '../evm/solidity.ts';
import { InputError } from '../errors.ts';
import type { ProofBundle } from '../verify/types.ts';
import { verifyBundle } from '../verify/verify.ts';
import { ZKONNX_VERSION } from '../version.ts';
import { errorBody, ForbiddenError, NotFoundError, statusOf, statusOfJobError, UnauthorizedError } from './errors.ts';
import { createMetrics, type NodeMetrics } from './metrics.ts';
import { ModelRegistry } from './models.ts';
import { MODEL_ID } from './prover.ts';
import { JOB_ID } from './types.ts';
import { QueueFullError, type JobView, type ProofQueue } from './types.ts';

export interface ServerOptions {
  queue: ProofQueue;
  models: ModelRegistry;
  /** Bearer token for writes (model uploads); without one, uploads are refused (403). */
  token?: string;
  /** Per-job time limit, seconds (default 300); also the longest a request may wait for its proof. */
  jobTimeoutSeconds?: number;
  /** Default wait of POST /v1/models/:id/infer, seconds (default 30, at most jobTimeoutSeconds). */
  defaultWaitSeconds?: number;
  /** Request body limit of infer and verify, bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Request body limit of a model upload (base64 ONNX + calibration), bytes (default 64 MiB). */
  uploadLimit?: number;
  /** A pino logger (JSON lines); default: none. */
  logger?: Logger;
}

const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------------------
// Schemas (plain JSON Schema objects: fastify validates requests and serializes replies with them, and
// @fastify/swagger publishes them).

const errorReply = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'Machine-readable: BAD_REQUEST, BAD_INPUT, NOT_FOUND, UNAUTHORIZED, QUEUE_FULL, TIMEOUT, ...' },
        message: { type: 'string' },
        hint: { type: 'string', description: 'How to fix it' },
      },
    },
    jobId: { type: 'string', description: 'A failed inference: its job' },
  },
} as const;

const errors = { '4xx': errorReply, '5xx': errorReply } as const;

const modelIdParam = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: MODEL_ID.source, description: 'Model id: its folder name under the models root' } },
} as const;

const tensorInfo = {
  type: 'object',
  required: ['name', 'shape'],
  properties: { name: { type: 'string' }, shape: { type: 'array', items: { type: 'integer' } }, dtype: { type: 'string' } },
} as const;

const modelInfo = {
  type: 'object',
  required: ['id', 'status'],
  properties: {
    id: { type: 'string' },
    status: { type: 'string', enum: ['ready', 'compiling', 'failed', 'not-set-up', 'not-compiled'] },
    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
    constraints: { type: 'integer' },
    keyKind: { type: 'string', enum: ['dev', 'ceremony'] },
    vkSha256: { type: 'string' },
    backend: { type: 'string' },
    publicInputs: { type: 'string', enum: ['plain', 'packed'] },
    visibility: { type: 'object', properties: { input: { type: 'string' }, output: { type: 'string' }, params: { type: 'string' } } },
    inputs: { type: 'array', items: tensorInfo },
    outputs: { type: 'array', items: tensorInfo },
  },
} as const;

const anyObject = { type: 'object', additionalProperties: true } as const;

const timings = {
  type: 'object',
  properties: { witnessSeconds: { type: 'number' }, proveSeconds: { type: 'number' }, verifySeconds: { type: 'number' } },
} as const;

const proofResult = {
  type: 'object',
  required: ['output', 'bundle'],
  properties: {
    output: { type: 'array', items: { type: 'number' }, description: 'The dequantized output the proof establishes' },
    outputs: { description: 'Several graph outputs (or a left-out Softmax): each by name, as `zkonnx prove --json` shows them' },
    bundle: { ...anyObject, description: 'The proof bundle (as `zkonnx prove` writes it): check it with `zkonnx verify BUNDLE --vk KEY` or POST /v1/verify' },
    timings,
    opening: {
      type: 'object',
      description: 'A hashed input: the opening of its commitment, as `zkonnx prove` writes *.opening.json (keep it: the bundle states only the commitment; `zkonnx verify BUNDLE --vk KEY --open-input FILE` checks it)',
      properties: {
        format: { type: 'string' },
        vkSha256: { type: 'string' },
        input: { type: 'object', properties: { name: { type: 'string' }, shape: { type: 'array', items: { type: 'integer' } }, quantized: { type: 'array', items: { type: 'integer' } } } },
        salt: { type: 'string' },
        commitment: { type: 'string' },
      },
    },
  },
} as const;

const jobView = {
  type: 'object',
  required: ['id', 'modelId', 'status', 'attempts', 'createdAt'],
  properties: {
    id: { type: 'string' },
    modelId: { type: 'string' },
    status: { type: 'string', enum: ['queued', 'active', 'completed', 'failed'] },
    attempts: { type: 'integer' },
    createdAt: { type: 'string' },
    finishedAt: { type: 'string' },
    result: proofResult,
    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
  },
} as const;

const inputSchema = {
  type: ['array', 'object'],
  description: 'The same JSON as an input file: an object keyed by input name, or a bare (nested or flat) array for one input',
} as const;

const waitSchema = { type: 'number', minimum: 0, description: 'Seconds to wait for the proof (default 30, at most the job time limit); 0 answers 202 at once' } as const;

// ---------------------------------------------------------------------------------------------------------

/** sha256 of both sides, compared in constant time (no early exit on the first differing byte, nor on length). */
function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** A schema failure as one message naming the field: "body/input must be array,object", "body must NOT have additional properties ('inptu')". */
function schemaMessage(errs: { instancePath: string; message?: string; keyword: string; params: Record<string, unknown> }[], dataVar: string): string {
  const e = errs[0];
  if (!e) return `${dataVar} is not valid`;
  let msg = `${dataVar}${e.instancePath} ${e.message ?? 'is not valid'}`;
  if (e.keyword === 'additionalProperties') msg += ` ('${String(e.params.additionalProperty)}')`;
  if (e.keyword === 'enum' && Array.isArray(e.params.allowedValues)) msg += `: ${e.params.allowedValues.join(', ')}`;
  return msg;
}

/**
 * The fastify app with every route. It does not listen: call `app.listen`, or use startNode (src/serve/node.ts),
 * which also makes the queue and preloads the models.
 */
export async function createServer(opts: ServerOptions): Promise<FastifyInstance & { metrics: NodeMetrics }> {
  const { queue, models } = opts;
  const jobTimeoutS = opts.jobTimeoutSeconds ?? 300;
  const defaultWaitS = Math.min(opts.defaultWaitSeconds ?? 30, jobTimeoutS);
  const bodyLimit = opts.bodyLimit ?? MiB;
  const uploadLimit = opts.uploadLimit ?? 64 * MiB;

  const app: FastifyInstance = Fastify({
    // Request logs show GET /v1/jobs/:id without the id: a job id is what reads a job's result (and, once, a hashed
    // input's opening), so it is not written to logs at info level.
    ...(opts.logger ? { loggerInstance: opts.logger.child({}, { serializers: { req: requestForLog } }) as FastifyBaseLogger } : { logger: false }),
    bodyLimit,
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false, allErrors: false, allowUnionTypes: true } },
    schemaErrorFormatter: (errs, dataVar) => new Error(schemaMessage(errs as never, dataVar)),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  const metrics = createMetrics(queue);
  /** Jobs of hashed-input models added here: logged by a hash of their id (their result carries an opening). */
  const hashedJobs = new Set<string>();
  queue.onFinished((job) => {
    metrics.record(job);
    const t = job.result?.timings;
    const ref = hashedJobs.delete(job.id) ? { job: createHash('sha256').update(job.id).digest('hex').slice(0, 16) } : { jobId: job.id };
    app.log.info({ ...ref, modelId: job.modelId, status: job.status, attempts: job.attempts, ...(t ? { proveSeconds: t.proveSeconds, witnessSeconds: t.witnessSeconds } : {}), ...(job.error ? { error: job.error } : {}) }, `job ${job.status}`);
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'zkonnx proving node',
        version: ZKONNX_VERSION,
        description: 'Verifiable inference: run a model on an input and get its output with a Groth16 proof (a zkonnx bundle) that anyone holding the verification key can check.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });

  app.setErrorHandler((err: FastifyError & { validation?: unknown }, req, reply) => {
    if (err.validation) {
      return reply.code(400).send({ error: { code: 'BAD_REQUEST', message: err.message } });
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const limit = req.routeOptions.bodyLimit ?? bodyLimit;
      const flag = req.routeOptions.url === '/v1/models' ? '--upload-limit' : '--body-limit';
      // 400 as every other refused body (the contract for clients), naming the body and the limit.
      return reply.code(400).send({ error: { code: 'BODY_TOO_LARGE', message: `body: the request body is larger than this route's limit of ${limit} bytes.`, hint: `The node's operator sets it with ${flag}.` } });
    }
    if (err instanceof QueueFullError) reply.header('retry-after', String(err.retryAfterSeconds));
    if (err instanceof UnauthorizedError) reply.header('www-authenticate', 'Bearer realm="zkonnx"');
    // fastify's own client errors (bad JSON, wrong content type, ...) keep their status and code.
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 && err.code?.startsWith('FST_')) {
      return reply.code(err.statusCode).send({ error: { code: 'BAD_REQUEST', message: err.message } });
    }
    const status = statusOf(err);
    if (status >= 500) req.log.error({ err }, 'request failed');
    return reply.code(status).send({ error: errorBody(err) });
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: { code: 'NOT_FOUND', message: `No route ${req.method} ${req.url.split('?')[0]}.`, hint: 'GET /openapi.json lists the routes.' } });
  });

  /** Writes need the bearer token; checked before the body is read (onRequest). */
  const requireToken = async (req: FastifyRequest): Promise<void> => {
    if (!opts.token) {
      throw new ForbiddenError('Model uploads are disabled on this node: it has no write token.', { hint: 'Start it with --token T (or ZKONNX_TOKEN=T) and send `Authorization: Bearer T`.' });
    }
    const h = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(h);
    if (!m) throw new UnauthorizedError('This request needs a bearer token.', { hint: 'Send `Authorization: Bearer <token>` with the token the node was started with.' });
    if (!sameToken(m[1]!.trim(), opts.token)) throw new UnauthorizedError('The bearer token is not valid.');
  };

  app.get('/healthz', {
    schema: {
      summary: 'Liveness: the node answers, with its queue depth',
      tags: ['node'],
      response: { 200: { type: 'object', properties: { status: { type: 'string' }, queue: { type: 'string' }, waiting: { type: 'integer' }, active: { type: 'integer' } } }, ...errors },
    },
  }, async () => ({ status: 'ok', queue: queue.kind, ...(await queue.depth()) }));

  app.get('/metrics', {
    schema: { summary: 'Prometheus metrics (text exposition format)', tags: ['node'], response: { 200: { type: 'string', description: 'Prometheus text format' } } },
  }, async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get('/v1/models', {
    schema: {
      summary: 'Every model under the models root (and uploads under way), with its status',
      tags: ['models'],
      response: { 200: { type: 'object', required: ['models'], properties: { models: { type: 'array', items: modelInfo } } }, ...errors },
    },
  }, async () => ({ models: await models.list() }));

  app.get<{ Params: { id: string } }>('/v1/models/:id', {
    schema: { summary: 'A model: status, constraints, key kind, vk hash, inputs and outputs', tags: ['models'], params: modelIdParam, response: { 200: modelInfo, ...errors } },
  }, async (req) => models.info(req.params.id));

  app.get<{ Params: { id: string }; Querystring: { format?: 'json' | 'solidity'; contractName?: string } }>('/v1/models/:id/vk', {
    schema: {
      summary: 'The verification key (JSON), or with ?format=solidity a Solidity verifier contract for it',
      tags: ['models'],
      params: modelIdParam,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          format: { type: 'string', enum: ['json', 'solidity'], default: 'json' },
          contractName: { type: 'string', description: 'With format=solidity: the contract name (default Zkonnx<Model>Verifier)' },
        },
      },
      response: {
        200: {
          description: 'The verification key (application/json), or the Solidity source (text/plain)',
          content: { 'application/json': { schema: anyObject }, 'text/plain': { schema: { type: 'string' } } },
        },
        ...errors,
      },
    },
  }, async (req, reply) => {
    const { vk, vkSha256 } = await models.vk(req.params.id);
    reply.header('x-zkonnx-vk-sha256', vkSha256);
    if (req.query.format === 'solidity') {
      const v = exportSolidity(vk, { contractName: req.query.contractName });
      return reply.type('text/plain; charset=utf-8').header('x-zkonnx-contract-name', v.contractName).send(v.source);
    }
    return reply.type('application/json').send(vk);
  });

  app.post<{ Body: UploadBody }>('/v1/models', {
    bodyLimit: uploadLimit,
    onRequest: requireToken,
    schema: {
      summary: 'Upload an ONNX model: it is compiled and set up (dev key) in the background, then served',
      description: 'Answers 202 with status compiling; GET /v1/models/:id shows ready, or failed with the error. Options as `zkonnx compile` names them.',
      tags: ['models'],
      security: [{ bearer: [] }],
      body: {
        type: 'object',
        required: ['id', 'onnx', 'calibration'],
        additionalProperties: false,
        properties: {
          id: { type: 'string', pattern: MODEL_ID.source, description: 'The model id (a folder name of letters, digits, ".", "_" and "-")' },
          onnx: { type: 'string', minLength: 1, description: 'The .onnx file, base64' },
          calibration: { type: 'array', minItems: 1, items: { type: ['array', 'object'] }, description: 'Calibration inputs (as a calibration file: an array of inputs)' },
          inputVisibility: { type: 'string', enum: ['public', 'hashed', 'private'] },
          outputVisibility: { type: 'string', enum: ['public', 'hashed'] },
          paramVisibility: { type: 'string', enum: ['fixed', 'hashed'] },
          publicInputs: { type: 'string', enum: ['plain', 'packed'] },
          dims: { type: 'object', additionalProperties: { type: 'integer', minimum: 1 }, description: 'Sizes of symbolic input dimensions (as --dim NAME=N)' },
          inputBounds: {
            type: 'object',
            additionalProperties: { type: 'array', items: { type: 'integer' }, minItems: 2, maxItems: 2 },
            description: 'Bounds of integer inputs by name, [lo, hi] (as --input-bounds NAME=LO:HI)',
          },
          backend: { type: 'string', enum: ['direct', 'circom'] },
        },
      },
      response: { 202: modelInfo, ...errors },
    },
  }, async (req, reply) => {
    const { id, onnx, ...rest } = req.body;
    const b64 = onnx.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 === 1) throw new InputError('body/onnx is not base64.', { hint: 'Send the .onnx file base64-encoded (`base64 -w0 model.onnx`).' });
    for (const [name, [lo, hi]] of Object.entries(rest.inputBounds ?? {})) {
      if (lo > hi) throw new InputError(`body/inputBounds/${name}: [${lo}, ${hi}] has lo > hi.`);
    }
    const info = await models.upload(id, Buffer.from(b64, 'base64'), rest);
    reply.header('location', `/v1/models/${id}`);
    return reply.code(202).send(info);
  });

  app.post<{ Params: { id: string }; Body: { input: unknown; wait?: number }; Querystring: { wait?: number } }>('/v1/models/:id/infer', {
    schema: {
      summary: 'Run the model on an input and prove it: 200 with output and bundle when done within `wait`, else 202 with the job id',
      tags: ['inference'],
      params: modelIdParam,
      querystring: { type: 'object', additionalProperties: false, properties: { wait: waitSchema } },
      body: { type: 'object', required: ['input'], additionalProperties: false, properties: { input: inputSchema, wait: waitSchema } },
      response: {
        200: { type: 'object', required: ['jobId', 'output', 'bundle'], properties: { jobId: { type: 'string' }, modelId: { type: 'string' }, ...proofResult.properties } },
        202: { type: 'object', required: ['jobId', 'status'], properties: { jobId: { type: 'string' }, status: { type: 'string' }, location: { type: 'string' } } },
        ...errors,
      },
    },
  }, async (req, reply) => {
    const id = req.params.id;
    const { manifest } = await models.ready(id);
    // Shape, names, element type and integer bounds: refused here, before the queue (InputError -> 400).
    models.checkInput(manifest, req.body.input);
    const waitS = Math.min(req.body.wait ?? req.query.wait ?? defaultWaitS, jobTimeoutS);
    const hashedInput = visibilityOf(manifest).input === 'hashed';
    const job = await queue.add({ modelId: id, input: req.body.input }, { timeoutMs: Math.round(jobTimeoutS * 1000), ...(hashedInput ? { hashedInput } : {}) });
    if (hashedInput) hashedJobs.add(job.id);
    const view = (await queue.wait(job.id, Math.round(waitS * 1000))) ?? job;
    return inferReply(reply, view, queue);
  });

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', {
    schema: {
      summary: 'A proof job: queued, active, completed (with output and bundle) or failed (with the error)',
      description:
        'Anyone holding the job id can read the job until its result expires (--keep-results). A hashed-input model\'s result ' +
        'carries `opening` (the private input and its salt) once only: in the infer reply that returned the proof, or else in the ' +
        'first GET of the completed job; the node then drops it, and later reads show the result without it. Keep the opening ' +
        'when you get it.',
      tags: ['inference'],
      params: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: JOB_ID.source, description: 'The job id (a UUID) that infer answered with' } } },
      response: { 200: jobView, ...errors },
    },
  }, async (req) => {
    const view = await queue.get(req.params.id);
    if (!view) throw new NotFoundError(`No job '${req.params.id}' (unknown, or its result expired).`);
    if (view.status === 'completed' && view.result) {
      // A hashed input's opening: handed out once (this read, if no one got it before), then dropped.
      const opening = await queue.takeOpening(view.id);
      if (opening) return { ...view, result: { ...view.result, opening } };
    }
    return view;
  });

  app.post<{ Body: { bundle: ProofBundle; modelId?: string } }>('/v1/verify', {
    schema: {
      summary: 'Check a proof bundle against a verification key this node holds (the model\'s, or the one whose hash the bundle names)',
      tags: ['inference'],
      body: {
        type: 'object',
        required: ['bundle'],
        additionalProperties: false,
        properties: { bundle: { ...anyObject, description: 'A zkonnx proof bundle' }, modelId: { type: 'string', pattern: MODEL_ID.source } },
      },
      response: {
        200: {
          type: 'object',
          required: ['valid', 'reason'],
          properties: {
            valid: { type: 'boolean' },
            reason: { type: 'string' },
            modelId: { type: 'string' },
            vkSha256: { type: 'string' },
            keyKind: { type: 'string' },
            output: { type: 'array', items: { type: 'number' } },
          },
        },
        ...errors,
      },
    },
  }, async (req) => {
    const { bundle } = req.body;
    let modelId = req.body.modelId;
    if (modelId === undefined) {
      const sha = (bundle as { vkSha256?: unknown }).vkSha256;
      if (typeof sha !== 'string') throw new InputError('body/bundle/vkSha256 is missing: give modelId, or a bundle that names its key.');
      modelId = await models.byVkSha256(sha);
      if (!modelId) throw new NotFoundError(`No model on this node has the verification key ${sha} that the bundle names.`, { hint: 'Give modelId to check the bundle against that model\'s key.' });
    }
    const { vk, vkSha256 } = await models.vk(modelId);
    const r = await verifyBundle(bundle, vk);
    return { valid: r.valid, reason: r.reason, modelId, vkSha256, ...(r.valid ? { keyKind: r.keyKind, output: r.output } : {}) };
  });

  return Object.assign(app, { metrics });
}

interface UploadBody {
  id: string;
  onnx: string;
  calibration: unknown[];
  inputVisibility?: 'public' | 'hashed' | 'private';
  outputVisibility?: 'public' | 'hashed';
  paramVisibility?: 'fixed' | 'hashed';
  publicInputs?: 'plain' | 'packed';
  dims?: Record<string, number>;
  inputBounds?: Record<string, [number, number]>;
  backend?: 'direct' | 'circom';
}

/** A request as request logs show it: GET /v1/jobs/:id without the job id. */
function requestForLog(req: { method?: string; url?: string; host?: string; hostname?: string; ip?: string; socket?: { remotePort?: number } }): Record<string, unknown> {
  return {
    method: req.method,
    url: req.url?.replace(/^\/v1\/jobs\/[^/?#]+/, '/v1/jobs/:id'),
    host: req.host ?? req.hostname,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/** A job as the infer route answers it: the proof (200, with a hashed input's opening, handed out once), still under way (202), or its error. */
async function inferReply(reply: FastifyReply, view: JobView, queue: ProofQueue): Promise<FastifyReply> {
  if (view.status === 'completed' && view.result) {
    const r = view.result;
    const opening = await queue.takeOpening(view.id);
    return reply.code(200).send({ jobId: view.id, modelId: view.modelId, output: r.output, ...(r.outputs !== undefined ? { outputs: r.outputs } : {}), bundle: r.bundle, timings: r.timings, ...(opening ? { opening } : {}) });
  }
  if (view.status === 'failed') {
    const e = view.error ?? { code: 'INTERNAL', message: 'The job failed.' };
    return reply.code(statusOfJobError(e.code)).send({ error: e, jobId: view.id });
  }
  const location = `/v1/jobs/${view.id}`;
  return reply.code(202).header('location', location).send({ jobId: view.id, status: view.status, location });
}
