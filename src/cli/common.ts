/** Shared CLI plumbing: global options, JSON vs human output, and error-to-exit-code mapping. */
import { fileSystemError, InputError, isFileSystemFailure, ZkonnxError } from '../errors.ts';
import { readJsonFile } from '../artifacts/io.ts';
import { silentProgress, stderrProgress, type ProgressReporter } from '../progress.ts';

export interface GlobalArgs {
  json: boolean;
  verbose: boolean;
  quiet: boolean;
}

export const globalOptions = {
  json: { type: 'boolean', default: false, describe: 'Print one JSON object on stdout' },
  verbose: { type: 'boolean', default: false, describe: 'Show stack traces on errors' },
  quiet: { type: 'boolean', default: false, describe: 'No progress lines on stderr' },
} as const;

export function progressFor(args: GlobalArgs): ProgressReporter {
  return args.quiet ? silentProgress : stderrProgress();
}

/** Print the result: JSON on stdout with --json, else the human text. */
export function emit(args: GlobalArgs, json: object, human: () => string): void {
  process.stdout.write(args.json ? JSON.stringify(json) + '\n' : human() + '\n');
}

export async function readInputFile(path: string | undefined, what: string): Promise<unknown> {
  if (!path) throw new InputError(`Missing ${what} file.`);
  return readJsonFile(path, `${what} file`);
}

/** How each failed system call reads in a message ("Cannot create file ..."). */
const SYSCALL_ACTIONS: Record<string, string> = {
  open: 'open', write: 'write', read: 'read', mkdir: 'create', mkdtemp: 'create', rename: 'move', copyfile: 'copy',
  unlink: 'remove', rmdir: 'remove', rm: 'remove', stat: 'access', lstat: 'access', scandir: 'list', ftruncate: 'write', fsync: 'write', close: 'write',
};

/** Exit code policy: 0 ok, 1 proof invalid, 2 bad input or usage, 3 internal error. */
export function reportError(thrown: unknown, args: Partial<GlobalArgs>): number {
  // A file-system failure that reached here unwrapped (from a library such as snarkjs writing a key) is still
  // the environment's doing: report it as one, naming the path.
  const e = !(thrown instanceof ZkonnxError) && isFileSystemFailure(thrown) ? fileSystemError(thrown, SYSCALL_ACTIONS[thrown.syscall ?? ''] ?? 'access', 'file') : thrown;
  const known = e instanceof ZkonnxError;
  const code = known ? e.exitCode : 3;
  const message = known ? e.message : `internal error: ${(e as Error)?.message ?? String(e)}`;
  if (args.json) {
    const err = known
      ? { code: e.code, message: e.shortMessage, details: e.details, hint: e.hint, ...('issues' in e ? { issues: e.issues } : {}) }
      : { code: 'INTERNAL', message };
    process.stdout.write(JSON.stringify({ error: err }) + '\n');
  }
  process.stderr.write(`zkonnx: ${message}\n`);
  if (args.verbose || !known) process.stderr.write(`${(e as Error)?.stack ?? ''}\n`);
  return code;
}

export function formatFloats(v: number[]): string {
  return `[${v.map((x) => x.toFixed(4)).join(', ')}]`;
}

export function argmax(v: number[]): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/**
 * How a proven output reads. Floats show their argmax (when there is more than one). An integer output (the
 * model ends in ArgMax: its ONNX type is int64) is the index itself: `[3] (class index 3)`, and `argmax` is
 * that index (null when the output holds several indices). A class index with a label table (a classifier's
 * string or int64 labels) shows the label next to it: `label: "fraud" (class 1)` (the proof covers the index;
 * the table is the verification key's).
 */
export function describeOutput(values: number[], spec: { dtype?: string; labels?: (string | number)[] }): { text: string; argmax: number | null } {
  if (spec.labels !== undefined) {
    // A class index with the key's label table: the label, then the proven index.
    const text = values.map((v) => (Number.isInteger(v) && v >= 0 && v < spec.labels!.length ? `label: ${JSON.stringify(spec.labels![v])} (class ${v})` : `class ${v} (outside the label table)`)).join(', ');
    return { text, argmax: values.length === 1 ? Math.round(values[0]) : null };
  }
  if (spec.dtype !== undefined) {
    const single = values.length === 1;
    return { text: `[${values.map((v) => String(Math.round(v))).join(', ')}]${single ? ` (class index ${Math.round(values[0])})` : ''}`, argmax: single ? Math.round(values[0]) : null };
  }
  if (values.length <= 1) return { text: formatFloats(values), argmax: null };
  const i = argmax(values);
  return { text: `${formatFloats(values)} (argmax ${i})`, argmax: i };
}

/** What a model's output spec says about its parts (several outputs, a left-out Softmax). */
export interface OutputSpecLike {
  name: string;
  shape: number[];
  dtype?: string;
  softmaxOmitted?: string;
  labels?: (string | number)[];
  parts?: { name: string; shape: number[]; offset: number; dtype?: string; softmaxOmitted?: string; labels?: (string | number)[] }[];
}

/** One graph output as `run`, `prove` and `verify` show it (JSON `outputs`). */
export interface ShownOutput {
  name: string;
  shape: number[];
  dtype?: string;
  /** The final Softmax/LogSoftmax the circuit leaves out: `values` are the logits before it. */
  softmaxOmitted?: string;
  values: number[];
  argmax: number | null;
  /**
   * A class-index output with a label table: the label of each proven index (one element: the label itself),
   * from the table the verification key pins. The proof covers the index (`values`).
   */
  label?: string | number | null | (string | number | null)[];
}

/**
 * The proven output per graph output, honestly labelled: an output whose final Softmax the circuit leaves out
 * is "logits (Softmax omitted)", not the Softmax's probabilities. Human lines, and the JSON list.
 */
export function describeOutputs(values: number[], spec: OutputSpecLike): { lines: string[]; outputs: ShownOutput[] } {
  const parts = spec.parts ?? [{ ...spec, offset: 0 }];
  const outputs: ShownOutput[] = [];
  const lines: string[] = [];
  for (const p of parts) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    const v = values.slice(p.offset, p.offset + n);
    const shown = describeOutput(v, p);
    const labelOf = (x: number) => (p.labels && Number.isInteger(x) && x >= 0 && x < p.labels.length ? p.labels[x] : null);
    const label = p.labels ? (v.length === 1 ? labelOf(v[0]) : v.map(labelOf)) : undefined;
    outputs.push({ name: p.name, shape: p.shape, ...(p.dtype ? { dtype: p.dtype } : {}), ...(p.softmaxOmitted ? { softmaxOmitted: p.softmaxOmitted } : {}), values: v, argmax: shown.argmax, ...(label !== undefined ? { label } : {}) });
    const what = p.softmaxOmitted ? `logits (${p.softmaxOmitted} omitted: the circuit proves the values before it, same argmax) ` : '';
    if (!spec.parts && !p.softmaxOmitted && !p.labels) lines.push(`output: ${shown.text}`);
    else lines.push(`output '${p.name}' [${p.shape}]: ${what}${shown.text}`);
  }
  return { lines, outputs };
}

/** `--dim NAME=N` (repeatable), shared by compile, run and inspect. */
export const dimOption = {
  dim: {
    type: 'string',
    array: true,
    describe: 'Size of a symbolic input dimension, NAME=N (the ONNX dim_param, or INPUT[i] for an unnamed one); repeatable. Default: read from the input/calibration file\'s nesting; the batch dimension is 1',
  },
} as const;

/** `--input-bounds NAME=LO:HI` (repeatable), shared by compile and run. */
export const inputBoundsOption = {
  'input-bounds': {
    type: 'string',
    array: true,
    describe: 'Bounds of an integer input, NAME=LO:HI (e.g. input_ids=0:30521 for a vocabulary); the circuit range-checks every element to them. Default: min..max over the calibration set (bool: 0:1)',
  },
} as const;
