import { peakRssMiB } from '../progress.ts';
import type { CommandModule } from 'yargs';
import { writeFileAtomic } from '../artifacts/io.ts';
import { artifactPath } from '../artifacts/paths.ts';
import { prove } from '../prove/prove.ts';
import { argmax, emit, formatFloats, globalOptions, progressFor, readInputFile, type GlobalArgs } from './common.ts';

interface Args extends GlobalArgs {
  dir: string;
  input: string;
  out?: string;
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
      }) as never,
  async handler(args) {
    const input = await readInputFile(args.input, 'input');
    const { bundle, timings } = await prove(args.dir, input, { progress: progressFor(args) });
    const path = args.out ?? artifactPath(args.dir, 'bundle');
    await writeFileAtomic(path, JSON.stringify(bundle, null, 1) + '\n');
    const out = bundle.output.values;
    emit(args, { bundle: path, output: out, quantized: bundle.output.quantized, argmax: argmax(out), timings, peakRssMiB: peakRssMiB() }, () =>
      `bundle: ${path}\noutput: ${formatFloats(out)} (argmax ${argmax(out)})\nwitness ${timings.witnessSeconds.toFixed(3)} s, proof ${timings.proveSeconds.toFixed(3)} s`,
    );
  },
};
