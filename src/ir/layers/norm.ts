/** Reductions, normalizations and Softmax inside a network (src/ops/norm.ts). */

/** Layer kinds of this family, joined into FloatLayer / QLayer in ../types.ts. */
export type NormFloatLayer = never;
export type NormQLayer = never;
