/**
 * ONNX bytes -> OnnxGraph: a plain, decoded view of the model (nodes, attributes, initializers as
 * Float64Arrays). No semantics here beyond decoding; ops give meaning to nodes in src/ops.
 */
import { createHash } from 'node:crypto';
import { OnnxParseError, UnsupportedModelError, type ModelIssue } from '../errors.ts';
import protobuf from 'protobufjs/light.js';
import { AttributeType, DataLocation, ModelProto, type AttributeProtoMsg, type ModelProtoMsg, type TensorProtoMsg, type ValueInfoProtoMsg } from './proto.ts';

export const MIN_OPSET = 9;
export const MAX_OPSET = 21;

export interface OnnxTensor {
  name: string;
  dims: number[];
  /** ONNX TensorProto.DataType code (1 = FLOAT, 6 = INT32, 7 = INT64, 11 = DOUBLE). */
  dataType: number;
  data: Float64Array;
  /**
   * For the output of a DequantizeLinear of a constant (a pre-quantized weight or bias): the integers and
   * the per-slice scales and zero points along `axis`, so `data[i] = (ints[i] - zeroPoints[c]) * scales[c]`.
   */
  quant?: { ints: Float64Array; scales: number[]; zeroPoints: number[]; axis: number };
}

export type OnnxAttr =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensor'; value: OnnxTensor }
  | { type: 'other'; value: null };

export interface OnnxNode {
  /** The node's name, or `<op>_<index>` when the model leaves it empty. */
  name: string;
  op: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, OnnxAttr>;
}

export interface OnnxValueInfo {
  name: string;
  /** Numbers for fixed dims; strings for symbolic ones (dim_param), '?' for unknown. */
  dims: (number | string)[];
  elemType: number;
}

export interface OnnxGraph {
  name: string;
  irVersion: number;
  opset: number;
  producer: string;
  /** Graph inputs that are not initializers. */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: Map<string, OnnxTensor>;
  nodes: OnnxNode[];
  /** sha256 of the model bytes, hex. */
  sha256: string;
  /**
   * The graph's value_info (shapes an exporter or onnx shape inference recorded for inner tensors), by name.
   * Only ever a hint: import uses it to keep checking nodes past one it cannot import.
   */
  valueInfo?: Map<string, OnnxValueInfo>;
}

const DATA_TYPE_NAMES: Record<number, string> = {
  1: 'FLOAT', 2: 'UINT8', 3: 'INT8', 4: 'UINT16', 5: 'INT16', 6: 'INT32', 7: 'INT64', 8: 'STRING', 9: 'BOOL',
  10: 'FLOAT16', 11: 'DOUBLE', 12: 'UINT32', 13: 'UINT64', 16: 'BFLOAT16',
};

export function dataTypeName(t: number): string {
  return DATA_TYPE_NAMES[t] ?? `type ${t}`;
}

function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object' && 'toNumber' in v) return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** An int64 as protobufjs decodes it (a Long, or a number when Long is not installed), exactly. */
function int64Exact(v: unknown): bigint | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : undefined;
  if (v && typeof v === 'object' && 'high' in v && 'low' in v) {
    const { high, low, unsigned } = v as { high: number; low: number; unsigned?: boolean };
    const u = (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
    return unsigned ? u : BigInt.asIntN(64, u);
  }
  return undefined;
}

/**
 * An int64 as a float64: exact up to 2^53; INT64_MAX and INT64_MIN, the "no bound" of Slice ends and
 * similar, become +-2^63 (still beyond any dimension). Anything else beyond 2^53 would silently change: undefined.
 */
function int64Number(v: bigint): number | undefined {
  if (v === INT64_MAX || v === INT64_MIN) return Number(v);
  return v >= -(2n ** 53n) + 1n && v <= 2n ** 53n - 1n ? Number(v) : undefined;
}

/** The range of the small integer types ONNX stores one per int32_data entry. */
const INT_RANGES: Record<number, [number, number]> = { 2: [0, 255], 3: [-128, 127], 9: [0, 1] };

/** Decode a TensorProto into a Float64Array (raw_data little-endian or the typed repeated fields). */
export function decodeTensor(t: TensorProtoMsg, where: string): OnnxTensor {
  const name = t.name || where;
  const dims = (t.dims ?? []).map(num);
  const size = dims.reduce((a, b) => a * b, 1);
  const dataType = t.dataType ?? 0;
  if (t.dataLocation === DataLocation.EXTERNAL || (t.externalData?.length ?? 0) > 0) {
    throw new UnsupportedModelError(
      [{ node: where, op: 'initializer', message: `tensor '${name}' uses external data, which zkonnx does not read` }],
      'Save the model with all tensors inside the .onnx file (onnx.save(model, path, save_as_external_data=False)).',
    );
  }
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  let data: Float64Array;
  const bad = (msg: string): never => {
    throw new OnnxParseError(`Tensor '${name}' (${where}) is malformed: ${msg}.`);
  };
  if (raw) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const width = { 1: 4, 6: 4, 7: 8, 11: 8, 2: 1, 3: 1, 9: 1 }[dataType as 1];
    if (!width) return unsupportedType();
    if (raw.byteLength !== size * width) bad(`raw_data has ${raw.byteLength} bytes, expected ${size * width} for dims [${dims}]`);
    data = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      switch (dataType) {
        case 1: data[i] = view.getFloat32(i * 4, true); break;
        case 6: data[i] = view.getInt32(i * 4, true); break;
        case 7: data[i] = int64Number(view.getBigInt64(i * 8, true)) ?? tooBig(view.getBigInt64(i * 8, true), i); break;
        case 11: data[i] = view.getFloat64(i * 8, true); break;
        case 2: case 9: data[i] = view.getUint8(i); break;
        case 3: data[i] = view.getInt8(i); break;
      }
    }
  } else {
    let src: ArrayLike<unknown>;
    switch (dataType) {
      case 1: src = t.floatData ?? []; break;
      case 6: case 2: case 3: case 9: src = t.int32Data ?? []; break;
      case 7: src = t.int64Data ?? []; break;
      case 11: src = t.doubleData ?? []; break;
      default: return unsupportedType();
    }
    if (src.length !== size) bad(`holds ${src.length} values, expected ${size} for dims [${dims}]`);
    if (dataType === 7) {
      data = new Float64Array(size);
      for (let i = 0; i < size; i++) {
        const exact = int64Exact(src[i]);
        data[i] = (exact === undefined ? undefined : int64Number(exact)) ?? tooBig(exact ?? num(src[i]), i);
      }
    } else {
      data = Float64Array.from({ length: size }, (_, i) => num(src[i]));
    }
    // int32_data holds UINT8, INT8 and BOOL values one per entry, as int32: the type's range is not enforced
    // by the encoding (raw_data is, by its width), and an out-of-range zero point or weight would be used as is.
    const range = INT_RANGES[dataType];
    if (range) {
      const i = data.findIndex((v) => v < range[0] || v > range[1]);
      if (i >= 0) bad(`holds ${data[i]} at index ${i} (of ${size} values), outside the ${dataTypeName(dataType)} range ${dataType === 9 ? '{0, 1}' : `[${range[0]}, ${range[1]}]`}`);
    }
  }
  return { name, dims, dataType, data };

  function tooBig(v: bigint | number, i: number): never {
    return bad(`holds the INT64 value ${v} at index ${i} (of ${size} values), beyond 2^53: zkonnx reads integers as float64, which would change it (only INT64_MAX and INT64_MIN, meaning "no bound", are read)`);
  }

  function unsupportedType(): never {
    throw new UnsupportedModelError([
      { node: where, op: 'tensor', message: `tensor '${name}' has data type ${dataTypeName(dataType)}; zkonnx reads FLOAT, DOUBLE, INT32, INT64, INT8, UINT8 and BOOL` },
    ]);
  }
}

function decodeAttr(a: AttributeProtoMsg, where: string): OnnxAttr {
  const T = AttributeType;
  switch (a.type) {
    case T.INT: return { type: 'int', value: attrInt(a.i, 0) };
    case T.FLOAT: return { type: 'float', value: a.f ?? 0 };
    case T.STRING: return { type: 'string', value: new TextDecoder().decode(a.s ?? new Uint8Array()) };
    case T.INTS: return { type: 'ints', value: (a.ints ?? []).map(attrInt) };
    case T.FLOATS: return { type: 'floats', value: [...(a.floats ?? [])] };
    case T.STRINGS: return { type: 'strings', value: (a.strings ?? []).map((b) => new TextDecoder().decode(b)) };
    case T.TENSOR: return { type: 'tensor', value: decodeTensor(a.t as TensorProtoMsg, where) };
    default: return { type: 'other', value: null };
  }

  function attrInt(v: unknown, i: number): number {
    const exact = int64Exact(v ?? 0);
    const n = exact === undefined ? undefined : int64Number(exact);
    if (n === undefined) {
      throw new OnnxParseError(`Attribute '${a.name ?? ''}' of ${where} is malformed: holds the value ${exact ?? num(v)}${a.type === T.INTS ? ` at index ${i}` : ''}, beyond 2^53: zkonnx reads integers as float64, which would change it.`);
    }
    return n;
  }
}

function valueInfo(v: ValueInfoProtoMsg): OnnxValueInfo {
  const tt = v.type?.tensorType;
  const dims = (tt?.shape?.dim ?? []).map((d) =>
    d.dimValue !== undefined && d.dimValue !== null && num(d.dimValue) > 0 ? num(d.dimValue) : d.dimParam || '?',
  );
  return { name: v.name ?? '', dims, elemType: tt?.elemType ?? 0 };
}

/** What a model holds, measured without decoding it (see measureOnnx). */
export interface OnnxSize {
  /** Nodes of the main graph. */
  nodes: number;
  /**
   * Constant data (the initializers and the tensor and list values of node attributes, such as a Constant's
   * value), in bytes, each value counted at no less than it costs once decoded (see SCAN_CHARGE): a tensor
   * counts the larger of its encoded size, 4 bytes per element of its dims, and its typed values at their
   * decoded cost. For raw float32 data this is the encoded size; 1-byte varints count 16 or 32 bytes each.
   */
  initializerBytes: number;
  /**
   * The rest of the graph as it decodes (node names, inputs, outputs and attributes, value infos and their
   * shapes, opset imports, tensor names): every decoded message and repeated string counts at least
   * SCAN_CHARGE.message bytes, however few bytes it takes in the file.
   */
  structureBytes: number;
  /** False when the scan met bytes that are not well-formed ONNX protobuf (the counts are then partial). */
  complete: boolean;
  /** What is malformed, when not complete. */
  problem?: string;
}

/**
 * Bytes charged per decoded value, about a third of what each costs at peak when protobufjs decodes it and
 * decodeTensor converts it (measured on Node 20 with 10^7-value tensors: raw float32 12 bytes per value,
 * packed float32 41, packed int32 38, packed double 45, packed int64 90 and attribute ints 108, each a Long
 * object; node inputs and value-info dims ~100-200), so that every encoding decodes to at most ~3.5 times
 * what it is charged. See src/compile/limits.ts for the peaks at the default limits.
 */
export const SCAN_CHARGE = Object.freeze({
  /** A tensor's element (its dims' product), whatever the encoding: the Float64Array decodeTensor fills. */
  element: 4,
  /** A float_data, int32_data or double_data value, or an attribute float: a JS array slot, then a float64. */
  number: 16,
  /** An int64_data or dims value, or an attribute int: a Long object in a JS array. */
  int64: 32,
  /** A decoded message (node, attribute, tensor, value info, shape dim, ...) or repeated string. */
  message: 64,
});

/** Wire types. */
const VARINT = 0, I64 = 1, LEN = 2, I32 = 5;

/**
 * A message's fields as protobufjs decodes them (src/onnx/proto.ts): the wire type each must have (packed
 * repeated scalars: LEN or their own), and a handler for what it holds. protobufjs reads a known field as its
 * declared type whatever the wire type says, so a mismatch would make it read bytes the scan skipped: the
 * scan calls such a file malformed. Unknown fields are skipped by both.
 */
interface FieldSpec {
  wire: number;
  /** For a packable repeated scalar: the width of its elements (0 = varint, 4, 8). */
  packed?: 0 | 4 | 8;
  visit?: (s: number, e: number, count: number) => void;
}

/** The elements of a packed scalar field, by width (varints: the bytes with the high bit clear). */
function packedCount(b: Uint8Array, s: number, e: number, width: 0 | 4 | 8): number {
  if (width) return Math.floor((e - s) / width);
  let n = 0;
  for (let i = s; i < e; i++) if (b[i] < 0x80) n++;
  return n;
}

class Malformed extends Error {}

/**
 * Count the nodes, constant data and graph structure of ONNX model bytes by walking the protobuf wire format
 * without decoding, charging every value what it costs decoded (SCAN_CHARGE): linear time, no allocation per
 * value, so size limits can refuse a huge model before it costs memory (protobufjs decodes a 36 MB file of
 * 10^6 nodes into ~700 MB of objects, and a 10 MB tensor of 1-byte int64 varints into ~900 MB).
 */
export function measureOnnx(bytes: Uint8Array): OnnxSize {
  const b = bytes;
  let nodes = 0;
  let initializerBytes = 0;
  let structureBytes = 0;

  const varintAt = (p: number, end: number): [number, number] => {
    let v = 0;
    for (let i = 0, scale = 1; i < 10 && p < end; i++, scale *= 128) {
      const byte = b[p++];
      v += (byte & 0x7f) * scale;
      if (byte < 0x80) return [v, p];
    }
    throw new Malformed('a varint runs past its end or over 10 bytes');
  };

  /** Walk the message in b[start, end) with the given field specs. */
  const walk = (start: number, end: number, fields: Record<number, FieldSpec>, what: string): void => {
    let p = start;
    while (p < end) {
      const [tag, q] = varintAt(p, end);
      p = q;
      const field = Math.floor(tag / 8);
      const wire = tag % 8;
      let s = p;
      switch (wire) {
        case VARINT: p = varintAt(p, end)[1]; break;
        case I64: p += 8; break;
        case LEN: {
          const [len, r] = varintAt(p, end);
          if (len > end - r) throw new Malformed(`a field of ${what} is longer than the bytes that hold it`);
          s = r;
          p = r + len;
          break;
        }
        case I32: p += 4; break;
        default: throw new Malformed(`${what} has a field of wire type ${wire} (groups are not used by ONNX)`);
      }
      if (p > end) throw new Malformed(`${what} ends inside a field`);
      if (field === 0) throw new Malformed(`${what} has a field numbered 0`);
      const spec = fields[field];
      if (!spec) continue;
      if (spec.packed !== undefined) {
        const own = spec.packed === 0 ? VARINT : spec.packed === 4 ? I32 : I64;
        if (wire !== LEN && wire !== own) throw new Malformed(`field ${field} of ${what} has wire type ${wire}, expected ${LEN} or ${own}`);
        spec.visit?.(s, p, wire === LEN ? packedCount(b, s, p, spec.packed) : 1);
      } else {
        if (wire !== spec.wire) throw new Malformed(`field ${field} of ${what} has wire type ${wire}, expected ${spec.wire}`);
        spec.visit?.(s, p, 1);
      }
    }
  };

  const str: FieldSpec = { wire: LEN };
  const int: FieldSpec = { wire: VARINT };
  /** A message field whose content is walked with `fields`, charged `message` bytes to `charge`. */
  const msg = (fields: Record<number, FieldSpec>, what: string, charge: (n: number) => void = (n) => void (structureBytes += n)): FieldSpec => ({
    wire: LEN,
    visit: (s, e) => {
      charge(SCAN_CHARGE.message);
      walk(s, e, fields, what);
    },
  });
  const strings: FieldSpec = { wire: LEN, visit: (s, e) => void (structureBytes += Math.max(SCAN_CHARGE.message, e - s)) };

  // Value infos: name, type { tensor_type { elem_type, shape { dim { dim_value | dim_param } } } }.
  const dimension = { 1: int, 2: str };
  const shape = { 1: msg(dimension, 'a shape dimension') };
  const tensorType = { 1: int, 2: msg(shape, 'a shape') };
  const typeProto = { 1: msg(tensorType, 'a tensor type') };
  const valueInfo = { 1: str, 2: msg(typeProto, 'a type') };

  /** A tensor's constant data: the largest of its encoded size, its dims' product and its values' decoded cost. */
  const tensor: FieldSpec = {
    wire: LEN,
    visit: (s, e) => {
      let elements = 1;
      let values = 0;
      const dims: FieldSpec = {
        wire: LEN,
        packed: 0,
        visit: (ds, de, count) => {
          values += count * SCAN_CHARGE.int64;
          for (let p = ds; p < de; ) {
            const [v, q] = varintAt(p, de);
            elements *= v;
            p = q;
          }
        },
      };
      const numbers = (width: 0 | 4 | 8): FieldSpec => ({ wire: LEN, packed: width, visit: (_s, _e, n) => void (values += n * SCAN_CHARGE.number) });
      walk(s, e, {
        1: dims, 2: int, 4: numbers(4), 5: numbers(0),
        7: { wire: LEN, packed: 0, visit: (_s, _e, n) => void (values += n * SCAN_CHARGE.int64) },
        8: str, 9: { wire: LEN, visit: (rs, re) => void (values += re - rs) }, 10: numbers(8),
        13: { wire: LEN, visit: (xs, xe) => { values += SCAN_CHARGE.message; walk(xs, xe, { 1: str, 2: str }, 'an external_data entry'); } },
        14: int,
      }, 'a tensor');
      structureBytes += SCAN_CHARGE.message;
      initializerBytes += Math.max(e - s, elements * SCAN_CHARGE.element, values);
    },
  };
  const attribute = {
    1: str, 2: { wire: I32 }, 3: int, 4: str, 5: tensor,
    7: { wire: LEN, packed: 4, visit: (_s: number, _e: number, n: number) => void (initializerBytes += n * SCAN_CHARGE.number) },
    8: { wire: LEN, packed: 0, visit: (_s: number, _e: number, n: number) => void (initializerBytes += n * SCAN_CHARGE.int64) },
    // tensors, sparse_tensor, sparse_tensors: not decoded by zkonnx, counted as encoded.
    10: { wire: LEN, visit: (s: number, e: number) => void (initializerBytes += e - s) },
    22: { wire: LEN, visit: (s: number, e: number) => void (initializerBytes += e - s) },
    23: { wire: LEN, visit: (s: number, e: number) => void (initializerBytes += e - s) },
    20: int,
  } satisfies Record<number, FieldSpec>;
  const node = { 1: strings, 2: strings, 3: str, 4: str, 5: msg(attribute, 'an attribute'), 7: str };
  const graph: Record<number, FieldSpec> = {
    1: { wire: LEN, visit: (s, e) => { nodes++; structureBytes += SCAN_CHARGE.message; walk(s, e, node, 'a node'); } },
    2: str,
    5: tensor,
    11: msg(valueInfo, 'a value info'),
    12: msg(valueInfo, 'a value info'),
    // sparse_initializer: not decoded by zkonnx, counted as encoded.
    15: { wire: LEN, visit: (s, e) => void (initializerBytes += e - s) },
  };
  // A message field that occurs twice is merged by protobuf decoders: every occurrence of the graph counts.
  const model = { 1: int, 2: str, 3: str, 7: { wire: LEN, visit: (s: number, e: number) => walk(s, e, graph, 'the graph') }, 8: msg({ 1: str, 2: int }, 'an opset import') };
  try {
    walk(0, b.length, model, 'the model');
  } catch (e) {
    if (!(e instanceof Malformed)) throw e;
    return { nodes, initializerBytes, structureBytes, complete: false, problem: e.message };
  }
  return { nodes, initializerBytes, structureBytes, complete: true };
}

export interface LoadOnnxOptions {
  /**
   * Called with the model's size before anything is decoded (from measureOnnx): throw to refuse the model.
   * See src/compile/limits.ts. With it, bytes the scan finds malformed are refused before decoding too.
   */
  checkSize?: (size: OnnxSize) => void;
}

/**
 * Decode ONNX model bytes. Throws OnnxParseError for bytes that are not an ONNX model, and
 * UnsupportedModelError (listing every problem) for opsets outside 9-21 or other domains; whatever
 * `opts.checkSize` throws for a model too large.
 */
export function loadOnnx(bytes: Uint8Array, source = 'model', opts: LoadOnnxOptions = {}): OnnxGraph {
  const hint = 'Check that the file is a .onnx model (a protobuf ModelProto), not truncated or a different format.';
  if (bytes.length === 0) {
    throw new OnnxParseError(`${source} is empty (0 bytes), not an ONNX model.`, { hint: 'The download or export did not complete; fetch or export the model again.' });
  }
  // A Git LFS pointer: a small text file that stands for the model in a repository cloned without LFS.
  const head = new TextDecoder().decode(bytes.subarray(0, 64));
  if (head.startsWith('version https://git-lfs.github.com/spec/')) {
    throw new OnnxParseError(`${source} is a Git LFS pointer file (${bytes.length} bytes of text), not the model itself.`, {
      hint: 'Fetch the real file: `git lfs install && git lfs pull` in its repository (or download it from the LFS server).',
    });
  }
  if (opts.checkSize) {
    const size = measureOnnx(bytes);
    // Malformed bytes are refused unread: protobufjs might read them differently from the scan (a known
    // field with the wrong wire type), so the counts would not bound what decoding costs.
    if (!size.complete) throw new OnnxParseError(`${source} is not a valid ONNX model: ${size.problem}.`, { hint });
    opts.checkSize(size);
  }
  let model: ModelProtoMsg;
  try {
    model = ModelProto.decode(bytes);
  } catch (e) {
    throw new OnnxParseError(`${source} is not a valid ONNX model: ${(e as Error).message}.`, {
      hint,
      cause: e,
    });
  }
  const g = model.graph;
  if (!g || (g.node ?? []).length === 0) {
    throw new OnnxParseError(`${source} is not a valid ONNX model: it has no graph or the graph has no nodes.`, {
      hint,
    });
  }
  const issues: ModelIssue[] = [];
  const defaultOpset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const opset = defaultOpset ? num(defaultOpset.version) : 0;
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    issues.push({ node: '(model)', op: 'opset_import', message: `default-domain opset ${opset} is outside the supported range ${MIN_OPSET}-${MAX_OPSET}` });
  }
  const initializers = new Map<string, OnnxTensor>();
  for (const t of g.initializer ?? []) {
    const tensor = decodeTensor(t as TensorProtoMsg, `initializer '${t.name}'`);
    initializers.set(tensor.name, tensor);
  }
  const nodes: OnnxNode[] = (g.node ?? []).map((n, i) => {
    const name = n.name || `${n.opType}_${i}`;
    const attrs = new Map<string, OnnxAttr>();
    for (const a of n.attribute ?? []) attrs.set(a.name ?? '', decodeAttr(a as AttributeProtoMsg, `node '${name}'`));
    const domain = n.domain ?? '';
    // ai.onnx.ml: only its tree ensembles have importers (src/ops/trees.ts); its other ops are refused there.
    if (domain !== '' && domain !== 'ai.onnx' && domain !== 'ai.onnx.ml') {
      issues.push({ node: name, op: `${domain}.${n.opType}`, message: `custom domain '${domain}' is not supported` });
    }
    return { name, op: n.opType ?? '', domain, inputs: [...(n.input ?? [])], outputs: [...(n.output ?? [])], attrs };
  });
  if (issues.length) throw new UnsupportedModelError(issues);
  return {
    name: g.name || 'model',
    irVersion: num(model.irVersion),
    opset,
    producer: model.producerName ?? '',
    inputs: (g.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map((v) => valueInfo(v as ValueInfoProtoMsg)),
    outputs: (g.output ?? []).map((v) => valueInfo(v as ValueInfoProtoMsg)),
    initializers,
    nodes,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    valueInfo: readValueInfo(bytes),
  };
}

/** A protobuf varint. */
function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** A length-delimited field: tag (field, wire type 2), length, bytes. */
function lengthDelimited(field: number, body: Uint8Array): Uint8Array {
  const head = [...varint((field << 3) | 2), ...varint(body.length)];
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/**
 * GraphProto.value_info (field 13), which the decoder's descriptor leaves out: each entry is decoded as if it
 * were a graph input (a ValueInfoProto too), by wrapping it as ModelProto.graph.input. Never throws: a model
 * whose value_info cannot be read simply has none (it is only a hint).
 */
function readValueInfo(bytes: Uint8Array): Map<string, OnnxValueInfo> {
  const out = new Map<string, OnnxValueInfo>();
  try {
    const fields = (buf: Uint8Array, want: number): Uint8Array[] => {
      const r = protobuf.Reader.create(buf);
      const found: Uint8Array[] = [];
      while (r.pos < r.len) {
        const tag = r.uint32();
        if (tag >>> 3 === want && (tag & 7) === 2) found.push(r.bytes());
        else r.skipType(tag & 7);
      }
      return found;
    };
    for (const graph of fields(bytes, 7)) {
      for (const vi of fields(graph, 13)) {
        const wrapped = ModelProto.decode(lengthDelimited(7, lengthDelimited(11, vi)));
        const v = wrapped.graph?.input?.[0];
        if (v?.name) out.set(v.name, valueInfo(v as ValueInfoProtoMsg));
      }
    }
  } catch {
    return new Map();
  }
  return out;
}
