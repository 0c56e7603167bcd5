/**
 * A prover process of the embedded pool (src/serve/embedded.ts forks it): one ModelProver, so each model's
 * keys and witness calculator stay loaded between jobs. It proves one job at a time, as the parent sends them.
 *
 * Parent -> child: { type: 'prove', jobId, data } | { type: 'preload', modelId } | { type: 'forget', modelId }
 * Child -> parent: { type: 'ready' } | { type: 'done', jobId, result } | { type: 'failed', jobId, error }
 *                  | { type: 'preloaded', modelId, error? }
 * The models root is argv[2]. The parent owns its life: signals sent to the whole process group (Ctrl-C in a
 * terminal) are ignored here, so the server decides when running proofs end; a lost parent ends it.
 */
import { ModelProver } from './prover.ts';
import { errorBody } from './errors.ts';
import type { ProofJobData, ProofJobResult } from './types.ts';

export type ToChild =
  | { type: 'prove'; jobId: string; data: ProofJobData }
  | { type: 'preload'; modelId: string }
  | { type: 'forget'; modelId: string };

export type FromChild =
  | { type: 'ready' }
  | { type: 'done'; jobId: string; result: ProofJobResult }
  | { type: 'failed'; jobId: string; error: { code: string; message: string; hint?: string } }
  | { type: 'preloaded'; modelId: string; error?: { code: string; message: string } };

function send(m: FromChild): void {
  process.send?.(m);
}

if (process.send) {
  const prover = new ModelProver(process.argv[2] ?? '.');
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: ToChild) => {
    if (m.type === 'prove') {
      prover.prove(m.data).then(
        (result) => send({ type: 'done', jobId: m.jobId, result }),
        (e: unknown) => send({ type: 'failed', jobId: m.jobId, error: errorBody(e) }),
      );
    } else if (m.type === 'preload') {
      prover.preload(m.modelId).then(
        () => send({ type: 'preloaded', modelId: m.modelId }),
        (e: unknown) => send({ type: 'preloaded', modelId: m.modelId, error: errorBody(e) }),
      );
    } else if (m.type === 'forget') {
      prover.forget(m.modelId);
    }
  });
  send({ type: 'ready' });
}
