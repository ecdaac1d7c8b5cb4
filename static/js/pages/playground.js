// The convolution playground: wiring only. Every number shown comes from the API
// (/api/samples, /api/image, /api/filters, /api/conv with its trace, /api/pool); this
// module loads, arranges and draws them, and does index bookkeeping for highlights.

import { ApiError, getJSON, postJSON } from "../api.js";
import { makeDrawable } from "../draw/canvas-input.js";
import { drawMap, drawRGB } from "../draw/heatmap.js";
import { renderArithmetic } from "../playground/arith.js";
import { FilterEditor } from "../playground/filters.js";
import { MatrixView } from "../playground/grid.js";
import { ConvGeometry, poolWindow } from "../playground/relations.js";
import { CUSTOM_TEXT, InputSource, fitWeights, loadPresets, resolveFilters, stored } from "../playground/sources.js";
import { LESSON_ACTIVATIONS, activation } from "../registry.js";
import { createState } from "../state.js";
import { $, debounce, el, fmt, showError } from "../util.js";

const MAX_FILTERS = 8;
const COURSE = {
  src: "sample", sample: "course-6x6", ksize: 3, filters: ["diagonal", "vertical"], bias: [0, 0],
  stride: 1, pad: "0", dil: 1, act: "none", pool: "none", k: 0, step: 0,
};
const DEFAULTS = {
  ...COURSE, channels: "L", size: 28, pk: 2, ps: 2, speed: 2,
};
// Filters offered, in this order, when "Add a filter" is pressed.
const ADD_ORDER = ["sobel_x", "sobel_y", "gaussian_blur", "sharpen", "laplacian", "emboss", "outline", "box_blur", "prewitt_x", "prewitt_y", "identity"];
const root = $("playground");
const state = createState(DEFAULTS);
sanitise();

// ---------------------------------------------------------------- state checks

function sanitise() {
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
  if (Object.keys(patch).length) state.set(patch);
}

// ---------------------------------------------------------------- page state

let generation = 0;
let current = null; // {s, input, presets, resolved, conv, pool, geom, C}
let traceCache = new Map();
let traceToken = 0;
let inputViews = [];
let weightViews = [];
let outView = null;
let volumeViews = { conv: [], act: [], pool: [] };

let renders = 0;

/** "loading" while a refresh runs; when it ends, its outcome and a new version number. */
function setStatus(status) {
  root.dataset.status = status;
  if (status !== "loading") root.dataset.version = String(++renders);
}

function channelNames(C) {
  return C === 3 ? ["R", "G", "B"] : ["grey"];
}

function paddingValue(pad) {
  return pad === "same" ? "same" : Number(pad);
}

function convBody(s, input, resolved) {
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

const scheduleRefresh = debounce(() => refresh(), 150);

async function refresh() {
  const gen = ++generation;
  traceToken++; // a trace asked for under the old settings must not be drawn
  pause();
  setStatus("loading");
  const s = state.all();
  syncControls(s);
  let input;
  try {
    input = await inputs.load(s);
  } catch (err) {
    if (gen !== generation) return;
    showError($("input-error"), err);
    setStatus("error");
    return;
  }
  if (gen !== generation) return;
  showError($("input-error"), null);
  renderInputPreview(s, input);
  const C = input.tensor.shape[0];
  let presets;
  try {
    presets = await loadPresets(s.ksize, C);
  } catch (err) {
    if (gen !== generation) return;
    showError($("size-error"), err);
    setStatus("error");
    return;
  }
  if (gen !== generation) return;
  const resolved = resolveFilters(s, presets, C);
  editor.render({ filters: resolved, size: s.ksize, channelNames: channelNames(C), presets: presets.list });
  $("filters-count").textContent = `(${resolved.length} of at most ${MAX_FILTERS})`;
  $("filters-rgb").hidden = C === 1;
  $("add-filter").disabled = resolved.length >= MAX_FILTERS;
  renderFilterChoice(resolved, s.k);

  const body = convBody(s, input, resolved);
  let conv;
  try {
    conv = await postJSON("/api/conv", body);
  } catch (err) {
    if (gen !== generation) return;
    if (!(err instanceof ApiError) || err.status !== 422) {
      // Busy (503) or unreachable: the settings may be fine, so nothing is wiped.
      showError($("size-error"), err);
      setStatus("error");
      return;
    }
    current = { s, input, presets, resolved, C, conv: null, body };
    showImpossible(err, s, input);
    setStatus("invalid");
    return;
  }
  if (gen !== generation) return;
  const pool = poolOf(conv.pool);
  const size = conv.output_size;
  const geom = new ConvGeometry(size.output_size, conv.windows);
  current = { s, input, presets, resolved, C, conv, pool, geom, body };
  traceCache = new Map();
  if (s.step >= geom.positions) state.set({ step: 0 });
  showSize(size);
  renderStepView();
  renderVolume();
  updateWindow();
  setStatus("ready");
}

/** The pooled maps of a /api/conv answer as one tensor, or {error} when that pooling cannot be. */
function poolOf(answer) {
  if (!answer) return null;
  if (answer.error) return { error: { detail: answer.error } };
  const { output, argmax, output_size: size, windows } = answer;
  return { ...output, argmax, size, windows };
}

// ---------------------------------------------------------------- rendering

function shapeText(h, w, c) {
  return `${h}×${w}×${c}`;
}

function renderInputPreview(s, input) {
  const [C, H, W] = input.tensor.shape;
  const canvas = $("input-thumb");
  if (C === 3) drawRGB(canvas, input.tensor.data, H, W);
  else drawMap(canvas, input.tensor.data, H, W, { scale: "grey", min: 0, max: 1 });
  $("input-shape").textContent = shapeText(H, W, C);
  const label = input.label && !input.title.includes(input.label) ? ` · label: ${input.label}` : "";
  const note = s.src === "sample" && s.sample === "course-6x6" ? " · a binary image, always 6×6 and one channel" : "";
  $("input-desc").textContent = `${input.title}${label}${note}`;
}

function showSize(size) {
  showError($("size-error"), null);
  $("size-formula").textContent = size.formula.replaceAll("*", "·");
  $("size-formula").hidden = false;
  const text = $("size-text");
  text.textContent = size.explanation;
  text.classList.toggle("warning", !size.fits);
  $("size-params").textContent = size.params ? `Learnable parameters: ${size.params.formula.replaceAll("*", "·")}.` : "";
}

function showImpossible(err, s, input) {
  const [, H] = input.tensor.shape;
  showError($("size-error"), err);
  // The formula with this layer's numbers, left unevaluated: the sentence above says why.
  const formula = $("size-formula");
  if (s.pad !== "same") {
    const f = s.dil === 1 ? `${s.ksize}` : `(${s.dil}·(${s.ksize}−1)+1)`;
    formula.textContent = `(${H} − ${f} + 2·${s.pad}) / ${s.stride} + 1`;
    formula.hidden = false;
  } else {
    formula.hidden = true;
  }
  $("size-text").textContent = "";
  $("size-params").textContent = "";
  const msg = () => el("p", { class: "notice" }, "No output for these settings: see the reason under “Layer settings”.");
  $("in-grids").replaceChildren(msg());
  $("w-grids").replaceChildren();
  $("out-grid").replaceChildren();
  $("arith").replaceChildren();
  $("volume").replaceChildren(msg());
  $("scrub").max = "0";
  $("pos-text").textContent = "";
  inputViews = [];
  weightViews = [];
  outView = null;
  volumeViews = { conv: [], act: [], pool: [] };
}

/** The half-width of a colour scale centred on 0, from the server's [min, max]. */
function absMax(lo, hi) {
  return Math.max(Math.abs(lo), Math.abs(hi));
}

function renderFilterChoice(resolved, k) {
  const select = $("kfilter");
  select.replaceChildren(...resolved.map((f, n) => el("option", { value: String(n) }, `Filter ${n + 1}: ${f.title}`)));
  select.value = String(Math.min(k, resolved.length - 1));
}

function renderStepView() {
  const { input, geom, conv, C } = current;
  const [, H, W] = input.tensor.shape;
  const pads = conv.output_size.pads;
  const names = channelNames(C);
  const tints = C === 3 ? ["red", "green", "blue"] : ["grey"];
  const [pt, pl, pb, pr] = pads;
  $("in-caption").textContent = `${shapeText(H, W, C)}${pt + pl + pb + pr ? `, padded to ${geom.padded[0]}×${geom.padded[1]}` : ""}`;
  inputViews = names.map((name, c) => {
    const box = el("div", { class: "pg-grid", dataset: { channel: name } });
    if (C > 1) box.append(el("p", { class: `pg-chname ch-${name}` }, `${name} channel`));
    const holder = el("div");
    box.append(holder);
    const view = new MatrixView(holder, {
      label: `Input, ${name} channel`,
      pixelWidth: C === 3 ? 210 : 380,
      cellsMax: C === 3 ? 10 : 16, // three stacked channels: numbers only while they stay small
      onHover: (r, col) => hoverInput(r, col),
    });
    view.render({ data: input.tensor.data, offset: c * H * W, h: H, w: W, pads, scale: { kind: tints[c], lo: 0, hi: 1 } });
    return { box, view };
  });
  $("in-grids").replaceChildren(...inputViews.map((v) => v.box));
  $("in-grids").classList.toggle("stacked", C > 1);
  inputViews = inputViews.map((v) => v.view);
  renderFilterAndOutput();
}

function renderFilterAndOutput() {
  const { s, C, resolved, conv } = current;
  const k = Math.min(s.k, resolved.length - 1);
  const names = channelNames(C);
  const F = s.ksize;
  const f = resolved[k];
  const wmax = absMax(...conv.filter_ranges[k]);
  $("w-caption").textContent = `${k + 1}: ${f.title}, ${shapeText(F, F, C)}, bias ${fmt(f.bias, 4)}`;
  weightViews = names.map((name, c) => {
    const box = el("div", { class: "pg-grid" });
    if (C > 1) box.append(el("p", { class: `pg-chname ch-${name}` }, `${name} slice`));
    const holder = el("div");
    box.append(holder);
    const view = new MatrixView(holder, { label: `Filter ${k + 1}, ${name} slice` });
    view.render({ data: f.weights, offset: c * F * F, h: F, w: F, scale: { kind: "diverging", absMax: wmax }, digits: 2 });
    return { box, view };
  });
  $("w-grids").replaceChildren(...weightViews.map((v) => v.box));
  $("w-grids").classList.toggle("stacked", C > 1);
  const pre = conv.pre_activation || conv.output;
  const [, ho, wo] = pre.shape;
  $("out-caption").textContent = `${k + 1}, ${ho}×${wo}${s.act !== "none" ? " (before the activation)" : ""}`;
  outView = new MatrixView($("out-grid"), {
    label: `Feature map ${k + 1}`,
    interactive: true,
    pixelWidth: 300,
    onHover: (i, j) => hoverOutput(k, i, j),
    onSelect: (i, j) => select(k, i, j),
  });
  outView.render({ data: pre.data, offset: k * ho * wo, h: ho, w: wo, scale: { kind: "diverging", absMax: absMax(pre.min, pre.max) } });
}

function stage(name, title, shape, text, extra = {}) {
  const maps = el("div", { class: "pg-maps" });
  const node = el(
    "section",
    { class: "pg-stage-step", dataset: { stage: name }, "aria-label": title },
    el("h3", {}, title, " ", el("span", { class: "shape mono" }, shape)),
    el("p", { class: "small muted" }, text),
    maps,
    extra.after || null,
  );
  return { node, maps };
}

function mapFigure(caption, build) {
  const holder = el("div");
  const fig = el("figure", { class: "fmap" }, holder, el("figcaption", { class: "small" }, caption));
  return { fig, view: build(holder) };
}

function renderVolume() {
  const { s, conv, pool, resolved } = current;
  const pre = conv.pre_activation || conv.output;
  const [K, ho, wo] = pre.shape;
  const parts = [];
  volumeViews = { conv: [], act: [], pool: [] };
  const addMaps = (st, key, tensor, opts) => {
    const [n, h, w] = tensor.shape;
    const scale = { kind: "diverging", absMax: absMax(tensor.min, tensor.max) };
    for (let c = 0; c < n; c++) {
      const { fig, view } = mapFigure(`Filter ${c + 1} · ${resolved[c].title}`, (holder) => {
        const v = new MatrixView(holder, { label: `${key} map ${c + 1}`, cellsMax: 10, pixelWidth: 150, ...opts(c) });
        v.render({ data: tensor.data, offset: c * h * w, h, w, scale });
        return v;
      });
      fig.dataset.h = String(h);
      fig.dataset.w = String(w);
      st.maps.append(fig);
      volumeViews[key].push(view);
    }
  };
  const convStage = stage(
    "conv", "Convolution", shapeText(ho, wo, K),
    `${K} filter${K > 1 ? "s" : ""}, each ${shapeText(s.ksize, s.ksize, current.C)}, give ${K} feature map${K > 1 ? "s" : ""} of ${ho}×${wo}.`,
  );
  addMaps(convStage, "conv", pre, (c) => ({
    interactive: true,
    onHover: (i, j) => hoverOutput(c, i, j),
    onSelect: (i, j) => select(c, i, j),
  }));
  parts.push(convStage.node);
  if (s.act !== "none") {
    const a = activation(s.act);
    const actStage = stage("act", a.title, shapeText(ho, wo, K), `${a.title}: ${a.formula}, applied to every value. ${a.note} The shape does not change.`);
    addMaps(actStage, "act", conv.output, (c) => ({
      interactive: true,
      onHover: (i, j) => hoverOutput(c, i, j),
      onSelect: (i, j) => select(c, i, j),
    }));
    parts.push(el("div", { class: "pg-arrow", "aria-hidden": "true" }, "↓"), actStage.node);
  }
  if (pool) {
    parts.push(el("div", { class: "pg-arrow", "aria-hidden": "true" }, "↓"));
    const title = `${s.pool === "max" ? "Max" : "Average"} pooling ${s.pk}×${s.pk}, stride ${s.ps}`;
    if (pool.error) {
      const st = stage("pool", title, "", "");
      st.maps.append(el("p", { class: "error", role: "alert" }, pool.error.detail || pool.error.message));
      parts.push(st.node);
    } else {
      const [, ph, pw] = pool.shape;
      const st = stage(
        "pool", title, shapeText(ph, pw, K),
        `Each ${s.pk}×${s.pk} window of every map is replaced by its ${s.pool === "max" ? "largest value" : "mean"}: ${pool.size.formula.replaceAll("*", "·")} per side. Pooling works on each map separately, so the depth stays ${K}.`,
      );
      addMaps(st, "pool", pool, (c) => ({ onHover: (i, j) => hoverPool(c, i, j) }));
      parts.push(st.node);
    }
  }
  $("volume").replaceChildren(...parts);
}

// ---------------------------------------------------------------- highlights

function hoverOutput(k, i, j) {
  if (!current?.geom) return;
  const cells = i === null ? null : current.geom.window(i, j);
  for (const v of inputViews) v.mark("rf", cells);
  if (outView) outView.mark("hover", i === null || k !== currentK() ? null : [[i, j]]);
  volumeViews.conv.forEach((v, n) => v.mark("hover", i === null || n !== k ? null : [[i, j]]));
}

function hoverInput(r, c) {
  if (!current?.geom) return;
  const hoverIn = r === null ? null : [r, c];
  const feeds = r === null ? null : current.geom.feeds(r, c);
  for (const v of inputViews) v.mark("hover", hoverIn ? [hoverIn] : null);
  if (outView) outView.mark("feeds", feeds);
  for (const v of volumeViews.conv) v.mark("feeds", feeds);
  for (const v of volumeViews.act) v.mark("feeds", feeds);
}

function hoverPool(c, i, j) {
  const { pool } = current;
  const before = volumeViews.act.length ? volumeViews.act : volumeViews.conv;
  before.forEach((v) => {
    v.mark("pwin", null);
    v.mark("max", null);
  });
  volumeViews.pool.forEach((v, n) => v.mark("hover", i === null || n !== c ? null : [[i, j]]));
  if (i === null) return;
  const target = before[c];
  target.mark("pwin", poolWindow(pool.windows, i, j));
  if (pool.argmax) {
    const [, ph, pw] = pool.shape;
    const n = (c * ph + i) * pw + j;
    target.mark("max", [[pool.argmax.rows[n], pool.argmax.cols[n]]]);
  }
}

function currentK() {
  return Math.min(state.get("k"), (current?.resolved.length || 1) - 1);
}

function select(k, i, j) {
  pause();
  const patch = { step: current.geom.step(i, j) };
  if (k !== currentK()) {
    patch.k = k;
    state.set(patch);
    $("kfilter").value = String(k);
    renderFilterAndOutput();
  } else {
    state.set(patch);
  }
  updateWindow();
}

function updateWindow() {
  if (!current?.geom) return;
  const { geom } = current;
  const n = geom.positions;
  const step = Math.min(state.get("step"), n - 1);
  const k = currentK();
  const [i, j] = geom.position(step);
  const cells = geom.window(i, j);
  for (const v of inputViews) v.mark("win", cells);
  if (outView) outView.mark("cur", [[i, j]]);
  volumeViews.conv.forEach((v, m) => v.mark("cur", m === k ? [[i, j]] : null));
  const scrub = $("scrub");
  scrub.max = String(n - 1);
  scrub.value = String(step);
  scrub.setAttribute("aria-valuetext", `row ${i}, column ${j}`);
  $("pos-text").textContent = `row ${i}, column ${j} · step ${step + 1} of ${n}`;
  $("back").disabled = step === 0;
  $("first").disabled = step === 0;
  $("fwd").disabled = step >= n - 1;
  loadTrace(k, i, j);
}

async function loadTrace(k, i, j) {
  const { s, input, resolved, body, C } = current;
  const key = `${k}|${i}|${j}`;
  const token = ++traceToken;
  const cache = traceCache; // the cache of the settings this trace is computed for
  const arith = $("arith");
  arith.dataset.status = "loading";
  let trace = cache.get(key);
  if (!trace) {
    // Only filter k is needed for this value: one filter keeps the reply small.
    const F = s.ksize;
    const { pool: _pool, ...convOnly } = body;
    const one = {
      ...convOnly,
      weights: { shape: [1, C, F, F], data: Array.from(resolved[k].weights) },
      bias: [resolved[k].bias],
      trace: [0, i, j],
    };
    try {
      trace = (await postJSON("/api/conv", one)).trace;
    } catch (err) {
      if (token !== traceToken) return;
      arith.replaceChildren(el("p", { class: "error", role: "alert" }, err.detail || err.message));
      arith.dataset.status = "error";
      return;
    }
    cache.set(key, trace);
  }
  if (token !== traceToken) return;
  renderArithmetic(arith, trace, {
    k, filterTitle: resolved[k].title, channelNames: channelNames(C), inputShape: input.tensor.shape,
  });
  arith.dataset.status = "ready";
}

// ---------------------------------------------------------------- player

let timer = null;

function setStep(step) {
  state.set({ step });
  updateWindow();
}

function play() {
  if (!current?.geom) return;
  if (state.get("step") >= current.geom.positions - 1) setStep(0);
  clearInterval(timer);
  timer = setInterval(() => {
    const next = state.get("step") + 1;
    if (!current?.geom || next >= current.geom.positions) {
      pause();
      return;
    }
    setStep(next);
  }, 1000 / state.get("speed"));
  const btn = $("play");
  btn.textContent = "⏸ Pause";
  btn.setAttribute("aria-label", "Pause");
  btn.setAttribute("aria-pressed", "true");
}

function pause() {
  if (timer === null) return;
  clearInterval(timer);
  timer = null;
  const btn = $("play");
  btn.textContent = "▶ Play";
  btn.setAttribute("aria-label", "Play");
  btn.setAttribute("aria-pressed", "false");
}

// ---------------------------------------------------------------- controls

function syncControls(s) {
  $("src").value = s.src;
  $("sample-field").hidden = s.src !== "sample";
  $("draw-box").hidden = s.src !== "draw";
  $("upload-box").hidden = s.src !== "upload";
  if ($("sample").querySelector(`option[value="${CSS.escape(s.sample)}"]`)) $("sample").value = s.sample;
  $("channels").value = s.channels;
  $("size").value = String(s.size);
  const fixed = s.src === "sample" && s.sample === "course-6x6";
  $("channels").disabled = fixed;
  $("size").disabled = fixed;
  $("ksize").value = String(s.ksize);
  if (document.activeElement !== $("stride")) $("stride").value = String(s.stride);
  $("pad").value = s.pad;
  if (document.activeElement !== $("dil")) $("dil").value = String(s.dil);
  $("act").value = s.act;
  $("pool").value = s.pool;
  if (document.activeElement !== $("pk")) $("pk").value = String(s.pk);
  if (document.activeElement !== $("ps")) $("ps").value = String(s.ps);
  $("pk").disabled = s.pool === "none";
  $("ps").disabled = s.pool === "none";
  $("speed").value = String(s.speed);
}

function change(patch, { now = false } = {}) {
  state.set(patch);
  if (now) refresh();
  else scheduleRefresh();
}

/** Wire a number box to `key`; `resets`: a new value moves the window back to the start. */
function numberInput(id, key, resets = false) {
  const input = $(id);
  input.addEventListener("input", () => {
    const text = input.value.trim();
    const v = Number(text);
    if (text === "" || !Number.isFinite(v)) return; // mid-typing: wait for a number
    const [lo, hi] = [Number(input.min), Number(input.max)];
    const ok = Number.isInteger(v) && v >= lo && v <= hi;
    input.setAttribute("aria-invalid", ok ? "false" : "true");
    if (!ok) {
      // The playground's own bounds (the API's limits): say so instead of sending it.
      const name = document.querySelector(`label[for="${id}"]`).textContent;
      showError($("size-error"), new Error(`${name} must be a whole number from ${lo} to ${hi}; ${text} is not used.`));
      return;
    }
    change({ [key]: v, ...(resets ? { step: 0 } : {}) });
  });
}

async function changeKernelSize(F) {
  const s = state.all();
  const C = current?.C ?? 1;
  try {
    const [oldP, newP] = await Promise.all([loadPresets(s.ksize, C), loadPresets(F, C)]);
    const resolved = resolveFilters(s, oldP, C);
    const filters = s.filters.map((f, n) => (typeof f === "string" && newP.byName[f] ? f : fitWeights(Array.from(resolved[n].weights), C, F)));
    change({ ksize: F, filters, step: 0 }, { now: true });
  } catch (err) {
    showError($("size-error"), err);
  }
}

function filterEdit(mutate) {
  const s = state.all();
  const filters = [...s.filters];
  const bias = [...s.bias];
  mutate(filters, bias);
  return { filters, bias };
}

const editor = new FilterEditor($("filters"), {
  preset(i, name) {
    const value = name === "custom" ? Array.from(current.resolved[i].weights) : name;
    const patch = filterEdit((f) => { f[i] = value; });
    if (name !== "custom") patch.k = i; // show the filter just chosen, step by step
    change(patch, { now: true });
  },
  weight(i, index, v) {
    const weights = Array.from(current.resolved[i].weights);
    weights[index] = v;
    current.resolved[i] = { ...current.resolved[i], name: "custom", title: "Custom", description: CUSTOM_TEXT, weights };
    change(filterEdit((f) => { f[i] = weights; }));
  },
  bias(i, v) {
    change(filterEdit((_, b) => { b[i] = v; }));
  },
  remove(i) {
    const patch = filterEdit((f, b) => {
      f.splice(i, 1);
      b.splice(i, 1);
    });
    const k = state.get("k");
    patch.k = k > i ? k - 1 : Math.min(k, patch.filters.length - 1);
    change(patch, { now: true });
  },
});

function wireControls() {
  const ks = $("ksize");
  for (let f = 1; f <= 7; f++) ks.append(el("option", { value: String(f) }, `${f}×${f}`));
  const pad = $("pad");
  for (let p = 0; p <= 10; p++) pad.append(el("option", { value: String(p) }, String(p)));
  pad.append(el("option", { value: "same" }, "same: D·(F − 1)/2"));

  $("course-s1").addEventListener("click", () => change({ ...COURSE }, { now: true }));
  $("course-s2").addEventListener("click", () => change({ ...COURSE, stride: 2 }, { now: true }));
  $("src").addEventListener("change", () => change({ src: $("src").value, step: 0 }, { now: true }));
  $("sample").addEventListener("change", () => change({ sample: $("sample").value, step: 0 }, { now: true }));
  $("channels").addEventListener("change", () => change({ channels: $("channels").value, step: 0 }, { now: true }));
  $("size").addEventListener("change", () => change({ size: Number($("size").value), step: 0 }, { now: true }));
  ks.addEventListener("change", () => changeKernelSize(Number(ks.value)));
  numberInput("stride", "stride", true);
  numberInput("dil", "dil", true);
  numberInput("pk", "pk");
  numberInput("ps", "ps");
  pad.addEventListener("change", () => change({ pad: pad.value, step: 0 }, { now: true }));
  $("act").addEventListener("change", () => change({ act: $("act").value }, { now: true }));
  $("pool").addEventListener("change", () => change({ pool: $("pool").value }, { now: true }));
  $("add-filter").addEventListener("click", async () => {
    const s = state.all();
    const presets = await loadPresets(s.ksize, current?.C ?? 1);
    const used = new Set(s.filters);
    const next = ADD_ORDER.find((n) => presets.byName[n] && !used.has(n)) || presets.list[0].name;
    change(filterEdit((f, b) => {
      f.push(next);
      b.push(0);
    }), { now: true });
  });
  $("kfilter").addEventListener("change", () => {
    state.set({ k: Number($("kfilter").value) });
    if (!current?.geom) return;
    renderFilterAndOutput();
    updateWindow();
  });
  $("play").addEventListener("click", () => (timer === null ? play() : pause()));
  $("first").addEventListener("click", () => {
    pause();
    setStep(0);
  });
  $("back").addEventListener("click", () => {
    pause();
    setStep(Math.max(0, state.get("step") - 1));
  });
  $("fwd").addEventListener("click", () => {
    pause();
    if (current?.geom) setStep(Math.min(current.geom.positions - 1, state.get("step") + 1));
  });
  $("scrub").addEventListener("input", () => {
    pause();
    setStep(Number($("scrub").value));
  });
  $("speed").addEventListener("change", () => {
    state.set({ speed: Number($("speed").value) });
    if (timer !== null) play();
  });
  $("upload").addEventListener("change", () => {
    inputs.uploadFile = $("upload").files[0] || null;
    if (inputs.uploadFile) change({ src: "upload", step: 0 }, { now: true });
  });
  $("draw-clear").addEventListener("click", () => drawing.clear());
}

let drawingReady = false;
const drawing = makeDrawable($("draw-canvas"), {
  lineWidth: 20,
  ink: "#fff",
  paper: "#000",
  onChange: () => {
    if (!drawingReady) return;
    inputs.drawn();
    if (state.get("src") === "draw") scheduleRefresh();
  },
});

const inputs = new InputSource(drawing);

/** Paint a kept drawing back into the drawing canvas after a reload. */
function restoreDrawing() {
  const kept = stored("draw");
  if (!kept) return;
  const [C, H, W] = kept.entry.tensor.shape;
  const small = document.createElement("canvas");
  if (C === 3) drawRGB(small, kept.entry.tensor.data, H, W);
  else drawMap(small, kept.entry.tensor.data, H, W, { scale: "grey", min: 0, max: 1 });
  const canvas = $("draw-canvas");
  canvas.getContext("2d").drawImage(small, 0, 0, canvas.width, canvas.height);
}

async function loadSamples() {
  const select = $("sample");
  try {
    const { samples } = await getJSON("/api/samples");
    const groups = { course: "The course", generated: "Generated", mnist: "MNIST (handwritten digits)", cifar10: "CIFAR-10 (photos)" };
    for (const [kind, title] of Object.entries(groups)) {
      const mine = samples.filter((x) => x.kind === kind);
      if (!mine.length) continue;
      select.append(el("optgroup", { label: title }, ...mine.map((x) => el("option", { value: x.name }, x.title + (x.label && !x.title.includes(x.label) ? ` (${x.label})` : "")))));
    }
    const others = samples.filter((x) => !(x.kind in groups));
    for (const x of others) select.append(el("option", { value: x.name }, x.title));
  } catch (err) {
    showError($("input-error"), err);
  }
}

wireControls();
restoreDrawing();
drawingReady = true;
await loadSamples();
refresh();
