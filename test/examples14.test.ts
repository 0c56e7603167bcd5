/**
 * The issue-14 examples (examples/volatility-lstm, examples/risk-trees): the committed ONNX files load in
 * onnxruntime and compute what the TypeScript models of scripts/train-lstm.ts / scripts/train-trees.ts compute
 * (float, 1e-4), they are the files the training scripts write (sha256 in meta.json), and tree training is
 * deterministic (retrained here: ~2 s; the LSTM takes ~15 s, so its digest and saved outputs are checked instead).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { HIDDEN, WINDOW, garchSeries, lstmForward, lstmOnnx, windows, type LstmParams } from '../scripts/train-lstm.ts';
import { NF, gbtGemmOnnx, gbtOnnx, gbtProba, riskData, trainGbt } from '../scripts/train-trees.ts';
import { ModelProto } from '../src/onnx/proto.ts';

const root = join(import.meta.dirname, '..');
const read = (p: string) => readFileSync(join(root, p));
const json = <T>(p: string): T => JSON.parse(read(p).toString()) as T;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The LSTM's parameters read back from its ONNX initializers. */
function lstmParamsOf(bytes: Uint8Array): LstmParams {
  const g = ModelProto.decode(bytes).graph!;
  const get = (name: string) => {
    const t = g.initializer!.find((i) => i.name === name)!;
    const raw = t.rawData!;
    return Float64Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)));
  };
  const b = get('onnx::LSTM_B');
  return { w: get('onnx::LSTM_W'), r: get('onnx::LSTM_R'), b: b.slice(0, 4 * HIDDEN), wy: get('fc.weight'), by: get('fc.bias') };
}

describe('examples/volatility-lstm', () => {
  const dir = 'examples/volatility-lstm';
  const bytes = new Uint8Array(read(`${dir}/model.onnx`));
  const meta = json<{ modelSha256: string; samples: { file: string; logVar: number }[]; testMaeLogVariance: Record<string, number> }>(`${dir}/meta.json`);

  it('is the file the training script writes, small, with a torch.onnx LSTM layout', () => {
    expect(sha(bytes)).toBe(meta.modelSha256);
    expect(bytes.length).toBeLessThan(200_000);
    const ops = ModelProto.decode(bytes).graph!.node!.map((n) => n.opType);
    expect(ops).toEqual(['Transpose', 'LSTM', 'Squeeze', 'Transpose', 'Gather', 'Gemm']);
    // the writer is deterministic on the same parameters
    expect(sha(lstmOnnx(lstmParamsOf(bytes)))).toBe(meta.modelSha256);
    expect(json<unknown[]>(`${dir}/calibration.json`).length).toBeLessThanOrEqual(64);
    expect(meta.testMaeLogVariance.lstm).toBeLessThan(meta.testMaeLogVariance.historicalWindowVariance / 4);
  });

  it('onnxruntime computes what the TypeScript LSTM computes (1e-4) on the samples and 50 test windows', async () => {
    const p = lstmParamsOf(bytes);
    const session = await ort.InferenceSession.create(Buffer.from(bytes));
    const run = async (x: ArrayLike<number>) => {
      const out = await session.run({ returns: new ort.Tensor('float32', Float32Array.from(x), [1, WINDOW, 1]) });
      return (out.log_var!.data as Float32Array)[0]!;
    };
    for (const s of meta.samples) {
      const x = json<{ returns: number[] }>(`${dir}/${s.file}`).returns;
      expect(x).toHaveLength(WINDOW);
      expect(Math.abs(lstmForward(p, x) - s.logVar)).toBeLessThan(1e-4);
      expect(Math.abs((await run(x)) - s.logVar)).toBeLessThan(1e-4);
    }
    const w = windows(garchSeries(7, 400));
    for (let i = 0; i < 50; i++) expect(Math.abs((await run(w.x[i * 7]!)) - lstmForward(p, w.x[i * 7]!))).toBeLessThan(1e-4);
  });
});

describe('examples/risk-trees', () => {
  let trained: ReturnType<typeof trainGbt> | undefined;
  const trainOnce = () => (trained ??= trainGbt());
  const dir = 'examples/risk-trees';
  const bytes = new Uint8Array(read(`${dir}/model.onnx`));
  const meta = json<{ modelSha256: string; samples: { file: string; pDefault: number; label: number }[] }>(`${dir}/meta.json`);

  it('training is deterministic and writes the committed file (skl2onnx TreeEnsembleClassifier layout)', () => {
    const { model } = trainOnce();
    const again = gbtOnnx(model);
    expect(sha(again)).toBe(meta.modelSha256);
    expect(sha(bytes)).toBe(meta.modelSha256);
    expect(bytes.length).toBeLessThan(200_000);
    const m = ModelProto.decode(bytes);
    const node = m.graph!.node![0]!;
    expect(node.opType).toBe('TreeEnsembleClassifier');
    expect(node.domain).toBe('ai.onnx.ml');
    expect(m.graph!.output!.map((o) => o.name)).toEqual(['label', 'probabilities']);
    const attr = (n: string) => node.attribute!.find((a) => a.name === n)!;
    expect(new TextDecoder().decode(attr('post_transform').s!)).toBe('LOGISTIC');
    expect(attr('classlabels_int64s').ints!.map(Number)).toEqual([0, 1]);
    expect(json<unknown[]>(`${dir}/calibration.json`).length).toBeLessThanOrEqual(64);
  });

  it('onnxruntime computes what the TypeScript ensemble computes (1e-4, same label) on the samples and 300 rows', async () => {
    const { model } = trainOnce();
    const session = await ort.InferenceSession.create(Buffer.from(bytes));
    const run = async (x: ArrayLike<number>) => {
      const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(x), [1, NF]) });
      const pr = out.probabilities!.data as Float32Array;
      return { label: Number((out.label!.data as BigInt64Array)[0]), p0: pr[0]!, p1: pr[1]! };
    };
    for (const s of meta.samples) {
      const x = json<{ input: number[] }>(`${dir}/${s.file}`).input;
      const o = await run(x);
      expect(Math.abs(o.p1 - s.pDefault)).toBeLessThan(1e-4);
      expect(Math.abs(o.p0 + o.p1 - 1)).toBeLessThan(1e-6);
      expect(o.label).toBe(s.label);
    }
    const d = riskData(300, 99);
    for (const x of d.x) {
      const o = await run(x);
      const p = gbtProba(model, x);
      expect(Math.abs(o.p1 - p)).toBeLessThan(1e-4);
      expect(o.label).toBe(p > 0.5 ? 1 : 0);
    }
  });

  it("the hummingbird GEMM form of the same trees computes the same in onnxruntime (1e-4, same label) on 200 rows", async () => {
    const { model } = trainOnce();
    const session = await ort.InferenceSession.create(Buffer.from(gbtGemmOnnx(model)));
    for (const x of riskData(200, 98).x) {
      const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(x), [1, NF]) });
      const p = gbtProba(model, x);
      expect(Math.abs((out.probabilities!.data as Float32Array)[1]! - p)).toBeLessThan(1e-4);
      expect(Number((out.label!.data as BigInt64Array)[0])).toBe(p > 0.5 ? 1 : 0);
    }
  });
});
