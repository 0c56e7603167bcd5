/**
 * Graph plumbing through the real CLI (`node bin/zkonnx.js`): an input file keyed by input name for a model with
 * two inputs and two outputs (run, prove, verify: outputs per name, human and --json), a Softmax left out at the
 * output said honestly in run/prove/verify and the bundle, --dim for a symbolic dimension, large --json through
 * a pipe, and the messages for an empty file, a Git LFS pointer and many unsupported nodes.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildOnnxModel, mulberry32, type ModelSpec } from '../src/onnx/builder.ts';
import type { ProofBundle } from '../src/verify/types.ts';
import { cli, ROOT, runProcess, type Run } from './helpers/cli.ts';
import { tokenSpec, twoBranchSpec } from './helpers/graph-io-models.ts';

const WORK = 'artifacts/test/graph-io-cli';

function oneJson(r: Run): Record<string, any> {
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  expect(lines, `stdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr}`).toHaveLength(1);
  return JSON.parse(lines[0]);
}

function ok(r: Run): void {
  expect(r.code, `stdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr}`).toBe(0);
}

function inputs(seed: number) {
  const r = mulberry32(seed);
  return { a: [Array.from({ length: 4 }, () => r() * 2 - 1)], b: [Array.from({ length: 3 }, () => r() * 2 - 1)] };
}

/** Gemm -> Softmax as the graph output 'probs' (the circuit leaves the Softmax out). */
function softmaxSpec(): ModelSpec {
  const r = mulberry32(9);
  return {
    inputs: [{ name: 'x', shape: [1, 4] }],
    outputs: [{ name: 'probs', shape: [1, 3] }],
    initializers: [{ name: 'W', dims: [4, 3], data: Array.from({ length: 12 }, () => r() - 0.5) }, { name: 'B', dims: [3], data: [0.1, 0, -0.1] }],
    nodes: [
      { op: 'Gemm', name: 'fc', inputs: ['x', 'W', 'B'], outputs: ['logits'] },
      { op: 'Softmax', name: 'sm', inputs: ['logits'], outputs: ['probs'], attrs: { axis: 1 } },
    ],
  };
}

describe('graph-io CLI', () => {
  beforeAll(async () => {
    await mkdir(WORK, { recursive: true });
    await writeFile(join(WORK, 'two.onnx'), buildOnnxModel(twoBranchSpec()));
    await writeFile(join(WORK, 'two-cal.json'), JSON.stringify(Array.from({ length: 12 }, (_, i) => inputs(50 + i))));
    await writeFile(join(WORK, 'two-in.json'), JSON.stringify(inputs(52)));
    await writeFile(join(WORK, 'sm.onnx'), buildOnnxModel(softmaxSpec()));
    await writeFile(join(WORK, 'sm-in.json'), JSON.stringify({ x: [[0.5, -0.2, 0.1, 0.9]] }));
    await writeFile(join(WORK, 'tokens.onnx'), buildOnnxModel(tokenSpec()));
    await writeFile(join(WORK, 'tokens-cal.json'), JSON.stringify([{ ids: [[1, 2, 3, 4]], mask: [[1, 0, 1, 0]] }, { ids: [[9, 0, 5, 7]], mask: [[0, 0, 1, 1]] }]));
  });

  it('two inputs, two outputs: run with an input file keyed by name, then prove and verify, per output name (human and --json)', async () => {
    const dir = join(WORK, 'two');
    const bundle = join(WORK, 'two-bundle.json');
    const run = await cli('run', join(WORK, 'two.onnx'), '--input', join(WORK, 'two-in.json'), '--calibration', join(WORK, 'two-cal.json'), '--dir', dir, '--out', bundle, '--json', '--quiet');
    ok(run);
    const j = oneJson(run);
    expect(j.valid).toBe(true);
    expect(j.outputs.map((o: { name: string; shape: number[] }) => [o.name, o.shape])).toEqual([['logits', [1, 2]], ['hidden', [1, 3]]]);
    expect(j.output).toHaveLength(5);
    const b = JSON.parse(await readFile(bundle, 'utf8')) as ProofBundle;
    expect(b.output.parts!.map((p) => p.name)).toEqual(['logits', 'hidden']);
    expect(b.quantization.input.parts!.map((p) => p.name)).toEqual(['a', 'b']);

    const [prove, verify, verifyJson] = await Promise.all([
      cli('prove', dir, '--input', join(WORK, 'two-in.json'), '--out', join(WORK, 'two-bundle2.json'), '--quiet'),
      cli('verify', bundle, '--vk', join(dir, 'verification_key.json')),
      cli('verify', bundle, '--vk', join(dir, 'verification_key.json'), '--json'),
    ]);
    ok(prove);
    expect(prove.stdout).toMatch(/output 'logits' \[1,2\]: \[/);
    expect(prove.stdout).toMatch(/output 'hidden' \[1,3\]: \[/);
    ok(verify);
    expect(verify.stdout).toMatch(/output 'logits' \[1,2\]/);
    expect(verify.stdout).toMatch(/output 'hidden' \[1,3\]/);
    ok(verifyJson);
    expect(oneJson(verifyJson).outputs.map((o: { name: string }) => o.name)).toEqual(['logits', 'hidden']);

    // A missing input in the file is named.
    await writeFile(join(WORK, 'two-missing.json'), JSON.stringify({ a: [[0, 0, 0, 0]] }));
    const missing = await cli('prove', dir, '--input', join(WORK, 'two-missing.json'), '--json');
    expect(missing.code).toBe(2);
    expect(oneJson(missing).error.message).toMatch(/no value for the model input 'b'/);
  });

  it('a Softmax left out at the output is said in run, prove, verify (human and --json) and the bundle', async () => {
    const dir = join(WORK, 'sm');
    const bundle = join(WORK, 'sm-bundle.json');
    const run = await cli('run', join(WORK, 'sm.onnx'), '--input', join(WORK, 'sm-in.json'), '--dir', dir, '--out', bundle, '--quiet');
    ok(run);
    expect(run.stdout).toMatch(/output 'probs' \[1,3\]: logits \(Softmax omitted: the circuit proves the values before it, same argmax\) \[/);
    const runJson = await cli('run', join(WORK, 'sm.onnx'), '--input', join(WORK, 'sm-in.json'), '--dir', dir, '--out', bundle, '--quiet', '--json');
    ok(runJson);
    expect(oneJson(runJson).outputs[0]).toMatchObject({ name: 'probs', softmaxOmitted: 'Softmax' });
    const b = JSON.parse(await readFile(bundle, 'utf8')) as ProofBundle;
    expect(b.quantization.output.softmaxOmitted).toBe('Softmax');
    expect(b.output.parts).toEqual([expect.objectContaining({ name: 'probs', softmaxOmitted: 'Softmax' })]);
    const [prove, verify, verifyJson] = await Promise.all([
      cli('prove', dir, '--input', join(WORK, 'sm-in.json'), '--out', join(WORK, 'sm-bundle2.json'), '--json', '--quiet'),
      cli('verify', bundle, '--vk', join(dir, 'verification_key.json')),
      cli('verify', bundle, '--vk', join(dir, 'verification_key.json'), '--json'),
    ]);
    ok(prove);
    expect(oneJson(prove).outputs[0].softmaxOmitted).toBe('Softmax');
    ok(verify);
    expect(verify.stdout).toMatch(/logits \(Softmax omitted/);
    ok(verifyJson);
    expect(oneJson(verifyJson).outputs[0].softmaxOmitted).toBe('Softmax');
    // A bundle that drops the claim is still true (it claims less); one that moves it to another name is refused.
    const forged = structuredClone(b);
    forged.output.parts![0].softmaxOmitted = undefined;
    await writeFile(join(WORK, 'sm-forged.json'), JSON.stringify(forged));
    const bad = await cli('verify', join(WORK, 'sm-forged.json'), '--vk', join(dir, 'verification_key.json'));
    expect(bad.code).toBe(1);
  });

  it('--dim gives a symbolic dimension; without it (and no nested data) the error names the dimension and the flag', async () => {
    const without = await cli('inspect', join(WORK, 'tokens.onnx'), '--json');
    expect(without.code).toBe(2);
    expect(JSON.stringify(oneJson(without).error)).toMatch(/--dim seq=N/);
    const withDim = await cli('inspect', join(WORK, 'tokens.onnx'), '--dim', 'seq=4', '--json');
    ok(withDim);
    // compile reads it from the calibration file's nesting.
    const compiled = await cli('compile', join(WORK, 'tokens.onnx'), '--calibration', join(WORK, 'tokens-cal.json'), '--out', join(WORK, 'tokens'), '--json', '--quiet');
    ok(compiled);
    expect(oneJson(compiled).constraints).toBeGreaterThan(0);
    const badDim = await cli('inspect', join(WORK, 'tokens.onnx'), '--dim', 'seq', '--json');
    expect(badDim.code).toBe(2);
    // --input-bounds: the ids checked to [0, 127] (7 bits, one check each) instead of the calibration's 0..9.
    const bounded = await cli('compile', join(WORK, 'tokens.onnx'), '--calibration', join(WORK, 'tokens-cal.json'), '--out', join(WORK, 'tokens-b'), '--input-bounds', 'ids=0:127', '--json', '--quiet');
    ok(bounded);
    expect(oneJson(bounded).constraints).toBe(oneJson(compiled).constraints - 4 * 10 + 4 * 8);
    const badBounds = await cli('compile', join(WORK, 'tokens.onnx'), '--calibration', join(WORK, 'tokens-cal.json'), '--out', join(WORK, 'tokens-b'), '--input-bounds', 'ids=5', '--json');
    expect(badBounds.code).toBe(2);
  });

  it('more than 200 KiB of --json through a pipe arrives whole (the CLI exits once stdout has drained)', async () => {
    // 2500 unsupported nodes: one error listing each of them.
    const n = 2500;
    const nodes = Array.from({ length: n }, (_, i) => ({ op: 'BitShift', name: `h${i}`, inputs: [i === 0 ? 'x' : `t${i - 1}`], outputs: [i === n - 1 ? 'y' : `t${i}`] }));
    await writeFile(join(WORK, 'many.onnx'), buildOnnxModel({ inputs: [{ name: 'x', shape: [1, 4] }], outputs: [{ name: 'y', shape: [1, 4] }], nodes }));
    await writeFile(join(WORK, 'x.json'), JSON.stringify([[0, 1, 2, 3]]));
    // Through a shell pipe into a slow reader, as a user's `| jq` would.
    const r = await runProcess('/bin/sh', ['-c', `node bin/zkonnx.js compile ${join(WORK, 'many.onnx')} --calibration ${join(WORK, 'x.json')} --json | (sleep 1; cat)`], { cwd: ROOT, timeout: 120_000 });
    expect(r.stdout.length).toBeGreaterThan(200 * 1024);
    const j = oneJson(r);
    expect(j.error.issues).toHaveLength(n);
    // The supported-op list appears once, not per issue.
    expect(r.stdout.split('Gemm').length - 1).toBe(1);
  });

  it('an empty .onnx file and a Git LFS pointer get messages that say so (exit 2)', async () => {
    await writeFile(join(WORK, 'empty.onnx'), new Uint8Array());
    await writeFile(join(WORK, 'lfs.onnx'), 'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n');
    const [empty, lfs] = await Promise.all([cli('inspect', join(WORK, 'empty.onnx'), '--json'), cli('inspect', join(WORK, 'lfs.onnx'))]);
    expect(empty.code).toBe(2);
    expect(oneJson(empty).error.message).toMatch(/is empty \(0 bytes\)/);
    expect(lfs.code).toBe(2);
    expect(lfs.stderr).toMatch(/is a Git LFS pointer file/);
    expect(lfs.stderr).toMatch(/git lfs pull/);
  });
});
