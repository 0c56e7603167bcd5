/**
 * A small, typed ONNX model *writer*.
 *
 * Used by scripts and tests to produce `.onnx` bytes without Python, through the ONNX schema in
 * ./proto.ts (newer opsets only add operators, not protobuf fields).
 *
 * Also contains `mulberry32` (seeded PRNG) and `randomMlp` (random float MLP
 * generator in several ONNX "styles") used to exercise the importer.
 */
import { AttributeType, DataType, ModelProto, type AttributeProtoMsg, type TensorProtoMsg, type ValueInfoProtoMsg } from './proto.ts';

export type TensorDataType = 'float' | 'int64' | 'int32' | 'double' | 'int8' | 'uint8' | 'bool';

export interface TensorSpec {
  dims: number[];
  data: ArrayLike<number>;
  /** default 'float' */
  dataType?: TensorDataType;
  /**
   * 'raw' = little-endian bytes in raw_data; 'typed' = float_data/int64_data/int32_data/double_data
   * (int8 and uint8 values go to int32_data, one value per element, as the ONNX spec requires).
   * Default 'raw'.
   */
  encoding?: 'raw' | 'typed';
}

/**
 * Attribute values:
 * - integer `number` -> INT, non-integer `number` -> FLOAT
 * - `number[]` -> INTS (every element must be an integer; use `{ floats }` otherwise)
 * - `string` -> STRING
 * - `string[]` (non-empty) -> STRINGS (e.g. an LSTM's `activations`); `{ strings }` forces STRINGS (also empty)
 * - `{ int }` / `{ float }` force INT / FLOAT (e.g. `{ float: 1 }` for alpha=1.0)
 * - `{ ints }` / `{ floats }` force INTS / FLOATS (also the way to write empty lists)
 * - `{ tensor }` -> TENSOR (e.g. the `value` of a Constant node)
 */
export type AttrValue =
  | number
  | number[]
  | string
  | string[]
  | { int: number }
  | { float: number }
  | { ints: number[] }
  | { floats: number[] }
  | { strings: string[] }
  | { tensor: TensorSpec };

export interface InitializerSpec extends TensorSpec {
  name: string;
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, AttrValue>;
  domain?: string;
}

export interface ValueInfoSpec {
  name: string;
  /** number = fixed dim, string = symbolic dim_param (e.g. 'N') */
  shape: (number | string)[];
  /** default 'float' */
  elemType?: TensorDataType;
}

export interface ModelSpec {
  inputs: ValueInfoSpec[];
  outputs: ValueInfoSpec[];
  initializers?: InitializerSpec[];
  nodes: NodeSpec[];
  /** default-domain opset version, default 13 */
  opset?: number;
  /** default 8 */
  irVersion?: number;
  /** Opset imports for non-default domains used by nodes; domains not listed get version 1. */
  extraOpsets?: { domain: string; version: number }[];
  graphName?: string;
  producer?: string;
}

const DT = DataType;
const AT = AttributeType;

function dataTypeCode(t: TensorDataType | undefined): number {
  switch (t ?? 'float') {
    case 'float':
      return DT.FLOAT;
    case 'int64':
      return DT.INT64;
    case 'int32':
      return DT.INT32;
    case 'double':
      return DT.DOUBLE;
    case 'int8':
      return DT.INT8;
    case 'uint8':
      return DT.UINT8;
    case 'bool':
      return DT.BOOL;
  }
}

function checkedInt(v: number, what: string): number {
  if (!Number.isSafeInteger(v)) throw new Error(`${what}: expected a safe integer, got ${v}`);
  return v;
}

const INT_RANGES: Partial<Record<TensorDataType, [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  bool: [0, 1],
  int32: [-2147483648, 2147483647],
};

/** integer check plus, for int8/uint8/int32, a range check (typed arrays would silently wrap) */
function checkedIntOf(dataType: TensorDataType, v: number, what: string): number {
  checkedInt(v, what);
  const r = INT_RANGES[dataType];
  if (r && (v < r[0] || v > r[1])) throw new Error(`${what}: ${v} is out of range [${r[0]}, ${r[1]}]`);
  return v;
}

function makeTensor(spec: TensorSpec, name?: string): TensorProtoMsg {
  const dataType = spec.dataType ?? 'float';
  const encoding = spec.encoding ?? 'raw';
  const dims = spec.dims.map((d) => checkedInt(d, `tensor ${name ?? ''} dim`));
  const expected = dims.reduce((a, b) => a * b, 1);
  const n = spec.data.length;
  if (n !== expected) {
    throw new Error(`tensor ${name ?? '<anon>'}: dims [${dims.join(',')}] need ${expected} values, got ${n}`);
  }
  const props: TensorProtoMsg = {
    dims,
    dataType: dataTypeCode(dataType),
  };
  if (name !== undefined) props.name = name;
  if (encoding === 'raw') {
    let bytes: Uint8Array;
    switch (dataType) {
      case 'float': {
        const a = Float32Array.from(spec.data);
        bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
        break;
      }
      case 'double': {
        const a = Float64Array.from(spec.data);
        bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
        break;
      }
      case 'int32': {
        const a = new Int32Array(n);
        for (let i = 0; i < n; i++) a[i] = checkedIntOf('int32', spec.data[i]!, `tensor ${name ?? ''} int32 value`);
        bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
        break;
      }
      case 'int8': {
        const a = new Int8Array(n);
        for (let i = 0; i < n; i++) a[i] = checkedIntOf('int8', spec.data[i]!, `tensor ${name ?? ''} int8 value`);
        bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
        break;
      }
      case 'uint8':
      case 'bool': {
        bytes = new Uint8Array(n);
        for (let i = 0; i < n; i++) bytes[i] = checkedIntOf(dataType, spec.data[i]!, `tensor ${name ?? ''} ${dataType} value`);
        break;
      }
      case 'int64': {
        const a = new BigInt64Array(n);
        for (let i = 0; i < n; i++) a[i] = BigInt(checkedInt(spec.data[i]!, `tensor ${name ?? ''} int64 value`));
        bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
        break;
      }
    }
    // Typed arrays are little-endian on every platform Node supports (x64/arm64).
    props.rawData = bytes;
  } else {
    const arr = Array.from(spec.data);
    switch (dataType) {
      case 'float':
        props.floatData = arr;
        break;
      case 'double':
        props.doubleData = arr;
        break;
      case 'int32':
      case 'int8':
      case 'uint8':
      case 'bool':
        // ONNX stores INT32, INT8, UINT8 (and the other small int types) typed data in int32_data.
        props.int32Data = arr.map((v) => checkedIntOf(dataType, v, `tensor ${name ?? ''} ${dataType} value`));
        break;
      case 'int64':
        // protobufjs accepts plain JS numbers (incl. negatives) for int64 fields.
        props.int64Data = arr.map((v) => checkedInt(v, `tensor ${name ?? ''} int64 value`));
        break;
    }
  }
  return props;
}

function makeStrings(name: string, v: readonly string[]): AttributeProtoMsg {
  for (const x of v) if (typeof x !== 'string') throw new Error(`attr ${name}: STRINGS holds a non-string ${JSON.stringify(x)}`);
  return { name, type: AT.STRINGS, strings: v.map((x) => new TextEncoder().encode(x)) };
}

function makeAttr(name: string, v: AttrValue): AttributeProtoMsg {
  if (typeof v === 'number') {
    return Number.isInteger(v)
      ? { name, type: AT.INT, i: checkedInt(v, `attr ${name}`) }
      : { name, type: AT.FLOAT, f: v };
  }
  if (typeof v === 'string') {
    return { name, type: AT.STRING, s: new TextEncoder().encode(v) };
  }
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) return makeStrings(name, v as string[]);
  if (Array.isArray(v)) {
    for (const x of v) {
      if (typeof x === 'string') throw new Error(`attr ${name}: a list mixes strings and numbers`);
      if (!Number.isInteger(x)) {
        throw new Error(`attr ${name}: number[] is written as INTS but contains ${x}; use { floats: [...] }`);
      }
    }
    return { name, type: AT.INTS, ints: (v as number[]).map((x) => checkedInt(x, `attr ${name}`)) };
  }
  if ('int' in v) return { name, type: AT.INT, i: checkedInt(v.int, `attr ${name}`) };
  if ('float' in v) return { name, type: AT.FLOAT, f: v.float };
  if ('ints' in v) {
    return { name, type: AT.INTS, ints: v.ints.map((x) => checkedInt(x, `attr ${name}`)) };
  }
  if ('floats' in v) return { name, type: AT.FLOATS, floats: [...v.floats] };
  if ('strings' in v) return makeStrings(name, v.strings);
  if ('tensor' in v) return { name, type: AT.TENSOR, t: makeTensor(v.tensor) };
  throw new Error(`attr ${name}: unsupported value ${JSON.stringify(v)}`);
}

function makeValueInfo(vi: ValueInfoSpec): ValueInfoProtoMsg {
  return {
    name: vi.name,
    type: {
      tensorType: {
        elemType: dataTypeCode(vi.elemType),
        shape: {
          dim: vi.shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: checkedInt(d, `${vi.name} dim`) })),
        },
      },
    },
  };
}

/** Serialize a model description to ONNX protobuf bytes. */
export function buildOnnxModel(spec: ModelSpec): Uint8Array {
  const opset = spec.opset ?? 13;
  const nodes = spec.nodes.map((n, idx) => ({
    name: n.name ?? `${n.op}_${idx}`,
    opType: n.op,
    input: [...n.inputs],
    output: [...n.outputs],
    domain: n.domain ?? '',
    attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => makeAttr(k, v)),
  }));
  const graph = {
    name: spec.graphName ?? 'graph',
    node: nodes,
    initializer: (spec.initializers ?? []).map((t) => makeTensor(t, t.name)),
    input: spec.inputs.map(makeValueInfo),
    output: spec.outputs.map(makeValueInfo),
  };
  const opsetImport: { domain: string; version: number }[] = [{ domain: '', version: opset }];
  for (const e of spec.extraOpsets ?? []) {
    if (!opsetImport.some((o) => o.domain === e.domain)) opsetImport.push({ ...e });
  }
  for (const n of spec.nodes) {
    const d = n.domain ?? '';
    if (d !== '' && d !== 'ai.onnx' && !opsetImport.some((o) => o.domain === d)) opsetImport.push({ domain: d, version: 1 });
  }
  const model = {
    irVersion: spec.irVersion ?? 8,
    producerName: spec.producer ?? 'zkonnx-builder',
    producerVersion: '0.1.0',
    opsetImport,
    graph,
  };
  return ModelProto.encode(model).finish();
}

/** Seeded 32-bit PRNG; returns floats in [0, 1). Deterministic across platforms. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RandomMlpOptions {
  /** layer widths, e.g. [16, 8, 4] = 16 inputs, one hidden layer of 8, 4 outputs */
  sizes: number[];
  seed: number;
  /**
   * 'gemm': Gemm with B = [in, out]; 'gemm-transB': Gemm(transB=1) with B = [out, in];
   * 'matmul-add': MatMul(B=[in,out]) followed by Add(bias=[out]).
   */
  style: 'gemm' | 'gemm-transB' | 'matmul-add';
  /** Relu between layers (never after the last one). Default true. */
  relu?: boolean;
  /** Gemm alpha attribute (Gemm styles only); written only when given. */
  alpha?: number;
  /** Gemm beta attribute (Gemm styles only); written only when given. */
  beta?: number;
  /** initializer encoding, default 'raw' */
  encoding?: 'raw' | 'typed';
  /** batch dimension of input/output: number (default 1) or symbolic name like 'N' */
  batchDim?: number | string;
  /** if set, the input is [batch, c, h, w] and a Flatten(axis=1) node comes first; c*h*w must equal sizes[0] */
  flattenInput?: [number, number, number];
  /** insert Identity, Dropout (opset-appropriate form) and a Reshape with a constant int64 shape initializer */
  extraNoOps?: boolean;
  /** default 13 */
  opset?: number;
}

export interface RandomMlpResult {
  bytes: Uint8Array;
  inputName: string;
  outputName: string;
  /** concrete input shape to feed (a symbolic batch dim is reported as 1) */
  inputShape: number[];
}

/**
 * Random float MLP. Weights ~ uniform(-1,1)/sqrt(fanIn), biases ~ uniform(-0.1,0.1),
 * so activations stay O(1) for O(1) inputs.
 *
 * Node order: [Flatten] [Identity] Gemm/MatMul+Add, Relu, [Dropout after the first Relu],
 * ..., [Reshape before the last layer], last Gemm/MatMul+Add -> output.
 */
export function randomMlp(opts: RandomMlpOptions): RandomMlpResult {
  const { sizes, seed, style } = opts;
  if (sizes.length < 2) throw new Error('randomMlp: sizes needs at least [in, out]');
  const opset = opts.opset ?? 13;
  const relu = opts.relu ?? true;
  const encoding = opts.encoding ?? 'raw';
  const batch = opts.batchDim ?? 1;
  const rand = mulberry32(seed);
  const uni = (scale: number): number => (rand() * 2 - 1) * scale;

  const inputName = 'input';
  const outputName = 'output';
  const nodes: NodeSpec[] = [];
  const inits: InitializerSpec[] = [];
  let cur = inputName;
  let tmp = 0;
  const fresh = (base: string): string => `${base}_${tmp++}`;

  let inputShapeSpec: (number | string)[];
  if (opts.flattenInput) {
    const [c, h, w] = opts.flattenInput;
    if (c * h * w !== sizes[0]) throw new Error(`randomMlp: flattenInput ${c}x${h}x${w} != sizes[0]=${sizes[0]}`);
    inputShapeSpec = [batch, c, h, w];
    const out = fresh('flat');
    nodes.push({ op: 'Flatten', inputs: [cur], outputs: [out], attrs: { axis: 1 } });
    cur = out;
  } else {
    inputShapeSpec = [batch, sizes[0]!];
  }
  if (opts.extraNoOps) {
    const out = fresh('ident');
    nodes.push({ op: 'Identity', inputs: [cur], outputs: [out] });
    cur = out;
  }

  const nLayers = sizes.length - 1;
  for (let l = 0; l < nLayers; l++) {
    const fanIn = sizes[l]!;
    const fanOut = sizes[l + 1]!;
    const isLast = l === nLayers - 1;

    if (isLast && opts.extraNoOps) {
      // Reshape to [1, -1] (or [-1, width] when the batch is not the constant 1).
      const shapeName = `reshape_shape_${l}`;
      inits.push({ name: shapeName, dims: [2], data: batch === 1 ? [1, -1] : [-1, fanIn], dataType: 'int64', encoding });
      const out = fresh('reshaped');
      nodes.push({ op: 'Reshape', inputs: [cur, shapeName], outputs: [out] });
      cur = out;
    }

    const scale = 1 / Math.sqrt(fanIn);
    const w = new Float32Array(fanIn * fanOut); // logical W[i][o] (in x out)
    for (let i = 0; i < w.length; i++) w[i] = uni(scale);
    const b = new Float32Array(fanOut);
    for (let i = 0; i < b.length; i++) b[i] = uni(0.1);

    const wName = `W${l}`;
    const bName = `B${l}`;
    const layerOut = isLast ? outputName : fresh(`fc${l}`);
    if (style === 'gemm-transB') {
      const wt = new Float32Array(fanIn * fanOut);
      for (let i = 0; i < fanIn; i++) for (let o = 0; o < fanOut; o++) wt[o * fanIn + i] = w[i * fanOut + o]!;
      inits.push({ name: wName, dims: [fanOut, fanIn], data: wt, encoding });
    } else {
      inits.push({ name: wName, dims: [fanIn, fanOut], data: w, encoding });
    }
    inits.push({ name: bName, dims: [fanOut], data: b, encoding });

    if (style === 'matmul-add') {
      const mm = fresh(`mm${l}`);
      nodes.push({ op: 'MatMul', inputs: [cur, wName], outputs: [mm] });
      nodes.push({ op: 'Add', inputs: [mm, bName], outputs: [layerOut] });
    } else {
      const attrs: Record<string, AttrValue> = {};
      if (style === 'gemm-transB') attrs.transB = 1;
      if (opts.alpha !== undefined) attrs.alpha = { float: opts.alpha };
      if (opts.beta !== undefined) attrs.beta = { float: opts.beta };
      nodes.push({ op: 'Gemm', inputs: [cur, wName, bName], outputs: [layerOut], attrs });
    }
    cur = layerOut;

    if (!isLast && relu) {
      const r = fresh(`relu${l}`);
      nodes.push({ op: 'Relu', inputs: [cur], outputs: [r] });
      cur = r;
      if (l === 0 && opts.extraNoOps) {
        const d = fresh('dropout');
        if (opset < 12) {
          nodes.push({ op: 'Dropout', inputs: [cur], outputs: [d], attrs: { ratio: { float: 0.5 } } });
        } else {
          const ratioName = 'dropout_ratio';
          inits.push({ name: ratioName, dims: [], data: [0.5], encoding });
          nodes.push({ op: 'Dropout', inputs: [cur, ratioName], outputs: [d] });
        }
        cur = d;
      }
    }
  }
  const bytes = buildOnnxModel({
    inputs: [{ name: inputName, shape: inputShapeSpec }],
    outputs: [{ name: outputName, shape: [batch, sizes[nLayers]!] }],
    initializers: inits,
    nodes,
    opset,
    graphName: `random_mlp_${style}`,
  });
  return {
    bytes,
    inputName,
    outputName,
    inputShape: inputShapeSpec.map((d) => (typeof d === 'string' ? 1 : d)),
  };
}
