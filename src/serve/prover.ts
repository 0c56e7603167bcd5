/**
 * The node's prover: proves jobs against the artifact directories under one models root, keeping each model's
 * keys in memory between proofs (the witness calculator is cached per process by src/prove/witness.ts). Used by
 * the embedded pool's workers and by `zkonnx worker` (BullMQ); each process holds one ModelProver.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { describeOutputs } from '../cli/common.ts';
import { ArtifactError, InputError } from '../errors.ts';
import { showsOutputParts } from '../ir/io.ts';
import { loadKeys, OPENING_FORMAT, prove, type LoadedKeys } from '../prove/prove.ts';
import type { ProofJobData, ProofJobResult } from './types.ts';

/** A model id is a folder name: letters, digits, '.', '_' and '-', not starting with '.', at most 100 characters. */
export const MODEL_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/;

/** The artifact directory of model `id` under `root`; InputError for an id that is not a plain folder name. */
export function modelDir(root: string, id: string): string {
  if (typeof id !== 'string' || !MODEL_ID.test(id)) {
    throw new InputError(`modelId: '${String(id).slice(0, 120)}' is not a model id (a folder name of letters, digits, '.', '_' and '-').`);
  }
  return join(resolve(root), id);
}

/**
 * `message` without the absolute path `root` (a models root, a build folder): `ROOT/id/file` reads `id/file`, and
 * ROOT itself reads `the models root`. For API replies, which must not show the server's file system.
 */
export function hidePaths(message: string, root: string): string {
  const r = resolve(root);
  return message.split(`${r}${sep}`).join('').split(r).join('the models root');
}

/** A job error as a reply shows it: paths under the models root made relative (see hidePaths). */
export function publicJobError<T extends { message: string; hint?: string }>(e: T, root: string): T {
  return { ...e, message: hidePaths(e.message, root), ...(e.hint !== undefined ? { hint: hidePaths(e.hint, root) } : {}) };
}

export class ModelProver {
  private readonly keys = new Map<string, Promise<LoadedKeys>>();

  constructor(readonly modelsDir: string) {}

  /** Prove one job. Throws the library's typed errors (InputError for a bad input, ArtifactError for a missing model). */
  async prove(job: ProofJobData): Promise<ProofJobResult> {
    const dir = modelDir(this.modelsDir, job.modelId);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new ArtifactError(`No model '${job.modelId}' on this node.`, { hint: 'Compile and set it up there (`zkonnx run MODEL.onnx --out DIR/ID`), or upload it (POST /v1/models).' });
    }
    const keys = await this.keysOf(dir);
    const r = await prove(dir, job.input, { keys });
    // Set up again since the keys were read: read the new ones for the next proof (this one used the files).
    if (r.bundle.vkSha256 !== keys.vkSha256) this.keys.delete(dir);
    const { outputs } = describeOutputs(r.bundle.output.values, r.bundle.quantization.output);
    return {
      output: r.bundle.output.values,
      ...(showsOutputParts(r.bundle.quantization.output) ? { outputs } : {}),
      bundle: r.bundle,
      timings: r.timings,
      ...(r.opening
        ? {
            opening: {
              format: OPENING_FORMAT, vkSha256: r.bundle.vkSha256,
              input: { name: r.bundle.input.name, shape: r.bundle.input.shape, quantized: r.opening.input },
              salt: `0x${BigInt(r.opening.salt).toString(16)}`, commitment: r.opening.commitment,
            },
          }
        : {}),
    };
  }

  /** Read a model's keys now (before its first job), e.g. for every model a server serves at start. */
  async preload(modelId: string): Promise<void> {
    await this.keysOf(modelDir(this.modelsDir, modelId));
  }

  /** Drop a model's cached keys (after it was set up again). */
  forget(modelId: string): void {
    this.keys.delete(modelDir(this.modelsDir, modelId));
  }

  private keysOf(dir: string): Promise<LoadedKeys> {
    let k = this.keys.get(dir);
    if (!k) {
      k = loadKeys(dir);
      k.catch(() => this.keys.delete(dir));
      this.keys.set(dir, k);
    }
    return k;
  }
}
