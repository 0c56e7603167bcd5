/**
 * Size limits on the models zkonnx compiles, so that a model far beyond what can be proven (or a hostile
 * file) fails at once with a clear ModelLimitError instead of after gigabytes of memory and minutes of work.
 * Each limit is checked as early as its quantity is known:
 *
 * - the model file's size: before the file is read;
 * - nodes, constant data (initializers and the tensor values of Constant nodes) and the graph's structure: by
 *   a scan of the protobuf wire format, before the model is decoded (decoding a 36 MB model of 10^6 Relu nodes
 *   alone takes 700 MB) and before the IR is built. The scan charges every value what it costs once decoded,
 *   not what it takes in the file (SCAN_CHARGE in src/onnx/load.ts): an int64 packed in a 1-byte varint
 *   becomes a Long object of ~90 bytes, so a 10 MB tensor of them would decode to ~900 MB. Bytes the scan
 *   cannot walk exactly as the decoder would read them are refused unread;
 * - predicted constraints: from the op cost formulas once the model is quantized, before the circom source
 *   is written (a lower bound: the gadgets and the input unpacking), and again exactly (with the bindings and
 *   the outputs) before circom runs.
 *
 * The defaults admit every realistic small model, with room for the circuits zkonnx aims at next (about 2^20
 * constraints compiled directly, a few million weights), and refuse what could not be proven on a developer
 * machine anyway:
 *
 * - `maxNodes` 10,000: the examples have 3-8 nodes; exported CNNs such as ResNet-50 have a few hundred, and
 *   MobileNet-sized graphs with every Identity and Reshape left in stay near 1,000. 10,000 nodes import in
 *   about half a second; 10^6 nodes (a generated stress file) would take gigabytes.
 * - `maxInitializerBytes` 256 MiB of constant data, counted at its decoded cost: 64 M float32 weights as raw
 *   data (their encoded size), 16 M as typed float_data, int32_data or double_data (16 bytes a value), 8 M
 *   int64 values (32 bytes a value, however short their varints), and at least 4 bytes per element of a
 *   tensor's dims. Weights are circuit constants (free in constraints), so only memory and circom's source
 *   size bound them: a few million weights (the next target) are 10-40 MiB. Peak memory of loadModelFile on a
 *   model just under the default, one tensor in the worst encoding of each kind (Node 20, VmHWM of a child
 *   process; ~95 MB of it is Node and zkonnx): raw float32 (a 256 MiB file) 860 MB, raw INT8 670 MB, packed
 *   float32 620 MB, packed 1-byte int32 570 MB, packed double 810 MB, packed 1-byte int64 760 MB (unpacked
 *   760 MB), attribute ints 890 MB, attribute floats 620 MB: under 1 GB, within a laptop's memory. (Charging
 *   encoded bytes instead, 256 MiB of 1-byte int64 varints would have decoded to ~24 GB.) Larger files are
 *   whole foundation models, not something to prove with Groth16 here.
 * - `maxModelBytes`: the constant-data limit plus 64 MiB for the graph's structure (names, shapes, nodes; the
 *   10^6-node stress file is 36 MB), unless set: raising `maxInitializerBytes` raises it too. It also bounds
 *   the graph's structure counted at its decoded cost (64 bytes at least per node input or output, shape
 *   dimension, value info or attribute): at the default, a node with 5.2 M empty inputs (a 10 MB file) peaks
 *   at 260 MB, a value info with 5.2 M empty dims at 430 MB.
 * - `maxConstraints` 2^22 (4,194,304): four times the 2^20 circuits the next issue targets. Proving a 2^22
 *   circuit already needs a 2^23 domain (a 9 GB ptau file; setup and every proof take minutes and gigabytes
 *   on this kind of machine); the dev key stops at 2^27 in any case.
 *
 * Every limit can be raised (or lifted with Infinity in the library): `--max-nodes`, `--max-initializer-mb`,
 * `--max-model-mb`, `--max-constraints` on `zkonnx compile` and `zkonnx run`; `limits` in compileModel and
 * runModel options.
 */
import { InputError, ModelLimitError } from '../errors.ts';

export interface ModelLimits {
  /** Largest model file, in bytes, and the most its graph structure may count decoded. Default: maxInitializerBytes + 64 MiB. */
  maxModelBytes: number;
  /** Most nodes in the model's graph. Default 10,000. */
  maxNodes: number;
  /** Most bytes of constant data (initializers and Constant node values), each value counted at its decoded cost. Default 256 MiB. */
  maxInitializerBytes: number;
  /** Most R1CS constraints predicted by the op cost formulas. Default 2^22. */
  maxConstraints: number;
}

const MiB = 2 ** 20;

/** Room in the model file for everything but constant data (node, tensor and value-info names, shapes). */
const GRAPH_STRUCTURE_BYTES = 64 * MiB;

/** The default limits (see the module comment for why these values). */
export const DEFAULT_MODEL_LIMITS: Readonly<ModelLimits> = Object.freeze({
  maxModelBytes: 256 * MiB + GRAPH_STRUCTURE_BYTES,
  maxNodes: 10_000,
  maxInitializerBytes: 256 * MiB,
  maxConstraints: 2 ** 22,
});

/** The CLI flag that raises each limit, and how its value reads. */
export const MODEL_LIMIT_FLAGS: Readonly<Record<keyof ModelLimits, string>> = Object.freeze({
  maxModelBytes: '--max-model-mb',
  maxNodes: '--max-nodes',
  maxInitializerBytes: '--max-initializer-mb',
  maxConstraints: '--max-constraints',
});

const isBytes = (k: keyof ModelLimits) => k === 'maxModelBytes' || k === 'maxInitializerBytes';

/**
 * The limits in force: the defaults, overridden by `given` (a missing or undefined field keeps its default;
 * maxModelBytes follows maxInitializerBytes unless given). Each value must be a positive integer or Infinity.
 */
export function resolveModelLimits(given: Partial<ModelLimits> = {}): ModelLimits {
  const out: ModelLimits = { ...DEFAULT_MODEL_LIMITS };
  for (const k of Object.keys(DEFAULT_MODEL_LIMITS) as (keyof ModelLimits)[]) {
    const v = given[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v > 0) || (v !== Infinity && !Number.isSafeInteger(v))) {
      throw new InputError(`The ${k} limit (${MODEL_LIMIT_FLAGS[k]}) must be a positive ${isBytes(k) ? 'size' : 'integer'}, got ${String(v)}.`, {
        hint: `Pass a number${isBytes(k) ? ' of MiB on the command line' : ''}; Infinity lifts the limit.`,
      });
    }
    out[k] = v;
  }
  if (given.maxModelBytes === undefined && given.maxInitializerBytes !== undefined) {
    out.maxModelBytes = out.maxInitializerBytes + GRAPH_STRUCTURE_BYTES;
  }
  return out;
}

/** MiB given on the command line -> bytes (fractions allowed: 0.5 = 512 KiB); undefined stays undefined. */
export function mibToBytes(mib: number | undefined): number | undefined {
  if (mib === undefined) return undefined;
  return Number.isFinite(mib) ? Math.ceil(mib * MiB) : mib;
}

const fmt = (n: number) => n.toLocaleString('en-US');
const fmtBytes = (n: number) => (n >= MiB ? `${+(n / MiB).toFixed(1)} MiB (${fmt(n)} bytes)` : `${fmt(n)} bytes`);

/** "<subject> <value + unit>, over the <limit> limit of <limit> (<flag>)." with a hint naming the flag's value that admits the model. */
function exceeded(k: keyof ModelLimits, say: (value: string) => string, value: number, limit: number): ModelLimitError {
  const flag = MODEL_LIMIT_FLAGS[k];
  const show = isBytes(k) ? fmtBytes : fmt;
  const raise = `${flag} ${isBytes(k) ? Math.ceil(value / MiB) : value}`;
  return new ModelLimitError(`${say(show(value))}, over the ${k} limit of ${show(limit)} (${flag}).`, {
    hint: `If this is the model you meant to compile, raise the limit: ${raise} (zkonnx compile, zkonnx run), or limits: { ${k}: ${value} } in compileModel/runModel options. Time and memory grow with it.`,
  });
}

/** Refuse a model file over maxModelBytes (call before reading it). */
export function checkModelFileSize(bytes: number, limits: ModelLimits, source: string): void {
  if (bytes > limits.maxModelBytes) throw exceeded('maxModelBytes', (v) => `Model ${source} is ${v}`, bytes, limits.maxModelBytes);
}

/** The size of a model's graph, as src/onnx/load.ts measures it before decoding. */
export interface GraphSize {
  nodes: number;
  /** Constant data, each value counted at no less than its decoded cost (see OnnxSize in src/onnx/load.ts). */
  initializerBytes: number;
  /** The rest of the graph (names, node inputs and outputs, attributes, value infos, shapes), counted the same way. */
  structureBytes?: number;
}

/** Refuse a graph over maxNodes or maxInitializerBytes (call before building anything from it). */
export function checkGraphSize(size: GraphSize, limits: ModelLimits, source: string): void {
  if (size.nodes > limits.maxNodes) throw exceeded('maxNodes', (v) => `Model ${source} has ${v} nodes`, size.nodes, limits.maxNodes);
  if (size.initializerBytes > limits.maxInitializerBytes) {
    throw exceeded('maxInitializerBytes', (v) => `Model ${source} has ${v} of constant data (initializers and Constant node values)`, size.initializerBytes, limits.maxInitializerBytes);
  }
  // The graph's structure decodes to more than its file bytes (a node input is a JS string in an array, a
  // shape dimension an object): counted at its decoded cost, it must fit the room the file limit leaves it.
  if ((size.structureBytes ?? 0) > limits.maxModelBytes) {
    throw exceeded('maxModelBytes', (v) => `Model ${source} has a graph structure (names, node inputs and outputs, attributes, value infos, shapes) that decodes to ${v}`, size.structureBytes!, limits.maxModelBytes);
  }
}

/**
 * Refuse a circuit predicted over maxConstraints. `lowerBound`: the count leaves out the bindings and outputs
 * (the check before emitting the circom source).
 */
export function checkConstraints(constraints: number, limits: ModelLimits, source: string, lowerBound = false): void {
  if (constraints > limits.maxConstraints) {
    throw exceeded('maxConstraints', (v) => `The circuit for ${source} needs ${lowerBound ? 'at least ' : ''}${v} constraints (predicted by the op cost formulas)`, constraints, limits.maxConstraints);
  }
}
