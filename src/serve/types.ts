/**
 * The proving node's moving parts, shared by the HTTP server (src/serve/server.ts), the in-process queue with
 * its prover pool (embedded mode) and the BullMQ queue with its workers (`--redis`, src/serve/bullmq.ts).
 * The server only talks to a ProofQueue; where the proof is made is the queue's business.
 */
import { ZkonnxError } from '../errors.ts';
import type { ProofBundle } from '../verify/types.ts';
import type { OpeningFile } from '../prove/prove.ts';

/**
 * A job id: both queues make random UUIDs. The route requires this pattern, so no other string reaches the queue
 * (in Redis mode an id like 'events' or 'stalled-check' would name one of BullMQ's own keys).
 */
export const JOB_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** One inference to prove: a model id (an artifact directory's folder name under the models root) and its input JSON. */
export interface ProofJobData {
  modelId: string;
  /** The same JSON as an input file (object keyed by input name, or a bare nested array). */
  input: unknown;
}

/** What a finished job returns: the dequantized output (and per-part outputs) and the proof bundle. */
export interface ProofJobResult {
  output: number[];
  /** Several graph outputs (or an omitted Softmax): each by name, as `zkonnx prove --json` shows them. */
  outputs?: unknown;
  bundle: ProofBundle;
  /** Seconds: witness and Groth16 proof, as ProveTimings says. */
  timings: { witnessSeconds: number; proveSeconds: number; verifySeconds: number };
  /**
   * A hashed input: what opens its commitment (the uint8 input, the salt and the commitment), the opening file
   * `zkonnx prove` writes beside the bundle (save it and pass it to `zkonnx verify --open-input`). Only the
   * requester gets it: the bundle states the commitment only.
   */
  opening?: OpeningFile;
}

export type JobStatus = 'queued' | 'active' | 'completed' | 'failed';

/** A job as GET /v1/jobs/:id shows it. */
export interface JobView {
  id: string;
  modelId: string;
  status: JobStatus;
  /** Attempts made so far (a job whose worker died is tried again). */
  attempts: number;
  createdAt: string;
  finishedAt?: string;
  result?: ProofJobResult;
  /** A failed job: the error's code (ZkonnxError code, or TIMEOUT / INTERNAL) and message. */
  error?: { code: string; message: string };
}

export interface AddJobOptions {
  /** Per-job time limit in milliseconds: a proof running longer fails with code TIMEOUT. */
  timeoutMs: number;
  /** The model's input is hashed (its result carries an opening): logs name the job by a hash of its id. */
  hashedInput?: boolean;
}

/** The queue the server puts proofs on. Implementations: embedded (in-process) and BullMQ (Redis). */
export interface ProofQueue {
  readonly kind: 'embedded' | 'redis';
  /** Queue a job. Throws QueueFullError when `maxQueued` jobs are already waiting. */
  add(data: ProofJobData, opts: AddJobOptions): Promise<JobView>;
  /** The job's current state; undefined for an unknown (or expired) id. A view never carries `result.opening`. */
  get(id: string): Promise<JobView | undefined>;
  /**
   * A completed hashed-input job's opening (its private input and salt), handed out once: the first call gets it
   * and it is dropped from the node; later calls (and unknown ids) get undefined.
   */
  takeOpening(id: string): Promise<OpeningFile | undefined>;
  /** Resolve when the job completes or fails, or after `timeoutMs` with its state then (possibly still queued/active). */
  wait(id: string, timeoutMs: number): Promise<JobView | undefined>;
  /** Call `listener` once for every job that completes or fails (for metrics and logs), in whichever process proved it. */
  onFinished(listener: (job: JobView) => void): void;
  /** Jobs waiting plus running. */
  depth(): Promise<{ waiting: number; active: number }>;
  /**
   * Stop taking new jobs; let running ones finish within `graceMs` (embedded: jobs still running after it are
   * failed with SHUTDOWN; redis: they stay in Redis for the workers, and clients waiting for a proof get it if
   * it arrives within `graceMs`, else the job as it stands). Then release resources.
   */
  close(graceMs: number): Promise<void>;
}

/** The queue is full: the HTTP layer answers 429 with Retry-After. */
export class QueueFullError extends ZkonnxError {
  override name = 'QueueFullError';
  override readonly code = 'QUEUE_FULL';
  constructor(readonly retryAfterSeconds: number, maxQueued: number) {
    super(`The proof queue is full (${maxQueued} jobs waiting).`, { hint: `Retry after ${retryAfterSeconds} s.` });
  }
}

/** Options of BullMQ mode (src/serve/bullmq.ts createBullQueue), shared by `serve --redis` and `worker`. */
export interface BullQueueOptions {
  /** redis://host:port[/db] */
  redisUrl: string;
  /** BullMQ queue name (default 'zkonnx-proofs'); server and workers must agree. */
  queueName?: string;
  /** Jobs waiting at most (QueueFullError beyond). */
  maxQueued: number;
  /** How long finished jobs (and their results) stay readable, in seconds. */
  keepResultsSeconds: number;
  /** Attempts per job (a job whose worker dies or fails transiently is retried with exponential backoff). */
  attempts: number;
}
