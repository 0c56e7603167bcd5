/** Every artifact path in one place. An artifact directory holds one compiled model. */
import { join, resolve } from 'node:path';

export type ArtifactKind = 'circom' | 'r1cs' | 'sym' | 'wasm' | 'model' | 'manifest' | 'zkey' | 'vk' | 'bundle';

export function artifactPath(dir: string, kind: ArtifactKind): string {
  switch (kind) {
    case 'circom': return join(dir, 'circuit.circom');
    case 'r1cs': return join(dir, 'circuit.r1cs');
    case 'sym': return join(dir, 'circuit.sym');
    case 'wasm': return join(dir, 'circuit_js', 'circuit.wasm');
    case 'model': return join(dir, 'quantized-model.json');
    case 'manifest': return join(dir, 'manifest.json');
    case 'zkey': return join(dir, 'circuit.zkey');
    case 'vk': return join(dir, 'verification_key.json');
    case 'bundle': return join(dir, 'bundle.json');
  }
}

/** Default artifacts root: ./artifacts in the working directory, or $ZKONNX_ARTIFACTS. */
export function artifactsRoot(): string {
  return resolve(process.env.ZKONNX_ARTIFACTS ?? 'artifacts');
}

export function defaultArtifactDir(modelName: string): string {
  return join(artifactsRoot(), modelName);
}

export function ptauCacheDir(): string {
  return join(artifactsRoot(), 'ptau');
}

/** The hand-written circom templates shipped with zkonnx. */
export function templatesDir(): string {
  return resolve(new URL('../../circuits', import.meta.url).pathname);
}
