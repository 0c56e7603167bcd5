/**
 * ONNX bytes -> OnnxGraph: a plain, decoded view of the model (nodes, attributes, initializers as
 * Float64Arrays). No semantics here beyond decoding; ops give meaning to nodes in src/ops.
 */
import { createHash } from 'node:crypto';
import { OnnxParseError, UnsupportedModelError, type ModelIssue } from '../errors.ts';
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
        case 7: data[i] = Number(view.getBigInt64(i * 8, true)); break;
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
    data = Float64Array.from({ length: size }, (_, i) => num(src[i]));
  }
  return { name, dims, dataType, data };

  function unsupportedType(): never {
    throw new UnsupportedModelError([
      { node: where, op: 'tensor', message: `tensor '${name}' has data type ${dataTypeName(dataType)}; zkonnx reads FLOAT, DOUBLE, INT32, INT64, INT8, UINT8 and BOOL` },
    ]);
  }
}

function decodeAttr(a: AttributeProtoMsg, where: string): OnnxAttr {
  const T = AttributeType;
  switch (a.type) {
    case T.INT: return { type: 'int', value: num(a.i) };
    case T.FLOAT: return { type: 'float', value: a.f ?? 0 };
    case T.STRING: return { type: 'string', value: new TextDecoder().decode(a.s ?? new Uint8Array()) };
    case T.INTS: return { type: 'ints', value: (a.ints ?? []).map(num) };
    case T.FLOATS: return { type: 'floats', value: [...(a.floats ?? [])] };
    case T.TENSOR: return { type: 'tensor', value: decodeTensor(a.t as TensorProtoMsg, where) };
    default: return { type: 'other', value: null };
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
   * Bytes of constant data as encoded in the file: the initializers (dense and sparse) and the tensor and
   * list values of node attributes (a Constant's value). Typed int data is varint-encoded, so it may decode
   * to more memory per byte than raw data.
   */
  initializerBytes: number;
  /** False when the scan met bytes that are not well-formed protobuf (the counts are then partial). */
  complete: boolean;
}

const LEN = 2;

/**
 * Calls visit(field, wireType, valueStart, valueEnd) for each field of the protobuf message in b[start, end).
 * Returns false at the first malformed field (the decoder will then say what is wrong).
 */
function walkFields(b: Uint8Array, start: number, end: number, visit: (field: number, wire: number, s: number, e: number) => void): boolean {
  let p = start;
  const varint = (): number => {
    let v = 0;
    for (let i = 0, scale = 1; i < 10 && p < end; i++, scale *= 128) {
      const byte = b[p++];
      v += (byte & 0x7f) * scale;
      if (byte < 0x80) return v;
    }
    return -1;
  };
  while (p < end) {
    const tag = varint();
    if (tag < 0) return false;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    let s = p;
    switch (wire) {
      case 0: if (varint() < 0) return false; break;
      case 1: p += 8; break;
      case LEN: {
        const len = varint();
        if (len < 0 || len > end - p) return false;
        s = p;
        p += len;
        break;
      }
      case 5: p += 4; break;
      default: return false; // groups (never used by ONNX) or garbage
    }
    if (p > end) return false;
    visit(field, wire, s, p);
  }
  return true;
}

// Field numbers in onnx.proto.
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_SPARSE_INITIALIZER = 15;
const NODE_ATTRIBUTE = 5;
/** AttributeProto t, floats, ints, tensors, sparse_tensor, sparse_tensors: where nodes carry constant data. */
const ATTRIBUTE_DATA = new Set([5, 7, 8, 10, 22, 23]);

/**
 * Count the nodes and constant-data bytes of ONNX model bytes by walking the protobuf wire format, without
 * decoding: linear time, no allocation per node, so size limits can refuse a huge model before it costs
 * memory (protobufjs decodes a 36 MB file of 10^6 nodes into ~700 MB of objects).
 */
export function measureOnnx(bytes: Uint8Array): OnnxSize {
  let nodes = 0;
  let initializerBytes = 0;
  let complete = true;
  const ok = (wellFormed: boolean) => void (complete &&= wellFormed);
  const attribute = (f: number, _w: number, s: number, e: number) => {
    if (ATTRIBUTE_DATA.has(f)) initializerBytes += e - s;
  };
  const node = (f: number, w: number, s: number, e: number) => {
    if (f === NODE_ATTRIBUTE && w === LEN) ok(walkFields(bytes, s, e, attribute));
  };
  const graph = (f: number, w: number, s: number, e: number) => {
    if (w !== LEN) return;
    if (f === GRAPH_NODE) {
      nodes++;
      ok(walkFields(bytes, s, e, node));
    } else if (f === GRAPH_INITIALIZER || f === GRAPH_SPARSE_INITIALIZER) {
      initializerBytes += e - s;
    }
  };
  // A message field that occurs twice is merged by protobuf decoders: every occurrence of the graph counts.
  ok(walkFields(bytes, 0, bytes.length, (f, w, s, e) => f === MODEL_GRAPH && w === LEN && ok(walkFields(bytes, s, e, graph))));
  return { nodes, initializerBytes, complete };
}

/** The same measure from a decoded model (when measureOnnx met bytes it could not walk). */
function decodedSize(g: NonNullable<ModelProtoMsg['graph']>): OnnxSize {
  const tensorBytes = (t: TensorProtoMsg | undefined | null) =>
    !t ? 0 : (t.rawData?.length ?? 0) + 4 * (t.floatData?.length ?? 0) + 4 * (t.int32Data?.length ?? 0) + 8 * (t.int64Data?.length ?? 0) + 8 * (t.doubleData?.length ?? 0);
  let initializerBytes = 0;
  for (const t of g.initializer ?? []) initializerBytes += tensorBytes(t);
  for (const n of g.node ?? []) {
    for (const a of n.attribute ?? []) initializerBytes += tensorBytes(a.t) + 4 * (a.floats?.length ?? 0) + 8 * (a.ints?.length ?? 0);
  }
  return { nodes: (g.node ?? []).length, initializerBytes, complete: true };
}

export interface LoadOnnxOptions {
  /**
   * Called with the model's size before anything is decoded (from measureOnnx; again from the decoded model
   * if that scan was incomplete): throw to refuse the model. See src/compile/limits.ts.
   */
  checkSize?: (size: OnnxSize) => void;
}

/**
 * Decode ONNX model bytes. Throws OnnxParseError for bytes that are not an ONNX model, and
 * UnsupportedModelError (listing every problem) for opsets outside 9-21 or other domains; whatever
 * `opts.checkSize` throws for a model too large.
 */
export function loadOnnx(bytes: Uint8Array, source = 'model', opts: LoadOnnxOptions = {}): OnnxGraph {
  const size = opts.checkSize ? measureOnnx(bytes) : undefined;
  if (size) opts.checkSize!(size);
  let model: ModelProtoMsg;
  try {
    model = ModelProto.decode(bytes);
  } catch (e) {
    throw new OnnxParseError(`${source} is not a valid ONNX model: ${(e as Error).message}.`, {
      hint: 'Check that the file is a .onnx model (a protobuf ModelProto), not truncated or a different format.',
      cause: e,
    });
  }
  const g = model.graph;
  if (!g || (g.node ?? []).length === 0) {
    throw new OnnxParseError(`${source} is not a valid ONNX model: it has no graph or the graph has no nodes.`, {
      hint: 'Check that the file is a .onnx model (a protobuf ModelProto), not truncated or a different format.',
    });
  }
  if (size && !size.complete) opts.checkSize!(decodedSize(g));
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
    if (domain !== '' && domain !== 'ai.onnx') {
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
  };
}
