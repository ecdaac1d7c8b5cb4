// The playground's shared state: the settings (one state object, mirrored to the URL)
// checked on load, what the last refresh computed (`ui.current`) and the views drawn
// from it, and the small helpers every part uses.

import { LESSON_ACTIVATIONS } from "../registry.js";
import { createState } from "../state.js";
import { TIMES, prose } from "../util.js";

export const MAX_FILTERS = 8;
export const COURSE = {
  src: "sample", sample: "course-6x6", ksize: 3, filters: ["diagonal", "vertical"], bias: [0, 0],
  stride: 1, pad: "0", dil: 1, act: "none", pool: "none", k: 0, step: 0,
};
// Section 6, the other kinds of convolution (see ./kinds.js): the operation and its example.
export const KIND_DEFAULTS = {
  op: "standard", op_size: 5, op_c: 2, op_k: 2, op_f: 3, op_s: 1, op_p: 0, op_g: 2, op_opad: 0,
  op_seed: 1, op_pos: [0, 0, 0],
};
// all: the finished maps at once (otherwise they build up as the window slides);
// scale: "shared" (one colour scale for every map of a stage) or "map" (each its own).
export const DEFAULTS = {
  ...COURSE, channels: "L", size: 28, pk: 2, ps: 2, speed: 2, all: false, scale: "shared", ...KIND_DEFAULTS,
};
// Filters offered, in this order, when "Add a filter" is pressed.
export const ADD_ORDER = ["sobel_x", "sobel_y", "gaussian_blur", "sharpen", "laplacian", "emboss", "outline", "box_blur", "prewitt_x", "prewitt_y", "identity"];
export const state = createState(DEFAULTS);

/** What the last refresh computed, and the views drawn from it (see ./stages.js). */
export const ui = {
  current: null, // {s, input, presets, resolved, conv, pool, geom, C, body}
  traceCache: new Map(),
  traceToken: 0,
  inputViews: [],
  weightViews: [],
  outView: null,
  volumeViews: { conv: [], act: [], pool: [] },
};

/** Settings from the URL that the page cannot use are put back to the defaults. */
export function sanitise() {
  const s = state.all();
  const patch = {};
  if (!["sample", "draw", "upload"].includes(s.src)) patch.src = "sample";
  if (!["L", "RGB"].includes(s.channels)) patch.channels = "L";
  if (!["8", "12", "16", "28", "32", "48", "64"].includes(String(s.size))) patch.size = DEFAULTS.size;
  if (!(Number.isInteger(s.ksize) && s.ksize >= 1 && s.ksize <= 7)) patch.ksize = 3;
  const okFilter = (f) => typeof f === "string" || (Array.isArray(f) && f.length <= 3 * 49 && f.every(Number.isFinite));
  let filters = Array.isArray(s.filters) ? s.filters.filter(okFilter).slice(0, MAX_FILTERS) : [];
  if (!filters.length) filters = [...DEFAULTS.filters];
  if (JSON.stringify(filters) !== JSON.stringify(s.filters)) patch.filters = filters;
  const bias = filters.map((_, n) => (Number.isFinite(s.bias?.[n]) ? s.bias[n] : 0));
  if (JSON.stringify(bias) !== JSON.stringify(s.bias)) patch.bias = bias;
  if (!(s.pad === "same" || /^\d{1,2}$/.test(s.pad))) patch.pad = "0";
  if (s.act !== "none" && !LESSON_ACTIVATIONS.some((a) => a.name === s.act)) patch.act = "none";
  if (!["none", "max", "avg"].includes(s.pool)) patch.pool = "none";
  if (!(Number.isInteger(s.k) && s.k >= 0 && s.k < filters.length)) patch.k = 0;
  if (!(Number.isInteger(s.step) && s.step >= 0)) patch.step = 0;
  if (![0.5, 1, 2, 4, 8, 16].includes(s.speed)) patch.speed = DEFAULTS.speed;
  if (typeof s.all !== "boolean") patch.all = false;
  if (!["shared", "map"].includes(s.scale)) patch.scale = "shared";
  if (Object.keys(patch).length) state.set(patch);
}

export function channelNames(C) {
  return C === 3 ? ["R", "G", "B"] : ["grey"];
}

export function paddingValue(pad) {
  return pad === "same" ? "same" : Number(pad);
}

export function convBody(s, input, resolved) {
  const C = input.tensor.shape[0];
  const body = {
    input: input.tensor,
    weights: { shape: [resolved.length, C, s.ksize, s.ksize], data: resolved.flatMap((f) => Array.from(f.weights)) },
    bias: resolved.map((f) => f.bias),
    stride: s.stride,
    padding: paddingValue(s.pad),
    dilation: s.dil,
  };
  if (s.act !== "none") body.activation = s.act;
  // Pooled in the same request: the conv output never travels back to the server.
  if (s.pool !== "none") body.pool = { mode: s.pool, kernel_size: s.pk, stride: s.ps };
  return body;
}

/** A shape as the course writes it, height×width×channels. */
export function shapeText(h, w, c) {
  return [h, w, c].join(TIMES);
}

/** A server sentence written as every page writes numbers (util.prose): "3x3" -> "3×3". */
export const times = prose;

/** The half-width of a colour scale centred on 0, from the server's [min, max]. */
export function absMax(lo, hi) {
  return Math.max(Math.abs(lo), Math.abs(hi));
}
