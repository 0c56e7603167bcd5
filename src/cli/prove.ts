import { peakRssMiB } from '../progress.ts';
import type { CommandModule } from 'yargs';
import { proveToFile } from '../prove/prove.ts';
import { describeOutput, emit, globalOptions, progressFor, readInputFile, type GlobalArgs } from './common.ts';

interface Args extends GlobalArgs {
  dir: string;
  input: string;
  out?: string;
  unique: boolean;
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
      }) as never,
  async handler(args) {
    const input = await readInputFile(args.input, 'input');
    const { bundle, timings, path } = await proveToFile(args.dir, input, { out: args.out, unique: args.unique, progress: progressFor(args) });
    const out = bundle.output.values;
    const shown = describeOutput(out, bundle.quantization.output);
    emit(args, { bundle: path, output: out, quantized: bundle.output.quantized, argmax: shown.argmax, timings, peakRssMiB: peakRssMiB() }, () =>
      `bundle: ${path}\noutput: ${shown.text}\nwitness ${timings.witnessSeconds.toFixed(3)} s, proof ${timings.proveSeconds.toFixed(3)} s`,
    );
  },
};
