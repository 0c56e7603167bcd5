/**
 * Geometry shared by Conv, ConvTranspose and the pooling ops: attribute parsing (kernel_shape, strides, pads,
 * auto_pad, dilations, ceil_mode) and the input positions each output position reads.
 *
 * 1-D ops (input [1, C, L]) use the 2-D geometry with H = 1: kernel [1, k], strides [1, s], pads [0, b, 0, e],
 * dilations [1, d]. Their layers keep the 3-D shapes ([1, C, L] in, [1, C', L'] out), so the next op sees
 * what ONNX computes; `spatialOf` reads a 3-D or 4-D shape as (C, H, W).
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

/** An integer-list attribute of a 1-D or 2-D op (exported for ConvTranspose's output_padding and output_shape). */
export function intsAttr(node: OnnxNode, ctx: ImportContext, name: string, n: number, dflt: number[] | undefined): number[] | undefined {
  return ints(node, ctx, name, n, dflt);
}

/** (C, H, W) of a [1, C, H, W] or [1, C, L] (H = 1, W = L) tensor. */
export function spatialOf(shape: number[]): [number, number, number] {
  return shape.length === 3 ? [shape[1], 1, shape[2]] : [shape[1], shape[2], shape[3]];
}

/** The output shape of a window op with `channels` channels, keeping the input's rank (1-D: [1, C, outW]). */
export function windowOutShape(inShape: number[], channels: number, outH: number, outW: number): number[] {
  return inShape.length === 3 ? [1, channels, outW] : [1, channels, outH, outW];
}

/** A 1-D window ([k], [s], [b, e], [d]) as the 2-D geometry with H = 1. */
export function lift1d(v: number[], kind: 'kernel' | 'pads'): number[] {
  return kind === 'pads' ? [0, v[0], 0, v[1]] : [1, v[0]];
}

/**
 * Parse the window attributes of a 1-D or 2-D op on an input [1, C, L] or [1, C, H, W]; `kernel` (one entry
 * per spatial dimension) is given for Conv (from the weights) and global pools. ceil_mode is read only when
 * `allowCeil` (the pools). Returns undefined after reporting an issue.
 */
export function parseWindow(node: OnnxNode, ctx: ImportContext, inShape: number[], kernel?: number[], allowCeil = false): (Window2d & { outH: number; outW: number }) | undefined {
  if ((inShape.length !== 4 && inShape.length !== 3) || inShape[0] !== 1) {
    ctx.issue(`input must be [1, C, H, W] (2-D) or [1, C, L] (1-D), batch 1, got [${inShape}]`);
    return undefined;
  }
  const nd = inShape.length - 2;
  const size = inShape.slice(2);
  const k = ints(node, ctx, 'kernel_shape', nd, kernel) ?? kernel;
  if (!k) {
    ctx.issue('kernel_shape is required');
    return undefined;
  }
  if (kernel && k.some((v, d) => v !== kernel[d])) {
    ctx.issue(`kernel_shape [${k}] differs from the weights' [${kernel}]`);
    return undefined;
  }
  const strides = ints(node, ctx, 'strides', nd, new Array(nd).fill(1));
  const dilations = ints(node, ctx, 'dilations', nd, new Array(nd).fill(1));
  let pads = ints(node, ctx, 'pads', 2 * nd, new Array(2 * nd).fill(0));
  const autoPadAttr = node.attrs.get('auto_pad');
  const autoPad = autoPadAttr?.type === 'string' ? autoPadAttr.value : 'NOTSET';
  const ceilAttr = node.attrs.get('ceil_mode');
  const ceil = !!ceilAttr && ceilAttr.type === 'int' && ceilAttr.value !== 0;
  if (ceil && !allowCeil) {
    ctx.issue('ceil_mode = 1 is not supported');
    return undefined;
  }
  if (!strides || !dilations || !pads) return undefined;
  if ([...strides, ...dilations, ...k].some((v) => v < 1) || pads.some((p) => p < 0)) {
    ctx.issue(`invalid window: kernel [${k}], strides [${strides}], dilations [${dilations}], pads [${pads}]`);
    return undefined;
  }
  const span = (d: number) => (k[d] - 1) * dilations[d] + 1;
  let out: number[];
  if (autoPad === 'VALID') {
    pads = new Array(2 * nd).fill(0);
  } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const p = new Array(2 * nd).fill(0);
    size.forEach((n, d) => {
      const o = Math.ceil(n / strides[d]);
      const total = Math.max(0, (o - 1) * strides[d] + span(d) - n);
      const small = Math.floor(total / 2);
      const [begin, end] = autoPad === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
      p[d] = begin;
      p[d + nd] = end;
    });
    pads = p;
  } else if (autoPad !== 'NOTSET') {
    ctx.issue(`auto_pad '${autoPad}' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER`);
    return undefined;
  }
  if (ceil && autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') {
    // ceil_mode: the last window may run past the end, but must start inside the input or the begin padding
    // (onnxruntime and PyTorch drop one that would start in the end padding).
    out = size.map((n, d) => {
      let o = Math.ceil((n + pads![d] + pads![d + nd] - span(d)) / strides[d]) + 1;
      if ((o - 1) * strides[d] >= n + pads![d]) o--;
      return o;
    });
  } else {
    out = size.map((n, d) => Math.floor((n + pads![d] + pads![d + nd] - span(d)) / strides[d]) + 1);
  }
  if (out.some((o) => o < 1)) {
    ctx.issue(`the window [${k}] does not fit the input [${size}] with pads [${pads}]`);
    return undefined;
  }
  if (nd === 1) {
    return { kernel: [1, k[0]], strides: [1, strides[0]], pads: [0, pads[0], 0, pads[1]], dilations: [1, dilations[0]], outH: 1, outW: out[0] };
  }
  return {
    kernel: [k[0], k[1]], strides: [strides[0], strides[1]], pads: [pads[0], pads[1], pads[2], pads[3]],
    dilations: [dilations[0], dilations[1]], outH: out[0], outW: out[1],
  };
}

/** Output spatial size of a window op (floor mode). */
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

/**
 * For output (oy, ox), how many taps lie inside the padded input (the image and its pads): the divisor of an
 * AveragePool with count_include_pad = 1. It is the kernel size except for a ceil_mode window that runs past
 * the end padding (onnxruntime divides by the part inside).
 */
export function paddedTapCount(w: Window2d, H: number, W: number, oy: number, ox: number): number {
  let n = 0;
  for (let ky = 0; ky < w.kernel[0]; ky++) {
    const iy = oy * w.strides[0] - w.pads[0] + ky * w.dilations[0];
    if (iy < -w.pads[0] || iy >= H + w.pads[2]) continue;
    for (let kx = 0; kx < w.kernel[1]; kx++) {
      const ix = ox * w.strides[1] - w.pads[1] + kx * w.dilations[1];
      if (ix >= -w.pads[1] && ix < W + w.pads[3]) n++;
    }
  }
  return n;
}
