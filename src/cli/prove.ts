import { peakRssMiB } from '../progress.ts';
import type { CommandModule } from 'yargs';
import { proveToFile } from '../prove/prove.ts';
import { parseSalt } from '../verify/commitment.ts';

/** `--salt HEX`: hex digits, 0x optional (an opening file and `prove` print salts so). */
export function parseHexSalt(text: string): bigint {
  const t = text.trim();
  return parseSalt(/^0x/i.test(t) ? t : `0x${t}`);
}
import type { ParamSet } from '../ir/params.ts';
import { describeOutput, describeOutputs, emit, globalOptions, progressFor, readInputFile, type GlobalArgs } from './common.ts';

interface Args extends GlobalArgs {
  dir: string;
  input: string;
  out?: string;
  unique: boolean;
  salt?: string;
  includeOpening: boolean;
  opening?: string;
  params?: string;
}

export const proveCommand: CommandModule<object, Args> = {
  command: 'prove <dir>',
  describe: 'Prove one inference and write a proof bundle',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'Artifact directory with keys' })
      .options({
        ...globalOptions,
        input: { type: 'string', demandOption: true, describe: 'Input JSON file' },
        out: { type: 'string', describe: 'Bundle path (default DIR/bundle.json)' },
        unique: { type: 'boolean', default: false, describe: 'Write a new file DIR/bundles/bundle-<UTC time>-<random>.json (for proves run side by side)' },
        salt: { type: 'string', describe: 'Hashed input: the commitment\'s salt in hex (0x optional; below the BN254 order). Default: 248 random bits' },
        'include-opening': { type: 'boolean', default: false, describe: 'Hashed input: put the input and its salt in the bundle (default: the bundle states only the commitment)' },
        opening: { type: 'string', describe: 'Hashed input: where to write the opening (input, salt, commitment; keep it private). Default: the bundle path with .opening.json' },
        params: { type: 'string', describe: 'Hashed parameters: the weight set to prove with, as `zkonnx commit-model --out` writes it (default: the compiled model\'s)' },
      }) as never,
  async handler(args) {
    const input = await readInputFile(args.input, 'input');
    const salt = args.salt === undefined ? undefined : parseHexSalt(args.salt);
    if (salt !== undefined && salt < 1n << 128n && !args.quiet) {
      process.stderr.write('warning: a salt below 2^128 hides a low-entropy input poorly (anyone can try inputs and salts); leave --salt out for 248 random bits\n');
    }
    const params = args.params === undefined ? undefined : ((await readInputFile(args.params, 'weight set')) as ParamSet);
    const r = await proveToFile(args.dir, input, {
      out: args.out, unique: args.unique, progress: progressFor(args), salt, includeOpening: args.includeOpening, openingOut: args.opening, params,
    });
    const { bundle, timings, path } = r;
    const out = bundle.output.values;
    const shown = describeOutput(out, bundle.quantization.output);
    const each = describeOutputs(out, bundle.quantization.output);
    const c = bundle.commitments ?? {};
    emit(
      args,
      {
        bundle: path, output: out, quantized: bundle.output.quantized, argmax: shown.argmax, outputs: each.outputs, commitments: bundle.commitments ?? null,
        opening: r.openingPath ?? null, timings, peakRssMiB: peakRssMiB(),
      },
      () =>
        [
          `bundle: ${path}`,
          ...each.lines,
          ...(['input', 'output', 'params'] as const).filter((k) => c[k] !== undefined).map((k) => `${k} commitment: ${c[k]}`),
          ...(r.openingPath ? [`opening of the hashed input (keep it private; \`zkonnx verify --open-input\` checks it): ${r.openingPath}`] : []),
          `witness ${timings.witnessSeconds.toFixed(3)} s, proof ${timings.proveSeconds.toFixed(3)} s`,
        ].join('\n'),
    );
  },
};
