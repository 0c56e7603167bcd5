/**
 * A model whose output is already a class index (ArgMax in the graph, ONNX type int64): the CLI shows the
 * proven index, not the argmax of a one-element vector (which is always 0). The output's type is recorded in
 * the manifest, the key and the bundle (`output.dtype`), under the key's hash.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { artifactPath } from '../src/artifacts/paths.ts';
import { parseVerificationKey } from '../src/verify/key.ts';
import { cli } from './helpers/cli.ts';
import { TEST_ROOT } from './helpers/fixtures.ts';
import { argmaxLogitsModel } from './helpers/ops-models.ts';

const WORK = join(TEST_ROOT, 'output-index');
const DIR = join(WORK, 'art');
const MODEL = join(WORK, 'argmax.onnx');
const INPUT = join(WORK, 'input.json');
const BUNDLE = join(WORK, 'bundle.json');

beforeAll(async () => {
  await rm(WORK, { recursive: true, force: true });
  await mkdir(WORK, { recursive: true });
  await writeFile(MODEL, argmaxLogitsModel().bytes);
  // Logit 6 is pushed up by the input: the index is not 0, so "argmax of the output" would be wrong.
  await writeFile(INPUT, JSON.stringify([[0.3, -0.8, 0.5, 0.9, -0.2, 0.1, 0.7, -0.6]]));
});

describe('an ArgMax output', () => {
  let index: number;

  it('run shows the proven class index, in text and JSON', async () => {
    const r = await cli('run', MODEL, '--input', INPUT, '--dir', DIR, '--out', BUNDLE, '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.output).toHaveLength(1);
    index = out.output[0];
    expect(Number.isInteger(index)).toBe(true);
    expect(index).toBeGreaterThan(0);
    expect(out.argmax).toBe(index);
    const bundle = JSON.parse(await readFile(BUNDLE, 'utf8'));
    expect(bundle.quantization.output.dtype).toBe('int64');
    expect(bundle.output.quantized).toEqual([String(index)]);
  });

  it('verify shows it too, and the key records the output type', async () => {
    const vk = parseVerificationKey(await readFile(artifactPath(DIR, 'vk'), 'utf8'));
    expect(vk.zkonnx.output.dtype).toBe('int64');
    const text = await cli('verify', BUNDLE, '--vk', artifactPath(DIR, 'vk'));
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`output: [${index}] (class index ${index})`);
    expect(text.stdout).not.toMatch(/argmax 0/);
    const json = JSON.parse((await cli('verify', BUNDLE, '--vk', artifactPath(DIR, 'vk'), '--json')).stdout);
    expect(json.argmax).toBe(index);
  });

  it('prove shows it', async () => {
    const r = await cli('prove', DIR, '--input', INPUT, '--out', join(WORK, 'b2.json'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`output: [${index}] (class index ${index})`);
    const j = JSON.parse((await cli('prove', DIR, '--input', INPUT, '--out', join(WORK, 'b3.json'), '--json')).stdout);
    expect(j.argmax).toBe(index);
  });
});
