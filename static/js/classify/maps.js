// Drawing the tensors the inspect API returns: feature maps (float16 base64), the model's
// input, and conv filters. Pure functions of canvas + data; nothing is computed here
// except the mapping of values to colours.

import { decodeF16 } from "../api.js";
import { drawMap, drawRGB } from "../draw/heatmap.js";

const decoded = new WeakMap();

/** The values of an f16 payload as a Float32Array (decoded once, then cached). */
export function values(payload) {
  let out = decoded.get(payload);
  if (!out) {
    out = decodeF16(payload);
    decoded.set(payload, out);
  }
  return out;
}

/** Map `c` of a (C, H, W) payload, on the layer's own diverging scale (server min/max). */
export function drawChannel(canvas, payload, c) {
  const [, h, w] = payload.shape;
  drawMap(canvas, values(payload), h, w, { offset: c * h * w, min: payload.min, max: payload.max });
}

/** A vector payload as a vertical strip, one cell per value. */
export function drawStrip(canvas, payload) {
  const n = payload.shape[0];
  drawMap(canvas, values(payload), n, 1, { min: payload.min, max: payload.max });
}

function range(data, from, to) {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = from; i < to; i++) {
    if (data[i] < lo) lo = data[i];
    if (data[i] > hi) hi = data[i];
  }
  return [lo, hi];
}

/**
 * The model's input tensor {shape: [1, C, H, W], data} as a picture: grey for one channel,
 * colour for three, stretched to the tensor's own range (the normalised values are not 0..1).
 */
export function drawInput(canvas, input, channel = null) {
  const [, c, h, w] = input.shape;
  const data = input.data;
  const plane = h * w;
  if (channel !== null) {
    drawMap(canvas, data, h, w, { offset: channel * plane });
    return;
  }
  const [lo, hi] = range(data, 0, data.length);
  if (c === 1) {
    drawMap(canvas, data, h, w, { scale: "grey", min: lo, max: hi });
    return;
  }
  const span = hi > lo ? hi - lo : 1;
  const stretched = new Float32Array(3 * plane);
  for (let i = 0; i < 3 * plane; i++) stretched[i] = (data[i] - lo) / span;
  drawRGB(canvas, stretched, h, w);
}

/**
 * Filter `f` of a weights payload (filters_shown, channels_shown, KH, KW): a colour picture
 * when the filter reads an RGB image, otherwise its slice for input channel `slice`.
 */
export function drawFilter(canvas, payload, f, slice = 0) {
  const [, cs, kh, kw] = payload.shape;
  const data = values(payload);
  const per = cs * kh * kw;
  if (payload.full_shape[1] === 3 && cs === 3 && slice === null) {
    const [lo, hi] = range(data, f * per, (f + 1) * per);
    const span = hi > lo ? hi - lo : 1;
    const rgb = new Float32Array(per);
    for (let i = 0; i < per; i++) rgb[i] = (data[f * per + i] - lo) / span;
    drawRGB(canvas, rgb, kh, kw);
    return;
  }
  const offset = f * per + (slice || 0) * kh * kw;
  const [lo, hi] = range(data, offset, offset + kh * kw);
  drawMap(canvas, data, kh, kw, { offset, min: lo, max: hi });
}

/** Value at (c, i, j) of a (C, H, W) payload, or at i of a vector payload. */
export function valueAt(payload, c, i = 0, j = 0) {
  const data = values(payload);
  if (payload.shape.length === 1) return data[c];
  const [, h, w] = payload.shape;
  return data[(c * h + i) * w + j];
}
