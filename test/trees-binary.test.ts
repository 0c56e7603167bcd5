/**
 * Binary tree classifiers with one score column, as skl2onnx writes a binary GradientBoostingClassifier or
 * RandomForestClassifier: onnxruntime derives both classes from the one score s (label 1 iff s > 0, or s > 0.5
 * when every class weight is >= 0; scores [-s, s] or [1 - s, s] with NONE, [1 - sigmoid(s), sigmoid(s)] with
 * LOGISTIC). zkonnx matches it: float IR to 1e-5 with identical labels; quantized, identical labels on the rows
 * whose score is not within 2% of the decision point and whose features are not within half an input step of a
 * threshold (the quantized input may branch the other way there), probabilities within 2%; one compiled, proved, verified.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileModel } from '../src/compile/model.ts';
import { importGraph } from '../src/ir/import.ts';
import { partsOf } from '../src/ir/io.ts';
import { sizeOf } from '../src/ir/types.ts';
import { mulberry32 } from '../src/onnx/builder.ts';
import { loadOnnx } from '../src/onnx/load.ts';
import { prove, readVerificationKey } from '../src/prove/prove.ts';
import { quantizeModel } from '../src/quantize/quantize.ts';
import { runFloat } from '../src/reference/float.ts';
import { runInteger } from '../src/reference/integer.ts';
import { quantizeModelInput } from '../src/ir/io.ts';
import { setupKeys } from '../src/setup/setup.ts';
import { dequantizeOutput } from '../src/verify/dequantize.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { ensembleModel, randomTrees, runOrtAll } from './helpers/tree-models.ts';

const NF = 4;
const rows = (n: number, seed: number) => {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, () => Array.from({ length: NF }, () => 2 * rnd() - 1));
};

const spec = randomTrees(71, 4, 3, NF, 1, ['BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_GT']);

function binaryModel(post: 'NONE' | 'LOGISTIC', allPositive: boolean): Uint8Array {
  const s = allPositive ? { ...spec, w: spec.w.map((v) => Math.abs(v) / 2) } : spec;
  return ensembleModel(s, { kind: 'classifier', nFeat: NF, nCols: 2, post, intLabels: [0, 1], base: [allPositive ? 0.1 : -0.05] });
}

/** A feature within half an input step of a threshold it is tested against: the quantized input may branch the other way. */
const nearThreshold = (x: number[], step: number) =>
  spec.modes.some((m, i) => m !== 'LEAF' && Math.abs(x[spec.featureIds[i]] - spec.values[i]) <= step / 2 + 1e-7);

describe('binary tree classifier with one score column', () => {
  for (const post of ['NONE', 'LOGISTIC'] as const) {
    for (const allPositive of [false, true]) {
      it(`${post}, ${allPositive ? 'all weights >= 0 (threshold 0.5)' : 'signed weights (threshold 0)'}: float IR and quantized model vs onnxruntime`, async () => {
        const bytes = binaryModel(post, allPositive);
        const model = importGraph(loadOnnx(bytes));
        const cal = rows(512, 1);
        const q = quantizeModel(model, cal.map((r) => Float64Array.from(r)));
        const out = partsOf(q.output);
        let agree = 0;
        let near = 0;
        for (const x of rows(200, 2)) {
          const want = await runOrtAll(bytes, x, ['label', 'probabilities']);
          const f = runFloat(model, x);
          expect(f[0]).toBe(want.label[0]);
          (want.probabilities as number[]).forEach((p, i) => expect(Math.abs(f[1 + i] - p)).toBeLessThan(1e-5));
          const got = dequantizeOutput(q.output.quant, runInteger(q, quantizeModelInput(q.input, x)));
          const probs = want.probabilities as number[];
          const label = got[out[0].offset];
          // The decision point of the score: probabilities[1] at 0.5 (LOGISTIC) or the pair's midpoint (NONE).
          const margin = post === 'LOGISTIC' ? Math.abs(probs[1] - 0.5) : Math.abs(probs[1] - probs[0]) / 2;
          if (margin < 0.02 || nearThreshold(x, q.input.quant.scale)) {
            near++;
            continue;
          }
          if (label === want.label[0]) agree++;
          const n = sizeOf(out[1].shape);
          const range = post === 'LOGISTIC' ? 1 : Math.max(...probs.map(Math.abs), 1);
          for (let i = 0; i < n; i++) expect(Math.abs(got[out[1].offset + i] - probs[i])).toBeLessThanOrEqual(0.02 * range);
        }
        expect(agree).toBe(200 - near);
        expect(near).toBeLessThan(40);
      });
    }
  }

  it('LOGISTIC, signed weights: compiled, proved and verified; the proven label is the integer reference', async () => {
    const bytes = binaryModel('LOGISTIC', false);
    const dir = 'artifacts/test/trees-binary';
    await mkdir(dir, { recursive: true });
    await writeFile(`${dir}/model.onnx`, bytes);
    await compileModel(`${dir}/model.onnx`, { out: dir, calibration: rows(64, 1).map((r) => Float64Array.from(r)), force: true });
    await setupKeys(dir);
    const x = rows(1, 3)[0];
    const p = await prove(dir, { x });
    expect((await verifyBundle(p.bundle, await readVerificationKey(artifactPath(dir, 'vk')))).valid).toBe(true);
    const want = await runOrtAll(bytes, x, ['label']);
    expect(p.bundle.output.parts?.[0].values[0]).toBe(want.label[0]);
  }, 120_000);
});
