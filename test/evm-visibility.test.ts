/**
 * The EVM verifier for every visibility (src/verify/layout.ts): a small random MLP compiled with hashed,
 * private and public inputs, hashed and public outputs, hashed parameters; each proof verifies on
 * @ethereumjs/evm and a tampered commitment or signal is refused; the contract's range checks sit at the
 * layout's indices; the size prediction bounds solc's for every visibility; calldata() checks a bundle against
 * the layout; verificationGas() reports the gas per setting. Default-visibility contracts are covered (byte for
 * byte as before) by test/evm.test.ts.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../src/artifacts/manifest.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileModel, loadModelFile } from '../src/compile/model.ts';
import { InputError } from '../src/errors.ts';
import { calldata, encodeVerifierCall, functionSelector, type VerifierCallArgs } from '../src/evm/calldata.ts';
import { compileContract, createEvmSession, verificationGas, type DeployedContract, type VerificationGas } from '../src/evm/measure.ts';
import { exportSolidity, maxPublicSignals, predictRuntimeBytes, RUNTIME_SLACK_BYTES, type SolidityVerifier } from '../src/evm/solidity.ts';
import { FIELD_PRIME as R } from '../src/field.ts';
import { sizeOf } from '../src/ir/types.ts';
import { randomMlp, type RandomMlpOptions } from '../src/onnx/builder.ts';
import { prove, readVerificationKey } from '../src/prove/prove.ts';
import { setupKeys } from '../src/setup/setup.ts';
import {
  INPUT_VISIBILITIES, OUTPUT_VISIBILITIES, PARAM_VISIBILITIES, signalLayout, type PublicInputLayout, type SignalLayout, type Visibility,
} from '../src/verify/layout.ts';
import type { ProofBundle, ZkonnxVerificationKey } from '../src/verify/types.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { argsOf, verifyProof, words } from './helpers/evm.ts';
import { randomInputs, TEST_ROOT } from './helpers/fixtures.ts';
import { cli } from './helpers/cli.ts';

const WORK = join(TEST_ROOT, 'evm-visibility');
const CACHE = join(WORK, 'solc-cache');
const MLP: RandomMlpOptions = { sizes: [12, 6, 4], seed: 43, style: 'gemm-transB' };

interface Setting {
  name: string;
  vis: Visibility;
  layout: PublicInputLayout;
}

const SETTINGS: Setting[] = [
  { name: 'input hashed, output hashed', vis: { input: 'hashed', output: 'hashed', params: 'fixed' }, layout: 'plain' },
  { name: 'input private, output public', vis: { input: 'private', output: 'public', params: 'fixed' }, layout: 'plain' },
  { name: 'input public (packed), output hashed, params hashed', vis: { input: 'public', output: 'hashed', params: 'hashed' }, layout: 'packed' },
  { name: 'input public (plain), output public, params hashed', vis: { input: 'public', output: 'public', params: 'hashed' }, layout: 'plain' },
];

interface Case {
  s: Setting;
  dir: string;
  vk: ZkonnxVerificationKey;
  bundle: ProofBundle;
  v: SolidityVerifier;
  d: DeployedContract;
  sl: SignalLayout;
  gas: VerificationGas;
}




const hasFunction = async (d: DeployedContract, sig: string, n: number) => {
  const r = await d.call(`${functionSelector(sig)}${'00'.repeat(32 * n)}`);
  return r.success; // an unknown selector reverts (no fallback)
};

const cases: Case[] = [];

beforeAll(async () => {
  await mkdir(CACHE, { recursive: true });
  const modelPath = join(WORK, 'mlp.onnx');
  await writeFile(modelPath, randomMlp(MLP).bytes);
  const { model } = await loadModelFile(modelPath);
  const calibration = randomInputs(sizeOf(model.input.shape), 32, MLP.seed + 1000);
  // An input with zeros and 255s (the uint8 edges): zero signals skip their ecMul.
  const input = randomInputs(sizeOf(model.input.shape), 1, 5, -1.5, 1.5)[0];
  // Compile, set up and prove each setting in parallel (snarkjs work is mostly in worker threads).
  const built = await Promise.all(SETTINGS.map(async (s, i) => {
    const dir = join(WORK, `mlp-${i}`);
    await compileModel(modelPath, { out: dir, calibration, publicInputs: s.layout, visibility: s.vis });
    const m = await readManifest(dir);
    if (!m.setup || m.setup.r1csSha256 !== m.circuit.r1csSha256) await setupKeys(dir);
    const { bundle, verification } = await prove(dir, input);
    expect(verification.valid, s.name).toBe(true);
    return { s, dir, bundle, vk: await readVerificationKey(artifactPath(dir, 'vk')) };
  }));
  for (const { s, dir, bundle, vk } of built) {
    const v = exportSolidity(vk);
    const c = await compileContract(v.source, v.contractName, { cacheDir: CACHE });
    const d = await (await createEvmSession()).deploy(c.creation);
    expect(d.runtimeBytes).toBe(c.runtimeBytes);
    const gas = await verificationGas(dir, bundle, { cacheDir: CACHE });
    cases.push({ s, dir, vk, bundle, v, d, gas, sl: signalLayout(s.vis, s.layout, 12, 4) });
  }
}, 240_000);

describe('EVM verifier per visibility (random MLP 12-6-4)', () => {
  it('each honest bundle verifies on-chain, with the signals where signalLayout puts them; gas per setting', async () => {
    for (const { s, vk, bundle, v, d, sl, gas } of cases) {
      expect(vk.nPublic, s.name).toBe(sl.total);
      expect(v.publicSignals).toBe(sl.total);
      expect(v.signals).toEqual(sl);
      expect(v.visibility).toEqual(s.vis);
      expect(bundle.publicSignals.length).toBe(sl.total);
      // The bundle's commitments are at the layout's indices.
      if (s.vis.output === 'hashed') expect(bundle.commitments?.output).toBe(bundle.publicSignals[sl.outputs.at]);
      if (s.vis.input === 'hashed') expect(bundle.commitments?.input).toBe(bundle.publicSignals[sl.inputHash]);
      if (s.vis.params === 'hashed') expect(bundle.commitments?.params).toBe(bundle.publicSignals[sl.paramsHash]);
      expect(await verifyProof(d, argsOf(bundle)), s.name).toBe(true);
      const c = calldata(bundle, { vk });
      expect(c.calldata).toBe(calldata(bundle).calldata);
      expect(c.signature).toBe(v.verifyProofSignature);
      // The index getters of the non-default contract.
      const get = async (name: string) => {
        const r = await d.call(functionSelector(`${name}()`));
        return r.success ? Number(words(r.returnValue)[0]) : null;
      };
      expect(await get('OUTPUT_COMMITMENT_INDEX')).toBe(s.vis.output === 'hashed' ? sl.outputs.at : null);
      expect(await get('INPUT_COMMITMENT_INDEX')).toBe(sl.inputHash >= 0 ? sl.inputHash : null);
      expect(await get('PARAMS_COMMITMENT_INDEX')).toBe(sl.paramsHash >= 0 ? sl.paramsHash : null);
      expect(await get('INPUT_SIGNALS_AT')).toBe(sl.input.count > 0 ? sl.input.at : null);
      expect(await get('N_PUBLIC')).toBe(sl.total);
      // decodeOutputs/verifyAndDecode only for a public output, decodeInput only for a public input.
      const N = sl.total;
      expect(await hasFunction(d, `decodeOutputs(uint256[${N}])`, N)).toBe(s.vis.output === 'public');
      expect(await hasFunction(d, `decodeInput(uint256[${N}])`, N)).toBe(s.vis.input === 'public');

      // verificationGas deployed the same contract and measured the same call.
      const direct = await d.call(c.calldata);
      expect(gas.executionGas).toBe(direct.executionGas);
      expect(gas.transactionGas).toBe(direct.transactionGas);
      expect(gas.publicSignals).toBe(N);
      expect(gas.visibility).toEqual(s.vis);
      expect(gas.runtimeBytes).toBeLessThanOrEqual(gas.predictedBytecodeBytes);
      const nonZero = bundle.publicSignals.filter((x) => x !== '0').length;
      console.info(`evm visibility ${s.name}: ${N} public signals (${nonZero} non-zero), runtime ${gas.runtimeBytes} bytes (predicted ${gas.predictedBytecodeBytes}); verifyProof ${gas.executionGas} gas execution, ${gas.transactionGas} as a transaction, every signal non-zero ${gas.worstCaseGas}`);
      // Sanity bounds only: the 4-pairing check (181k) plus at most ~6.7k per non-zero signal.
      expect(gas.executionGas).toBeGreaterThan(181_000 + nonZero * 6_150);
      expect(gas.executionGas).toBeLessThan(181_000 + nonZero * 6_700 + 5_000);
      expect(gas.worstCaseGas).toBeGreaterThanOrEqual(gas.executionGas);
    }
  });

  it('returns false, never reverting, for a tampered commitment, output or input signal, and for a commitment + r', async () => {
    for (const { s, bundle, d, sl } of cases) {
      const good = argsOf(bundle);
      const sig = (i: number, f: (v: bigint) => bigint) => ({ ...good, publicSignals: good.publicSignals.map((v, k) => (k === i ? f(v) : v)) });
      const tampered: [string, VerifierCallArgs][] = [];
      const commitment = (name: string, at: number) => {
        tampered.push([`${name} commitment + 1`, sig(at, (v) => (v + 1n) % R)]);
        // The same scalar to ecMul: only the contract's < r check refuses it.
        tampered.push([`${name} commitment + r`, sig(at, (v) => v + R)]);
        tampered.push([`${name} commitment = 0`, sig(at, () => 0n)]);
      };
      if (s.vis.output === 'hashed') commitment('output', sl.outputs.at);
      else {
        tampered.push(['output 0 + 1', sig(0, (v) => (v + 1n) % R)]);
        tampered.push(['output 0 + r', sig(0, (v) => v + R)]);
      }
      if (sl.inputHash >= 0) commitment('input', sl.inputHash);
      if (sl.paramsHash >= 0) commitment('params', sl.paramsHash);
      if (sl.input.count > 0) {
        const last = sl.input.at + sl.input.count - 1;
        tampered.push(['input signal ^ 1', sig(sl.input.at, (v) => v ^ 1n)]);
        tampered.push(['input signal + r', sig(last, (v) => v + R)]);
        // Beyond the layout's range at the input's indices (12 bytes packed in one signal: < 2^96).
        tampered.push(s.layout === 'plain' ? ['input signal 256', sig(last, () => 256n)] : ['packed signal + 2^96', sig(last, (v) => v + (1n << 96n))]);
      }
      // Signals swapped: a proof is bound to each index.
      if (sl.total > 1) tampered.push(['signals 0 and 1 swapped', { ...good, publicSignals: [good.publicSignals[1], good.publicSignals[0], ...good.publicSignals.slice(2)] }]);
      for (const [name, args] of tampered) expect(await verifyProof(d, args), `${s.name}: ${name}`).toBe(false);
      expect(await verifyProof(d, good)).toBe(true);
    }
  });

  it('the range checks of a public input start after the commitments (INPUT_SIGNALS_AT), which take any value below r', async () => {
    // Signals 0 and 1 are commitments (~2^253): checked from a wrong index, as uint8 or packed bytes, the
    // honest proof above would have been refused.
    const c = cases.find((x) => x.s.vis.params === 'hashed' && x.s.vis.output === 'hashed')!;
    expect(BigInt(c.bundle.publicSignals[0])).toBeGreaterThan(1n << 96n);
    expect(BigInt(c.bundle.publicSignals[c.sl.paramsHash])).toBeGreaterThan(1n << 96n);
    expect(c.v.source).toMatch(/for \{ let i := INPUT_SIGNALS_AT \}/);
    expect(c.v.source).toMatch(/uint256 public constant INPUT_SIGNALS_AT = 2;/);
  });

  it('the TS verifier agrees: each bundle verifies off-chain too', async () => {
    for (const { s, vk, bundle } of cases) expect((await verifyBundle(bundle, vk)).valid, s.name).toBe(true);
  });

  it('calldata() checks the bundle against the layout: signal count, commitment positions, verifyAndDecode only for a public output', async () => {
    const hashedOut = cases.find((x) => x.s.vis.output === 'hashed')!;
    expect(() => calldata(hashedOut.bundle, { method: 'verifyAndDecode' })).toThrow(/no verifyAndDecode/);
    expect(() => calldata(hashedOut.bundle, { method: 'verifyAndDecode', vk: hashedOut.vk })).toThrow(/no verifyAndDecode/);
    const pub = cases.find((x) => x.s.vis.output === 'public' && x.s.vis.input === 'private')!;
    expect(calldata(pub.bundle, { method: 'verifyAndDecode' }).signature).toMatch(/^verifyAndDecode/);
    // A commitment that is not its signal; a commitment to a part the key does not hash; a bundle for another key.
    const moved = { ...hashedOut.bundle, commitments: { ...hashedOut.bundle.commitments, output: hashedOut.bundle.publicSignals[1] } };
    expect(() => calldata(moved)).toThrow(/output commitment is not its public signal 0/);
    expect(() => calldata({ ...pub.bundle, commitments: { input: pub.bundle.publicSignals[0] } })).toThrow(/input is not hashed/);
    expect(() => calldata(hashedOut.bundle, { vk: pub.vk })).toThrow(InputError);
    expect(() => calldata({ ...pub.bundle, publicSignals: pub.bundle.publicSignals.slice(1) })).toThrow(/has 3 public signals, but .* makes 4/);
    expect(() => calldata({ ...pub.bundle, circuit: { ...pub.bundle.circuit, visibility: { input: 'secret' } as never } })).toThrow(/unknown visibility/);

    // The CLI: --key checks against the key; verifyAndDecode of a hashed output is exit 2.
    const bundleFile = join(hashedOut.dir, 'bundle-evm.json');
    await writeFile(bundleFile, JSON.stringify(hashedOut.bundle));
    const [ok, withKey, bad, otherKey] = await Promise.all([
      cli('calldata', bundleFile),
      cli('calldata', bundleFile, '--key', hashedOut.dir),
      cli('calldata', bundleFile, '--method', 'verifyAndDecode', '--json'),
      cli('calldata', bundleFile, '--key', pub.dir, '--json'),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.trim()).toBe(calldata(hashedOut.bundle).calldata);
    expect(withKey.stdout.trim()).toBe(ok.stdout.trim());
    for (const r of [bad, otherKey]) {
      expect(r.code, r.stderr).toBe(2);
      expect(JSON.parse(r.stdout).error.code).toBe('BAD_INPUT');
    }
  });

  it('export solidity prints the visibility and layout for a non-default key', async () => {
    const c = cases[0];
    const r = await cli('export', 'solidity', c.dir, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ publicSignals: 2, inputSignals: 0, visibility: c.s.vis, predictedBytecodeBytes: c.v.predictedBytecodeBytes });
  });
});

/** A key with `base`'s points reshaped to a visibility, layout and sizes (for sizes and refusals only). */
function syntheticKey(base: ZkonnxVerificationKey, nOut: number, nIn: number, layout: PublicInputLayout, vis: Visibility): ZkonnxVerificationKey {
  const vk = structuredClone(base);
  const sl = signalLayout(vis, layout, nIn, nOut);
  vk.nPublic = sl.total;
  vk.IC = Array.from({ length: vk.nPublic + 1 }, (_, i) => base.IC[i % base.IC.length]);
  vk.zkonnx.output = { name: 'y', shape: [1, nOut], quant: { kind: 'acc', scales: Array(nOut).fill(0.01), lo: Array(nOut).fill(-999), hi: Array(nOut).fill(999) } };
  vk.zkonnx.input = { ...vk.zkonnx.input, shape: [1, nIn] };
  vk.zkonnx.publicInputs = { layout, signals: sl.input.count };
  vk.zkonnx.visibility = vis;
  return vk;
}

describe('size prediction and refusals per visibility', () => {
  it('the prediction bounds solc\'s size within RUNTIME_SLACK_BYTES for every visibility (small and large keys)', async () => {
    const base = cases[0].vk;
    const shapes: [number, number][] = [[1, 1], [10, 784], [300, 31 * 9 + 1], [3, 250]];
    const jobs: Promise<void>[] = [];
    for (const input of INPUT_VISIBILITIES) for (const output of OUTPUT_VISIBILITIES) for (const params of PARAM_VISIBILITIES) {
      for (const layout of input === 'public' ? (['plain', 'packed'] as const) : (['plain'] as const)) {
        for (const [nOut, nIn] of shapes) {
          const vis = { input, output, params } as Visibility;
          const vk = syntheticKey(base, nOut, nIn, layout, vis);
          if (predictRuntimeBytes(layout, vk.nPublic, vis) > 24_576) continue;
          jobs.push((async () => {
            const v = exportSolidity(vk);
            expect(v.predictedBytecodeBytes).toBe(predictRuntimeBytes(layout, vk.nPublic, vis));
            const c = await compileContract(v.source, v.contractName, { cacheDir: CACHE });
            const what = `${input}/${output}/${params} ${layout} ${nOut} + ${nIn}: solc ${c.runtimeBytes}, predicted ${v.predictedBytecodeBytes}`;
            expect(c.runtimeBytes, what).toBeLessThanOrEqual(v.predictedBytecodeBytes);
            expect(v.predictedBytecodeBytes - c.runtimeBytes, what).toBeLessThan(RUNTIME_SLACK_BYTES);
          })());
        }
      }
    }
    await Promise.all(jobs);
  });

  it('refuses an oversized non-default key with the fixes that apply, and keys whose counts disagree with the visibility', () => {
    const base = cases[0].vk;
    // 400 public outputs and a private input: only hashing the output helps.
    const vis: Visibility = { input: 'private', output: 'public', params: 'fixed' };
    const big = syntheticKey(base, 400, 12, 'plain', vis);
    expect(() => exportSolidity(big)).toThrow(/400 public signals \(400 outputs\)/);
    try {
      exportSolidity(big);
    } catch (e) {
      expect((e as { hint?: string }).hint).toMatch(/--output-visibility hashed/);
      expect((e as { hint?: string }).hint).not.toMatch(/--public-inputs packed/);
    }
    expect(maxPublicSignals('plain', 24_576, vis)).toBeGreaterThan(maxPublicSignals('plain'));
    const bad = (f: (k: ZkonnxVerificationKey) => void) => {
      const k = structuredClone(cases[0].vk);
      f(k);
      return () => exportSolidity(k);
    };
    expect(bad((k) => (k.zkonnx.visibility = { input: 'hidden' } as never))).toThrow(/unknown visibility field 'input'/);
    expect(bad((k) => (k.zkonnx.publicInputs = { layout: 'plain', signals: 12 }))).toThrow(/a hashed input has no public input signals/);
    // The default visibility's count for a hashed-output, hashed-input key.
    expect(bad((k) => {
      delete k.zkonnx.visibility;
      delete k.zkonnx.publicInputs;
    })).toThrow(/nPublic is 2, but 4 outputs and 12 input signals make 16/);
    expect(bad((k) => (k.nPublic = 3))).toThrow(/nPublic is 3, but an output commitment and an input commitment make 2/);
  });
});

describe('a one-output model with a hashed output (public input)', () => {
  // The signal count (1 + inputs) is the default layout's count too: a verifier that placed signals by count
  // alone would decode the output commitment as the model's output (a hash a prover can grind to any sign).
  it('the contract has no output decoder, puts the commitment at 0 and range-checks the input from 1', async () => {
    const dir = join(WORK, 'one-output');
    const modelPath = join(WORK, 'one-output.onnx');
    const opts: RandomMlpOptions = { sizes: [4, 3, 1], seed: 44, style: 'gemm' };
    await writeFile(modelPath, randomMlp(opts).bytes);
    await compileModel(modelPath, { out: dir, calibration: randomInputs(4, 16, 3), visibility: { input: 'public', output: 'hashed', params: 'fixed' } });
    const m = await readManifest(dir);
    if (!m.setup || m.setup.r1csSha256 !== m.circuit.r1csSha256) await setupKeys(dir);
    const { bundle } = await prove(dir, randomInputs(4, 1, 4)[0]);
    const vk = await readVerificationKey(artifactPath(dir, 'vk'));
    expect(vk.nPublic).toBe(1 + 4);
    const v = exportSolidity(vk);
    expect(v.source).not.toMatch(/function decodeOutputs|function verifyAndDecode/);
    const c = await compileContract(v.source, v.contractName, { cacheDir: CACHE });
    const d = await (await createEvmSession()).deploy(c.creation);
    expect(await hasFunction(d, 'decodeOutputs(uint256[5])', 5)).toBe(false);
    const args = argsOf(bundle);
    expect(await verifyProof(d, args)).toBe(true);
    // An input signal of 256 at index 1 is out of range: refused (the commitment at 0 takes any value < r).
    const bad = { ...args, publicSignals: args.publicSignals.map((s, i) => (i === 1 ? 256n : s)) };
    expect(await verifyProof(d, bad)).toBe(false);
    expect(() => calldata(bundle, { method: 'verifyAndDecode', vk })).toThrow(InputError);
  }, 120_000);
});
