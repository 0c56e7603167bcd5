import { peakRssMiB } from '../progress.ts';
import type { CommandModule } from 'yargs';
import { setupKeys } from '../setup/setup.ts';
import { emit, globalOptions, progressFor, type GlobalArgs } from './common.ts';

interface Args extends GlobalArgs {
  dir: string;
  ptau?: string;
}

export const setupCommand: CommandModule<object, Args> = {
  command: 'setup <dir>',
  describe: 'Make Groth16 proving and verification keys for a compiled model',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'Artifact directory from `zkonnx compile`' })
      .options({ ...globalOptions, ptau: { type: 'string', describe: 'Prepared powers-of-tau file from a ceremony (else: dev key)' } }) as never,
  async handler(args) {
    const r = await setupKeys(args.dir, { ptau: args.ptau, progress: progressFor(args) });
    emit(args, { zkey: r.zkey, vk: r.vk, vkSha256: r.vkSha256, keyKind: r.keyKind, seconds: r.seconds, peakRssMiB: peakRssMiB() }, () =>
      [`zkey: ${r.zkey}`, `vk:   ${r.vk} (sha256 ${r.vkSha256})`, r.keyKind === 'dev' ? 'warning: dev key (single party, made on this machine): fine for development, not for production' : 'key from a ceremony ptau']
        .join('\n'),
    );
  },
};
