/**
 * A prover process of the embedded pool (src/serve/embedded.ts forks it): one ModelProver, so each model's
 * keys and witness calculator stay loaded between jobs. It proves one job at a time, as the parent sends them.
 *
 * Parent -> child: { type: 'prove', jobId, data } | { type: 'preload', modelId } | { type: 'forget', modelId }
 * Child -> parent: { type: 'ready' } | { type: 'started', jobId } | { type: 'done', jobId, result }
 *                  | { type: 'failed', jobId, error } | { type: 'preloaded', modelId, error? }
 * 'started' is sent when the job's own proof begins (after a warm-up under way): the parent's per-job time limit
 * runs from it, so a warm-up never counts against a job.
 * The models root is argv[2]. The parent owns its life: signals sent to the whole process group (Ctrl-C in a
 * terminal) are ignored here, so the server decides when running proofs end; a lost parent ends it.
 */
import { readManifest } from '../artifacts/manifest.ts';
import { sizeOf } from '../ir/types.ts';
import { ModelProver, modelDir, publicJobError } from './prover.ts';
import { errorBody } from './errors.ts';
import type { ProofJobData, ProofJobResult } from './types.ts';

export type ToChild =
  | { type: 'prove'; jobId: string; data: ProofJobData }
  | { type: 'preload'; modelId: string }
  | { type: 'forget'; modelId: string };

export type FromChild =
  | { type: 'ready' }
  | { type: 'started'; jobId: string }
  | { type: 'done'; jobId: string; result: ProofJobResult }
  | { type: 'failed'; jobId: string; error: { code: string; message: string; hint?: string } }
  | { type: 'preloaded'; modelId: string; error?: { code: string; message: string } };

function send(m: FromChild): void {
  process.send?.(m);
}

/**
 * One throwaway proof of an all-zero input after a model's keys are loaded: the first real job then finds the
 * curve's tables built and the witness calculator compiled (a cold first proof costs seconds more). Failures
 * are ignored (an input of zeros may be outside an integer input's bounds): the real job reports its own.
 */
async function warmUp(prover: ModelProver, modelId: string): Promise<void> {
  const m = await readManifest(modelDir(prover.modelsDir, modelId));
  await prover.prove({ modelId, input: new Float64Array(sizeOf(m.input.shape)) });
}

if (process.send) {
  const prover = new ModelProver(process.argv[2] ?? '.');
  // Jobs wait for a warm-up under way (they would only compete with it for the same CPU); warm-ups not begun
  // yet are skipped while a job is waiting or running (the job warms the model up itself).
  let warm: Promise<unknown> = Promise.resolve();
  let jobs = 0;
  /** Models warmed up (or being warmed) in this process: a repeated preload does not warm up again. */
  const warmed = new Set<string>();
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: ToChild) => {
    if (m.type === 'prove') {
      jobs++;
      warmed.add(m.data.modelId);
      warm
        .then(() => {
          send({ type: 'started', jobId: m.jobId });
          return prover.prove(m.data);
        })
        .then(
          (result) => send({ type: 'done', jobId: m.jobId, result }),
          (e: unknown) => send({ type: 'failed', jobId: m.jobId, error: publicJobError(errorBody(e), prover.modelsDir) }),
        )
        .finally(() => jobs--);
    } else if (m.type === 'preload') {
      prover.preload(m.modelId).then(
        () => {
          send({ type: 'preloaded', modelId: m.modelId });
          if (warmed.has(m.modelId)) return;
          warmed.add(m.modelId);
          warm = warm.then(() => (jobs > 0 ? undefined : warmUp(prover, m.modelId))).catch(() => {});
        },
        (e: unknown) => send({ type: 'preloaded', modelId: m.modelId, error: publicJobError(errorBody(e), prover.modelsDir) }),
      );
    } else if (m.type === 'forget') {
      prover.forget(m.modelId);
      warmed.delete(m.modelId);
    }
  });
  send({ type: 'ready' });
}
