/** File formats shared by prover and verifier: the verification key's zkonnx section and the proof bundle. */
import type { QuantPart, TensorQuant, TensorSpec, U8Quant } from '../ir/types.ts';

/** One graph output of a proven output vector, as a bundle shows it (src/ir/io.ts outputPartsOf). */
export interface OutputPartValues {
  name: string;
  shape: number[];
  dtype?: string;
  softmaxOmitted?: string;
  /** A class-index output's label table (index -> label), as the verification key states it. */
  labels?: string[] | number[];
  values: number[];
}

/**
 * The label of a proven class index, from the verification key's table: the proof covers `index` (the circuit
 * computes the class index); `label` is what the key's label table says index means.
 */
export interface ProvenLabel {
  output: string;
  index: number;
  label: string | number;
}
import type { PublicInputLayout, Visibility } from './layout.ts';

export interface Groth16Proof {
  pi_a: string[];
  pi_b: string[][];
  pi_c: string[];
  protocol: string;
  curve: string;
}

/** snarkjs' verification_key.json plus a `zkonnx` section, all covered by the key's hash. */
export interface ZkonnxVerificationKey {
  protocol: string;
  curve: string;
  nPublic: number;
  vk_alpha_1: string[];
  vk_beta_2: string[][];
  vk_gamma_2: string[][];
  vk_delta_2: string[][];
  vk_alphabeta_12?: unknown;
  IC: string[][];
  zkonnx: {
    version: string;
    model: { name: string; sha256: string };
    r1csSha256: string;
    constraints: number;
    /** The circuit's wire count (as the bundle's circuit.wires states it). Absent in keys made before it was recorded. */
    wires?: number;
    /** With `parts` (several inputs, or an integer input): the concatenation, each part at its offset. */
    input: TensorSpec & { quant: U8Quant; parts?: QuantPart[] };
    /** With `parts` (several outputs): the concatenation; `softmaxOmitted`: the logits before a Softmax. */
    output: TensorSpec & { quant: TensorQuant; parts?: QuantPart[] };
    /** 'dev': single-party keys; 'ceremony': made from a public powers-of-tau file. */
    key: { kind: 'dev' | 'ceremony'; ptauPower: number | null };
    /**
     * How the input appears among the public signals (src/verify/layout.ts): `plain` (one uint8 per
     * signal) or `packed` (31 bytes per signal). Absent in keys made before the layouts existed: `plain`.
     */
    publicInputs?: { layout: PublicInputLayout; signals: number };
    /**
     * What the public signals show of the input, output and parameters (src/verify/layout.ts). Absent: the
     * default (input and output public, constant weights).
     */
    visibility?: Visibility;
  };
}

export const BUNDLE_FORMAT = 'zkonnx-bundle';

/** One JSON file: everything needed to check an inference claim, given the verification key. */
export interface ProofBundle {
  format: typeof BUNDLE_FORMAT;
  formatVersion: number;
  zkonnxVersion: string;
  modelSha256: string;
  vkSha256: string;
  keyKind: 'dev' | 'ceremony';
  circuit: {
    constraints: number;
    wires: number;
    publicSignals: number;
    /**
     * The public-input layout the prover used (absent in older bundles). Informative only: the verifier takes
     * the layout from the key and rejects a bundle whose statement differs.
     */
    publicInputs?: { layout: PublicInputLayout; signals: number };
    /** The visibility the prover used (absent in older bundles). Informative only, like publicInputs. */
    visibility?: Visibility;
  };
  quantization: { input: ZkonnxVerificationKey['zkonnx']['input']; output: ZkonnxVerificationKey['zkonnx']['output'] };
  /** `quantized` is absent when the input is hashed or private (unless the opening is included, see `opening`). */
  input: { name: string; shape: number[]; quantized?: number[] };
  /**
   * `parts` (newer bundles; present when the key's output has parts, a left-out Softmax or a label table): each
   * graph output by name, shape, dtype, whether its final Softmax is left out (the values are then the logits
   * before it), the label table of a class-index output (the key's), and its values, a slice of `values`. verifyBundle checks them against the key and the proven values.
   */
  output: { name: string; shape: number[]; quantized: string[]; values: number[]; parts?: OutputPartValues[] };
  /**
   * Outputs first, then the input signals in the key's layout (one per uint8, or 31 uint8 packed per signal),
   * as decimal field elements (signed values as p + x). `input.quantized` keeps the readable uint8 array.
   */
  publicSignals: string[];
  /**
   * The commitments among the public signals (decimal field elements), by part: present exactly for the parts
   * the key's visibility hashes. Each equals its public signal (verifyBundle checks).
   */
  commitments?: { input?: string; output?: string; params?: string };
  /**
   * The opening of a hashed input, only when the prover asked to include it: the salt (decimal). With it and
   * `input.quantized`, verifyBundle checks that the input commitment opens to that input.
   */
  opening?: { salt: string };
  proof: Groth16Proof;
  createdAt: string;
}

/**
 * What verifyBundle concluded. A union on `valid`, so TypeScript knows `output` is there exactly when the
 * proof holds.
 */
export type VerifyResult =
  | {
      valid: true;
      reason: 'ok';
      /** The dequantized output the proof establishes. */
      output: number[];
      /**
       * The kind the verification key states about itself (vk.zkonnx.key.kind): 'dev' (one party) or
       * 'ceremony'. verifyBundle does not and cannot check it: anyone can relabel a dev key 'ceremony' (the
       * relabelled key has another hash, so pinning the key by `vkSha256` after checking its ceremony with
       * `zkonnx ceremony verify DIR --ptau FILE` is what makes the claim trustworthy).
       */
      keyKind: 'dev' | 'ceremony';
      /** The commitments the proof establishes (decimal), for the parts the key hashes. */
      commitments?: { input?: string; output?: string; params?: string };
      /**
       * Per class-index output with a label table in the key (a classifier with string or int64 labels), per
       * element: the proven index and the key's label for it. The proof covers the index only.
       */
      labels?: ProvenLabel[];
    }
  | {
      valid: false;
      /** Why the bundle was rejected. */
      reason: string;
      output: null;
      keyKind?: undefined;
    };
