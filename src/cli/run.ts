import type { CommandModule } from 'yargs';
import { backendOf, publicInputLayoutOf, visibilityOf } from '../artifacts/manifest.ts';
import { runModel } from '../run.ts';
import type { PublicInputLayout } from '../verify/layout.ts';
import { backendOptions, limitsFromArgs, modelLimitOptions, publicInputsOption, visibilityFromArgs, visibilityOptions, visibilityText, type BackendArgs, type ModelLimitArgs, type VisibilityArgs } from './compile.ts';
import { describeOutput, describeOutputs, dimOption, inputBoundsOption, emit, globalOptions, progressFor, readInputFile, type GlobalArgs } from './common.ts';
import { parseBoundsArgs, parseDimArgs } from '../compile/model.ts';

interface Args extends GlobalArgs, ModelLimitArgs, BackendArgs, VisibilityArgs {
  model: string;
  input: string;
  calibration?: string;
  out?: string;
  dir?: string;
  ptau?: string;
  publicInputs: PublicInputLayout;
  dim?: string[];
  inputBounds?: string[];
}

export const runCommand: CommandModule<object, Args> = {
  command: 'run <model>',
  describe: 'Compile and set up when needed (cached), then prove and verify one input',
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'model.onnx' })
      .options({
        ...globalOptions,
        input: { type: 'string', demandOption: true, describe: 'Input JSON file' },
        calibration: { type: 'string', describe: 'Calibration file (else: calibrate on the input)' },
        out: { type: 'string', describe: 'Bundle path (default DIR/bundle.json)' },
        dir: { type: 'string', describe: 'Artifact directory (default artifacts/<name>/)' },
        ptau: { type: 'string', describe: 'Ceremony powers-of-tau file for setup (else: dev key)' },
        ...backendOptions,
        ...publicInputsOption,
        ...visibilityOptions,
        ...modelLimitOptions,
        ...dimOption,
        ...inputBoundsOption,
      }) as never,
  async handler(args) {
    const progress = progressFor(args);
    const input = await readInputFile(args.input, 'input');
    const calibration = args.calibration ? { json: await readInputFile(args.calibration, 'calibration'), source: args.calibration } : undefined;
    const r = await runModel(args.model, { input, calibration, out: args.dir, bundleOut: args.out, ptau: args.ptau, backend: args.backend, circom: args.circom, publicInputs: args.publicInputs, visibility: visibilityFromArgs(args), limits: limitsFromArgs(args), dims: parseDimArgs(args.dim), inputBounds: parseBoundsArgs(args.inputBounds), progress });
    if (r.manifest.setup?.keyKind === 'dev' && !args.quiet) {
      process.stderr.write('warning: dev key (single-party setup on this machine): fine for development, not for production\n');
    }
    const out = r.bundle.output.values;
    const v = r.verification;
    const shown = describeOutput(out, r.bundle.quantization.output);
    const each = describeOutputs(out, r.bundle.quantization.output);
    emit(
      args,
      {
        valid: v.valid, reason: v.reason, output: out, argmax: shown.argmax, outputs: each.outputs, constraints: r.manifest.circuit.constraints,
        publicInputLayout: publicInputLayoutOf(r.manifest), visibility: visibilityOf(r.manifest), commitments: r.bundle.commitments ?? null, backend: backendOf(r.manifest), dir: r.dir, vk: r.vk, bundle: r.bundlePath, opening: r.openingPath ?? null, keyKind: r.manifest.setup?.keyKind, calibratedOnInput: r.calibratedOnInput, timings: r.timings,
      },
      () =>
        [
          ...each.lines,
          `circuit: ${r.manifest.circuit.constraints} constraints, ${publicInputLayoutOf(r.manifest)} public inputs, backend ${backendOf(r.manifest)} (${r.dir})`,
          `visibility: ${visibilityText(visibilityOf(r.manifest))}`,
          `bundle: ${r.bundlePath}`,
          ...(r.openingPath ? [`opening of the hashed input (keep it private): ${r.openingPath}`] : []),
          v.valid ? `proof verified (${r.manifest.setup?.keyKind} key)` : `PROOF INVALID: ${v.reason}`,
        ].join('\n'),
    );
    if (!v.valid) process.exitCode = 1;
  },
};
