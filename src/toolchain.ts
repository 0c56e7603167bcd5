/**
 * Packages that only some commands need, loaded when first used, so that `npm install zkonnx` stays small
 * for people who only verify. Each is an optional peer dependency of zkonnx:
 *
 * - the prover toolchain: snarkjs (keys, proofs, ceremonies), circom2 (the circom compiler as WASM; a native
 *   `circom` on PATH works instead) and circomlib (circom templates);
 * - benchmarks and charts: onnxruntime-node (accuracy against float), vega and vega-lite (SVG charts), solc
 *   and @ethereumjs/* (an EVM verifier's bytecode size and gas);
 * - the proving node (`zkonnx serve`, `zkonnx/serve`): fastify, @fastify/swagger, prom-client and pino; with Redis
 *   (`serve --redis`, `zkonnx worker`) also bullmq and ioredis.
 *
 * A missing one is a MissingPackageError that names it and the command that installs it.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { ZkonnxError } from './errors.ts';

/** What each optional package is needed for, as told to the user. */
export const OPTIONAL_PACKAGES = {
  snarkjs: 'Groth16 keys, proofs and ceremonies',
  circom2: 'compiling circuits (the circom compiler as WASM; a native circom 2 on PATH works too)',
  circomlib: 'circom templates for the circomlib-ml baseline of `zkonnx bench`',
  'onnxruntime-node': 'comparing the quantized model with the float model (`zkonnx bench` accuracy)',
  vega: 'benchmark charts (`zkonnx bench --svg`)',
  'vega-lite': 'benchmark charts (`zkonnx bench --svg`)',
  solc: "compiling an EVM verifier to measure its size (`zkonnx bench`)",
  '@ethereumjs/evm': "running an EVM verifier to measure its gas (`zkonnx bench`)",
  '@ethereumjs/util': "running an EVM verifier to measure its gas (`zkonnx bench`)",
  fastify: 'the proving node (`zkonnx serve`)',
  '@fastify/swagger': "the proving node's OpenAPI document (`zkonnx serve`)",
  'prom-client': "the proving node's metrics (`zkonnx serve`)",
  pino: "the proving node's logs (`zkonnx serve`, `zkonnx worker`)",
  bullmq: 'the Redis proof queue (`zkonnx serve --redis`, `zkonnx worker`)',
  ioredis: 'the Redis proof queue (`zkonnx serve --redis`, `zkonnx worker`)',
} as const;

export type OptionalPackage = keyof typeof OPTIONAL_PACKAGES;

/** The prover toolchain: what `compile`, `setup`, `prove` and `run` need beyond the verifier. */
export const PROVER_PACKAGES: OptionalPackage[] = ['snarkjs', 'circom2'];

/** The proving node's HTTP server, metrics and logs. */
export const SERVE_PACKAGES: OptionalPackage[] = ['fastify', '@fastify/swagger', 'prom-client', 'pino'];
/** The Redis/BullMQ queue (server side and workers). */
export const REDIS_PACKAGES: OptionalPackage[] = ['bullmq', 'ioredis'];

/** Packages used together, installed with one command. */
const GROUPS: OptionalPackage[][] = [PROVER_PACKAGES, ['vega', 'vega-lite'], ['solc', '@ethereumjs/evm', '@ethereumjs/util'], SERVE_PACKAGES, REDIS_PACKAGES];

/** An optional package that a command needs is not installed. */
export class MissingPackageError extends ZkonnxError {
  override name = 'MissingPackageError';
  override readonly code = 'MISSING_PACKAGE';
  readonly packageName: OptionalPackage;
  constructor(pkg: OptionalPackage, cause?: unknown) {
    const together = GROUPS.find((g) => g.includes(pkg)) ?? [pkg];
    super(`This needs the package '${pkg}' (${OPTIONAL_PACKAGES[pkg]}), which is not installed.`, {
      hint: `Install it beside zkonnx: npm install ${together.join(' ')}`,
      cause,
    });
    this.packageName = pkg;
  }
}

const require = createRequire(import.meta.url);

/** True when the error says that `pkg` itself (not something inside it) could not be found. */
function isNotFound(e: unknown, pkg: string): boolean {
  const err = e as { code?: string; message?: string };
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' && err?.code !== 'MODULE_NOT_FOUND') return false;
  return new RegExp(`['"]${pkg.replace(/[/.]/g, '\\$&')}(/[^'"]*)?['"]`).test(err.message ?? '');
}

/** Import an optional package, or throw MissingPackageError naming it. */
export async function importOptional<T>(pkg: OptionalPackage, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if (isNotFound(e, pkg)) throw new MissingPackageError(pkg, e);
    throw e;
  }
}

/**
 * Check that optional packages are installed before importing modules that import them statically (the proving
 * node's): MissingPackageError naming the first missing one and the command that installs its group.
 */
export async function requireOptional(pkgs: readonly OptionalPackage[]): Promise<void> {
  for (const pkg of pkgs) await importOptional(pkg, () => import(pkg));
}

/** The folder of an installed optional package (for packages used as files: circom2's CLI, circomlib's templates). */
export function optionalPackageDir(pkg: OptionalPackage): string {
  try {
    return dirname(require.resolve(`${pkg}/package.json`));
  } catch (e) {
    throw new MissingPackageError(pkg, e);
  }
}

// snarkjs ships no types; src/types/untyped.d.ts declares it as `any`, and this module keeps that from
// spreading into public signatures.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Snarkjs = any;

/** snarkjs, loaded on first use. */
export function loadSnarkjs(): Promise<Snarkjs> {
  return importOptional('snarkjs', () => import('snarkjs'));
}
