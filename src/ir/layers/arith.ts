/** Products of two activations, comparisons and selection (src/ops/arith.ts). */

/** Layer kinds of this family, joined into FloatLayer / QLayer in ../types.ts. */
export type ArithFloatLayer = never;
export type ArithQLayer = never;
