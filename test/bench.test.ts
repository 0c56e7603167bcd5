/**
 * `zkonnx bench`: the report's fields on small models, the circomlib-ml baseline's counts (the published
 * 73,416 for the MNIST MLP, by formula and compiled), Markdown and SVG output, the EVM verifier's size and gas
 * (plain, packed, and a plain key too big to deploy), and a clean error without a calibration set.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BASELINE_RELU, baselineMaxCost, emitBaseline } from '../src/bench/baseline.ts';
import { benchEvmVerifier, type BenchReport, type ModelReport } from '../src/bench/bench.ts';
import { predictRuntimeBytes } from '../src/evm/solidity.ts';
import type { ProofBundle, ZkonnxVerificationKey } from '../src/verify/types.ts';
import { loadModelFile } from '../src/compile/model.ts';
import { buildOnnxModel, mulberry32, randomMlp } from '../src/onnx/builder.ts';
import { randomInputs } from './helpers/fixtures.ts';
import { runProcess } from './helpers/cli.ts';

const WORK = 'artifacts/test/bench';

/** 1x6x6 -> Conv 2@3x3 -> Relu -> MaxPool 2x2 -> Flatten (8) -> Gemm 3: small enough to prove its baseline. */
function tinyCnn(): Uint8Array {
  const rnd = mulberry32(17);
  const r = (k: number) => Array.from({ length: k }, () => rnd() * 2 - 1);
  return buildOnnxModel({
    inputs: [{ name: 'x', shape: [1, 1, 6, 6] }], outputs: [{ name: 'y', shape: [1, 3] }],
    initializers: [{ name: 'W', dims: [2, 1, 3, 3], data: r(18) }, { name: 'B', dims: [2], data: r(2) }, { name: 'F', dims: [3, 8], data: r(24) }],
    nodes: [
      { op: 'Conv', name: 'conv', inputs: ['x', 'W', 'B'], outputs: ['c'] },
      { op: 'Relu', name: 'relu', inputs: ['c'], outputs: ['a'] },
      { op: 'MaxPool', name: 'pool', inputs: ['a'], outputs: ['p'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
      { op: 'Flatten', name: 'flat', inputs: ['p'], outputs: ['f'] },
      { op: 'Gemm', name: 'fc', inputs: ['f', 'F'], outputs: ['y'], attrs: { transB: 1 } },
    ],
  });
}

const cli = (...args: string[]) => runProcess(process.execPath, ['bin/zkonnx.js', ...args]);

describe('circomlib-ml baseline counts', () => {
  it('the MNIST MLP comes to the published 73,416 = 43,904 + 56 x 517 + 560', async () => {
    const { model } = await loadModelFile('examples/mnist-mlp/model.onnx');
    const b = emitBaseline(model);
    expect(b.layers.map((l) => [l.kind, l.nonLinear])).toEqual([['dense', 784 * 56], ['relu', 56 * BASELINE_RELU], ['dense', 560]]);
    expect(b.nonLinear).toBe(73_416);
  });

  it('the MNIST CNN: MACs + 517 per ReLU + 1,015 per 2x2 max-pool window', async () => {
    const { model } = await loadModelFile('examples/mnist-cnn/model.onnx');
    const b = emitBaseline(model);
    expect(baselineMaxCost(4)).toBe(1015);
    // The published 2,558,720 is the same without the max-pools.
    const pools = (864 + 256) * 1015;
    expect(b.nonLinear).toBe(6 * 24 * 24 * 25 + 3456 * 517 + 16 * 8 * 8 * 150 + 1024 * 517 + 2560 + pools);
    expect(b.nonLinear - pools).toBe(2_558_720);
  });
});

/** The EVM verifier was compiled and called: its size within the prediction, gas ~181k + ~6.7k per signal. */
function checkEvm(m: ModelReport, layout: 'plain' | 'packed', signals: number): void {
  const e = m.evm!;
  expect(e).not.toBeNull();
  expect(e.layout).toBe(layout);
  expect(e.publicSignals).toBe(signals);
  expect(e.predicted).toBe(false);
  expect(e.bytecodeBytes).toBeLessThanOrEqual(predictRuntimeBytes(layout, signals));
  expect(e.bytecodeBytes).toBeGreaterThan(predictRuntimeBytes(layout, signals) - 64);
  expect(e.verifyGas!).toBeGreaterThan(181_000);
  expect(e.maxVerifyGas!).toBeGreaterThanOrEqual(e.verifyGas!);
  expect(e.maxVerifyGas!).toBeLessThan(181_000 + 6_800 * signals + 5_000);
  expect(e.transactionGas!).toBeGreaterThan(e.verifyGas! + 21_000);
}

describe('zkonnx bench', () => {
  it('reports constraints per layer, times, memory, sizes and accuracy, with a compiled and proven baseline', async () => {
    await rm(WORK, { recursive: true, force: true });
    await mkdir(join(WORK, 'mlp'), { recursive: true });
    await mkdir(join(WORK, 'cnn'), { recursive: true });
    await writeFile(join(WORK, 'mlp', 'model.onnx'), randomMlp({ sizes: [12, 8, 4], seed: 31, style: 'gemm-transB' }).bytes);
    await writeFile(join(WORK, 'mlp', 'calibration.json'), JSON.stringify(randomInputs(12, 16, 3).map((x) => Array.from(x))));
    await writeFile(join(WORK, 'cnn', 'model.onnx'), tinyCnn());
    await writeFile(join(WORK, 'cnn', 'calibration.json'), JSON.stringify(randomInputs(36, 16, 4, 0, 1).map((x) => Array.from(x))));
    const md = join(WORK, 'results.md');
    const svg = join(WORK, 'svg');
    const r = await cli('bench', join(WORK, 'mlp', 'model.onnx'), join(WORK, 'cnn', 'model.onnx'), '--runs', '2', '--baseline', '--json', '--quiet', '--markdown', md, '--svg', svg, '--out', join(WORK, 'out'));
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as BenchReport;
    expect(report.machine).toMatch(/GiB, Node v/);
    expect(report.date).toMatch(/^\d{4}-\d\d-\d\d$/);
    expect(report.models).toHaveLength(2);
    for (const m of report.models) {
      // The op cost formulas, per layer, add up to the compiled r1cs.
      expect(m.predictedConstraints).toBe(m.constraints);
      expect(m.layers.reduce((a, l) => a + l.constraints, 0) + m.outputConstraints).toBe(m.constraints);
      expect(m.nonLinear).toBeGreaterThan(0);
      expect(m.nonLinear).toBeLessThanOrEqual(m.constraints);
      expect(m.wires).toBeGreaterThan(m.constraints / 2);
      expect(2 ** m.domainPower).toBeGreaterThanOrEqual(m.constraints + m.publicSignals);
      for (const s of Object.values(m.timings)) expect(s.min).toBeLessThanOrEqual(s.median), expect(s.median).toBeLessThanOrEqual(s.max);
      expect(m.timings.prove.runs).toBe(2);
      for (const v of Object.values(m.memory)) expect(v).toBeGreaterThan(20);
      expect(m.sizes.zkeyBytes).toBeGreaterThan(1000);
      expect(m.sizes.proofBytes).toBe(256);
      expect(m.sizes.proofJsonBytes).toBeGreaterThan(500);
      expect(m.accuracy!.samples).toBeGreaterThan(0);
      expect(m.accuracy!.worstAbsError).toBeGreaterThanOrEqual(0);
      // The baseline was compiled and proven; circom's non-linear count is its formula.
      const b = m.baseline!;
      expect(b.compiled).toBe(true);
      expect(b.nonLinear).toBe(b.predictedNonLinear);
      expect(b.constraints!).toBeGreaterThan(m.constraints);
      expect(b.ratios.constraints).toBeCloseTo(b.constraints! / m.constraints, 6);
      expect(b.timings!.prove.runs).toBe(2);
      expect(b.ratios.prove).toBeGreaterThan(0);
      checkEvm(m, 'plain', m.publicSignals);
    }
    const text = readFileSync(md, 'utf8');
    expect(text).toMatch(/\| model \| constraints \|/);
    expect(text).toMatch(/circomlib-ml/);
    expect(text).toMatch(/\| model \| public inputs \| public signals \| EVM bytecode \| verifyProof gas \|/);
    for (const f of ['constraints-per-layer.svg', 'prove-vs-constraints.svg']) {
      const s = readFileSync(join(svg, f), 'utf8');
      expect(s.startsWith('<svg')).toBe(true);
      expect(s).toMatch(/<text/);
    }
  });

  it('--public-inputs packed compiles the packed layout and measures its verifier', async () => {
    const r = await cli('bench', join(WORK, 'mlp', 'model.onnx'), '--runs', '1', '--public-inputs', 'packed', '--json', '--quiet', '--out', join(WORK, 'out'));
    expect(r.code, r.stderr).toBe(0);
    const [m] = (JSON.parse(r.stdout) as BenchReport).models;
    expect(m.publicSignals).toBe(4 + 1);
    checkEvm(m, 'packed', 5);
    expect(existsSync(join(WORK, 'out', 'mlp-model-packed', 'ZkonnxMlpVerifier.sol'))).toBe(true);
  });

  it('a plain key too big for EIP-170: the predicted size, no gas, and a note naming --public-inputs packed (key from the first test)', async () => {
    const dir = join(WORK, 'out', 'mlp-model');
    const vk = JSON.parse(readFileSync(join(dir, 'verification_key.json'), 'utf8')) as ZkonnxVerificationKey;
    // The same key reshaped to 784 plain inputs (the contract is never compiled, so the points need not fit it).
    const big = structuredClone(vk);
    big.zkonnx.input = { ...big.zkonnx.input, shape: [1, 784] };
    big.nPublic = 4 + 784;
    big.zkonnx.publicInputs = { layout: 'plain', signals: 784 };
    big.IC = Array.from({ length: big.nPublic + 1 }, (_, i) => vk.IC[i % vk.IC.length]);
    const notes: string[] = [];
    const e = await benchEvmVerifier(big, {} as ProofBundle, dir, notes);
    expect(e).toEqual({ layout: 'plain', publicSignals: 788, bytecodeBytes: predictRuntimeBytes('plain', 788), predicted: true, verifyGas: null, transactionGas: null, maxVerifyGas: null });
    expect(notes.join()).toMatch(/over EIP-170's 24,576: not deployable.*--public-inputs packed/);
  });

  it('a model without a calibration set: exit 2, naming the file', async () => {
    await mkdir(join(WORK, 'nocal'), { recursive: true });
    const f = join(WORK, 'nocal', 'model.onnx');
    await writeFile(f, randomMlp({ sizes: [4, 3, 2], seed: 1, style: 'gemm' }).bytes);
    const r = await cli('bench', f, '--quiet');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/No calibration for '.*nocal\/model.onnx'/);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(existsSync(join(WORK, 'nocal', 'results.md'))).toBe(false);
  });
});
