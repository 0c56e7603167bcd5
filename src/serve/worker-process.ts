/**
 * One prover process of `zkonnx worker` (src/serve/worker.ts forks it, one per concurrent job, and reuses it):
 * it holds a ModelProver, so a model's keys and witness calculator stay loaded between the jobs it proves. A
 * proof blocks its event loop (witness wasm, snarkjs); running it here keeps the worker's main process free for
 * BullMQ's lock renewal and for the per-job time limit (which kills this process). A process, not a worker
 * thread: snarkjs' own BN254 threads (web-worker) only start from a main thread.
 *
 * Protocol (IPC, JSON): the parent sends {data: ProofJobData}; the child answers {ok: true, result} or
 * {ok: false, error: {name, code, message}}. The models root is argv[2]. The parent owns its life: SIGINT and
 * SIGTERM sent to the whole process group (Ctrl-C) are ignored, so the worker decides whether running proofs
 * finish; a lost parent (killed worker) ends it.
 */
import { hidePaths, ModelProver } from './prover.ts';
import type { ProofJobData } from './types.ts';

export interface ProverRequest {
  data: ProofJobData;
}

export type ProverReply =
  | { ok: true; result: unknown }
  | { ok: false; error: { name: string; code: string; message: string } };

if (process.send) {
  const prover = new ModelProver(process.argv[2] ?? '.');
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  process.on('disconnect', () => process.exit(0));
  process.on('message', async ({ data }: ProverRequest) => {
    let reply: ProverReply;
    try {
      const result = await prover.prove(data);
      // What Redis will hold: fails here (not later, in BullMQ) if anything is not JSON.
      reply = { ok: true, result: JSON.parse(JSON.stringify(result)) };
    } catch (e) {
      const err = e as { name?: string; code?: unknown; message?: string };
      reply = {
        ok: false,
        error: { name: err?.name ?? 'Error', code: typeof err?.code === 'string' && /^[A-Z0-9_]+$/.test(err.code) ? err.code : 'INTERNAL', message: hidePaths(err?.message ?? String(e), prover.modelsDir) },
      };
    }
    process.send?.(reply);
  });
}
