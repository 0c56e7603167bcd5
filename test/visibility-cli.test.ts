/**
 * The visibility flags and commands through the real CLI (bin/zkonnx.js): compile with a hashed input and
 * hashed parameters, prove (the opening file), verify with --open-input and --model, commit-model (alone and
 * --like), prove --params with a variant, inspect's cost of each choice, and the usage errors (exit 2, naming
 * the flag or field).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomMlp } from '../src/onnx/builder.ts';
import { randomInputs } from './helpers/fixtures.ts';
import { cli } from './helpers/cli.ts';
import { u8GadgetModel } from './helpers/ops-models.ts';

const DIR = 'artifacts/test/visibility-cli';
const MODEL = join(DIR, 'mlp.onnx');
const VARIANT = join(DIR, 'mlp-variant.onnx');
const OTHER = join(DIR, 'mlp-other.onnx');
const CAL = join(DIR, 'cal.json');
const INPUT = join(DIR, 'input.json');
const INPUT2 = join(DIR, 'input2.json');
const ART = join(DIR, 'art');
const FIXED = join(DIR, 'fixed');

const json = (s: string) => JSON.parse(s) as Record<string, unknown>;

beforeAll(async () => {
  await rm(DIR, { recursive: true, force: true });
  await mkdir(DIR, { recursive: true });
  await writeFile(MODEL, randomMlp({ sizes: [12, 6, 3], seed: 71, style: 'gemm' }).bytes);
  // The same architecture, other weights (a "fine-tuned" variant): 0.9 times the weights (Gemm alpha), which
  // stay on the grid; and a model with unrelated weights, which do not.
  await writeFile(VARIANT, randomMlp({ sizes: [12, 6, 3], seed: 71, style: 'gemm', alpha: 0.9 }).bytes);
  await writeFile(OTHER, randomMlp({ sizes: [12, 6, 3], seed: 72, style: 'gemm' }).bytes);
  const cal = randomInputs(12, 24, 5).map((x) => Array.from(x));
  await writeFile(CAL, JSON.stringify(cal));
  await writeFile(INPUT, JSON.stringify(Array.from(randomInputs(12, 1, 9)[0])));
  await writeFile(INPUT2, JSON.stringify(Array.from(randomInputs(12, 1, 10)[0])));
  for (const [out, flags] of [[ART, ['--input-visibility', 'hashed', '--param-visibility', 'hashed']], [FIXED, []]] as const) {
    const c = await cli('compile', MODEL, '--calibration', CAL, '--out', out, ...flags, '--json', '--quiet');
    expect(c.code, c.stderr).toBe(0);
    const s = await cli('setup', out, '--quiet');
    expect(s.code, s.stderr).toBe(0);
  }
}, 300_000);

describe('CLI: visibility', () => {
  it('compile records the visibility; prove writes the opening beside the bundle and keeps the input out of the bundle', async () => {
    const m = json(await readFile(join(ART, 'manifest.json'), 'utf8'));
    expect((m.circuit as Record<string, unknown>).visibility).toEqual({ input: 'hashed', output: 'public', params: 'hashed' });
    const vk = json(await readFile(join(ART, 'verification_key.json'), 'utf8'));
    expect((vk.zkonnx as Record<string, unknown>).visibility).toEqual({ input: 'hashed', output: 'public', params: 'hashed' });
    const p = await cli('prove', ART, '--input', INPUT, '--salt', 'c0ffee', '--json', '--quiet');
    expect(p.code, p.stderr).toBe(0);
    const out = json(p.stdout);
    expect(out.opening).toBe(join(ART, 'bundle.opening.json'));
    const bundle = json(await readFile(join(ART, 'bundle.json'), 'utf8'));
    expect((bundle.input as Record<string, unknown>).quantized).toBeUndefined();
    expect(bundle.opening).toBeUndefined();
    const opening = json(await readFile(join(ART, 'bundle.opening.json'), 'utf8'));
    expect(opening.salt).toBe('0xc0ffee');
    expect(opening.commitment).toBe((bundle.commitments as Record<string, unknown>).input);
  }, 120_000);

  it('verify --open-input: an opening file or an input with its salt opens the commitment; another input or salt does not', async () => {
    const vk = join(ART, 'verification_key.json');
    const b = join(ART, 'bundle.json');
    const good = await cli('verify', b, '--vk', vk, '--open-input', join(ART, 'bundle.opening.json'), '--json');
    expect(good.code, good.stderr).toBe(0);
    expect(json(good.stdout).inputOpened).toBe(true);
    expect((await cli('verify', b, '--vk', vk, '--open-input', INPUT, '--salt', '0xc0ffee')).code).toBe(0);
    const wrongSalt = await cli('verify', b, '--vk', vk, '--open-input', INPUT, '--salt', 'c0ffef');
    expect(wrongSalt.code).toBe(1);
    expect(wrongSalt.stdout).toMatch(/does not open/);
    expect((await cli('verify', b, '--vk', vk, '--open-input', INPUT2, '--salt', 'c0ffee')).code).toBe(1);
    const noSalt = await cli('verify', b, '--vk', vk, '--open-input', INPUT);
    expect(noSalt.code).toBe(2);
    expect(noSalt.stderr).toMatch(/--salt/);
    const badSalt = await cli('verify', b, '--vk', vk, '--open-input', INPUT, '--salt', 'xyz');
    expect(badSalt.code).toBe(2);
    expect(badSalt.stderr).toMatch(/salt 'xyz'|0xxyz/);
  }, 120_000);

  it('commit-model prints the commitment the proof carries; verify --model checks it; a variant proves under the same key', async () => {
    const bundle = json(await readFile(join(ART, 'bundle.json'), 'utf8'));
    const proven = (bundle.commitments as Record<string, unknown>).params;
    const own = await cli('commit-model', MODEL, '--calibration', CAL, '--out', join(DIR, 'own.json'), '--json');
    expect(own.code, own.stderr).toBe(0);
    expect(json(own.stdout).commitment).toBe(proven);
    const like = await cli('commit-model', MODEL, '--like', ART, '--json');
    expect(json(like.stdout).commitment).toBe(proven);
    const vk = join(ART, 'verification_key.json');
    const b = join(ART, 'bundle.json');
    expect((await cli('verify', b, '--vk', vk, '--model', join(DIR, 'own.json'))).code).toBe(0);
    expect((await cli('verify', b, '--vk', vk, '--model', MODEL, '--calibration', CAL)).code).toBe(0);

    // A model whose weights leave the grid is refused, naming the layer, never clamped.
    const off = await cli('commit-model', OTHER, '--like', ART);
    expect(off.code).toBe(2);
    expect(off.stderr).toMatch(/of layer '.*' is .* outside int8/);
    const v = await cli('commit-model', VARIANT, '--like', ART, '--out', join(DIR, 'variant.json'), '--json');
    expect(v.code, v.stderr).toBe(0);
    const variantCommitment = json(v.stdout).commitment;
    expect(variantCommitment).not.toBe(proven);
    const p = await cli('prove', ART, '--input', INPUT, '--params', join(DIR, 'variant.json'), '--out', join(DIR, 'variant-bundle.json'), '--json', '--quiet');
    expect(p.code, p.stderr).toBe(0);
    const vb = json(await readFile(join(DIR, 'variant-bundle.json'), 'utf8'));
    expect((vb.commitments as Record<string, unknown>).params).toBe(variantCommitment);
    expect((await cli('verify', join(DIR, 'variant-bundle.json'), '--vk', vk, '--model', join(DIR, 'variant.json'))).code).toBe(0);
    const other = await cli('verify', join(DIR, 'variant-bundle.json'), '--vk', vk, '--model', join(DIR, 'own.json'));
    expect(other.code).toBe(1);
    expect(other.stdout).toMatch(/another weight set/);
  }, 180_000);

  it('inspect shows the cost of each choice; the totals are those compile gives', async () => {
    const r = await cli('inspect', MODEL, '--calibration', CAL, '--input-visibility', 'hashed', '--json');
    expect(r.code, r.stderr).toBe(0);
    const costs = String(json(r.stdout).visibilityCosts);
    const m = json(await readFile(join(ART, 'manifest.json'), 'utf8'));
    const fixed = json(await readFile(join(FIXED, 'manifest.json'), 'utf8'));
    expect(costs).toContain(`input public ${(fixed.circuit as Record<string, number>).constraints}`);
    expect(costs).toContain(`params hashed ${(m.circuit as Record<string, number>).constraints}`);
    const d = await cli('inspect', ART, '--json');
    expect(json(d.stdout).totalConstraints).toBe((m.circuit as Record<string, number>).constraints);
    expect(json(d.stdout).visibility).toBe('input hashed, output public, params hashed');
  }, 120_000);

  it('refuses what does not apply, naming the flag or field (exit 2), and writes nothing', async () => {
    const bogus = await cli('compile', MODEL, '--calibration', CAL, '--out', join(DIR, 'x'), '--input-visibility', 'secret');
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/input-visibility/);
    expect(existsSync(join(DIR, 'x', 'manifest.json'))).toBe(false);
    const salt = await cli('prove', FIXED, '--input', INPUT, '--salt', '01', '--out', join(DIR, 'no.json'));
    expect(salt.code).toBe(2);
    expect(salt.stderr).toMatch(/hashed input/);
    const params = await cli('prove', FIXED, '--input', INPUT, '--params', join(DIR, 'own.json'), '--out', join(DIR, 'no.json'));
    expect(params.code).toBe(2);
    expect(params.stderr).toMatch(/fixed parameters/);
    const set = json(await readFile(join(DIR, 'own.json'), 'utf8'));
    (set.layers as { weights: number[] }[])[0].weights[3] = 128;
    await writeFile(join(DIR, 'bad.json'), JSON.stringify(set));
    const bad = await cli('prove', ART, '--input', INPUT, '--params', join(DIR, 'bad.json'), '--out', join(DIR, 'no.json'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/layers\[0\]\.weights\[3\]/);
    expect(existsSync(join(DIR, 'no.json'))).toBe(false);
    // A model with no Gemm/MatMul/Conv weights has nothing to commit to.
    const noWeights = u8GadgetModel();
    await writeFile(join(DIR, 'no-weights.onnx'), noWeights.bytes);
    await writeFile(join(DIR, 'no-weights-cal.json'), JSON.stringify(randomInputs(80, 4, 2).map((x) => Array.from(x))));
    const nothing = await cli('compile', join(DIR, 'no-weights.onnx'), '--calibration', join(DIR, 'no-weights-cal.json'), '--out', join(DIR, 'nw'), '--param-visibility', 'hashed');
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/no Gemm, MatMul or Conv weights/);
    expect(existsSync(join(DIR, 'nw', 'manifest.json'))).toBe(false);
    const none = await cli('commit-model', MODEL);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--calibration|--like/);
    const likeFixed = await cli('commit-model', MODEL, '--like', FIXED);
    expect(likeFixed.code).toBe(2);
    expect(likeFixed.stderr).toMatch(/fixed parameters/);
    // verify --model computes the commitment from the weights: an int8 change with the old commitment field
    // is refused as inconsistent (exit 2), and with its own commitment it is another weight set (exit 1).
    const vkArgs = ['--vk', join(ART, 'verification_key.json')];
    const badModel = await cli('verify', join(ART, 'bundle.json'), ...vkArgs, '--model', join(DIR, 'bad.json'));
    expect(badModel.code).toBe(2);
    expect(badModel.stderr).toMatch(/layers\[0\]\.weights\[3\]/);
    const fresh = json(await readFile(join(DIR, 'own.json'), 'utf8'));
    const w = (fresh.layers as { weights: number[] }[])[0].weights;
    w[3] = w[3] === 0 ? 1 : 0;
    await writeFile(join(DIR, 'changed.json'), JSON.stringify(fresh));
    const stale = await cli('verify', join(ART, 'bundle.json'), ...vkArgs, '--model', join(DIR, 'changed.json'));
    expect(stale.code).toBe(2);
    expect(stale.stderr).toMatch(/not the commitment of its weights/);
    const staleProve = await cli('prove', ART, '--input', INPUT, '--params', join(DIR, 'changed.json'), '--out', join(DIR, 'no.json'));
    expect(staleProve.code).toBe(2);
    expect(staleProve.stderr).toMatch(/not the commitment of its weights/);
    expect(existsSync(join(DIR, 'no.json'))).toBe(false);
    const { commitment: _c, ...noCommitment } = fresh;
    await writeFile(join(DIR, 'changed.json'), JSON.stringify(noCommitment));
    const other = await cli('verify', join(ART, 'bundle.json'), ...vkArgs, '--model', join(DIR, 'changed.json'));
    expect(other.code).toBe(1);
    expect(other.stdout).toMatch(/another weight set/);
  }, 180_000);
});
