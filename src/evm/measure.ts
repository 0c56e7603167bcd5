/**
 * Compile a generated verifier with solc (npm `solc`, optimizer on) and run it on a JavaScript EVM
 * (@ethereumjs/evm): the bench's and the tests' way to measure bytecode size and gas (verificationGas: a
 * bundle's verifyProof gas for an artifact directory's key, any visibility, integer inputs included). Node only. solc and
 * @ethereumjs/* are optional packages, loaded on first use: without them the functions throw
 * MissingPackageError (src/toolchain.ts), naming the package to install.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonFile, writeFileAtomic } from '../artifacts/io.ts';
import { artifactPath } from '../artifacts/paths.ts';
import { importOptional } from '../toolchain.ts';
import type { Visibility } from '../verify/layout.ts';
import type { ProofBundle, ZkonnxVerificationKey } from '../verify/types.ts';
import { calldata, encodeVerifierCall } from './calldata.ts';
import { exportSolidity } from './solidity.ts';

/** solc settings the size formula (RUNTIME_BASE_BYTES) was measured with. */
export const SOLC_SETTINGS = { optimizer: { enabled: true, runs: 200 }, outputSelection: { '*': { '*': ['evm.bytecode.object', 'evm.deployedBytecode.object'] } } };

interface Solc {
  version(): string;
  compile(input: string): string;
}

let solcPromise: Promise<Solc> | null = null;
function solc(): Promise<Solc> {
  solcPromise ??= importOptional('solc', async () => ((await import('solc')) as unknown as { default: Solc }).default);
  return solcPromise;
}

export interface CompiledContract {
  /** Creation (init) code, hex without 0x. */
  creation: string;
  /** Runtime code, hex without 0x. */
  runtime: string;
  runtimeBytes: number;
  solcVersion: string;
}

/**
 * Compile one contract with solc (standard JSON, optimizer on, 200 runs). With `cacheDir`, the output is
 * kept there per sha256 of source + settings + compiler version (solc takes seconds per verifier).
 */
export async function compileContract(source: string, contractName: string, opts: { cacheDir?: string } = {}): Promise<CompiledContract> {
  const s = await solc();
  const version = s.version();
  const input = JSON.stringify({ language: 'Solidity', sources: { 'Verifier.sol': { content: source } }, settings: SOLC_SETTINGS });
  const key = createHash('sha256').update(version).update('\0').update(contractName).update('\0').update(input).digest('hex');
  const cached = opts.cacheDir ? join(opts.cacheDir, `solc-${key.slice(0, 32)}.json`) : null;
  if (cached && existsSync(cached)) return JSON.parse(await readFile(cached, 'utf8')) as CompiledContract;
  const out = JSON.parse(s.compile(input)) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts?: Record<string, Record<string, { evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>>;
  };
  const errors = (out.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length) throw new Error(`solc ${version} failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
  const c = out.contracts?.['Verifier.sol']?.[contractName];
  if (!c) throw new Error(`solc produced no contract '${contractName}'`);
  const result: CompiledContract = {
    creation: c.evm.bytecode.object, runtime: c.evm.deployedBytecode.object,
    runtimeBytes: c.evm.deployedBytecode.object.length / 2, solcVersion: version,
  };
  if (cached) await writeFileAtomic(cached, JSON.stringify(result));
  return result;
}

export interface EvmCallResult {
  /** Whether the call finished without an exception (revert, out of gas, invalid opcode). */
  success: boolean;
  returnValue: Uint8Array;
  /** Gas used by the call's execution alone: no 21,000 transaction base, no calldata charge. */
  executionGas: number;
  /** What a transaction making this call would pay: 21,000 + calldata (4 per zero byte, 16 per other) + execution. */
  transactionGas: number;
  error?: string;
}

export interface DeployedContract {
  address: string;
  runtimeBytes: number;
  call(calldata: string | Uint8Array, gasLimit?: bigint): Promise<EvmCallResult>;
}

const fromHex = (h: string) => {
  const s = h.startsWith('0x') ? h.slice(2) : h;
  return Uint8Array.from({ length: s.length / 2 }, (_, i) => parseInt(s.slice(2 * i, 2 * i + 2), 16));
};

const PRECOMPILES = Array.from({ length: 0x11 }, (_, i) => `0x${(i + 1).toString(16).padStart(40, '0')}`);

/** Transaction base plus calldata cost (EIP-2028 prices). */
export function intrinsicGas(calldata: Uint8Array): number {
  let g = 21_000;
  for (const b of calldata) g += b === 0 ? 4 : 16;
  return g;
}

export interface EvmSession {
  /** Deploy creation code (constructor arguments appended, ABI-encoded) and return a handle to call it. */
  deploy(creationHex: string): Promise<DeployedContract>;
}

/**
 * A fresh in-memory EVM (@ethereumjs/evm, its default hardfork) with one funded sender. Contracts deployed in
 * one session can call each other. The EVM enforces EIP-170, so an oversized contract fails to deploy.
 * `withoutPrecompiles` (e.g. [8]) removes precompiles, as on a chain that lacks them.
 */
export async function createEvmSession(opts: { withoutPrecompiles?: number[] } = {}): Promise<EvmSession> {
  const { createEVM } = await importOptional('@ethereumjs/evm', () => import('@ethereumjs/evm'));
  const util = await importOptional('@ethereumjs/util', () => import('@ethereumjs/util'));
  const removed = (opts.withoutPrecompiles ?? []).map((n) => ({ address: util.createAddressFromString(`0x${n.toString(16).padStart(40, '0')}`) }));
  const evm = await createEVM(removed.length ? { customPrecompiles: removed } : {});
  const caller = util.createAddressFromString('0x00000000000000000000000000000000000000ee');
  await evm.stateManager.putAccount(caller, new util.Account(0n, 10n ** 24n));
  return {
    async deploy(creationHex) {
      const created = await evm.runCall({ caller, data: fromHex(creationHex), gasLimit: 30_000_000n });
      if (created.execResult.exceptionError || !created.createdAddress) {
        throw new Error(`deploying the contract failed: ${created.execResult.exceptionError?.error ?? 'no address'}`);
      }
      const to = created.createdAddress;
      const code = await evm.stateManager.getCode(to);
      return {
        address: to.toString(),
        runtimeBytes: code.length,
        async call(calldata, gasLimit = 30_000_000n) {
          const data = typeof calldata === 'string' ? fromHex(calldata) : calldata;
          // As a transaction starts (EIP-2929): fresh access sets with the sender, the recipient and the
          // precompiles warm. runCall alone would charge a cold access to each precompile on first use only.
          await evm.journal.cleanup();
          for (const a of [caller.toString(), to.toString(), ...PRECOMPILES]) evm.journal.addAlwaysWarmAddress(a);
          const r = await evm.runCall({ caller, to, data, gasLimit });
          const executionGas = Number(r.execResult.executionGasUsed);
          return {
            success: !r.execResult.exceptionError,
            returnValue: r.execResult.returnValue,
            executionGas,
            transactionGas: intrinsicGas(data) + executionGas,
            ...(r.execResult.exceptionError ? { error: String(r.execResult.exceptionError.error) } : {}),
          };
        },
      };
    },
  };
}

/** Deploy creation code on its own fresh EVM (createEvmSession().deploy). */
export async function deployContract(creationHex: string): Promise<DeployedContract> {
  return (await createEvmSession()).deploy(creationHex);
}

export interface VerificationGas {
  /** verifyProof's execution gas for the bundle (no 21,000 base, no calldata charge; precompiles warm). */
  executionGas: number;
  /** The same call as a transaction: + 21,000 + calldata (EIP-2028 prices). */
  transactionGas: number;
  /** Execution gas with every public signal made non-zero (a zero signal skips its ecMul/ecAdd): the worst case. The call returns false, but costs what a valid one would. */
  worstCaseGas: number;
  /** Solc's runtime bytecode of the verifier, and exportSolidity's prediction of it. */
  runtimeBytes: number;
  predictedBytecodeBytes: number;
  publicSignals: number;
  visibility: Visibility;
  contractName: string;
}

/**
 * The on-chain verification gas of a proof bundle: export DIR's verification key as Solidity (exportSolidity,
 * any visibility), compile it with solc (cached in `cacheDir`, default DIR), deploy it on a fresh
 * @ethereumjs/evm and call verifyProof with calldata(bundle). Throws if the contract does not accept the bundle
 * (a bundle for another key, or a forged one) and ContractSizeError for a key over EIP-170 unless
 * `maxRuntimeBytes` allows it. Node only; needs solc and @ethereumjs/evm (MissingPackageError otherwise).
 */
export async function verificationGas(
  dir: string,
  bundle: ProofBundle,
  opts: { cacheDir?: string; maxRuntimeBytes?: number } = {},
): Promise<VerificationGas> {
  const vk = (await readJsonFile(artifactPath(dir, 'vk'), 'verification key')) as ZkonnxVerificationKey;
  const v = exportSolidity(vk, opts.maxRuntimeBytes === undefined ? {} : { maxRuntimeBytes: opts.maxRuntimeBytes });
  const c = await compileContract(v.source, v.contractName, { cacheDir: opts.cacheDir ?? dir });
  const session = await createEvmSession();
  const d = await session.deploy(c.creation);
  const call = calldata(bundle, { vk });
  const r = await d.call(call.calldata);
  if (!r.success || r.returnValue.length !== 32 || r.returnValue[31] !== 1) {
    throw new Error(`the EVM verifier for '${dir}' rejected the bundle (${r.error ?? 'verifyProof returned false'})`);
  }
  const pair = (p: string[]) => [BigInt(p[0]), BigInt(p[1])] as const;
  const worst = await d.call(encodeVerifierCall({
    a: pair(call.a), b: [pair(call.b[0]), pair(call.b[1])], c: pair(call.c), publicSignals: call.publicSignals.map((x) => BigInt(x) || 1n),
  }));
  return {
    executionGas: r.executionGas, transactionGas: r.transactionGas, worstCaseGas: worst.executionGas,
    runtimeBytes: d.runtimeBytes, predictedBytecodeBytes: v.predictedBytecodeBytes, publicSignals: v.publicSignals,
    visibility: v.visibility, contractName: v.contractName,
  };
}
