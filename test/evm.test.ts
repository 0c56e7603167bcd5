/**
 * The generated EVM verifier, compiled with solc (optimizer on) and run on @ethereumjs/evm: honest proofs
 * verify and decode to the bundle's outputs; tampered signals and proofs, non-canonical values and
 * out-of-range inputs return false without reverting; the predicted bytecode size bounds solc's; oversized
 * and unusable keys are refused; calldata() agrees with snarkjs; the two CLI commands.
 *
 * Gas figures are the call's execution gas (no 21,000 transaction base, no calldata charge), with the
 * precompiles warm as in a transaction; transactionGas adds both.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as snarkjs from 'snarkjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../src/artifacts/manifest.ts';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileModel } from '../src/compile/model.ts';
import { ContractSizeError, InputError } from '../src/errors.ts';
import { calldata, encodeVerifierCall, functionSelector, type VerifierCallArgs } from '../src/evm/calldata.ts';
import { compileContract, createEvmSession, deployContract, type DeployedContract } from '../src/evm/measure.ts';
import {
  EIP170_MAX_RUNTIME_BYTES, exportSolidity, maxPublicSignals, predictRuntimeBytes, RUNTIME_SLACK_BYTES, type SolidityVerifier,
} from '../src/evm/solidity.ts';
import { BASE_FIELD_PRIME as Q, FIELD_PRIME as R } from '../src/field.ts';
import { prove, readVerificationKey } from '../src/prove/prove.ts';
import { setupKeys } from '../src/setup/setup.ts';
import { packBytes, type PublicInputLayout } from '../src/verify/layout.ts';
import type { ProofBundle, ZkonnxVerificationKey } from '../src/verify/types.ts';
import { argsOf, verifyProof, words } from './helpers/evm.ts';
import { mlpFixture, TEST_ROOT } from './helpers/fixtures.ts';
import { readmeExample } from './helpers/readme.ts';
import { cli } from './helpers/cli.ts';

const WORK = join(TEST_ROOT, 'evm');
const CACHE = join(WORK, 'solc-cache');

interface Deployed {
  v: SolidityVerifier;
  runtimeBytes: number;
  d: DeployedContract;
}

async function deploy(vk: ZkonnxVerificationKey, opts: Parameters<typeof exportSolidity>[1] = {}): Promise<Deployed> {
  const v = exportSolidity(vk, opts);
  const c = await compileContract(v.source, v.contractName, { cacheDir: CACHE });
  const d = await deployContract(c.creation);
  expect(d.runtimeBytes).toBe(c.runtimeBytes);
  return { v, runtimeBytes: c.runtimeBytes, d };
}

const int256 = (w: bigint) => (w >= 1n << 255n ? w - (1n << 256n) : w);



/** verifyAndDecode -> (valid, outputs, argmax). */
async function verifyAndDecode(d: DeployedContract, args: VerifierCallArgs) {
  const r = await d.call(encodeVerifierCall(args, 'verifyAndDecode'));
  expect(r.success, r.error).toBe(true);
  const w = words(r.returnValue);
  const at = Number(w[1]) / 32;
  const n = Number(w[at]);
  return { valid: w[0] === 1n, outputs: w.slice(at + 1, at + 1 + n).map(int256), argmax: Number(w[2]), gas: r.executionGas };
}

const firstMax = (v: bigint[]) => v.reduce((best, x, i) => (x > v[best] ? i : best), 0);

/** A key with the fixture key's points, reshaped to `nOut` outputs and `nIn` inputs in `layout` (for sizes only). */
function syntheticKey(base: ZkonnxVerificationKey, nOut: number, nIn: number, layout: PublicInputLayout): ZkonnxVerificationKey {
  const vk = structuredClone(base);
  const inSignals = layout === 'packed' ? Math.ceil(nIn / 31) : nIn;
  vk.nPublic = nOut + inSignals;
  vk.IC = Array.from({ length: vk.nPublic + 1 }, (_, i) => base.IC[i % base.IC.length]);
  vk.zkonnx.output = { name: 'y', shape: [1, nOut], quant: { kind: 'acc', scales: Array(nOut).fill(0.01), lo: Array(nOut).fill(-999), hi: Array(nOut).fill(999) } };
  vk.zkonnx.input = { ...vk.zkonnx.input, shape: [1, nIn] };
  vk.zkonnx.publicInputs = { layout, signals: inSignals };
  return vk;
}

let vk: ZkonnxVerificationKey;
let bundle: ProofBundle;
let plain: Deployed;

beforeAll(async () => {
  await mkdir(CACHE, { recursive: true });
  const fx = await mlpFixture('evm-plain', { sizes: [12, 6, 4], seed: 41, style: 'gemm-transB' }, true);
  vk = await readVerificationKey(artifactPath(fx.dir, 'vk'));
  // An input with a few zeros and 255s (the uint8 edges), so decodeInput and the zero-signal skip are exercised.
  bundle = (await prove(fx.dir, fx.inputs(1, 5, -1.5, 1.5)[0])).bundle;
  plain = await deploy(vk);
});

describe('plain layout (small random MLP, 4 outputs + 12 inputs)', () => {
  it('the honest proof verifies; verifyAndDecode returns the bundle\'s outputs and their argmax; decodeInput the input', async () => {
    const args = argsOf(bundle);
    expect(await verifyProof(plain.d, args)).toBe(true);
    const r = await verifyAndDecode(plain.d, args);
    const want = bundle.output.quantized.map((s) => BigInt(s));
    expect(r.valid).toBe(true);
    expect(r.outputs).toEqual(want);
    expect(want.some((x) => x < 0n)).toBe(true); // a negative output exercises the r - |x| decoding
    expect(r.argmax).toBe(firstMax(want));

    const sel = (sig: string) => functionSelector(sig).slice(2);
    const sigWords = args.publicSignals.map((s) => s.toString(16).padStart(64, '0')).join('');
    const N = args.publicSignals.length;
    const dec = await plain.d.call(`0x${sel(`decodeOutputs(uint256[${N}])`)}${sigWords}`);
    const dw = words(dec.returnValue);
    expect(dw.slice(3, 3 + Number(dw[2])).map(int256)).toEqual(want);
    const inp = await plain.d.call(`0x${sel(`decodeInput(uint256[${N}])`)}${sigWords}`);
    const iw = words(inp.returnValue);
    const bytes = Buffer.from(inp.returnValue).subarray(64, 64 + Number(iw[1]));
    expect(Array.from(bytes)).toEqual(bundle.input.quantized!);
    const vkHashWord = await plain.d.call(`0x${sel('VK_SHA256()')}`);
    expect(Buffer.from(vkHashWord.returnValue).toString('hex')).toBe(bundle.vkSha256);
  });

  it('returns false, never reverting, for tampered signals, tampered proofs, values >= r or >= q and an input of 256', async () => {
    const good = argsOf(bundle);
    const nOut = bundle.output.quantized.length;
    const sig = (i: number, f: (v: bigint) => bigint) => ({ ...good, publicSignals: good.publicSignals.map((v, k) => (k === i ? f(v) : v)) });
    const cases: [string, VerifierCallArgs][] = [
      ['output + 1', sig(0, (v) => (v + 1n) % R)],
      ['input + 1', sig(nOut + 1, (v) => (v === 255n ? 254n : v + 1n))],
      // x + r is the same scalar to ecMul: only the canonical check stops it.
      ['output + r', sig(0, (v) => v + R)],
      ['output = r', sig(nOut - 1, () => R)],
      ['input 256', sig(nOut, () => 256n)],
      ['input + r', sig(nOut + 2, (v) => v + R)],
      ['-A (a valid point, the wrong one)', { ...good, a: [good.a[0], Q - good.a[1]] }],
      ['A off the curve', { ...good, a: [good.a[0] + 1n, good.a[1]] }],
      ['A.y + q', { ...good, a: [good.a[0], good.a[1] + Q] }],
      ['C = A', { ...good, c: good.a }],
      ['C.x + q', { ...good, c: [good.c[0] + Q, good.c[1]] }],
      ['B in snarkjs order (not swapped)', { ...good, b: [[good.b[0][1], good.b[0][0]], [good.b[1][1], good.b[1][0]]] }],
      ['B.x_im + q', { ...good, b: [[good.b[0][0] + Q, good.b[0][1]], good.b[1]] }],
      ['all zero', { a: [0n, 0n], b: [[0n, 0n], [0n, 0n]], c: [0n, 0n], publicSignals: good.publicSignals.map(() => 0n) }],
      ['all 2^256 - 1', mapWords(good, () => (1n << 256n) - 1n)],
    ];
    for (const [name, args] of cases) {
      expect(await verifyProof(plain.d, args), name).toBe(false);
      const r = await verifyAndDecode(plain.d, args);
      expect({ name, valid: r.valid, outputs: r.outputs, argmax: r.argmax }).toEqual({ name, valid: false, outputs: [], argmax: 0 });
    }
    // The honest proof still verifies (nothing above was sticky).
    expect(await verifyProof(plain.d, good)).toBe(true);
  });

  it('with too little gas an honest proof reverts (never a false that could be recorded as a refutation)', async () => {
    const args = argsOf(bundle);
    for (const gas of [150_000n, 220_000n, 250_000n]) {
      const r = await plain.d.call(encodeVerifierCall(args), gas);
      expect(r.success, `${gas} gas`).toBe(false);
    }
    expect(await verifyProof(plain.d, args)).toBe(true);
  });

  it('on a chain without the BN254 precompiles a forged proof is never accepted (stale memory is not a result)', async () => {
    // A forgery that passes every range check: A = C = (1, 2) (x odd, the stale word an unchecked call left),
    // B = 0, outputs chosen freely.
    const forged: VerifierCallArgs = {
      a: [1n, 2n], b: [[0n, 0n], [0n, 0n]], c: [1n, 2n],
      publicSignals: argsOf(bundle).publicSignals.map((_, i) => (i === 0 ? 42n : i === 3 ? 7n : 0n)),
    };
    const c = await compileContract(plain.v.source, plain.v.contractName, { cacheDir: CACHE });
    for (const missing of [[8], [6, 7, 8]]) {
      const d = await (await createEvmSession({ withoutPrecompiles: missing })).deploy(c.creation);
      for (const method of ['verifyProof', 'verifyAndDecode'] as const) {
        const r = await d.call(encodeVerifierCall(forged, method));
        expect(r.success && words(r.returnValue)[0] === 1n, `without [${missing}], ${method}`).toBe(false);
        // Nor is the honest proof reported valid by a chain that cannot check it.
        const h = await d.call(encodeVerifierCall(argsOf(bundle), method));
        expect(h.success && words(h.returnValue)[0] === 1n, `honest, without [${missing}], ${method}`).toBe(false);
      }
    }
  });

  it('calldata() is snarkjs\' exportSolidityCallData (pi_b pairs swapped) behind keccak256(signature)[0:4]', async () => {
    const c = calldata(bundle);
    const ours = JSON.parse(`[${await snarkjs.groth16.exportSolidityCallData(bundle.proof, bundle.publicSignals)}]`) as string[][];
    expect([c.a, c.b, c.c, c.publicSignals]).toEqual(ours);
    expect(c.signature).toBe(plain.v.verifyProofSignature);
    // keccak256("verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[1])")[0:4], as published for 1-signal verifiers.
    expect(functionSelector('verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[1])')).toBe('0x43753b4d');
    expect(c.calldata.length).toBe(2 + 8 + 64 * (8 + bundle.publicSignals.length));
    expect(() => calldata({ ...bundle, publicSignals: [...bundle.publicSignals.slice(1), R.toString()] })).toThrow(InputError);
    expect(() => calldata({ ...bundle, proof: { ...bundle.proof, pi_a: ['1', '2', '3'] } })).toThrow(/pi_a is not an affine point/);
    expect(() => calldata({ format: 'x' } as never)).toThrow(/Not a zkonnx proof bundle/);
  });

  it('size: solc\'s runtime bytecode is within the prediction; gas is ~184k + ~6.7k per non-zero signal', async () => {
    const { v, runtimeBytes } = plain;
    expect(v.predictedBytecodeBytes).toBe(predictRuntimeBytes('plain', 16));
    expect(runtimeBytes).toBeLessThanOrEqual(v.predictedBytecodeBytes);
    expect(v.predictedBytecodeBytes - runtimeBytes).toBeLessThan(RUNTIME_SLACK_BYTES);
    const r = await plain.d.call(calldata(bundle).calldata);
    const nonZero = bundle.publicSignals.filter((s) => s !== '0').length;
    console.info(`evm plain (16 signals, ${nonZero} non-zero): runtime ${runtimeBytes} bytes (predicted ${v.predictedBytecodeBytes}); verifyProof ${r.executionGas} gas execution, ${r.transactionGas} as a transaction`);
    expect(r.executionGas).toBeGreaterThan(181_000 + nonZero * 6_150);
    expect(r.executionGas).toBeLessThan(181_000 + nonZero * 6_700 + 5_000);
  });
});

/** Apply f to every word of the call's arguments. */
function mapWords(a: VerifierCallArgs, f: (v: bigint) => bigint): VerifierCallArgs {
  return { a: [f(a.a[0]), f(a.a[1])], b: [[f(a.b[0][0]), f(a.b[0][1])], [f(a.b[1][0]), f(a.b[1][1])]], c: [f(a.c[0]), f(a.c[1])], publicSignals: a.publicSignals.map(f) };
}

describe('size formula and refusals', () => {
  it('the prediction bounds solc\'s size for plain and packed keys, CNN-shaped (10 + 26 packed) and at the EIP-170 edge', async () => {
    const plainMax = maxPublicSignals('plain');
    const shapes: [number, number, PublicInputLayout][] = [
      [1, 1, 'plain'], [10, 100, 'plain'], [1, plainMax - 1, 'plain'],
      [1, 2, 'packed'], [10, 784, 'packed'], [10, 26 * 31 - 5, 'packed'], [300, 31 * 9 + 1, 'packed'],
    ];
    for (const [nOut, nIn, layout] of shapes) {
      const v = exportSolidity(syntheticKey(vk, nOut, nIn, layout));
      const c = await compileContract(v.source, v.contractName, { cacheDir: CACHE });
      const what = `${layout} ${nOut} + ${nIn}: solc ${c.runtimeBytes}, predicted ${v.predictedBytecodeBytes}`;
      expect(c.runtimeBytes, what).toBeLessThanOrEqual(v.predictedBytecodeBytes);
      expect(v.predictedBytecodeBytes - c.runtimeBytes, what).toBeLessThan(RUNTIME_SLACK_BYTES);
      expect(v.predictedBytecodeBytes).toBeLessThanOrEqual(EIP170_MAX_RUNTIME_BYTES);
      if (nOut === 10 && nIn === 784) console.info(`evm CNN/MLP-shaped packed key (36 signals): runtime ${c.runtimeBytes} bytes`);
    }
    // The largest plain contract exportSolidity allows deploys under the EVM's own EIP-170 check.
    const edge = await deploy(syntheticKey(vk, 1, plainMax - 1, 'plain'));
    expect(edge.v.publicSignals).toBe(plainMax);
    expect(edge.runtimeBytes).toBeLessThanOrEqual(EIP170_MAX_RUNTIME_BYTES);
  });

  it('refuses a key whose contract would pass EIP-170, naming --public-inputs packed (MNIST-sized plain key: 794 signals)', () => {
    const big = syntheticKey(vk, 10, 784, 'plain');
    expect(() => exportSolidity(big)).toThrow(ContractSizeError);
    try {
      exportSolidity(big);
    } catch (e) {
      expect((e as ContractSizeError).exitCode).toBe(2);
      expect((e as Error).message).toMatch(/about 53,456 bytes .* over the 24,576-byte limit \(EIP-170\): 794 public signals \(10 outputs \+ 784 plain input signals\)/);
      expect((e as Error).message).toMatch(/--public-inputs packed/);
    }
    expect(() => exportSolidity(syntheticKey(vk, 1, maxPublicSignals('plain'), 'plain'))).toThrow(ContractSizeError);
    expect(exportSolidity(big, { maxRuntimeBytes: Infinity }).publicSignals).toBe(794);
  });

  it('refuses keys it cannot use: gamma == delta, points off their curve or not affine, counts that disagree with the shapes', () => {
    const bad = (f: (k: ZkonnxVerificationKey) => void) => {
      const k = structuredClone(vk);
      f(k);
      return () => exportSolidity(k);
    };
    expect(bad((k) => (k.vk_delta_2 = k.vk_gamma_2))).toThrow(/gamma equals delta/);
    expect(bad((k) => (k.IC[3] = [k.IC[3][0], (BigInt(k.IC[3][1]) ^ 1n).toString(), '1']))).toThrow(/IC\[3\] is not on the BN254 curve/);
    expect(bad((k) => (k.vk_beta_2[1][0] = '5'))).toThrow(/vk_beta_2 is not on the BN254 twist curve/);
    expect(bad((k) => (k.vk_alpha_1 = [...k.vk_alpha_1.slice(0, 2), '2']))).toThrow(/not in affine form/);
    expect(bad((k) => (k.IC[0] = [Q.toString(), '0', '1']))).toThrow(/not below the base field prime/);
    expect(bad((k) => k.IC.pop())).toThrow(/IC has 16 points, expected 17/);
    expect(bad((k) => (k.nPublic = 15))).toThrow(/nPublic is 15/);
    expect(bad((k) => (k.zkonnx.publicInputs = { layout: 'packed', signals: 12 }))).toThrow(/12 inputs in the packed layout take 1/);
    expect(bad((k) => ((k as { protocol: string }).protocol = 'plonk'))).toThrow(InputError);
    expect(bad((k) => delete (k as Partial<ZkonnxVerificationKey>).zkonnx)).toThrow(/no zkonnx section/);
    expect(() => exportSolidity(vk, { contractName: 'contract-x' })).toThrow(/not a Solidity contract name/);
    // A point at infinity (z = 0) is (0, 0) for the EVM.
    const inf = structuredClone(vk);
    inf.IC[5] = ['0', '1', '0'];
    expect(exportSolidity(inf).source).toContain('0'.repeat(128));
  });
});

describe('CLI: zkonnx export solidity, zkonnx calldata', () => {
  it('writes the contract, prints its path or JSON; prints the calldata; exit 2 on bad input', async () => {
    const dir = join(WORK, 'cli');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const keyFile = join(dir, 'verification_key.json');
    await writeFile(keyFile, JSON.stringify(vk));
    const bundleFile = join(dir, 'bundle.json');
    await writeFile(bundleFile, JSON.stringify(bundle));

    let r = await cli('export', 'solidity', dir, '--json');
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ contractName: 'ZkonnxEvmPlainVerifier', publicSignals: 16, layout: 'plain', predictedBytecodeBytes: predictRuntimeBytes('plain', 16) });
    expect(j.out).toBe(join(dir, 'ZkonnxEvmPlainVerifier.sol'));
    expect(readFileSync(j.out, 'utf8')).toBe(plain.v.source);
    r = await cli('export', 'solidity', keyFile, '--out', join(dir, 'My.sol'), '--contract-name', 'My');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(join(dir, 'My.sol'));
    expect(readFileSync(join(dir, 'My.sol'), 'utf8')).toMatch(/^contract My \{/m);

    r = await cli('calldata', bundleFile);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(calldata(bundle).calldata);
    r = await cli('calldata', bundleFile, '--json', '--method', 'verifyAndDecode');
    expect(JSON.parse(r.stdout)).toEqual(calldata(bundle, { method: 'verifyAndDecode' }));

    const big = join(dir, 'big.json');
    await writeFile(big, JSON.stringify(syntheticKey(vk, 10, 784, 'plain')));
    const bad = [['export', 'solidity', join(dir, 'missing')], ['export', 'solidity', bundleFile], ['calldata', keyFile], ['calldata', join(dir, 'nope.json')], ['export', 'solidity', big]];
    const runs = await Promise.all(bad.map((args) => cli(...args, '--json')));
    runs.forEach((x, i) => {
      expect(x.code, bad[i].join(' ')).toBe(2);
      expect(JSON.parse(x.stdout).error.code).toBe(i === 4 ? 'CONTRACT_SIZE' : 'BAD_INPUT');
      expect(x.stderr).not.toMatch(/at .*\.ts:\d+/);
    });
    expect(runs[4].stderr).toMatch(/EIP-170[\s\S]*zkonnx compile --public-inputs packed/);
    expect(existsSync(join(dir, 'ZkonnxEvmPlainVerifier.sol'))).toBe(true);
  });
});

/** The README's calling-contract example (a digit oracle on the MNIST MLP's verifier). */
const DIGIT_ORACLE = readmeExample('digit-oracle');

describe('packed layout: the MNIST MLP (784-56-10, 10 outputs + 26 packed input signals)', () => {
  let mnist: Deployed;
  let digit: ProofBundle;
  const dir = join(TEST_ROOT, 'evm-mnist-mlp-packed');

  beforeAll(async () => {
    const cal = (JSON.parse(readFileSync('examples/mnist-mlp/calibration.json', 'utf8')) as { input: number[] }[]).map((x) => Float64Array.from(x.input));
    await compileModel('examples/mnist-mlp/model.onnx', { out: dir, calibration: cal, publicInputs: 'packed' });
    const m = await readManifest(dir);
    if (!m.setup || m.setup.r1csSha256 !== m.circuit.r1csSha256 || !existsSync(artifactPath(dir, 'zkey'))) await setupKeys(dir);
    digit = (await prove(dir, JSON.parse(readFileSync('examples/mnist-mlp/digit-7.json', 'utf8')))).bundle;
    mnist = await deploy(await readVerificationKey(artifactPath(dir, 'vk')));
  });

  it('fits EIP-170 and verifies the digit-7 proof in <= 450,000 gas, decoding outputs, argmax 7 and the input', async () => {
    expect(mnist.v.publicSignals).toBe(36);
    expect(mnist.v.layout).toBe('packed');
    expect(mnist.runtimeBytes).toBeLessThanOrEqual(EIP170_MAX_RUNTIME_BYTES);
    expect(mnist.runtimeBytes).toBeLessThanOrEqual(mnist.v.predictedBytecodeBytes);
    const args = argsOf(digit);
    const r = await mnist.d.call(encodeVerifierCall(args));
    expect(words(r.returnValue)[0]).toBe(1n);
    const d = await verifyAndDecode(mnist.d, args);
    const want = digit.output.quantized.map((x) => BigInt(x));
    expect(d).toMatchObject({ valid: true, outputs: want, argmax: 7 });
    expect(firstMax(want)).toBe(7);
    const sigWords = args.publicSignals.map((x) => x.toString(16).padStart(64, '0')).join('');
    const inp = await mnist.d.call(`${functionSelector('decodeInput(uint256[36])')}${sigWords}`);
    expect(Array.from(Buffer.from(inp.returnValue).subarray(64, 64 + 784))).toEqual(digit.input.quantized!);
    expect(args.publicSignals.slice(10)).toEqual(packBytes(digit.input.quantized!));
    // Worst case: every signal non-zero (the blank rows of a digit make some packed signals 0, which skip
    // their ecMul). The pairing costs the same whether or not it holds, so an invalid call measures it.
    const worst = await mnist.d.call(encodeVerifierCall({ ...args, publicSignals: args.publicSignals.map((x) => x || 1n) }));
    const zeros = args.publicSignals.filter((x) => x === 0n).length;
    console.info(`evm MNIST MLP packed: runtime ${mnist.runtimeBytes} bytes (predicted ${mnist.v.predictedBytecodeBytes}); verifyProof ${r.executionGas} gas execution (${r.transactionGas} as a transaction; ${zeros} zero signals), every signal non-zero ${worst.executionGas} (${worst.transactionGas})`);
    expect(r.executionGas).toBeLessThanOrEqual(450_000);
    expect(worst.executionGas).toBeLessThanOrEqual(450_000);
  });

  it('returns false for a packed signal >= 2^248 (or wider than its last 9 bytes), a tampered byte or output', async () => {
    const good = argsOf(digit);
    const sig = (i: number, f: (v: bigint) => bigint) => ({ ...good, publicSignals: good.publicSignals.map((v, k) => (k === i ? f(v) : v)) });
    const cases: [string, VerifierCallArgs][] = [
      ['signal 15 + 2^248', sig(15, (v) => v + (1n << 248n))],
      ['signal 15 = 2^248', sig(15, () => 1n << 248n)],
      ['last signal (9 bytes) + 2^72', sig(35, (v) => v + (1n << 72n))],
      ['signal 20 + r', sig(20, (v) => v + R)],
      ['one input byte + 1', sig(20, (v) => v ^ 1n)],
      ['output 7 - 1', sig(7, (v) => v - 1n)],
    ];
    for (const [name, args] of cases) expect(await verifyProof(mnist.d, args), name).toBe(false);
    expect(await verifyProof(mnist.d, good)).toBe(true);
  });

  it('the README\'s CLI lines: export solidity DIR, calldata BUNDLE', async () => {
    const bundleFile = join(dir, 'bundle.json');
    await writeFile(bundleFile, JSON.stringify(digit));
    const [e, c] = await Promise.all([cli('export', 'solidity', dir, '--json'), cli('calldata', bundleFile)]);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ out: join(dir, 'ZkonnxMnistMlpVerifier.sol'), contractName: 'ZkonnxMnistMlpVerifier', publicSignals: 36, layout: 'packed', predictedBytecodeBytes: 5008 });
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout.trim()).toBe(calldata(digit).calldata);
  });

  it('a calling contract (the README\'s DigitOracle) gets digit 7 through verifyAndDecode, and a revert for a tampered proof', async () => {
    const evm = await createEvmSession();
    const verifier = await evm.deploy((await compileContract(mnist.v.source, mnist.v.contractName, { cacheDir: CACHE })).creation);
    const oracle = await compileContract(DIGIT_ORACLE, 'DigitOracle', { cacheDir: CACHE });
    const d = await evm.deploy(oracle.creation + verifier.address.slice(2).padStart(64, '0'));
    const data = (args: VerifierCallArgs) => functionSelector('classify(uint256[2],uint256[2][2],uint256[2],uint256[36])') + encodeVerifierCall(args).slice(10);
    const good = argsOf(digit);
    const r = await d.call(data(good));
    expect(r.success, r.error).toBe(true);
    expect(words(r.returnValue)).toEqual([7n]);
    const bad = await d.call(data({ ...good, publicSignals: good.publicSignals.map((v, i) => (i === 3 ? v + 1n : v)) }));
    expect(bad.success).toBe(false);
    expect(Buffer.from(bad.returnValue).toString()).toContain('invalid proof');
  });
});
