/**
 * The EVM verifier for keys whose input has integer (token ids) and bool (mask) parts: one signal per element,
 * a negative x as r - |x|, range-checked by the circuit (circuits/intrange.circom). A real proof verifies on
 * @ethereumjs/evm and decodeInputIntegers returns the proven ids and mask (negative ids included); a tampered
 * id (+1, below lo, above hi), a mask of r - 1 (-1) or 2 and non-canonical signals (>= r) return false; a key
 * with a uint8 input next to an integer one keeps the uint8 check (< 256) on its part; the size prediction
 * bounds solc's; keys the circuit cannot have are refused.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { artifactPath } from '../src/artifacts/paths.ts';
import { compileModel } from '../src/compile/model.ts';
import { ContractSizeError, InputError } from '../src/errors.ts';
import { calldata, encodeVerifierCall, type VerifierCallArgs } from '../src/evm/calldata.ts';
import { compileContract, createEvmSession, verificationGas, type DeployedContract } from '../src/evm/measure.ts';
import { exportSolidity, RUNTIME_SLACK_BYTES, type SolidityVerifier } from '../src/evm/solidity.ts';
import { FIELD_PRIME as R } from '../src/field.ts';
import { buildOnnxModel, mulberry32, type ModelSpec } from '../src/onnx/builder.ts';
import { prove, readVerificationKey } from '../src/prove/prove.ts';
import { setupKeys } from '../src/setup/setup.ts';
import type { ProofBundle, ZkonnxVerificationKey } from '../src/verify/types.ts';
import { verifyBundle } from '../src/verify/verify.ts';
import { argsOf, callWithSignals, int256, int256Array, verifyProof, words } from './helpers/evm.ts';
import { cli } from './helpers/cli.ts';
import { catchErr } from './helpers/errors.ts';
import { tokenSpec, weights } from './helpers/graph-io-models.ts';

const WORK = 'artifacts/test/evm-int';
const CACHE = join(WORK, 'solc-cache');

interface Deployed {
  v: SolidityVerifier;
  runtimeBytes: number;
  d: DeployedContract;
}

async function deploy(vk: ZkonnxVerificationKey): Promise<Deployed> {
  const v = exportSolidity(vk);
  const c = await compileContract(v.source, v.contractName, { cacheDir: CACHE });
  const d = await (await createEvmSession()).deploy(c.creation);
  return { v, runtimeBytes: c.runtimeBytes, d };
}

function tokenInput(seed: number) {
  const r = mulberry32(seed);
  return { ids: [Array.from({ length: 4 }, () => Math.floor(r() * 50))], mask: [Array.from({ length: 4 }, () => r() < 0.5)] };
}

/** A float input next to an integer one: a [1, 2] float -> Gemm; ids int64 [1, 3] -> Cast -> Gemm; the sum. */
function mixedSpec(): ModelSpec {
  return {
    inputs: [{ name: 'a', shape: [1, 2] }, { name: 'ids', shape: [1, 3], elemType: 'int64' }],
    outputs: [{ name: 'y', shape: [1, 2] }],
    initializers: [
      { name: 'Wa', dims: [2, 2], data: weights(4, 11) }, { name: 'Wi', dims: [3, 2], data: weights(6, 12, 0.2) },
    ],
    nodes: [
      { op: 'MatMul', name: 'ga', inputs: ['a', 'Wa'], outputs: ['ya'] },
      { op: 'Cast', name: 'ci', inputs: ['ids'], outputs: ['idf'], attrs: { to: 1 } },
      { op: 'MatMul', name: 'gi', inputs: ['idf', 'Wi'], outputs: ['yi'] },
      { op: 'Add', name: 'sum', inputs: ['ya', 'yi'], outputs: ['y'] },
    ],
  };
}

const ID_BOUNDS: [number, number] = [-8, 60];

describe('token ids (int64, bounds [-8, 60]) and a bool mask, default visibility', () => {
  const dir = join(WORK, 'tokens');
  let vk: ZkonnxVerificationKey;
  let bundle: ProofBundle;
  let dep: Deployed;
  // A negative id exercises the r - |x| encoding and the signed decoding.
  const input = { ids: [[-3, 17, 0, 60]], mask: [[true, false, true, true]] };

  beforeAll(async () => {
    await mkdir(CACHE, { recursive: true });
    await writeFile(join(WORK, 'tokens.onnx'), buildOnnxModel(tokenSpec()));
    const cal = Array.from({ length: 8 }, (_, i) => tokenInput(500 + i));
    await compileModel(join(WORK, 'tokens.onnx'), { out: dir, calibration: { json: cal, source: 'tokens-cal.json' }, inputBounds: { ids: ID_BOUNDS } });
    await setupKeys(dir);
    vk = await readVerificationKey(artifactPath(dir, 'vk'));
    bundle = (await prove(dir, input)).bundle;
    expect((await verifyBundle(bundle, vk)).valid).toBe(true);
    dep = await deploy(vk);
  });

  it('the contract describes the signals and offers decodeInputIntegers, not the byte decodeInput', () => {
    const src = dep.v.source;
    expect(src).toMatch(/input\[0\.\.3\]: 'ids' \(int64 \[1, 4\]\), integers in \[-8, 60\] the circuit range-checks, as field elements \(a negative x is r - \|x\|\)/);
    expect(src).toMatch(/input\[4\.\.7\]: 'mask' \(bool \[1, 4\]\), integers in \[0, 1\]/);
    expect(src).toMatch(/each integer input signal < r \(the circuit range-checks it to its bounds\)/);
    expect(src).toContain('function decodeInputIntegers(uint256[10] calldata pubSignals) public pure returns (int256[] memory input)');
    expect(src).not.toMatch(/function decodeInput\(/);
    expect(src).not.toMatch(/uint8 values of the model input/);
    expect(src).not.toMatch(/0xff/); // no uint8 part
    expect(dep.v.inputSignals).toBe(8);
    expect(dep.v.publicSignals).toBe(10);
  });

  it('the real proof verifies; verifyAndDecode returns the outputs; decodeInputIntegers the proven ids and mask', async () => {
    const args = argsOf(bundle);
    expect(args.publicSignals.slice(2)).toEqual([R - 3n, 17n, 0n, 60n, 1n, 0n, 1n, 1n]);
    expect(await verifyProof(dep.d, args)).toBe(true);
    const r = await dep.d.call(encodeVerifierCall(args, 'verifyAndDecode'));
    expect(r.success, r.error).toBe(true);
    const w = words(r.returnValue);
    expect(w[0]).toBe(1n);
    const at = Number(w[1]) / 32;
    expect(w.slice(at + 1, at + 1 + Number(w[at])).map(int256)).toEqual(bundle.output.quantized.map(BigInt));
    const dec = await callWithSignals(dep.d, 'decodeInputIntegers', args.publicSignals);
    expect(dec.success, dec.error).toBe(true);
    expect(int256Array(dec.returnValue)).toEqual([-3n, 17n, 0n, 60n, 1n, 0n, 1n, 1n]);
    expect(bundle.input.quantized).toEqual([-3, 17, 0, 60, 1, 0, 1, 1]);
    // Decoding refuses a signal >= r (it is meaningless: the proof never verifies with one).
    const over = await callWithSignals(dep.d, 'decodeInputIntegers', args.publicSignals.map((v, i) => (i === 2 ? R : v)));
    expect(over.success).toBe(false);
  });

  it('returns false, never reverting, for tampered ids and mask values and non-canonical signals', async () => {
    const good = argsOf(bundle);
    const sig = (i: number, f: (v: bigint) => bigint): VerifierCallArgs => ({ ...good, publicSignals: good.publicSignals.map((v, k) => (k === i ? f(v) : v)) });
    const ID = 2; // ids[0] = -3 at signal 2; mask at signals 6..9
    const cases: [string, VerifierCallArgs][] = [
      ['id + 1', sig(ID + 1, (v) => v + 1n)],
      ['id - 1 (-4, within bounds)', sig(ID, (v) => v - 1n)],
      ['id 61 (above hi)', sig(ID + 3, () => 61n)],
      ['id -9 (r - 9, below lo)', sig(ID, () => R - 9n)],
      ['id 3 (the sign flipped)', sig(ID, () => 3n)],
      ['mask r - 1 (-1, outside [0, 1])', sig(7, () => R - 1n)],
      ['mask 2', sig(6, () => 2n)],
      ['mask flipped', sig(6, (v) => 1n - v)],
      // Non-canonical: x + r is the same scalar to ecMul; only the contract's < r check stops it.
      ['id + r (r - 3 + r)', sig(ID, (v) => v + R)],
      ['id 17 + r', sig(ID + 1, (v) => v + R)],
      ['mask 0 + r', sig(7, (v) => v + R)],
      ['id = r', sig(ID + 2, () => R)],
      ['id 2^256 - 1', sig(ID, () => (1n << 256n) - 1n)],
      ['output + r', sig(0, (v) => v + R)],
    ];
    for (const [name, args] of cases) expect(await verifyProof(dep.d, args), name).toBe(false);
    expect(await verifyProof(dep.d, good)).toBe(true);

    // The < r check is what stops s + r: the same contract with the check over the outputs only accepts it.
    const loop = 'for { let i := 0 } lt(i, N_PUBLIC) { i := add(i, 1) } { bad := or(bad, iszero(lt(calldataload(add(s, shl(5, i))), R))) }';
    expect(dep.v.source).toContain(loop);
    const weak = dep.v.source.replace(loop, loop.replace('lt(i, N_PUBLIC)', 'lt(i, N_OUTPUTS)'));
    const c = await compileContract(weak, dep.v.contractName, { cacheDir: CACHE });
    const w = await (await createEvmSession()).deploy(c.creation);
    expect(await verifyProof(w, sig(ID + 1, (v) => v + R))).toBe(true);
    expect(await verifyProof(w, sig(ID + 1, (v) => v + 1n))).toBe(false);
  });

  it('the size prediction bounds solc\'s; verificationGas measures the token-id model', async () => {
    expect(dep.v.predictedBytecodeBytes).toBeGreaterThanOrEqual(dep.runtimeBytes);
    expect(dep.v.predictedBytecodeBytes - dep.runtimeBytes).toBeLessThanOrEqual(RUNTIME_SLACK_BYTES);
    const g = await verificationGas(dir, bundle, { cacheDir: CACHE });
    console.log(`token ids + mask (${g.publicSignals} public signals): ${g.executionGas} execution gas, ${g.transactionGas} as a transaction, worst case ${g.worstCaseGas}; ${g.runtimeBytes} runtime bytes (predicted ${g.predictedBytecodeBytes})`);
    expect(g.runtimeBytes).toBe(dep.runtimeBytes);
    expect(g.executionGas).toBeLessThan(260_000);
    // calldata() encodes the integer signals as they are.
    expect(calldata(bundle, { vk }).publicSignals.map(BigInt)).toEqual(argsOf(bundle).publicSignals);
  });

  it('the CLI: export solidity writes this contract; calldata prints a call the contract accepts', async () => {
    let r = await cli('export', 'solidity', dir, '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { out: string; publicSignals: number; inputSignals: number };
    expect(out).toMatchObject({ publicSignals: 10, inputSignals: 8 });
    expect(await readFile(out.out, 'utf8')).toBe(dep.v.source);
    const bundleFile = join(WORK, 'tokens-bundle.json');
    await writeFile(bundleFile, JSON.stringify(bundle));
    r = await cli('calldata', bundleFile, '--key', dir);
    expect(r.code, r.stderr).toBe(0);
    const call = await dep.d.call(r.stdout.trim());
    expect(call.success).toBe(true);
    expect(words(call.returnValue)).toEqual([1n]);
  });

  it('refuses a key the circuit cannot have: an integer input in the packed layout or not public; malformed bounds', () => {
    const packed = structuredClone(vk);
    packed.zkonnx.publicInputs = { layout: 'packed', signals: 1 };
    packed.nPublic = 3;
    packed.IC = packed.IC.slice(0, 4);
    expect(() => exportSolidity(packed)).toThrow(/'ids' is an integer tensor, which needs the plain public-input layout and a public input/);
    const hashed = structuredClone(vk);
    hashed.zkonnx.visibility = { input: 'hashed', output: 'public', params: 'fixed' };
    hashed.zkonnx.publicInputs = { layout: 'plain', signals: 0 };
    hashed.nPublic = 3;
    hashed.IC = hashed.IC.slice(0, 4);
    expect(() => exportSolidity(hashed)).toThrow(InputError);
    const big = catchErr(() => exportSolidity(vk, { maxRuntimeBytes: 3000 }));
    expect(big).toBeInstanceOf(ContractSizeError);
    expect(big.message).toMatch(/an integer input takes one signal per element/);
    expect((big as ContractSizeError).hint).toMatch(/--dim/);
    expect((big as ContractSizeError).hint).not.toMatch(/packed/);
    const bad = structuredClone(vk);
    (bad.zkonnx.input.parts![0].quant as { lo: number[] }).lo[0] = 0.5;
    expect(() => exportSolidity(bad)).toThrow(/input\.parts\[0\]\.quant\.lo/);
  });
});

describe('a uint8 input next to an integer one, hashed output', () => {
  const dir = join(WORK, 'mixed');
  let bundle: ProofBundle;
  let dep: Deployed;
  const input = { a: [[0.25, -0.5]], ids: [[1, 9, 4]] };

  beforeAll(async () => {
    await mkdir(CACHE, { recursive: true });
    await writeFile(join(WORK, 'mixed.onnx'), buildOnnxModel(mixedSpec()));
    const r = mulberry32(77);
    const cal = Array.from({ length: 8 }, () => ({ a: [[r() * 2 - 1, r() * 2 - 1]], ids: [[0, 1, 2].map(() => Math.floor(r() * 10))] }));
    await compileModel(join(WORK, 'mixed.onnx'), { out: dir, calibration: { json: cal, source: 'mixed-cal.json' }, inputBounds: { ids: [0, 9] }, visibility: { output: 'hashed' } });
    await setupKeys(dir);
    const vk = await readVerificationKey(artifactPath(dir, 'vk'));
    bundle = (await prove(dir, input)).bundle;
    dep = await deploy(vk);
    expect(dep.v.predictedBytecodeBytes).toBeGreaterThanOrEqual(dep.runtimeBytes);
    expect(dep.v.predictedBytecodeBytes - dep.runtimeBytes).toBeLessThanOrEqual(RUNTIME_SLACK_BYTES);
  });

  it('verifies; the uint8 part keeps its < 256 check, the integer part its < r check; decodeInputIntegers reads both', async () => {
    const src = dep.v.source;
    expect(src).toMatch(/Input signals 1\.\.2: one uint8 each/);
    expect(src).toMatch(/Input signals 3\.\.5: integers as canonical field elements/);
    expect(src).toMatch(/input\[0\.\.1\]: 'a' \(\[1, 2\]\), uint8 values q \(the contract checks each < 256\), real = \(q - \d+\) \* [0-9.e-]+/);
    expect(src).toMatch(/each uint8 input signal < 256, each integer input signal < r/);
    const good = argsOf(bundle);
    expect(await verifyProof(dep.d, good)).toBe(true);
    const dec = await callWithSignals(dep.d, 'decodeInputIntegers', good.publicSignals);
    expect(int256Array(dec.returnValue)).toEqual(bundle.input.quantized!.map(BigInt));
    expect(int256Array(dec.returnValue).slice(2)).toEqual([1n, 9n, 4n]);
    const sig = (i: number, f: (v: bigint) => bigint): VerifierCallArgs => ({ ...good, publicSignals: good.publicSignals.map((v, k) => (k === i ? f(v) : v)) });
    const cases: [string, VerifierCallArgs][] = [
      ['uint8 256', sig(1, () => 256n)],
      ['uint8 + r', sig(2, (v) => v + R)],
      ['id + 1', sig(4, (v) => v + 1n)],
      ['id 10 (above hi)', sig(4, () => 10n)],
      ['id r - 1 (-1)', sig(3, () => R - 1n)],
      ['id + r', sig(5, (v) => v + R)],
      ['output commitment + r', sig(0, (v) => v + R)],
    ];
    for (const [name, args] of cases) expect(await verifyProof(dep.d, args), name).toBe(false);
  });
});
