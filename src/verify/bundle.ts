/**
 * The proof bundle's structure, apart from its values: which fields the format defines (at every level) and
 * how large an honest bundle for a given key can be (no node:* imports). verifyBundle uses both before it
 * reads any value, so junk costs a size check, not a curve operation.
 */
import { MAX_JSON_DEPTH, type JsonBounds } from './bounds.ts';
import { unknownField } from './key.ts';

/** The fields of each object in a bundle, by path ('' is the root); `quantization.*` is compared whole with the key's. */
const BUNDLE_FIELDS: Record<string, readonly string[]> = {
  '': ['format', 'formatVersion', 'zkonnxVersion', 'modelSha256', 'vkSha256', 'keyKind', 'circuit', 'quantization', 'input', 'output', 'publicSignals', 'commitments', 'opening', 'proof', 'createdAt'],
  circuit: ['constraints', 'wires', 'publicSignals', 'publicInputs', 'visibility'],
  'circuit.publicInputs': ['layout', 'signals'],
  'circuit.visibility': ['input', 'output', 'params'],
  commitments: ['input', 'output', 'params'],
  opening: ['salt'],
  quantization: ['input', 'output'],
  input: ['name', 'shape', 'quantized'],
  output: ['name', 'shape', 'quantized', 'values', 'parts'],
  proof: ['pi_a', 'pi_b', 'pi_c', 'protocol', 'curve'],
};

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * The first field the bundle format does not define, as a dotted path ('circuit.extra'), or null. A field
 * whose value is undefined counts as absent. Objects where the format has another type are left to the
 * checks of their values.
 */
export function unknownBundleField(bundle: Record<string, unknown>): string | null {
  for (const [path, allowed] of Object.entries(BUNDLE_FIELDS)) {
    let o: unknown = bundle;
    for (const part of path ? path.split('.') : []) o = isObject(o) ? o[part] : undefined;
    if (!isObject(o)) continue;
    const extra = unknownField(o, allowed);
    if (extra !== undefined) return path ? `${path}.${extra}` : extra;
  }
  return null;
}

/** What an honest bundle for a key holds, in the terms bundleBounds needs. */
export interface BundleShape {
  /** Input values (uint8), output values and public signals. */
  nIn: number;
  nOut: number;
  nPublic: number;
  /** Dimensions in the input and output shapes together. */
  rank: number;
  /** Characters in the input and output tensor names together. */
  nameChars: number;
  /**
   * What the key's input and output parts (several inputs or outputs, integer inputs) add to an honest bundle:
   * it repeats them in `quantization` and shows each output part's values (default 0).
   */
  extraNodes?: number;
  extraChars?: number;
}

/** Longest zkonnxVersion and createdAt a bundle may state (both are the prover's word, shown to readers). */
export const MAX_BUNDLE_LABEL = 100;

/**
 * The largest bundle an honest prover writes for a key, with room to spare. Values: per output a signal, a
 * claimed integer and float and three quantization numbers (6; 8 allowed); per input value a claimed uint8
 * (1; 2 allowed); per public signal 1 (2 allowed); 4 per shape dimension (each shape appears twice); 1024 for
 * the rest (the proof is 21, the fixed fields some 60). Text: a field element has at most 77 digits, so 80
 * per output (its claimed integer) and per public signal; the names appear twice each (4x allowed); 4096
 * for the rest (12 proof coordinates of at most 77 digits, two hashes, field names, version and date of at
 * most 100 characters each). An MNIST MLP bundle (784 inputs, 10 outputs, 794 signals) holds 1,698 values
 * and 2,852 characters; its bounds are 4,276 values and 68,460 characters (packed: 940 values, bound 2,760).
 */
export function bundleBounds(s: BundleShape): JsonBounds {
  return {
    maxDepth: MAX_JSON_DEPTH,
    maxNodes: 1024 + 2 * s.nIn + 8 * s.nOut + 2 * s.nPublic + 4 * s.rank + (s.extraNodes ?? 0),
    maxChars: 4096 + 80 * s.nOut + 80 * s.nPublic + 4 * s.nameChars + (s.extraChars ?? 0),
  };
}
