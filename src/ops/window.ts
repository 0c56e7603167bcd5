/**
 * Geometry shared by Conv and the pooling ops: attribute parsing (kernel_shape, strides, pads, auto_pad,
 * dilations) and the input positions each output position reads.
 */
import type { OnnxNode } from '../onnx/load.ts';
import type { Window2d } from '../ir/types.ts';
import type { ImportContext } from './types.ts';

function ints(node: OnnxNode, ctx: ImportContext, name: string, n: number, dflt: number[] | undefined): number[] | undefined {
  const a = node.attrs.get(name);
  if (!a) return dflt;
  if (a.type !== 'ints' || a.value.length !== n) {
    ctx.issue(`attribute '${name}' must be ${n} ints, got ${a.type === 'ints' ? `[${a.value}]` : a.type}`);
    return undefined;
  }
  return a.value;
}

/**
 * Parse the window attributes of a 2-D op on an input [1, C, H, W]; `kernel` is given for Conv (from the
 * weights) and global pools. Returns undefined after reporting an issue.
 */
export function parseWindow(node: OnnxNode, ctx: ImportContext, inShape: number[], kernel?: [number, number]): (Window2d & { outH: number; outW: number }) | undefined {
  if (inShape.length !== 4 || inShape[0] !== 1) {
    ctx.issue(`input must be [1, C, H, W] (2-D, batch 1), got [${inShape}]`);
    return undefined;
  }
  const [, , H, W] = inShape;
  const k = (ints(node, ctx, 'kernel_shape', 2, kernel) ?? kernel) as [number, number] | undefined;
  if (!k) {
    ctx.issue('kernel_shape is required');
    return undefined;
  }
  if (kernel && (k[0] !== kernel[0] || k[1] !== kernel[1])) {
    ctx.issue(`kernel_shape [${k}] differs from the weights' [${kernel}]`);
    return undefined;
  }
  const strides = ints(node, ctx, 'strides', 2, [1, 1]);
  const dilations = ints(node, ctx, 'dilations', 2, [1, 1]);
  let pads = ints(node, ctx, 'pads', 4, [0, 0, 0, 0]);
  const autoPadAttr = node.attrs.get('auto_pad');
  const autoPad = autoPadAttr?.type === 'string' ? autoPadAttr.value : 'NOTSET';
  const ceil = node.attrs.get('ceil_mode');
  if (ceil && ceil.type === 'int' && ceil.value !== 0) {
    ctx.issue('ceil_mode = 1 is not supported');
    return undefined;
  }
  if (!strides || !dilations || !pads) return undefined;
  if ([...strides, ...dilations, ...k].some((v) => v < 1) || pads.some((p) => p < 0)) {
    ctx.issue(`invalid window: kernel [${k}], strides [${strides}], dilations [${dilations}], pads [${pads}]`);
    return undefined;
  }
  const span = (d: number) => (k[d] - 1) * dilations[d] + 1;
  if (autoPad === 'VALID') {
    pads = [0, 0, 0, 0];
  } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const p = [0, 0, 0, 0];
    [H, W].forEach((size, d) => {
      const out = Math.ceil(size / strides[d]);
      const total = Math.max(0, (out - 1) * strides[d] + span(d) - size);
      const small = Math.floor(total / 2);
      const [begin, end] = autoPad === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
      p[d] = begin;
      p[d + 2] = end;
    });
    pads = p;
  } else if (autoPad !== 'NOTSET') {
    ctx.issue(`auto_pad '${autoPad}' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER`);
    return undefined;
  }
  const outH = Math.floor((H + pads[0] + pads[2] - span(0)) / strides[0]) + 1;
  const outW = Math.floor((W + pads[1] + pads[3] - span(1)) / strides[1]) + 1;
  if (outH < 1 || outW < 1) {
    ctx.issue(`the window [${k}] does not fit the input [${H}, ${W}] with pads [${pads}]`);
    return undefined;
  }
  return {
    kernel: [k[0], k[1]], strides: [strides[0], strides[1]], pads: [pads[0], pads[1], pads[2], pads[3]],
    dilations: [dilations[0], dilations[1]], outH, outW,
  };
}

/** Output spatial size of a window op. */
export function windowOut(w: Window2d, H: number, W: number): [number, number] {
  const span = (d: number) => (w.kernel[d] - 1) * w.dilations[d] + 1;
  return [
    Math.floor((H + w.pads[0] + w.pads[2] - span(0)) / w.strides[0]) + 1,
    Math.floor((W + w.pads[1] + w.pads[3] - span(1)) / w.strides[1]) + 1,
  ];
}

/**
 * For output (oy, ox), the taps inside the image: [kernel index ky*kw+kx, input index iy*W+ix] pairs.
 * Taps in the padding are left out (they read zero for Conv and are ignored by pooling).
 */
export function windowTaps(w: Window2d, H: number, W: number, oy: number, ox: number): [number, number][] {
  const taps: [number, number][] = [];
  for (let ky = 0; ky < w.kernel[0]; ky++) {
    const iy = oy * w.strides[0] - w.pads[0] + ky * w.dilations[0];
    if (iy < 0 || iy >= H) continue;
    for (let kx = 0; kx < w.kernel[1]; kx++) {
      const ix = ox * w.strides[1] - w.pads[1] + kx * w.dilations[1];
      if (ix < 0 || ix >= W) continue;
      taps.push([ky * w.kernel[1] + kx, iy * W + ix]);
    }
  }
  return taps;
}



