import type { CommandModule } from 'yargs';
import { writeFileAtomic } from '../artifacts/io.ts';
import { commitModel } from '../compile/commit.ts';
import { InputError } from '../errors.ts';
import { emit, globalOptions, readInputFile, type GlobalArgs } from './common.ts';

interface Args extends GlobalArgs {
  model: string;
  calibration?: string;
  like?: string;
  multiplierBits: number;
  out?: string;
}

export const commitModelCommand: CommandModule<object, Args> = {
  command: 'commit-model <model>',
  describe: 'Print the commitment to a model\'s parameters (for circuits compiled with --param-visibility hashed), and write its weight set',
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'model.onnx' })
      .options({
        ...globalOptions,
        calibration: { type: 'string', describe: 'The calibration set the model is compiled with (quantized as `compile --param-visibility hashed` does)' },
        like: { type: 'string', describe: 'Instead: an artifact directory compiled with --param-visibility hashed; the model\'s weights are put on its grid, so they prove under its key' },
        'multiplier-bits': { type: 'number', default: 10, describe: 'As for compile (with --calibration)' },
        out: { type: 'string', describe: 'Write the weight set (for `prove --params` and `verify --model`) to this file' },
      }) as never,
  async handler(args) {
    if (args.calibration && args.like) throw new InputError('Give --calibration FILE or --like DIR, not both.', { hint: '--like takes the grid (scales) from DIR; --calibration quantizes the model on its own.' });
    const calibration = args.calibration ? { json: await readInputFile(args.calibration, 'calibration'), source: args.calibration } : undefined;
    const r = await commitModel(args.model, { calibration, like: args.like, multiplierBits: args.multiplierBits });
    if (args.out) await writeFileAtomic(args.out, JSON.stringify(r.params) + '\n', 'weight set');
    emit(args, { commitment: r.commitment, weights: r.weights, biases: r.biases, params: args.out ?? null }, () =>
      [`parameter commitment: ${r.commitment}`, `(${r.weights} weights, ${r.biases} biases${args.like ? `, on the grid of ${args.like}` : ''})`, ...(args.out ? [`weight set: ${args.out}`] : [])].join('\n'),
    );
  },
};
