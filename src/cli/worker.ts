/**
 * `zkonnx worker --redis URL [--concurrency N] [--models DIR] [--queue-name NAME] [--log-level LEVEL]`: take
 * proof jobs from the Redis/BullMQ queue that `zkonnx serve --redis URL` fills. Prints
 * `zkonnx worker: ready (queue NAME, concurrency N)` on stdout once connected; JSON log lines on stderr.
 * SIGTERM/SIGINT: finish the running jobs, then exit 0.
 */
import type { CommandModule } from 'yargs';
import { REDIS_PACKAGES, requireOptional } from '../toolchain.ts';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { artifactsRoot } from '../artifacts/paths.ts';
import { InputError } from '../errors.ts';
import type { GlobalArgs } from './common.ts';

interface Args extends GlobalArgs {
  redis: string;
  concurrency: number;
  models?: string;
  queueName?: string;
  logLevel: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const workerCommand: CommandModule<object, Args> = {
  command: 'worker',
  describe: 'Take proof jobs from a Redis/BullMQ queue (filled by `zkonnx serve --redis`)',
  builder: (y) =>
    y
      .options({
        redis: { type: 'string', demandOption: true, describe: 'Redis URL (redis://HOST:PORT[/DB], rediss:// for TLS), the same as the server\'s' },
        concurrency: { type: 'number', default: 1, describe: 'Jobs proved at once (one prover process each)' },
        models: { type: 'string', describe: 'Models root shared with the server: one compiled + set-up artifact directory per model id (default: the artifacts root)' },
        'queue-name': { type: 'string', describe: 'BullMQ queue name, the same as the server\'s (default zkonnx-proofs)' },
        'log-level': { type: 'string', choices: LOG_LEVELS, default: 'info', describe: 'JSON log lines on stderr at this level and above' },
      })
      .example('$0 worker --redis redis://10.0.0.5:6379 --models /mnt/models --concurrency 2', 'Prove jobs of the server at 10.0.0.5') as never,
  async handler(args) {
    // Loaded here, not at the top: the other commands do not need BullMQ or pino (optional peer dependencies).
    await requireOptional([...REDIS_PACKAGES, 'pino']);
    const [{ runWorker }, { pino }] = await Promise.all([import('../serve/worker.ts'), import('pino')]);
    const logger = pino({ level: args.logLevel, base: { cmd: 'zkonnx worker' } }, pino.destination({ fd: 2, sync: true }));
    const modelsDir = resolve(args.models ?? artifactsRoot());
    if (!existsSync(modelsDir) || !statSync(modelsDir).isDirectory()) {
      throw new InputError(`--models: '${modelsDir}' is not a directory.`, {
        hint: 'Give the models directory the server serves (the same files on every machine: a shared mount or a copy), one compiled + set-up artifact directory per model id.',
      });
    }
    const w = await runWorker({ redisUrl: args.redis, concurrency: args.concurrency, modelsDir, queueName: args.queueName, logger });
    process.stdout.write(`zkonnx worker: ready (queue ${w.queueName}, concurrency ${w.concurrency})\n`);
    // Replace the CLI's interrupt handler (exit at once): finish the running jobs first, then exit 0.
    process.removeAllListeners('SIGTERM');
    process.removeAllListeners('SIGINT');
    await new Promise<void>((resolve) => {
      const stop = (signal: NodeJS.Signals) => {
        logger.info({ signal }, 'stopping: finishing the running jobs');
        w.close().then(resolve, (e: Error) => {
          logger.error({ err: e.message }, 'error while stopping');
          resolve();
        });
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    logger.info({}, 'stopped');
  },
};
