/** Data movement and lookups on activations (src/ops/movement.ts). */

/** Layer kinds of this family, joined into FloatLayer / QLayer in ../types.ts. */
export type MovementFloatLayer = never;
export type MovementQLayer = never;
