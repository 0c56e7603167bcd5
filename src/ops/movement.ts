/** Data movement and lookups on activations (src/ops/movement.ts). */
import type { MovementFloatLayer, MovementQLayer } from '../ir/layers/movement.ts';
import type { FloatLayerDef, OpImporter, QLayerDef } from './types.ts';

export const movementImporters: OpImporter[] = [];

export const movementFloatDefs: { [K in MovementFloatLayer['kind']]: FloatLayerDef<Extract<MovementFloatLayer, { kind: K }>> } = {};

export const movementQDefs: { [K in MovementQLayer['kind']]: QLayerDef<Extract<MovementQLayer, { kind: K }>> } = {};
