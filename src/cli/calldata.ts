import type { CommandModule } from 'yargs';
import { readJsonFile } from '../artifacts/io.ts';
import { calldata, type VerifierMethod } from '../evm/calldata.ts';
import type { ProofBundle } from '../verify/types.ts';
import { emit, globalOptions, type GlobalArgs } from './common.ts';

interface Args extends GlobalArgs {
  bundle: string;
  method: VerifierMethod;
}

export const calldataCommand: CommandModule<object, Args> = {
  command: 'calldata <bundle>',
  describe: 'Print the ABI-encoded verifyProof call for a proof bundle (for the contract `export solidity` writes)',
  builder: (y) =>
    y
      .positional('bundle', { type: 'string', demandOption: true, describe: 'Bundle JSON' })
      .options({
        ...globalOptions,
        method: { choices: ['verifyProof', 'verifyAndDecode'] as const, default: 'verifyProof' as const, describe: 'Which function of the verifier to call' },
      }) as never,
  async handler(args) {
    const bundle = (await readJsonFile(args.bundle, 'bundle')) as ProofBundle;
    const r = calldata(bundle, { method: args.method });
    emit(args, r, () => r.calldata);
  },
};
