import { peakRssMiB } from '../progress.ts';
import type { CommandModule } from 'yargs';
import { readJsonFile } from '../artifacts/io.ts';
import { vkHash } from '../verify/canonical.ts';
import { parseVerificationKey } from '../verify/key.ts';
import type { ProofBundle } from '../verify/types.ts';
import { verifyBundle } from '../verify/verify.ts';
import { describeOutput, describeOutputs, emit, globalOptions, type GlobalArgs } from './common.ts';
import { InputError } from '../errors.ts';
import { OPENING_FORMAT } from '../prove/prove.ts';
import { flattenInput } from '../io/input.ts';
import { quantizeModelInput } from '../ir/io.ts';
import { commitModel } from '../compile/commit.ts';
import { paramSetCommitment } from '../ir/params.ts';
import type { ZkonnxVerificationKey } from '../verify/types.ts';
import { parseHexSalt } from './prove.ts';

interface Args extends GlobalArgs {
  bundle: string;
  vk: string;
  vkSha256?: string;
  openInput?: string;
  salt?: string;
  model?: string;
  calibration?: string;
  like?: string;
}

/**
 * `--open-input FILE [--salt HEX]`: an opening file (as `prove` writes it; its salt unless --salt is given)
 * or an input JSON file (quantized with the key's input grid; --salt required). InputError naming the file.
 */
async function openingFrom(path: string, saltText: string | undefined, vk: ZkonnxVerificationKey): Promise<{ input: number[]; salt: bigint }> {
  const json = await readJsonFile(path, 'opening or input file');
  const o = json as Record<string, unknown>;
  if (o && typeof o === 'object' && !Array.isArray(o) && o.format === OPENING_FORMAT) {
    const inp = o.input as Record<string, unknown> | undefined;
    const q = inp?.quantized;
    if (!Array.isArray(q) || q.some((v) => !Number.isInteger(v) || v < 0 || v > 255)) throw new InputError(`Opening file '${path}': field 'input.quantized' must be an array of uint8 values.`);
    if (saltText === undefined && typeof o.salt !== 'string') throw new InputError(`Opening file '${path}': field 'salt' must be a hex string.`);
    return { input: q as number[], salt: parseHexSalt(saltText ?? (o.salt as string)) };
  }
  if (saltText === undefined) throw new InputError(`--open-input '${path}' is an input file, not an opening: give its salt with --salt HEX.`, { hint: '`zkonnx prove` writes the opening (input and salt) beside the bundle as *.opening.json.' });
  const flat = flattenInput(json, vk.zkonnx.input);
  return { input: quantizeModelInput(vk.zkonnx.input, flat), salt: parseHexSalt(saltText) };
}

/** `--model FILE`: the parameter commitment of a weight-set file, or of an ONNX model (--calibration or --like). */
async function modelCommitment(args: Args): Promise<bigint> {
  const path = args.model!;
  if (/\.onnx$/i.test(path)) {
    if (!args.calibration && !args.like) throw new InputError(`--model '${path}': give the calibration it was compiled with (--calibration FILE), or the artifact directory whose grid it is on (--like DIR).`);
    const r = await commitModel(path, { like: args.like, calibration: args.calibration ? { json: await readJsonFile(args.calibration, 'calibration file'), source: args.calibration } : undefined });
    return BigInt(r.commitment);
  }
  const set = (await readJsonFile(path, 'weight-set file')) as Record<string, unknown>;
  // The commitment is computed from the weights: the file's `commitment` field is only checked against it.
  let c: bigint;
  try {
    c = paramSetCommitment(set);
  } catch (e) {
    throw new InputError(`--model '${path}' is neither an .onnx model nor a weight-set file: it ${(e as Error).message}.`, { hint: '`zkonnx commit-model MODEL.onnx --out FILE` writes a weight set.' });
  }
  if (set.commitment !== undefined && set.commitment !== c.toString()) {
    throw new InputError(`Weight-set file '${path}': its 'commitment' field is not the commitment of its weights (${c}).`);
  }
  return c;
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
        'open-input': { type: 'string', describe: 'Hashed input: also check the commitment opens to this input: an opening file (`prove` writes *.opening.json), or an input JSON with --salt' },
        salt: { type: 'string', describe: 'With --open-input: the salt in hex (0x optional)' },
        model: { type: 'string', describe: 'Hashed parameters: also check the parameter commitment is this model\'s: a weight-set file (`commit-model --out`), or an .onnx with --calibration FILE or --like DIR' },
        calibration: { type: 'string', describe: 'With --model MODEL.onnx: the calibration it was compiled with' },
        like: { type: 'string', describe: 'With --model MODEL.onnx: the artifact directory whose grid the model is put on' },
      }) as never,
  async handler(args) {
    // A malformed key is a usage error (exit 2, naming the field); a bad bundle is an invalid proof (exit 1).
    const vk = parseVerificationKey((await readJsonFile(args.vk, 'verification key')) as object, `verification key '${args.vk}'`);
    const bundle = (await readJsonFile(args.bundle, 'bundle')) as ProofBundle;
    if (args.salt !== undefined && args.openInput === undefined) throw new InputError('--salt goes with --open-input FILE.');
    const opening = args.openInput === undefined ? undefined : await openingFrom(args.openInput, args.salt, vk);
    const paramsCommitment = args.model === undefined ? undefined : await modelCommitment(args);
    const t0 = performance.now();
    const r = await verifyBundle(bundle, vk, { vkSha256: args.vkSha256, opening, paramsCommitment });
    const ms = performance.now() - t0;
    const vkSha256 = await vkHash(vk);
    const shown = r.valid ? describeOutput(r.output, vk.zkonnx.output) : null;
    const each = r.valid ? describeOutputs(r.output, vk.zkonnx.output) : null;
    emit(
      args,
      // keyKind is the key's own claim (keyKindChecked: false); vkSha256 is what to pin once the key is checked.
      {
        valid: r.valid, reason: r.reason, output: r.output, argmax: shown?.argmax ?? null, outputs: each?.outputs ?? null, keyKind: r.keyKind ?? null, keyKindChecked: false, vkSha256,
        commitments: (r.valid ? r.commitments : undefined) ?? null, inputOpened: r.valid && opening !== undefined, paramsChecked: r.valid && paramsCommitment !== undefined, ms, peakRssMiB: peakRssMiB(),
      },
      () =>
        r.valid
          ? [
              `valid: the proof verified (${ms.toFixed(1)} ms)`,
              ...each!.lines,
              ...(['input', 'output', 'params'] as const).filter((k) => r.commitments?.[k] !== undefined).map((k) => `${k} commitment: ${r.commitments![k]}`),
              ...(opening ? [`the input commitment opens to '${args.openInput}'`] : []),
              ...(paramsCommitment !== undefined
                ? [`the parameter commitment is that of '${args.model}'`]
                : r.commitments?.params !== undefined
                  ? ['weights NOT checked: the proof holds for the weights its parameter commitment binds, whatever model the bundle names; pass --model FILE to check they are the ones you expect']
                  : []),
              `key: ${keyKindNote(r.keyKind, vkSha256, args.vkSha256 !== undefined)}`,
            ].join('\n')
          : `INVALID: ${r.reason}`,
    );
    if (!r.valid) process.exitCode = 1;
  },
};
