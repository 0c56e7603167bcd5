/**
 * The CLI contract, through the real entry point (`node bin/zkonnx.js`, as a child process): JSON output with
 * --json, exit codes (0 ok, 1 proof invalid, 2 bad input or usage), errors that name what is wrong without a
 * stack trace, and no half-written artifact directories.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { artifactPath } from '../src/artifacts/paths.ts';
import { nativeCircomAvailable } from '../src/compile/compile.ts';
import { buildOnnxModel, randomMlp } from '../src/onnx/builder.ts';
import { supportedOps } from '../src/ops/registry.ts';
import { vkHash } from '../src/verify/canonical.ts';
import type { ProofBundle } from '../src/verify/types.ts';
import { mlpFixture, TEST_ROOT, type Fixture } from './helpers/fixtures.ts';
import { cli, ROOT, type Run, sha256Tree } from './helpers/cli.ts';

const WORK = join(TEST_ROOT, 'cli');
const DIR = join(WORK, 'out');
const BUNDLE = join(WORK, 'bundle.json');
const INPUT = join(WORK, 'input.json');
const CALIBRATION = join(WORK, 'calibration.json');

/** stdout must be exactly one JSON object (one line). */
function oneJson(r: Run): Record<string, any> {
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  expect(lines, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toHaveLength(1);
  const v = JSON.parse(lines[0]);
  expect(v).toBeTypeOf('object');
  expect(Array.isArray(v)).toBe(false);
  return v;
}

/** A failure for bad input: exit 2, a `zkonnx: ` message on stderr, no stack trace. */
function expectCleanError(r: Run, code = 2): void {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(code);
  expect(r.stderr).toMatch(/^zkonnx: \S/m);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toMatch(/internal error/i);
}

/** `{error: {code, message}}` on stdout (with --json). */
function jsonError(r: Run): { code: string; message: string; details?: string[]; hint?: string; issues?: unknown[] } {
  const v = oneJson(r);
  expect(Object.keys(v)).toEqual(['error']);
  expect(v.error.code).toBeTypeOf('string');
  expect(v.error.message).toBeTypeOf('string');
  return v.error;
}

let F: Fixture;
let inputValues: number[];
let compiled: Record<string, any>;
let setupOut: Record<string, any>;

beforeAll(async () => {
  F = await mlpFixture('cli-e2e', { sizes: [10, 5, 3], seed: 3, style: 'matmul-add' });
  await rm(WORK, { recursive: true, force: true });
  await mkdir(WORK, { recursive: true });
  inputValues = Array.from(F.inputs(1, 99)[0]);
  await writeFile(INPUT, JSON.stringify({ input: inputValues }));
  // The fixture's own calibration set, so `run` (default dir = the fixture's) finds its circuit current.
  await writeFile(CALIBRATION, JSON.stringify(F.calibration.map((x) => Array.from(x))));
});

describe('the pipeline, one command at a time', () => {
  it('compile --json prints the circuit summary', async () => {
    const r = await cli('compile', F.modelPath, '--calibration', CALIBRATION, '--out', DIR, '--json');
    expect(r.code, r.stderr).toBe(0);
    compiled = oneJson(r);
    expect(compiled.constraints).toBeTypeOf('number');
    expect(compiled.constraints).toBeGreaterThan(0);
    expect(compiled.wires).toBeTypeOf('number');
    expect(compiled.wires).toBeGreaterThan(compiled.publicSignals);
    expect(compiled.publicSignals).toBe(10 + 3);
    expect(resolve(ROOT, compiled.dir)).toBe(resolve(ROOT, DIR));
    // The direct backend (the default): no circuit_js; circuit.circom is the witness generator.
    expect(compiled.backend).toBe('direct');
    for (const kind of ['r1cs', 'sym', 'circom', 'manifest', 'model'] as const) expect(existsSync(artifactPath(DIR, kind)), kind).toBe(true);
    expect(existsSync(artifactPath(DIR, 'wasm'))).toBe(false);
    // Progress goes to stderr, never into the JSON on stdout.
    expect(r.stderr).toMatch(/compile/);
  });

  it('setup --json writes a proving key and a verification key', async () => {
    const r = await cli('setup', DIR, '--json');
    expect(r.code, r.stderr).toBe(0);
    setupOut = oneJson(r);
    expect(existsSync(resolve(ROOT, setupOut.zkey))).toBe(true);
    expect(existsSync(resolve(ROOT, setupOut.vk))).toBe(true);
    expect(resolve(ROOT, setupOut.vk)).toBe(resolve(ROOT, artifactPath(DIR, 'vk')));
    const vk = JSON.parse(await readFile(resolve(ROOT, setupOut.vk), 'utf8'));
    expect(setupOut.vkSha256).toBe(await vkHash(vk));
    expect(setupOut.keyKind).toBe('dev');
    expect(vk.nPublic).toBe(compiled.publicSignals);
  });

  it('prove --json writes the bundle and prints its float output', async () => {
    const r = await cli('prove', DIR, '--input', INPUT, '--out', BUNDLE, '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = oneJson(r);
    expect(resolve(ROOT, out.bundle)).toBe(resolve(ROOT, BUNDLE));
    expect(existsSync(BUNDLE)).toBe(true);
    expect(out.output).toHaveLength(3);
    for (const v of out.output) expect(Number.isFinite(v)).toBe(true);
    expect(out.output.some((v: number) => !Number.isInteger(v))).toBe(true); // floats, not the integers
    const bundle: ProofBundle = JSON.parse(await readFile(BUNDLE, 'utf8'));
    expect(out.output).toEqual(bundle.output.values);
    expect(out.quantized).toEqual(bundle.output.quantized);
    expect(out.argmax).toBe(out.output.indexOf(Math.max(...out.output)));
    expect(bundle.vkSha256).toBe(setupOut.vkSha256);
  });

  it('verify: exit 0 and valid for the bundle; exit 1, valid false and a reason for a tampered copy', async () => {
    const bundle: ProofBundle = JSON.parse(await readFile(BUNDLE, 'utf8'));
    const tamperedOutput = structuredClone(bundle);
    tamperedOutput.output.values[0] += 1;
    const tamperedSignal = structuredClone(bundle);
    tamperedSignal.publicSignals[0] = (BigInt(tamperedSignal.publicSignals[0]) + 1n).toString();
    tamperedSignal.output.quantized[0] = (BigInt(tamperedSignal.output.quantized[0]) + 1n).toString();
    await writeFile(join(WORK, 'tampered-output.json'), JSON.stringify(tamperedOutput));
    await writeFile(join(WORK, 'tampered-signal.json'), JSON.stringify(tamperedSignal));
    const vk = artifactPath(DIR, 'vk');
    const [ok, okHuman, bad, badHuman, badSignal] = await Promise.all([
      cli('verify', BUNDLE, '--vk', vk, '--json'),
      cli('verify', BUNDLE, '--vk', vk),
      cli('verify', join(WORK, 'tampered-output.json'), '--vk', vk, '--json'),
      cli('verify', join(WORK, 'tampered-output.json'), '--vk', vk),
      cli('verify', join(WORK, 'tampered-signal.json'), '--vk', vk, '--json'),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const v = oneJson(ok);
    expect(v).toMatchObject({ valid: true, reason: 'ok', keyKind: 'dev' });
    expect(v.output).toEqual(bundle.output.values);
    expect(okHuman.code).toBe(0);
    expect(okHuman.stdout).toMatch(/^valid/);

    expect(bad.code, bad.stderr).toBe(1);
    const w = oneJson(bad);
    expect(w.valid).toBe(false);
    expect(w.output).toBeNull();
    expect(w.reason).toMatch(/output values are not the dequantized public outputs/);
    expect(badHuman.code).toBe(1);
    expect(badHuman.stdout).toMatch(/INVALID: .*dequantized/);

    expect(badSignal.code, badSignal.stderr).toBe(1);
    // Integers edited, floats not: the floats no longer match; the proof never gets a say.
    expect(oneJson(badSignal)).toMatchObject({ valid: false, reason: expect.stringMatching(/not the dequantized|pairing check failed/) });
  });

  it('run --json compiles (cached), sets up, proves and verifies in the default artifact dir', async () => {
    const r = await cli('run', F.modelPath, '--input', INPUT, '--calibration', CALIBRATION, '--json');
    expect(r.code, r.stderr).toBe(0);
    const v = oneJson(r);
    expect(v.valid).toBe(true);
    expect(v.reason).toBe('ok');
    // Same model and calibration as `compile` above: the same circuit.
    expect(v.constraints).toBe(compiled.constraints);
    expect(resolve(ROOT, v.dir)).toBe(resolve(ROOT, TEST_ROOT, 'cli-e2e'));
    expect(existsSync(resolve(ROOT, v.vk))).toBe(true);
    expect(existsSync(resolve(ROOT, v.bundle))).toBe(true);
    expect(v.calibratedOnInput).toBe(false);
    const bundle: ProofBundle = JSON.parse(await readFile(resolve(ROOT, v.bundle), 'utf8'));
    expect(v.output).toEqual(bundle.output.values);
    // Same circuit (model, calibration), same input: the same output as `prove` on DIR.
    const proved: ProofBundle = JSON.parse(await readFile(BUNDLE, 'utf8'));
    expect(bundle.output.quantized).toEqual(proved.output.quantized);
    expect(r.stderr).toMatch(/warning: dev key/);
  });

  it('inspect: a compiled DIR, a model with calibration, and a model alone', async () => {
    const [dir, withCal, alone] = await Promise.all([
      cli('inspect', DIR),
      cli('inspect', F.modelPath, '--calibration', CALIBRATION),
      cli('inspect', F.modelPath),
    ]);
    for (const r of [dir, withCal, alone]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^layer\s+op\s+shape\s+bits\s+constraints/);
      // ONNX node names (MatMul + Add fused into one dense layer) and the op kinds.
      expect(r.stdout).toMatch(/MatMul_\d+\+Add_\d+\s+dense\s+\[1,10\] -> \[1,5\]/);
      expect(r.stdout).toMatch(/MatMul_\d+\+Add_\d+\s+dense\s+\[1,5\] -> \[1,3\]/);
      expect(r.stdout).toMatch(/Relu_\d+\s+(clip|requant)\s/);
    }
    for (const r of [dir, withCal]) {
      const total = /^total: (\d+) constraints/m.exec(r.stdout);
      expect(total, r.stdout).not.toBeNull();
      expect(Number(total![1])).toBe(compiled.constraints);
      expect(r.stdout).toMatch(/^output\s+output\s/m);
    }
    expect(dir.stdout).toMatch(new RegExp(`^compiledConstraints: ${compiled.constraints}$`, 'm'));
    expect(dir.stdout).toMatch(/^keyKind: dev$/m);
    expect(alone.stdout).not.toMatch(/^total:/m);
    expect(alone.stdout).toMatch(/--calibration/);
  });
});

describe('bad input: exit 2, a message that says what is wrong, no stack trace', () => {
  it('a malformed .onnx names the file', async () => {
    const bad = join(WORK, 'garbage.onnx');
    await writeFile(bad, randomBytes(300));
    const [human, json] = await Promise.all([
      cli('compile', bad, '--calibration', CALIBRATION, '--out', join(WORK, 'garbage')),
      cli('inspect', bad, '--json'),
    ]);
    expectCleanError(human);
    expect(human.stderr).toContain('garbage.onnx');
    expect(human.stdout).toBe('');
    expectCleanError(json);
    const e = jsonError(json);
    expect(e.code).toBe('ONNX_PARSE');
    expect(e.message).toContain('garbage.onnx');
  });

  it('an unsupported op names the node, the op and the supported ops; nothing is written', async () => {
    const rnd = (n: number) => Array.from({ length: n }, (_, i) => Math.sin(i + 1) / 3);
    const unsupported = (extra: boolean) =>
      buildOnnxModel({
        inputs: [{ name: 'input', shape: [1, 10] }],
        outputs: [{ name: 'output', shape: [1, 3] }],
        initializers: [
          { name: 'W0', dims: [5, 10], data: rnd(50) },
          { name: 'B0', dims: [5], data: rnd(5) },
          { name: 'W1', dims: [3, 5], data: rnd(15) },
          { name: 'B1', dims: [3], data: rnd(3) },
        ],
        nodes: [
          { op: 'Gemm', name: 'fc0', inputs: ['input', 'W0', 'B0'], outputs: ['h'], attrs: { transB: 1 } },
          { op: 'BitShift', name: 'squash', inputs: ['h'], outputs: ['s'] },
          { op: 'Gemm', name: 'fc1', inputs: ['s', 'W1', 'B1'], outputs: [extra ? 'logits' : 'output'], attrs: { transB: 1 } },
          ...(extra ? [{ op: 'BitwiseNot', name: 'probs', inputs: ['logits'], outputs: ['output'] }] : []),
        ],
      });
    const one = join(WORK, 'sigmoid.onnx');
    const two = join(WORK, 'sigmoid-softmax.onnx');
    await writeFile(one, unsupported(false));
    await writeFile(two, unsupported(true));
    const out1 = join(WORK, 'sigmoid');
    const out2 = join(WORK, 'sigmoid-softmax');
    const [json, human, both] = await Promise.all([
      cli('compile', one, '--calibration', CALIBRATION, '--out', out1, '--json'),
      cli('compile', one, '--calibration', CALIBRATION, '--out', out1),
      cli('compile', two, '--calibration', CALIBRATION, '--out', out2),
    ]);
    expectCleanError(json);
    const e = jsonError(json);
    expect(e.code).toBe('UNSUPPORTED_MODEL');
    expect(e.message).toMatch(/node 'squash' \(BitShift\)/);
    expect(e.message).toMatch(/BitShift/);
    expect(supportedOps.length).toBeGreaterThan(3);
    // The supported ops are listed once, in the hint (not in every issue: a model with many unsupported nodes
    // would repeat the list in each).
    for (const op of supportedOps) expect(e.hint).toContain(op);
    expect(JSON.stringify(e.issues)).not.toContain('Gemm');
    expect(e.issues).toEqual([expect.objectContaining({ node: 'squash', op: 'BitShift' })]);

    expectCleanError(human);
    expect(human.stderr).toMatch(/node 'squash' \(BitShift\)/);
    expect(human.stderr).toMatch(/Hint: zkonnx supports these ONNX ops: .*Gemm/);

    // Every problem is listed, each with its node and op.
    expectCleanError(both);
    expect(both.stderr).toMatch(/node 'squash' \(BitShift\)/);
    expect(both.stderr).toMatch(/node 'probs' \(BitwiseNot\)/);

    for (const d of [out1, out2]) {
      expect(existsSync(join(d, 'circuit.r1cs')), d).toBe(false);
      expect(existsSync(join(d, 'manifest.json')), d).toBe(false);
    }
  });

  it('missing files, wrong input size, bad JSON, and wrong bundle / key files', async () => {
    const wrongSize = join(WORK, 'wrong-size.json');
    await writeFile(wrongSize, JSON.stringify({ input: inputValues.slice(0, 9) }));
    const wrongName = join(WORK, 'wrong-name.json');
    await writeFile(wrongName, JSON.stringify({ pixels: inputValues }));
    const notJson = join(WORK, 'not-json.json');
    await writeFile(notJson, '{"input": [1, 2,');
    const vk = artifactPath(DIR, 'vk');
    const [missingInput, missingInputJson, size, sizeJson, name, broken, missingModel, missingBundle, vkNotJson] = await Promise.all([
      cli('prove', DIR, '--input', join(WORK, 'no-such-input.json')),
      cli('prove', DIR, '--input', join(WORK, 'no-such-input.json'), '--json'),
      cli('prove', DIR, '--input', wrongSize),
      cli('prove', DIR, '--input', wrongSize, '--json'),
      cli('prove', DIR, '--input', wrongName),
      cli('prove', DIR, '--input', notJson),
      cli('compile', join(WORK, 'no-such-model.onnx'), '--calibration', CALIBRATION, '--out', join(WORK, 'nomodel')),
      cli('verify', join(WORK, 'no-such-bundle.json'), '--vk', vk, '--json'),
      cli('verify', BUNDLE, '--vk', notJson),
    ]);
    expectCleanError(missingInput);
    expect(missingInput.stderr).toContain('no-such-input.json');
    expect(missingInput.stderr).toMatch(/ENOENT|not exist|cannot read/i);
    expectCleanError(missingInputJson);
    expect(jsonError(missingInputJson)).toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('no-such-input.json') });

    expectCleanError(size);
    expect(size.stderr).toMatch(/input 'input' has 9 values, the model expects 10/);
    expectCleanError(sizeJson);
    expect(jsonError(sizeJson)).toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/'input'.*9.*10/) });

    expectCleanError(name);
    expect(name.stderr).toMatch(/'input'/);
    expect(name.stderr).toMatch(/pixels/);

    expectCleanError(broken);
    expect(broken.stderr).toMatch(/not-json\.json.*not valid JSON/);

    expectCleanError(missingModel);
    expect(missingModel.stderr).toContain('no-such-model.onnx');
    expect(existsSync(join(WORK, 'nomodel', 'manifest.json'))).toBe(false);

    expectCleanError(missingBundle);
    expect(jsonError(missingBundle)).toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('no-such-bundle.json') });

    expectCleanError(vkNotJson);
    expect(vkNotJson.stderr).toMatch(/not-json\.json/);
    expect(vkNotJson.stdout).not.toMatch(/valid/);
  });

  it('usage errors: unknown command, missing arguments, no command; --json gives {error} on stdout', async () => {
    const [unknown, unknownJson, noInput, noModel, none, compileNoCal] = await Promise.all([
      cli('frobnicate', 'x'),
      cli('frobnicate', '--json'),
      cli('prove', DIR),
      cli('compile', '--json'),
      cli(),
      cli('compile', F.modelPath, '--out', join(WORK, 'nocal'), '--json'),
    ]);
    expectCleanError(unknown);
    expect(unknown.stderr).toMatch(/frobnicate/);
    expectCleanError(unknownJson);
    expect(jsonError(unknownJson).code).toBe('USAGE');
    expectCleanError(noInput);
    expect(noInput.stderr).toMatch(/input/);
    expectCleanError(noModel);
    expect(jsonError(noModel)).toMatchObject({ code: 'USAGE', message: expect.stringMatching(/argument/) });
    expectCleanError(none);
    expect(none.stderr).toMatch(/compile, setup, prove, verify, inspect, run, commit-model, ceremony or bench/);
    // compile without a calibration set is refused, and says how to give one.
    expectCleanError(compileNoCal);
    expect(jsonError(compileNoCal).message).toMatch(/--calibration/);
    expect(existsSync(join(WORK, 'nocal', 'manifest.json'))).toBe(false);
  });
});

describe('nothing half-written', () => {
  // Regression: compileModel once wrote circuit.circom and quantized-model.json into the artifact directory
  // before circom ran; a failed recompile then left another model's quantized model beside the old keys, and
  // `prove` failed with WITNESS_MISMATCH. It now stages everything and moves it in only after circom succeeds.
  it.skipIf(nativeCircomAvailable())(
    'a recompile that fails in circom leaves an existing artifact directory as it was',
    async () => {
      const dir = join(WORK, 'recompile');
      await rm(dir, { recursive: true, force: true });
      await cp(DIR, dir, { recursive: true });
      const before = await sha256Tree(dir);
      const other = join(WORK, 'other.onnx');
      await writeFile(other, randomMlp({ sizes: [10, 5, 3], seed: 4, style: 'matmul-add' }).bytes);
      // --circom native with no native circom on PATH: fails after quantization, at the circom step.
      const r = await cli('compile', other, '--calibration', CALIBRATION, '--out', dir, '--circom', 'native', '--json');
      expectCleanError(r);
      expect(jsonError(r).code).toBe('COMPILE');
      // The user goes back to the model the directory was made for.
      const again = await cli('compile', F.modelPath, '--calibration', CALIBRATION, '--out', dir, '--json');
      expect(again.code, again.stderr).toBe(0);
      const proved = await cli('prove', dir, '--input', INPUT, '--out', join(WORK, 'recompile-bundle.json'), '--json');
      expect(await sha256Tree(dir)).toEqual(before);
      expect(proved.code, proved.stdout).toBe(0);
    },
  );

  it('a failed compile into a new directory leaves no circuit.r1cs or manifest.json', async () => {
    const dir = join(WORK, 'fresh-fail');
    await rm(dir, { recursive: true, force: true });
    const r = await cli('compile', F.modelPath, '--calibration', CALIBRATION, '--out', dir, '--circom', 'native');
    if (nativeCircomAvailable()) return void expect(r.code).toBe(0);
    expectCleanError(r);
    expect(r.stderr).toMatch(/circom/);
    expect(existsSync(join(dir, 'circuit.r1cs'))).toBe(false);
    expect(existsSync(join(dir, 'manifest.json'))).toBe(false);
    expect(existsSync(artifactPath(dir, 'wasm'))).toBe(false);
  });
});

describe('keys and ceremony from the command line', () => {
  it('setup --ptau, ceremony contribute / beacon / verify, and verify reporting a ceremony key', async () => {
    const dir = join(WORK, 'ceremony');
    await rm(dir, { recursive: true, force: true });
    const ptau = join(TEST_ROOT, 'ptau', 'zkonnx-local-10.ptau');
    expect(existsSync(ptau)).toBe(true); // made by the global test setup
    expect((await cli('compile', F.modelPath, '--calibration', CALIBRATION, '--out', dir, '--json')).code).toBe(0);
    const s = oneJson(await cli('setup', dir, '--ptau', ptau, '--json'));
    expect(s.keyKind).toBe('ceremony');
    const c = await cli('ceremony', 'contribute', dir, '--name', 'bob', '--json');
    expect(c.code, c.stderr).toBe(0);
    expect(oneJson(c).contributionHash).toMatch(/^[0-9a-f]{128}$/);
    expect((await cli('ceremony', 'beacon', dir, '--hash', 'aa'.repeat(32), '--iterations', '10', '--json')).code).toBe(0);
    const v = await cli('ceremony', 'verify', dir, '--ptau', ptau, '--json');
    expect(v.code, v.stderr).toBe(0);
    const vj = oneJson(v);
    expect(vj.valid).toBe(true);
    expect(vj.contributions.join('\n')).toMatch(/#2 bob/);
    // A ptau too small for the circuit, and a ceremony step on a dev key, are usage errors (exit 2).
    const small = join(WORK, 'tiny.ptau');
    await writeFile(small, 'not a ptau');
    expectCleanError(await cli('setup', dir, '--ptau', small));
    expect((await cli('setup', DIR, '--json')).code).toBe(0);
    const devContribute = await cli('ceremony', 'contribute', DIR);
    expectCleanError(devContribute);
    expect(devContribute.stderr).toMatch(/dev key/);
    // The tampered zkey: ceremony verify exits 1.
    const zk = artifactPath(dir, 'zkey');
    const b = await readFile(zk);
    b[Math.floor(b.length / 2)] ^= 1;
    await writeFile(zk, b);
    const bad = await cli('ceremony', 'verify', dir, '--ptau', ptau, '--json');
    expect(bad.code).toBe(1);
    expect(oneJson(bad).valid).toBe(false);
  });

  it('compile --backend circom --no-witness builds only the r1cs: setup works, prove says why it cannot', async () => {
    const dir = join(WORK, 'nowitness');
    await rm(dir, { recursive: true, force: true });
    const c = oneJson(await cli('compile', F.modelPath, '--calibration', CALIBRATION, '--out', dir, '--backend', 'circom', '--no-witness', '--json'));
    expect(c.constraints).toBeGreaterThan(0);
    expect(existsSync(artifactPath(dir, 'wasm'))).toBe(false);
    expect((await cli('setup', dir, '--json')).code).toBe(0);
    const p = await cli('prove', dir, '--input', INPUT);
    expectCleanError(p);
    expect(p.stderr).toMatch(/without a witness generator/);
  });
});

describe('interruption', () => {
  for (const [backend, model, calibration] of [['circom', 'examples/mnist-mlp/model.onnx', 'examples/mnist-mlp/calibration.json'], ['direct', 'examples/mnist-cnn/model.onnx', 'examples/mnist-cnn/calibration.json']] as const) {
  it(`Ctrl-C during a compile (--backend ${backend}) exits 130 and leaves no temp dirs and no manifest`, async () => {
    const { spawn } = await import('node:child_process');
    const dir = join(WORK, `interrupted-${backend}`);
    await rm(dir, { recursive: true, force: true });
    const calib = join(ROOT, calibration);
    const child = spawn(process.execPath, ['bin/zkonnx.js', 'compile', model, '--calibration', calib, '--out', dir, '--backend', backend], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    // Wait until the compiler is running (its progress line is printed), then interrupt.
    for (let i = 0; i < 400 && !/compile: (circom|zkonnx direct)/.test(stderr); i++) await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, backend === 'circom' ? 500 : 200));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/interrupted \(SIGINT\)/);
    await new Promise((r) => setTimeout(r, 300));
    expect(await readdir(dir)).toEqual([]);
  });
  }
});
