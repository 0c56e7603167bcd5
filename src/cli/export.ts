import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CommandModule } from 'yargs';
import { readJsonFile, writeFileAtomic } from '../artifacts/io.ts';
import { artifactPath } from '../artifacts/paths.ts';
import { InputError } from '../errors.ts';
import { exportSolidity } from '../evm/solidity.ts';
import type { ZkonnxVerificationKey } from '../verify/types.ts';
import { emit, globalOptions, type GlobalArgs } from './common.ts';

interface SolidityArgs extends GlobalArgs {
  dir: string;
  out?: string;
  contractName?: string;
}

/** DIR is an artifact directory (its verification_key.json) or the key file itself. */
function keyPath(dir: string): string {
  try {
    return statSync(dir).isDirectory() ? artifactPath(dir, 'vk') : dir;
  } catch {
    return artifactPath(dir, 'vk'); // let the read fail with the path it looked for
  }
}

const exportSolidityCommand: CommandModule<object, SolidityArgs> = {
  command: 'solidity <dir>',
  describe: 'Write a Solidity verifier for DIR\'s verification key, any visibility (verifyProof; verifyAndDecode and decodeOutputs for a public output, decodeInput for a public input, decodeInputIntegers when it has integer parts)',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'Artifact directory with verification_key.json (or the key file)' })
      .options({
        ...globalOptions,
        out: { type: 'string', describe: 'Where to write the .sol (default DIR/<ContractName>.sol)' },
        'contract-name': { type: 'string', describe: 'Contract name (default Zkonnx<Model>Verifier)' },
      }) as never,
  async handler(args) {
    const path = keyPath(args.dir);
    if (!existsSync(path)) {
      throw new InputError(`No verification key at '${path}'.`, { hint: 'Give an artifact directory after `zkonnx setup DIR`, or the verification_key.json itself.' });
    }
    const vk = (await readJsonFile(path, 'verification key')) as ZkonnxVerificationKey;
    const v = exportSolidity(vk, { contractName: args.contractName });
    const out = args.out ?? join(dirname(path), `${v.contractName}.sol`);
    await writeFileAtomic(out, v.source, 'Solidity verifier');
    emit(
      args,
      {
        out, contractName: v.contractName, publicSignals: v.publicSignals, layout: v.layout, predictedBytecodeBytes: v.predictedBytecodeBytes,
        outputs: v.outputs, inputSignals: v.inputSignals, visibility: v.visibility, signals: v.signals, vkSha256: v.vkSha256, verifyProofSignature: v.verifyProofSignature,
      },
      () => out,
    );
  },
};

export const exportCommand: CommandModule<object, GlobalArgs> = {
  command: 'export <format>',
  describe: 'Export a verifier for a verification key: `export solidity DIR` (an EVM contract)',
  builder: (y) => y.options(globalOptions).command(exportSolidityCommand as never).demandCommand(1, 'Give a format: solidity.') as never,
  handler() {},
};
