import type { Argv, CommandModule } from 'yargs';
import { ceremonyBeacon, ceremonyContribute, ceremonyVerify } from '../setup/ceremony.ts';
import { emit, globalOptions, type GlobalArgs } from './common.ts';

interface Args extends GlobalArgs {
  dir: string;
  name?: string;
  hash?: string;
  iterations?: number;
  ptau?: string;
}

const dirArg = (y: Argv) => y.positional('dir', { type: 'string', demandOption: true, describe: 'Artifact directory with a ceremony key' });

const contribute: CommandModule<object, Args> = {
  command: 'contribute <dir>',
  describe: 'Add a phase-2 contribution with fresh random entropy',
  builder: (y) => dirArg(y).options({ ...globalOptions, name: { type: 'string', default: 'zkonnx contributor', describe: 'Contributor name' } }) as never,
  async handler(args) {
    const r = await ceremonyContribute(args.dir, args.name);
    emit(args, { contributionHash: r.contributionHash, vkSha256: r.vkSha256 }, () => `contribution added (hash ${r.contributionHash.slice(0, 32)}...)\nnew vk sha256 ${r.vkSha256}`);
  },
};

const beacon: CommandModule<object, Args> = {
  command: 'beacon <dir>',
  describe: 'Seal phase 2 with a public random beacon',
  builder: (y) =>
    dirArg(y).options({
      ...globalOptions,
      hash: { type: 'string', demandOption: true, describe: 'Beacon value, hex (e.g. a future block hash)' },
      iterations: { type: 'number', demandOption: true, describe: 'Exponent: 2^N hash iterations' },
      name: { type: 'string', default: 'final beacon' },
    }) as never,
  async handler(args) {
    const r = await ceremonyBeacon(args.dir, args.hash!, args.iterations!, args.name);
    emit(args, { vkSha256: r.vkSha256 }, () => `beacon applied\nnew vk sha256 ${r.vkSha256}`);
  },
};

const verify: CommandModule<object, Args> = {
  command: 'verify <dir>',
  describe: 'Check the zkey against the r1cs and the ptau, and list contributions (exit 1 if invalid)',
  builder: (y) => dirArg(y).options({ ...globalOptions, ptau: { type: 'string', demandOption: true, describe: 'The powers-of-tau file the key was made from' } }) as never,
  async handler(args) {
    const r = await ceremonyVerify(args.dir, args.ptau!);
    emit(args, r, () => [r.valid ? 'ceremony key verified' : 'CEREMONY KEY INVALID', ...r.contributions.map((c) => `  ${c}`), ...r.errors.map((e) => `  error: ${e}`)].join('\n'));
    if (!r.valid) process.exitCode = 1;
  },
};

export const ceremonyCommand: CommandModule<object, GlobalArgs> = {
  command: 'ceremony',
  describe: 'Multi-party phase 2 for ceremony keys: contribute, beacon, verify',
  builder: (y) => y.command(contribute).command(beacon).command(verify).demandCommand(1, 'Give a ceremony step: contribute, beacon or verify.') as never,
  handler: () => {},
};
