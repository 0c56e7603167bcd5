import { mkdir } from 'node:fs/promises';
import type { CommandModule } from 'yargs';
import { writeFileAtomic } from '../artifacts/io.ts';
import { bench } from '../bench/bench.ts';
import { formatMarkdown, formatText, writeCharts } from '../bench/report.ts';
import { InputError } from '../errors.ts';
import type { PublicInputLayout } from '../verify/layout.ts';
import { emit, globalOptions, progressFor, type GlobalArgs } from './common.ts';
import { publicInputsOption } from './compile.ts';

interface Args extends GlobalArgs {
  models: string[];
  runs: number;
  buildRuns: number;
  baseline: boolean;
  calibration?: string;
  data?: string;
  markdown?: string;
  svg?: string;
  out?: string;
  publicInputs: PublicInputLayout;
  evm: boolean;
}

export const benchCommand: CommandModule<object, Args> = {
  command: 'bench <models..>',
  describe: 'Measure models: constraints per layer, times and memory per stage, sizes, accuracy, EVM verifier size and gas; --baseline adds circomlib-ml',
  builder: (y) =>
    y
      .positional('models', { type: 'string', array: true, demandOption: true, describe: 'model.onnx files (each calibrated with a calibration.json beside it, or --calibration)' })
      .options({
        ...globalOptions,
        runs: { type: 'number', default: 10, describe: 'Proofs and verifications per model (median, min, max)' },
        'build-runs': { type: 'number', default: 1, describe: 'Compiles and setups per model' },
        baseline: { type: 'boolean', default: false, describe: 'Also build, set up and prove circomlib-ml\'s construction of each model, and print the ratios' },
        calibration: { type: 'string', describe: 'Calibration file for models without a calibration.json beside them' },
        data: { type: 'string', describe: 'Sample inputs for proofs and the accuracy figures (default: the calibration set)' },
        markdown: { type: 'string', describe: 'Also write the tables as Markdown to FILE' },
        svg: { type: 'string', describe: 'Also write SVG charts (constraints per layer; prove time vs constraints) into DIR' },
        out: { type: 'string', describe: 'Artifact root (default artifacts/bench)' },
        ...publicInputsOption,
        evm: { type: 'boolean', default: true, describe: 'Measure the Solidity verifier: bytecode size and verifyProof gas (needs solc and @ethereumjs/evm; --no-evm skips)' },
      }) as never,
  async handler(args) {
    for (const [k, v] of [['runs', args.runs], ['build-runs', args.buildRuns]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new InputError(`--${k} must be a positive integer, got ${v}.`);
    }
    const report = await bench(args.models, {
      runs: args.runs, buildRuns: args.buildRuns, baseline: args.baseline, calibration: args.calibration, data: args.data, out: args.out,
      publicInputs: args.publicInputs, evm: args.evm,
      progress: progressFor(args),
    });
    if (args.markdown) await writeFileAtomic(args.markdown, formatMarkdown(report) + '\n', 'report');
    if (args.svg) {
      await mkdir(args.svg, { recursive: true });
      await writeCharts(report, args.svg, (f, t) => writeFileAtomic(f, t));
    }
    emit(args, report, () => formatText(report));
  },
};
