/**
 * `zkonnx serve`: a proving node over HTTP (src/serve/). Prints `zkonnx serve: listening on http://HOST:PORT`
 * on stdout once it accepts requests; logs JSON lines (pino) on stderr. SIGTERM or SIGINT stops it gracefully:
 * no new requests, running jobs finish (their clients get their proofs), exit 0; a second signal ends it at once.
 */
import type { CommandModule } from 'yargs';
import { REDIS_PACKAGES, requireOptional, SERVE_PACKAGES } from '../toolchain.ts';
import { InputError, ZkonnxError } from '../errors.ts';
import { artifactsRoot } from '../artifacts/paths.ts';
import type { GlobalArgs } from './common.ts';
import { globalOptions } from './common.ts';

interface Args extends GlobalArgs {
  port: number;
  host: string;
  models?: string;
  token?: string;
  concurrency: number;
  maxQueued: number;
  jobTimeout: number;
  bodyLimit: number;
  uploadLimit: number;
  keepResults: number;
  redis?: string;
  queueName?: string;
  logLevel: string;
}

/** As src/serve/embedded.ts MAX_KEEP_RESULTS_SECONDS (not imported: that module is loaded only when serving). */
const MAX_KEEP_RESULTS_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function positive(name: string, v: number, opts: { integer?: boolean; zero?: boolean } = {}): void {
  if (!Number.isFinite(v) || v < 0 || (!opts.zero && v === 0) || (opts.integer && !Number.isInteger(v))) {
    throw new InputError(`--${name} must be a ${opts.integer ? 'whole number' : 'number'} ${opts.zero ? '>= 0' : '> 0'}, got ${v}.`);
  }
}

export const serveCommand: CommandModule<object, Args> = {
  command: 'serve',
  describe: 'Run a proving node: an HTTP API that proves inferences of the models under --models (embedded prover pool, or Redis/BullMQ workers with --redis)',
  builder: (y) =>
    y.options({
      ...globalOptions,
      port: { type: 'number', default: 8080, describe: 'TCP port (0: any free port; the line on stdout says which)' },
      host: { type: 'string', default: '127.0.0.1', describe: 'Address to listen on (0.0.0.0 for every interface)' },
      models: { type: 'string', describe: 'Models root: each compiled and set-up artifact directory under it is served under its folder name (default: the artifacts root, $ZKONNX_ARTIFACTS or ./artifacts)' },
      token: { type: 'string', describe: 'Bearer token for writes (model uploads); default $ZKONNX_TOKEN; without one, uploads are refused' },
      concurrency: { type: 'number', default: 1, describe: 'Prover processes of the embedded pool' },
      'max-queued': { type: 'number', default: 64, describe: 'Jobs waiting at most; beyond, 429 with Retry-After' },
      'job-timeout': { type: 'number', default: 300, describe: 'Per-job time limit, seconds (also the longest an infer request waits)' },
      'body-limit': { type: 'number', default: 1024 * 1024, describe: 'Request body limit of infer and verify, bytes' },
      'upload-limit': { type: 'number', default: 64 * 1024 * 1024, describe: 'Request body limit of a model upload (base64 ONNX + calibration), bytes' },
      'keep-results': { type: 'number', default: 3600, describe: 'How long finished jobs stay readable (GET /v1/jobs/:id), seconds (at most 2147483, about 24.8 days)' },
      redis: { type: 'string', describe: 'redis://HOST:PORT: put jobs on a BullMQ queue for `zkonnx worker` processes instead of the embedded pool' },
      'queue-name': { type: 'string', describe: 'BullMQ queue name (with --redis; default zkonnx-proofs); workers must use the same' },
      'log-level': { choices: LOG_LEVELS, default: 'info' as const, describe: 'Log level of the JSON logs on stderr' },
    }) as never,
  async handler(args) {
    positive('port', args.port, { integer: true, zero: true });
    if (args.port > 65535) throw new InputError(`--port must be at most 65535, got ${args.port}.`);
    positive('concurrency', args.concurrency, { integer: true });
    positive('max-queued', args.maxQueued, { integer: true });
    positive('job-timeout', args.jobTimeout);
    positive('body-limit', args.bodyLimit, { integer: true });
    positive('upload-limit', args.uploadLimit, { integer: true });
    positive('keep-results', args.keepResults, { zero: true });
    // Results are dropped by a timer, and Node's timers hold at most 2^31 - 1 ms: beyond, they fire at once.
    if (args.keepResults > MAX_KEEP_RESULTS_SECONDS) {
      throw new InputError(`--keep-results must be at most ${MAX_KEEP_RESULTS_SECONDS} seconds (about 24.8 days), got ${args.keepResults}.`);
    }
    if (args.queueName !== undefined && !args.redis) throw new InputError('--queue-name goes with --redis URL.');
    const token = args.token ?? (process.env.ZKONNX_TOKEN || undefined);

    // Loaded here, not at the top: the other commands need neither fastify nor pino (optional peer dependencies,
    // named with the command that installs them when missing).
    await requireOptional(args.redis ? [...SERVE_PACKAGES, ...REDIS_PACKAGES] : SERVE_PACKAGES);
    const { startNode } = await import('../serve/node.ts');
    let node;
    try {
      node = await startNode({
        modelsDir: args.models ?? artifactsRoot(),
        host: args.host,
        port: args.port,
        token,
        concurrency: args.concurrency,
        maxQueued: args.maxQueued,
        jobTimeoutSeconds: args.jobTimeout,
        bodyLimit: args.bodyLimit,
        uploadLimit: args.uploadLimit,
        keepResultsSeconds: args.keepResults,
        redisUrl: args.redis,
        queueName: args.queueName,
        logLevel: args.logLevel,
      });
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
        throw new ZkonnxError(`Cannot listen on ${args.host}:${args.port}: ${code === 'EADDRINUSE' ? 'the port is in use' : code === 'EACCES' ? 'permission denied' : 'the address is not on this machine'} (${code}).`, {
          hint: 'Choose another --port (0 picks a free one) or --host.',
          cause: e,
        });
      }
      throw e;
    }
    process.stdout.write(`zkonnx serve: listening on ${node.url}\n`);
    // Until a signal: the command must not return (bin/zkonnx.js exits once main returns).
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    // A second signal: stop now.
    const now = (s: NodeJS.Signals) => {
      process.stderr.write(`zkonnx serve: ${s} again: stopping now\n`);
      process.exit(130);
    };
    process.once('SIGTERM', now);
    process.once('SIGINT', now);
    process.stderr.write(`zkonnx serve: ${signal}: finishing running jobs, then stopping\n`);
    await node.close();
  },
};
