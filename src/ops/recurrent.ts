/** LSTM, GRU and RNN unrolled over the sequence (src/ops/recurrent.ts). */
import type { RecurrentFloatLayer, RecurrentQLayer } from '../ir/layers/recurrent.ts';
import type { FloatLayerDef, OpImporter, QLayerDef } from './types.ts';

export const recurrentImporters: OpImporter[] = [];

export const recurrentFloatDefs: { [K in RecurrentFloatLayer['kind']]: FloatLayerDef<Extract<RecurrentFloatLayer, { kind: K }>> } = {};

export const recurrentQDefs: { [K in RecurrentQLayer['kind']]: QLayerDef<Extract<RecurrentQLayer, { kind: K }>> } = {};
