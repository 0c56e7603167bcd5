/** Shared fixtures: small random MLPs compiled (and keyed) once into artifacts/test/<key>/. */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compileModel, loadModelFile } from '../../src/compile/model.ts';
import type { FloatModel } from '../../src/ir/types.ts';
import { sizeOf } from '../../src/ir/types.ts';
import { mulberry32, randomMlp, type RandomMlpOptions } from '../../src/onnx/builder.ts';
import { setupKeys } from '../../src/setup/setup.ts';
import { readManifest } from '../../src/artifacts/manifest.ts';
import { artifactPath } from '../../src/artifacts/paths.ts';

export const TEST_ROOT = 'artifacts/test';

export interface Fixture {
  key: string;
  dir: string;
  modelPath: string;
  model: FloatModel;
  calibration: Float64Array[];
  /** Deterministic random float inputs in [lo, hi). */
  inputs(n: number, seed: number, lo?: number, hi?: number): Float64Array[];
}

export function randomInputs(size: number, n: number, seed: number, lo = -1, hi = 1): Float64Array[] {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, () => Float64Array.from({ length: size }, () => lo + (hi - lo) * rnd()));
}

/** Write a random MLP model and compile it (reused when current). `setup` also makes keys. */
export async function mlpFixture(key: string, opts: RandomMlpOptions, setup = false): Promise<Fixture> {
  const dir = join(TEST_ROOT, key);
  await mkdir(dir, { recursive: true });
  const modelPath = join(TEST_ROOT, `${key}.onnx`);
  await writeFile(modelPath, randomMlp(opts).bytes);
  const { model } = await loadModelFile(modelPath);
  const size = sizeOf(model.input.shape);
  const calibration = randomInputs(size, 32, opts.seed + 1000);
  await compileModel(modelPath, { out: dir, calibration });
  if (setup) {
    const m = await readManifest(dir);
    if (!m.setup || m.setup.r1csSha256 !== m.circuit.r1csSha256 || !existsSync(artifactPath(dir, 'zkey'))) await setupKeys(dir);
  }
  return { key, dir, modelPath, model, calibration, inputs: (n, seed, lo, hi) => randomInputs(size, n, seed, lo, hi) };
}
