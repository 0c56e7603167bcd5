import { peakRssMiB } from '../progress.ts';
import type { CommandModule } from 'yargs';
import { readJsonFile } from '../artifacts/io.ts';
import { vkHash } from '../verify/canonical.ts';
import { parseVerificationKey } from '../verify/key.ts';
import type { ProofBundle } from '../verify/types.ts';
import { verifyBundle } from '../verify/verify.ts';
import { describeOutput, emit, globalOptions, type GlobalArgs } from './common.ts';

interface Args extends GlobalArgs {
  bundle: string;
  vk: string;
  vkSha256?: string;
}

/**
 * What the key kind means: it is what the key says about itself (vk.zkonnx.key.kind), which nothing in a
 * verification can check; a relabelled dev key says 'ceremony' just as well.
 */
function keyKindNote(kind: 'dev' | 'ceremony', vkSha256: string, pinned: boolean): string {
  const claim = `${kind} key (the key's own claim`;
  if (kind === 'dev') return `${claim})\nwarning: dev key (single party): fine for development, not for production`;
  if (pinned) return `${claim}; you pinned this key with --vk-sha256: it is only as good as the ceremony check behind that hash)`;
  return `${claim}; \`zkonnx ceremony verify DIR --ptau FILE\` checks a ceremony transcript; pin the checked key with --vk-sha256 ${vkSha256})`;
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
    // A malformed key is a usage error (exit 2, naming the field); a bad bundle is an invalid proof (exit 1).
    const vk = parseVerificationKey((await readJsonFile(args.vk, 'verification key')) as object, `verification key '${args.vk}'`);
    const bundle = (await readJsonFile(args.bundle, 'bundle')) as ProofBundle;
    const t0 = performance.now();
    const r = await verifyBundle(bundle, vk, { vkSha256: args.vkSha256 });
    const ms = performance.now() - t0;
    const vkSha256 = await vkHash(vk);
    const shown = r.valid ? describeOutput(r.output, vk.zkonnx.output) : null;
    emit(
      args,
      // keyKind is the key's own claim (keyKindChecked: false); vkSha256 is what to pin once the key is checked.
      { valid: r.valid, reason: r.reason, output: r.output, argmax: shown?.argmax ?? null, keyKind: r.keyKind ?? null, keyKindChecked: false, vkSha256, ms, peakRssMiB: peakRssMiB() },
      () =>
        r.valid
          ? `valid: the proof verified (${ms.toFixed(1)} ms)\noutput: ${shown!.text}\nkey: ${keyKindNote(r.keyKind, vkSha256, args.vkSha256 !== undefined)}`
          : `INVALID: ${r.reason}`,
    );
    if (!r.valid) process.exitCode = 1;
  },
};
