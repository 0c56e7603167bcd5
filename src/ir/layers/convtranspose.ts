/** ConvTranspose and 1-D convolutions (src/ops/convtranspose.ts). */

/** Layer kinds of this family, joined into FloatLayer / QLayer in ../types.ts. */
export type ConvTransposeFloatLayer = never;
export type ConvTransposeQLayer = never;
