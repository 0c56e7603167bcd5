/** LSTM, GRU and RNN unrolled over the sequence (src/ops/recurrent.ts). */

/** Layer kinds of this family, joined into FloatLayer / QLayer in ../types.ts. */
export type RecurrentFloatLayer = never;
export type RecurrentQLayer = never;
