/**
 * The compiler backend choice (`--backend direct|circom`, src/compile/compile.ts): how it is resolved, that it
 * is recorded in the manifest, that a directory compiled with the other backend is rebuilt, and what prove
 * needs per backend.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendOf, readManifest, type Manifest } from '../src/artifacts/manifest.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { BACKENDS, DEFAULT_BACKEND, resolveBackend } from '../src/compile/compile.ts';
import { compileModel } from '../src/compile/model.ts';
import { ArtifactError, InputError } from '../src/errors.ts';
import { catchErr } from './helpers/errors.ts';
import { randomMlp } from '../src/onnx/builder.ts';
import { setupKeys } from '../src/setup/setup.ts';
import { randomInputs, TEST_ROOT } from './helpers/fixtures.ts';
import { cli, type Run, sha256Tree } from './helpers/cli.ts';

const WORK = join(TEST_ROOT, 'backend-cli-work');
const INPUT = join(WORK, 'input.json');
const CALIBRATION = join(WORK, 'calibration.json');

function oneJson(r: Run): Record<string, any> {
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  expect(lines, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toHaveLength(1);
  return JSON.parse(lines[0]);
}

/** A refusal: exit 2, one `zkonnx: ` line naming it, no stack trace. */
function expectRefused(r: Run): void {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(2);
  expect(r.stderr).toMatch(/^zkonnx: \S/m);
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

/** A copy of the fixture's directory (compiled with circom, keyed) at WORK/name, its manifest changed by `edit`. */
async function copyOfFixture(name: string, edit?: (m: Manifest) => void): Promise<string> {
  const dir = join(WORK, name);
  await rm(dir, { recursive: true, force: true });
  await cp(F.dir, dir, { recursive: true });
  if (edit) {
    const m = await readManifest(dir);
    edit(m);
    await writeFile(artifactPath(dir, 'manifest'), JSON.stringify(m, null, 2) + '\n');
  }
  return dir;
}

/**
 * A small MLP compiled with the circom backend whatever DEFAULT_BACKEND is (not mlpFixture, which compiles with
 * the default), and keyed: the copies below prove with it. Reused across runs when current.
 */
const F = { dir: join(TEST_ROOT, 'backend-cli'), modelPath: join(TEST_ROOT, 'backend-cli.onnx'), calibration: randomInputs(6, 32, 1041) };

beforeAll(async () => {
  await mkdir(F.dir, { recursive: true });
  await writeFile(F.modelPath, randomMlp({ sizes: [6, 4, 3], seed: 41, style: 'matmul-add' }).bytes);
  await compileModel(F.modelPath, { out: F.dir, calibration: F.calibration, backend: 'circom' });
  const m = await readManifest(F.dir);
  if (!m.setup || m.setup.r1csSha256 !== m.circuit.r1csSha256 || !existsSync(artifactPath(F.dir, 'zkey'))) await setupKeys(F.dir);
  await rm(WORK, { recursive: true, force: true });
  await mkdir(WORK, { recursive: true });
  await writeFile(INPUT, JSON.stringify({ input: Array.from(randomInputs(6, 1, 7)[0]) }));
  await writeFile(CALIBRATION, JSON.stringify(F.calibration.map((x) => Array.from(x))));
});

describe('resolveBackend', () => {
  it('an explicit backend wins; --circom wasm|native alone means circom; otherwise DEFAULT_BACKEND', () => {
    expect(BACKENDS).toEqual(['direct', 'circom']);
    expect(resolveBackend(undefined, undefined)).toBe(DEFAULT_BACKEND);
    expect(resolveBackend(undefined, 'auto')).toBe(DEFAULT_BACKEND);
    expect(resolveBackend(undefined, 'native')).toBe('circom');
    expect(resolveBackend(undefined, 'wasm')).toBe('circom');
    expect(resolveBackend('direct', 'auto')).toBe('direct');
    expect(resolveBackend('direct', undefined)).toBe('direct');
    expect(resolveBackend('circom', 'native')).toBe('circom');
  });

  it('direct with --circom wasm|native, and an unknown backend, are InputErrors naming what is wrong', () => {
    for (const circom of ['native', 'wasm'] as const) {
      const e = catchErr(() => resolveBackend('direct', circom));
      expect(e).toBeInstanceOf(InputError);
      expect(e.message).toMatch(new RegExp(`--backend direct and --circom ${circom} contradict each other`));
    }
    const e = catchErr(() => resolveBackend('fast' as never, 'auto'));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toMatch(/Unknown backend 'fast'/);
  });

  it('compileModel refuses the contradiction before reading the model or writing anything', async () => {
    const dir = join(WORK, 'lib-contradiction');
    await expect(compileModel(join(WORK, 'no-such-model.onnx'), { out: dir, calibration: F.calibration, backend: 'direct', circom: 'native' })).rejects.toThrow(InputError);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('the manifest records the backend', () => {
  it('backendOf: circom when the field is absent (older manifests); an unknown value is refused on reading', async () => {
    const m = await readManifest(F.dir);
    expect(backendOf(m)).toBe('circom');
    const { backend: _b, ...circuit } = m.circuit;
    expect(backendOf({ ...m, circuit })).toBe('circom');
    expect(backendOf({ ...m, circuit: { ...circuit, backend: 'direct' } })).toBe('direct');
    const dir = await copyOfFixture('bad-backend', (x) => void ((x.circuit as { backend?: string }).backend = 'fast'));
    const e = await readManifest(dir).catch((x: Error) => x);
    expect(e).toBeInstanceOf(ArtifactError);
    expect((e as Error).message).toMatch(/unknown compiler backend 'fast'/);
  });
});

describe('zkonnx compile / run --backend', () => {
  it('--backend circom compiles with circom as before, records backend circom, and is then up to date', async () => {
    const dir = join(WORK, 'circom');
    const r = await cli('compile', F.modelPath, '--calibration', CALIBRATION, '--out', dir, '--backend', 'circom', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = oneJson(r);
    expect(out).toMatchObject({ compiled: true, backend: 'circom', compiler: expect.stringMatching(/^circom(2-wasm|-native)$/) });
    expect(r.stderr).toMatch(/compile: circom --O1/);
    const m = await readManifest(dir);
    expect(m.circuit.backend).toBe('circom');
    expect(m.circuit.witnessGenerator).toBe(true);
    expect(m.circuit.r1csSha256).toBe((await readManifest(F.dir)).circuit.r1csSha256);
    expect(existsSync(artifactPath(dir, 'wasm'))).toBe(true);
    const again = await cli('compile', F.modelPath, '--calibration', CALIBRATION, '--out', dir, '--backend', 'circom');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^up to date: .*\n.*backend circom \(circom/);
  });

  it('--backend direct with --circom native or wasm exits 2 naming both flags, for compile and run, writing nothing', async () => {
    const dir = join(WORK, 'contradiction');
    const runs = await Promise.all([
      cli('compile', F.modelPath, '--calibration', CALIBRATION, '--out', dir, '--backend', 'direct', '--circom', 'native'),
      cli('compile', F.modelPath, '--calibration', CALIBRATION, '--out', dir, '--circom', 'wasm', '--backend', 'direct', '--json'),
      cli('run', F.modelPath, '--input', INPUT, '--dir', dir, '--backend', 'direct', '--circom', 'native'),
    ]);
    for (const r of runs) {
      expectRefused(r);
      expect(r.stderr).toMatch(/--backend direct and --circom (native|wasm)/);
    }
    expect(oneJson(runs[1]).error).toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/--backend direct and --circom wasm/) });
    expect(existsSync(dir)).toBe(false);
  });

  it('an unknown --backend is a usage error (exit 2) listing the choices', async () => {
    const runs = await Promise.all([
      cli('compile', F.modelPath, '--calibration', CALIBRATION, '--out', join(WORK, 'unknown'), '--backend', 'fast', '--json'),
      cli('run', F.modelPath, '--input', INPUT, '--dir', join(WORK, 'unknown'), '--backend', 'fast'),
    ]);
    for (const r of runs) {
      expectRefused(r);
      expect(r.stderr).toMatch(/backend/);
      expect(r.stderr).toMatch(/"direct", "circom"/);
    }
    expect(oneJson(runs[0]).error.code).toBe('USAGE');
    expect(existsSync(join(WORK, 'unknown'))).toBe(false);
  });

  it('--help describes both backends and the default', async () => {
    const r = await cli('compile', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--backend/);
    expect(r.stdout).toMatch(/direct = zkonnx's own compiler/);
    expect(r.stdout).toMatch(new RegExp(`default ${DEFAULT_BACKEND}`));
  });
});

describe('a directory compiled with the other backend is rebuilt', () => {
  it('a manifest saying direct is not current for --backend circom: recompiled with circom, keys kept (same r1cs)', async () => {
    const dir = await copyOfFixture('was-direct', (m) => void (m.circuit.backend = 'direct'));
    await rm(join(dir, 'circuit_js'), { recursive: true, force: true }); // as a direct compile leaves it
    const before = await readManifest(dir);
    const r = await cli('compile', F.modelPath, '--calibration', CALIBRATION, '--out', dir, '--backend', 'circom', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(oneJson(r)).toMatchObject({ compiled: true, backend: 'circom' });
    const m = await readManifest(dir);
    expect(m.circuit.backend).toBe('circom');
    expect(m.circuit.r1csSha256).toBe(before.circuit.r1csSha256);
    expect(m.setup).toEqual(before.setup);
    expect(existsSync(artifactPath(dir, 'wasm'))).toBe(true);
  });

  it('--backend direct on a circom directory recompiles: backend direct, no circuit_js, witness generator kept with --no-witness', async () => {
    const dir = await copyOfFixture('to-direct');
    const r = await cli('compile', F.modelPath, '--calibration', CALIBRATION, '--out', dir, '--backend', 'direct', '--no-witness', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(oneJson(r)).toMatchObject({ compiled: true, backend: 'direct', compiler: 'zkonnx-direct' });
    const m = await readManifest(dir);
    expect(m.circuit).toMatchObject({ backend: 'direct', compiler: 'zkonnx-direct', witnessGenerator: true });
    expect(m.circuit.constraints).toBe(m.circuit.predictedConstraints);
    expect(existsSync(join(dir, 'circuit_js'))).toBe(false);
    expect(existsSync(artifactPath(dir, 'circom'))).toBe(true);
    // Current for direct now; the circom backend rebuilds it.
    expect(oneJson(await cli('compile', F.modelPath, '--calibration', CALIBRATION, '--out', dir, '--backend', 'direct', '--json')).compiled).toBe(false);
    const back = oneJson(await cli('compile', F.modelPath, '--calibration', CALIBRATION, '--out', dir, '--backend', 'circom', '--json'));
    expect(back).toMatchObject({ compiled: true, backend: 'circom' });
  });

  it('run --backend direct proves and verifies without circuit_js', async () => {
    const dir = await copyOfFixture('run-direct');
    const r = await cli('run', F.modelPath, '--input', INPUT, '--calibration', CALIBRATION, '--dir', dir, '--out', join(WORK, 'run-direct.json'), '--backend', 'direct', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(oneJson(r)).toMatchObject({ valid: true, backend: 'direct' });
    expect(existsSync(join(dir, 'circuit_js'))).toBe(false);
  });
});

describe('prove names the missing witness generator per backend', () => {
  it('direct: a missing circuit.circom, or one that is not the compiled circuit, is refused before proving', async () => {
    const missing = await copyOfFixture('prove-direct-missing', (m) => void (m.circuit.backend = 'direct'));
    await rm(artifactPath(missing, 'circom'));
    const changed = await copyOfFixture('prove-direct-changed', (m) => void (m.circuit.backend = 'direct'));
    await writeFile(artifactPath(changed, 'circom'), (await readFile(artifactPath(changed, 'circom'), 'utf8')) + '\n// edited\n');
    const [a, b] = await Promise.all([
      cli('prove', missing, '--input', INPUT, '--out', join(WORK, 'missing.json')),
      cli('prove', changed, '--input', INPUT, '--out', join(WORK, 'changed.json'), '--json'),
    ]);
    expectRefused(a);
    expect(a.stderr).toMatch(/has no circuit source \(circuit\.circom\), from which the direct backend computes the witness/);
    expectRefused(b);
    expect(oneJson(b).error).toMatchObject({ code: 'ARTIFACT', message: expect.stringMatching(/not the one its circuit was compiled from/) });
    expect(existsSync(join(WORK, 'missing.json')) || existsSync(join(WORK, 'changed.json'))).toBe(false);
  });

  it('circom: a missing circuit_js/circuit.wasm is named', async () => {
    const dir = await copyOfFixture('prove-circom-missing');
    await rm(join(dir, 'circuit_js'), { recursive: true });
    const r = await cli('prove', dir, '--input', INPUT, '--out', join(WORK, 'circom-missing.json'));
    expectRefused(r);
    expect(r.stderr).toMatch(/without a witness generator \(circuit_js\/circuit\.wasm\)/);
  });
});
