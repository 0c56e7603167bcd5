import { peakRssMiB } from '../progress.ts';
import type { CommandModule } from 'yargs';
import { readJsonFile } from '../artifacts/io.ts';
import type { ProofBundle, ZkonnxVerificationKey } from '../verify/types.ts';
import { verifyBundle } from '../verify/verify.ts';
import { argmax, emit, formatFloats, globalOptions, type GlobalArgs } from './common.ts';

interface Args extends GlobalArgs {
  bundle: string;
  vk: string;
  vkSha256?: string;
}

export const verifyCommand: CommandModule<object, Args> = {
  command: 'verify <bundle>',
  describe: 'Verify a proof bundle against a trusted verification key (exit 0 valid, 1 invalid)',
  builder: (y) =>
    y
      .positional('bundle', { type: 'string', demandOption: true, describe: 'Bundle JSON' })
      .options({
        ...globalOptions,
        vk: { type: 'string', demandOption: true, describe: 'Trusted verification_key.json' },
        'vk-sha256': { type: 'string', describe: 'Refuse any key whose sha256 (as `setup` prints it) is not this' },
      }) as never,
  async handler(args) {
    const bundle = (await readJsonFile(args.bundle, 'bundle')) as ProofBundle;
    const vk = (await readJsonFile(args.vk, 'verification key')) as ZkonnxVerificationKey;
    const t0 = performance.now();
    const r = await verifyBundle(bundle, vk, { vkSha256: args.vkSha256 });
    const ms = performance.now() - t0;
    emit(args, { valid: r.valid, reason: r.reason, output: r.output, keyKind: r.keyKind ?? null, ms, peakRssMiB: peakRssMiB() }, () =>
      r.valid
        ? `valid: the proof verified (${ms.toFixed(1)} ms, ${r.keyKind} key)\noutput: ${formatFloats(r.output!)} (argmax ${argmax(r.output!)})${r.keyKind === 'dev' ? '\nwarning: dev key (single party): fine for development, not for production' : ''}`
        : `INVALID: ${r.reason}`,
    );
    if (!r.valid) process.exitCode = 1;
  },
};
