import { statSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { readJsonFile } from '../artifacts/io.ts';
import { artifactPath } from '../artifacts/paths.ts';
import { calldata, type VerifierMethod } from '../evm/calldata.ts';
import type { ProofBundle, ZkonnxVerificationKey } from '../verify/types.ts';
import { emit, globalOptions, type GlobalArgs } from './common.ts';

interface Args extends GlobalArgs {
  bundle: string;
  method: VerifierMethod;
  key?: string;
}

/** An artifact directory (its verification_key.json) or the key file itself. */
function keyPath(p: string): string {
  try {
    return statSync(p).isDirectory() ? artifactPath(p, 'vk') : p;
  } catch {
    return p; // let the read fail with the path it was given
  }
}

export const calldataCommand: CommandModule<object, Args> = {
  command: 'calldata <bundle>',
  describe: 'Print the ABI-encoded verifyProof call for a proof bundle (for the contract `export solidity` writes)',
  builder: (y) =>
    y
      .positional('bundle', { type: 'string', demandOption: true, describe: 'Bundle JSON' })
      .options({
        ...globalOptions,
        method: { choices: ['verifyProof', 'verifyAndDecode'] as const, default: 'verifyProof' as const, describe: 'Which function of the verifier to call (verifyAndDecode: only for a public output)' },
        key: { type: 'string', describe: 'Check the bundle\'s public signals against this verification key\'s layout and visibility (artifact directory or key file); default: the bundle\'s own statement' },
      }) as never,
  async handler(args) {
    const bundle = (await readJsonFile(args.bundle, 'bundle')) as ProofBundle;
    const vk = args.key === undefined ? undefined : ((await readJsonFile(keyPath(args.key), 'verification key')) as ZkonnxVerificationKey);
    const r = calldata(bundle, { method: args.method, ...(vk ? { vk } : {}) });
    emit(args, r, () => r.calldata);
  },
};
