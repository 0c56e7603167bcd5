import { peakRssMiB } from '../progress.ts';
import type { CommandModule } from 'yargs';
import { InputError } from '../errors.ts';
import { backendOf, publicInputLayoutOf, visibilityOf } from '../artifacts/manifest.ts';
import { compileModel, parseBoundsArgs, parseDimArgs } from '../compile/model.ts';
import { DEFAULT_MODEL_LIMITS, mibToBytes, type ModelLimits } from '../compile/limits.ts';
import { BACKENDS, DEFAULT_BACKEND, type Backend, type CircomChoice } from '../compile/compile.ts';
import { INPUT_VISIBILITIES, OUTPUT_VISIBILITIES, PARAM_VISIBILITIES, PUBLIC_INPUT_LAYOUTS, type InputVisibility, type OutputVisibility, type ParamVisibility, type PublicInputLayout, type Visibility } from '../verify/layout.ts';
import { dimOption, inputBoundsOption, emit, globalOptions, progressFor, readInputFile, type GlobalArgs } from './common.ts';

/** `--public-inputs plain|packed`, shared by compile and run (yargs refuses other values: a usage error). */
export const publicInputsOption = {
  'public-inputs': {
    choices: PUBLIC_INPUT_LAYOUTS,
    default: 'plain' as PublicInputLayout,
    describe: 'Input among the public signals: one uint8 per signal (plain), or 31 per signal, unpacked in the circuit (packed; ~8 constraints per input byte, for on-chain verifiers)',
  },
} as const;

/**
 * `--input-visibility`, `--output-visibility`, `--param-visibility`, shared by compile, run and inspect (yargs
 * refuses other values: a usage error). No yargs defaults: a flag left out keeps the library default (public,
 * public, fixed), and inspect shows a DIR's own.
 */
export const visibilityOptions = {
  'input-visibility': {
    choices: INPUT_VISIBILITIES,
    describe: 'The input among the public signals (default public): public; hashed = only a salted Poseidon commitment (range-checked in the circuit: ~8 constraints per byte + the hash); private = nothing',
  },
  'output-visibility': {
    choices: OUTPUT_VISIBILITIES,
    describe: 'The output among the public signals (default public): public, or hashed = one Poseidon commitment (the bundle still carries the output)',
  },
  'param-visibility': {
    choices: PARAM_VISIBILITIES,
    describe: 'The model parameters (default fixed): fixed = circuit constants; hashed = private signals committed to by one public Poseidon hash (one key for every weight set of the architecture; ~10 constraints per weight)',
  },
} as const;

export interface VisibilityArgs {
  inputVisibility?: InputVisibility;
  outputVisibility?: OutputVisibility;
  paramVisibility?: ParamVisibility;
}

/** The visibility fields given on the command line (the rest keep their defaults). */
export function visibilityFromArgs(args: VisibilityArgs): Partial<Visibility> {
  return { input: args.inputVisibility, output: args.outputVisibility, params: args.paramVisibility };
}

/** One line for a visibility: `input hashed, output public, params fixed`. */
export function visibilityText(v: Visibility): string {
  return `input ${v.input}, output ${v.output}, params ${v.params}`;
}

/**
 * `--backend direct|circom` and `--circom auto|wasm|native`, shared by compile and run (yargs refuses other
 * values: a usage error). No yargs default for --backend: the library's DEFAULT_BACKEND applies (or circom,
 * when --circom wasm|native is given); `--backend direct --circom wasm|native` is refused by the library.
 */
export const backendOptions = {
  backend: {
    choices: BACKENDS,
    describe: `Compiler of the circuit: direct = zkonnx's own compiler of the circuit source, in-process, no size ceiling; circom = circom2 WASM or native circom on PATH, per --circom (default ${DEFAULT_BACKEND}, or circom when --circom wasm|native is given)`,
  },
  circom: {
    choices: ['auto', 'wasm', 'native'] as const,
    default: 'auto' as const,
    describe: 'With --backend circom: circom2 WASM, or a native circom from PATH (auto: native when on PATH)',
  },
} as const;

export interface BackendArgs {
  backend?: Backend;
  circom: CircomChoice;
}

const MiB = 2 ** 20;

/**
 * Size limits, shared by compile and run (src/compile/limits.ts). No yargs defaults: a limit not given keeps
 * the library's default (and --max-model-mb follows --max-initializer-mb unless given).
 */
export const modelLimitOptions = {
  'max-nodes': { type: 'number', describe: `Refuse a model with more ONNX nodes than this (default ${DEFAULT_MODEL_LIMITS.maxNodes})` },
  'max-initializer-mb': {
    type: 'number',
    describe: `Refuse a model with more constant data (initializers, Constant values) than this many MiB (default ${DEFAULT_MODEL_LIMITS.maxInitializerBytes / MiB})`,
  },
  'max-model-mb': {
    type: 'number',
    describe: `Refuse a model file larger than this many MiB (default: the --max-initializer-mb limit + ${(DEFAULT_MODEL_LIMITS.maxModelBytes - DEFAULT_MODEL_LIMITS.maxInitializerBytes) / MiB})`,
  },
  'max-constraints': {
    type: 'number',
    describe: `Refuse a circuit predicted to need more constraints than this (default ${DEFAULT_MODEL_LIMITS.maxConstraints} = 2^${Math.log2(DEFAULT_MODEL_LIMITS.maxConstraints)})`,
  },
} as const;

export interface ModelLimitArgs {
  maxNodes?: number;
  maxInitializerMb?: number;
  maxModelMb?: number;
  maxConstraints?: number;
}

/** The limits given on the command line (the rest keep their defaults). */
export function limitsFromArgs(args: ModelLimitArgs): Partial<ModelLimits> {
  return {
    maxNodes: args.maxNodes,
    maxInitializerBytes: mibToBytes(args.maxInitializerMb),
    maxModelBytes: mibToBytes(args.maxModelMb),
    maxConstraints: args.maxConstraints,
  };
}

interface Args extends GlobalArgs, ModelLimitArgs, BackendArgs, VisibilityArgs {
  model: string;
  out?: string;
  calibration?: string;
  input?: string;
  multiplierBits: number;
  force: boolean;
  witness: boolean;
  publicInputs: PublicInputLayout;
  dim?: string[];
  inputBounds?: string[];
}

export const compileCommand: CommandModule<object, Args> = {
  command: 'compile <model>',
  describe: 'Quantize an ONNX model and compile it to a circuit',
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'model.onnx' })
      .options({
        ...globalOptions,
        out: { type: 'string', describe: 'Artifact directory (default artifacts/<name>/)' },
        calibration: { type: 'string', describe: 'Calibration file: a JSON array of inputs' },
        input: { type: 'string', describe: 'Calibrate on this one input instead (the circuit is then specific to it)' },
        ...backendOptions,
        'multiplier-bits': { type: 'number', default: 10, describe: 'Precision of requantization multipliers' },
        force: { type: 'boolean', default: false, describe: 'Recompile even if the artifacts are current' },
        witness: { type: 'boolean', default: true, describe: 'Build the witness generator (--no-witness: r1cs only, for setup and size reports; no effect with --backend direct, whose witness generator is the circuit source)' },
        ...publicInputsOption,
        ...visibilityOptions,
        ...modelLimitOptions,
        ...dimOption,
        ...inputBoundsOption,
      }) as never,
  async handler(args) {
    const progress = progressFor(args);
    let calibration: { json: unknown; source: string };
    if (args.calibration) calibration = { json: await readInputFile(args.calibration, 'calibration'), source: args.calibration };
    else if (args.input) {
      progress.info('note: calibrating on the given input only');
      calibration = { json: [await readInputFile(args.input, 'input')], source: args.input };
    } else {
      throw new InputError('compile needs a calibration set: --calibration FILE (a JSON array of inputs), or --input FILE to calibrate on one input.');
    }
    const r = await compileModel(args.model, {
      out: args.out, calibration, calibrationSource: args.calibration ? 'file' : 'input', backend: args.backend, circom: args.circom,
      multiplierBits: args.multiplierBits, force: args.force, witness: args.witness, publicInputs: args.publicInputs,
      visibility: visibilityFromArgs(args), limits: limitsFromArgs(args), dims: parseDimArgs(args.dim), inputBounds: parseBoundsArgs(args.inputBounds), progress,
    });
    const c = r.manifest.circuit;
    const layout = publicInputLayoutOf(r.manifest);
    const backend = backendOf(r.manifest);
    const visibility = visibilityOf(r.manifest);
    emit(
      args,
      {
        dir: r.dir, compiled: r.compiled, constraints: c.constraints, predictedConstraints: c.predictedConstraints, nonLinear: c.nonLinear, wires: c.wires,
        publicSignals: c.publicSignals, publicInputLayout: layout, visibility, visibilityConstraints: c.visibilityConstraints ?? 0, backend, compiler: c.compiler, seconds: c.compileSeconds,
        // This process, or circom's when it used more (circom runs as a child process; the direct backend in this one).
        peakRssMiB: Math.max(peakRssMiB(), r.compiled ? (c.compilePeakRssMiB ?? 0) : 0),
      },
      () => `${r.compiled ? 'compiled' : 'up to date'}: ${r.dir}\n  constraints ${c.constraints} (predicted ${c.predictedConstraints}), wires ${c.wires}, public signals ${c.publicSignals} (${c.publicInputs} ${layout} inputs + ${c.publicOutputs} outputs), backend ${backend} (${c.compiler})\n  visibility: ${visibilityText(visibility)}${c.visibilityConstraints ? ` (${c.visibilityConstraints} constraints of range checks and commitments)` : ''}`,
    );
  },
};
