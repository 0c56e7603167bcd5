/**
 * Compiles and sets up one uploaded model (POST /v1/models) in a child process of the server (forked by
 * src/serve/models.ts): compileModel into the build folder, then setupKeys there (a dev key). The heavy work
 * (quantization, circuit compilation, key generation) stays off the server's thread, and a crash in it costs
 * the upload only. Answers one BuildReply and exits.
 */
import { readFile } from 'node:fs/promises';
import { compileModel } from '../compile/model.ts';
import { releaseCurve } from '../curve.ts';
import { setupKeys } from '../setup/setup.ts';
import type { PublicInputLayout, Visibility } from '../verify/layout.ts';
import { errorBody } from './errors.ts';

export interface BuildRequest {
  onnxPath: string;
  calibrationPath: string;
  /** The artifact directory to make (in the build folder; the server renames it into place). */
  out: string;
  publicInputs?: PublicInputLayout;
  visibility?: Partial<Visibility>;
  dims?: Record<string, number>;
  inputBounds?: Record<string, [number, number]>;
  backend?: 'direct' | 'circom';
}

export type BuildReply = { constraints: number; vkSha256: string; seconds: number } | { error: { code: string; message: string; hint?: string } };

async function build(req: BuildRequest): Promise<BuildReply> {
  const t0 = performance.now();
  const calibration = JSON.parse(await readFile(req.calibrationPath, 'utf8')) as unknown;
  const c = await compileModel(req.onnxPath, {
    out: req.out,
    calibration: { json: calibration, source: 'calibration' },
    ...(req.publicInputs ? { publicInputs: req.publicInputs } : {}),
    ...(req.visibility ? { visibility: req.visibility } : {}),
    ...(req.dims ? { dims: req.dims } : {}),
    ...(req.inputBounds ? { inputBounds: req.inputBounds } : {}),
    ...(req.backend ? { backend: req.backend } : {}),
  });
  const s = await setupKeys(req.out);
  return { constraints: c.manifest.circuit.constraints, vkSha256: s.vkSha256, seconds: (performance.now() - t0) / 1000 };
}

if (process.send) {
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  // The server is gone (it shut down or died): stop; it cleans the build folder at its next start.
  process.on('disconnect', () => process.exit(1));
  process.once('message', (req: BuildRequest) => {
    build(req)
      .catch((e: unknown): BuildReply => ({ error: errorBody(e) }))
      .then(async (reply) => {
        await releaseCurve().catch(() => {});
        process.send!(reply, () => process.exit(0));
      });
  });
}
