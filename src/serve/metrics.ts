/**
 * The node's Prometheus metrics (GET /metrics), in a registry of its own (two nodes in one process do not
 * collide): queue depth gauges read from the queue at scrape time, jobs finished by model and status, proof
 * seconds by model, and prom-client's default process metrics (CPU, memory, event loop lag, ...).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { JobView, ProofQueue } from './types.ts';

export interface NodeMetrics {
  registry: Registry;
  /** Count and time one finished job (ProofQueue.onFinished). */
  record(job: JobView): void;
}

export function createMetrics(queue: ProofQueue): NodeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // One depth read per scrape serves both gauges.
  let depth: Promise<{ waiting: number; active: number }> | undefined;
  const readDepth = () => (depth ??= queue.depth().finally(() => setTimeout(() => (depth = undefined), 0)));
  new Gauge({
    name: 'zkonnx_queue_waiting',
    help: 'Proof jobs waiting for a prover',
    registers: [registry],
    async collect() {
      this.set((await readDepth()).waiting);
    },
  });
  new Gauge({
    name: 'zkonnx_queue_active',
    help: 'Proof jobs being proven',
    registers: [registry],
    async collect() {
      this.set((await readDepth()).active);
    },
  });
  const jobs = new Counter({ name: 'zkonnx_jobs_total', help: 'Proof jobs finished, by model and status (completed, failed)', labelNames: ['model', 'status'] as const, registers: [registry] });
  const seconds = new Histogram({
    name: 'zkonnx_prove_seconds',
    help: 'Seconds to prove one job (witness + Groth16 proof + the prover\'s own check), by model',
    labelNames: ['model'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  });
  return {
    registry,
    record(job) {
      jobs.inc({ model: job.modelId, status: job.status });
      const t = job.result?.timings;
      if (t) seconds.observe({ model: job.modelId }, t.witnessSeconds + t.proveSeconds + t.verifySeconds);
    },
  };
}
