// The playground's section 6: the convolutions after the course (1x1, grouped, depthwise,
// depthwise-separable, transposed, 1-D, and a standard one to compare). The settings live in
// the page's state (op, op_*; mirrored to the URL); POST /api/playground/convolution answers
// a small seeded example, its counts and the traced arithmetic of one output value. This
// module draws the grids and marks the cells the trace names; ./kinds-arith.js writes the sums.

import { ApiError, getJSON, latestOnly, postJSON } from "../api.js";
import { $, debounce, el, formula, shape, showError } from "../util.js";
import { MatrixView } from "./grid.js";
import { renderKindArithmetic } from "./kinds-arith.js";
import { KIND_DEFAULTS, state, times } from "./model.js";

// Settings that show each operation well, applied when it is chosen (then free to edit).
const PRESETS = {
  standard: { op_size: 5, op_c: 2, op_k: 2, op_f: 3, op_s: 1, op_p: 0 },
  pointwise: { op_size: 4, op_c: 3, op_k: 2, op_f: 1, op_s: 1, op_p: 0 },
  grouped: { op_size: 5, op_c: 4, op_k: 4, op_f: 3, op_s: 1, op_p: 0, op_g: 2 },
  depthwise: { op_size: 5, op_c: 3, op_k: 3, op_f: 3, op_s: 1, op_p: 1 },
  separable: { op_size: 5, op_c: 3, op_k: 2, op_f: 3, op_s: 1, op_p: 1 },
  transposed: { op_size: 3, op_c: 1, op_k: 1, op_f: 3, op_s: 2, op_p: 1, op_opad: 1 },
  conv1d: { op_size: 10, op_c: 2, op_k: 2, op_f: 3, op_s: 1, op_p: 0 },
};
const FIELDS = { op_size: "kind-size", op_c: "kind-c", op_k: "kind-k", op_f: "kind-f", op_s: "kind-s", op_p: "kind-p", op_g: "kind-g", op_opad: "kind-opad" };
const root = $("kinds");
const fetchExample = latestOnly((body, opts) => postJSON("/api/playground/convolution", body, opts));
let current = null; // {s, d}: the settings and the API's answer drawn now
let renders = 0;

function setStatus(status) {
  root.dataset.status = status;
  if (status !== "loading") root.dataset.version = String(++renders);
}

/** Settings from the URL that the section cannot use go back to the defaults. */
function sanitise(names) {
  const s = state.all();
  const patch = {};
  if (!names.includes(s.op)) patch.op = KIND_DEFAULTS.op;
  for (const [key, id] of Object.entries(FIELDS)) {
    const input = $(id);
    const v = s[key];
    if (!(Number.isInteger(v) && v >= Number(input.min) && v <= Number(input.max))) patch[key] = KIND_DEFAULTS[key];
  }
  if (!(Number.isInteger(s.op_seed) && s.op_seed >= 0 && s.op_seed < 2 ** 31)) patch.op_seed = KIND_DEFAULTS.op_seed;
  const pos = s.op_pos;
  if (!(Array.isArray(pos) && pos.length === 3 && pos.every((v) => Number.isInteger(v) && v >= 0 && v <= 64))) patch.op_pos = [0, 0, 0];
  if (Object.keys(patch).length) state.set(patch);
}

function syncForm(s) {
  $("kind-op").value = s.op;
  for (const [key, id] of Object.entries(FIELDS)) if (document.activeElement !== $(id)) $(id).value = String(s[key]);
  $("kind-g").closest(".field").hidden = s.op !== "grouped";
  $("kind-opad").closest(".field").hidden = s.op !== "transposed";
  $("kind-f").disabled = s.op === "pointwise"; // always 1
  $("kind-k").disabled = s.op === "depthwise"; // one filter per channel
  if (s.op === "pointwise") $("kind-f").value = "1";
}

function body(s) {
  return {
    op: s.op, size: s.op_size, in_channels: s.op_c, filters: s.op_k, kernel_size: s.op_f, stride: s.op_s,
    padding: s.op_p, groups: s.op_g, output_padding: s.op_opad, seed: s.op_seed, position: s.op_pos,
  };
}

async function refresh() {
  const s = state.all();
  syncForm(s);
  setStatus("loading");
  let d;
  try {
    d = await fetchExample(body(s));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    showError($("kind-error"), err);
    $("kind-body").hidden = err.status === 422; // the numbers below belong to other settings
    setStatus("error");
    return;
  }
  if (d === undefined) return; // a newer request took over
  showError($("kind-error"), null);
  $("kind-body").hidden = false;
  current = { s, d };
  render();
  setStatus("ready");
}

const scheduleRefresh = debounce(refresh, 150);

/** A setting changed: the traced position starts again at the first output. */
function change(patch, now = false) {
  state.set({ ...patch, op_pos: [0, 0, 0] });
  if (now) refresh();
  else scheduleRefresh();
}

function tensorView(holder, label, data, offset, h, w, opts = {}) {
  const view = new MatrixView(holder, { label, cellsMax: 30, pixelWidth: 320, ...opts });
  const lo = opts.lo ?? -1;
  const hi = opts.hi ?? 1;
  const scale = opts.tint ? { kind: "grey", lo, hi } : { kind: "diverging", absMax: Math.max(Math.abs(lo), Math.abs(hi), 1e-9) };
  view.render({ data, offset, h, w, pads: opts.pads || [0, 0, 0, 0], scale, digits: 2 });
  return view;
}

function gridBox(parent, title) {
  const holder = el("div");
  parent.append(el("div", { class: "pg-grid" }, el("p", { class: "pg-chname" }, title), holder));
  return holder;
}

function render() {
  const { s, d } = current;
  const t = d.trace;
  const oneD = d.op === "conv1d";
  const [K] = d.output_shape;
  const [k, i, j] = t.position;
  $("kind-explain").textContent = times(d.explanation);
  $("kind-shape").textContent = `${shape(d.input_shape)} → ${shape(d.output_shape)}`;
  $("kind-size-formula").textContent = formula(d.size_formula);
  $("kind-params").textContent = formula(d.params.formula);
  $("kind-macs").textContent = formula(d.macs.formula);
  $("kind-stages-row").hidden = !d.stages.length;
  $("kind-stages").replaceChildren(...d.stages.map((st) => el("span", { class: "pg-kind-stage-line" },
    `${st.name}: ${shape(st.output_shape)}, ${formula(st.params_formula)} parameters, ${formula(st.macs_formula)} multiply-adds`)));
  $("kind-savings").textContent = times(d.savings);
  const kout = $("kind-kout");
  kout.replaceChildren(...Array.from({ length: K }, (_, n) => el("option", { value: String(n) }, `${n} of ${K}`)));
  kout.value = String(k);

  // Input: one grid per channel, padding hatched (a transposed convolution crops instead).
  const x = d.input;
  const [C] = x.shape;
  const H = oneD ? 1 : x.shape[1];
  const W = oneD ? x.shape[1] : x.shape[2];
  const P = s.op_p;
  const pads = d.op === "transposed" ? [0, 0, 0, 0] : oneD ? [0, P, 0, P] : [P, P, P, P];
  $("kind-in-caption").textContent = shape(x.shape);
  const inBox = $("kind-in");
  inBox.replaceChildren();
  // The input cells the traced value reads (a separable one: through its depthwise step).
  const read = d.op === "separable" ? t.stage_values.flatMap((sv) => sv.terms) : t.terms;
  for (let c = 0; c < C; c++) {
    const view = tensorView(gridBox(inBox, `channel ${c}`), `Input channel ${c}`, x.data, c * H * W, H, W, { pads, tint: true, lo: 0, hi: Math.max(x.max, 1) });
    view.mark("win", read.filter((term) => term.channel === c).map((term) => [term.row + pads[0], term.col + pads[1]]));
  }
  renderWeights(d, k);
  renderMiddle(d, i, j);

  // Output channel k: click a value to trace it.
  const out = d.output;
  const OH = oneD ? 1 : out.shape[1];
  const OW = oneD ? out.shape[1] : out.shape[2];
  $("kind-out-caption").textContent = `channel ${k} of the ${shape(d.output_shape)} volume`;
  const outView = tensorView($("kind-out"), `Output channel ${k}`, out.data, k * OH * OW, OH, OW, {
    lo: out.min, hi: out.max, interactive: true,
    onSelect: (r, c) => trace([k, r, c]),
  });
  outView.mark("cur", [[oneD ? 0 : i, j]]);
  const step = (oneD ? 0 : i) * OW + j;
  $("kind-pos").textContent = `Output channel ${k}, ${oneD ? `position ${j}` : `row ${i}, column ${j}`} · value ${step + 1} of ${OH * OW}`;
  $("kind-back").disabled = step === 0;
  $("kind-fwd").disabled = step >= OH * OW - 1;
  renderViews(d);
  renderKindArithmetic($("kind-arith"), d);
  $("kind-arith").dataset.position = t.position.join(",");
}

/** The weights output channel k uses: one slice per input channel it reads. */
function renderWeights(d, k) {
  const box = $("kind-w");
  box.replaceChildren();
  const w = d.weights;
  const t = d.trace;
  const range = { lo: w.min, hi: w.max };
  if (d.op === "transposed") {
    const [C, K, F] = w.shape;
    $("kind-w-caption").textContent = `Kernel of output channel ${k}: w[c, ${k}], one ${F}×${F} slice per input channel`;
    for (let c = 0; c < C; c++) {
      const view = tensorView(gridBox(box, `input channel ${c}`), `Kernel slice ${c}`, w.data, (c * K + k) * F * F, F, F, range);
      view.mark("win", t.terms.filter((term) => term.channel === c).map((term) => term.tap));
    }
    return;
  }
  if (d.op === "separable") {
    const [C, , F] = w.shape;
    $("kind-w-caption").textContent = `Depthwise filters (one ${F}×${F} per channel), then the 1×1 weights of output ${k}`;
    for (let c = 0; c < C; c++) tensorView(gridBox(box, `channel ${c}`), `Depthwise filter ${c}`, w.data, c * F * F, F, F, range);
    const pw = d.pointwise_weights;
    tensorView(gridBox(box, `1×1 weights of output ${k} (one per channel)`), "Pointwise weights", pw.data, k * C, 1, C, { lo: pw.min, hi: pw.max });
    return;
  }
  const oneD = d.op === "conv1d";
  const [, Cg, FH] = w.shape;
  const FW = oneD ? FH : w.shape[3];
  const rows = oneD ? 1 : FH;
  $("kind-w-caption").textContent = `Filter ${k}: ${Cg} slice${Cg > 1 ? "s" : ""} of ${oneD ? FW : `${rows}×${FW}`}`;
  for (let c = 0; c < Cg; c++) {
    tensorView(gridBox(box, `reads input channel ${t.channels[c]}`), `Filter ${k}, slice ${c}`, w.data, (k * Cg + c) * rows * FW, rows, FW, range);
  }
}

/** The separable's depthwise output and the transposed convolution's zero-inserted input. */
function renderMiddle(d, i, j) {
  const fig = $("kind-mid-fig");
  const box = $("kind-mid");
  box.replaceChildren();
  fig.hidden = !(d.depthwise_output || d.trace.zero_view);
  if (d.depthwise_output) {
    const m = d.depthwise_output;
    const [C, H, W] = m.shape;
    $("kind-mid-caption").textContent = `After the depthwise step, ${shape(m.shape)}`;
    for (let c = 0; c < C; c++) {
      tensorView(gridBox(box, `channel ${c}`), `Depthwise output ${c}`, m.data, c * H * W, H, W, { lo: m.min, hi: m.max }).mark("cur", [[i, j]]);
    }
  } else if (d.trace.zero_view) {
    const z = d.trace.zero_view;
    const [C, H, W] = z.input.shape;
    $("kind-mid-caption").textContent = `Zero-inserted input, ${H}×${W}; blue cells hold the input`;
    const window = z.rows.flatMap((r) => z.cols.map((c) => [r, c]));
    const real = [];
    z.source_rows.forEach((a, r) => z.source_cols.forEach((b, c) => { if (a >= 0 && b >= 0) real.push([r, c]); }));
    for (let c = 0; c < C; c++) {
      const view = tensorView(gridBox(box, `channel ${c}`), `Zero-inserted input ${c}`, z.input.data, c * H * W, H, W, { tint: true, lo: 0, hi: Math.max(z.input.max, 1) });
      view.mark("feeds", real);
      view.mark("win", window);
    }
    const zw = z.weights;
    const [, F] = zw.shape;
    for (let c = 0; c < C; c++) {
      tensorView(gridBox(box, `kernel turned 180°, channel ${c}`), `Turned kernel ${c}`, zw.data, c * F * F, F, F, { lo: zw.min, hi: zw.max });
    }
  }
}

function renderViews(d) {
  const box = $("kind-views");
  if (!d.views) {
    box.replaceChildren();
    return;
  }
  const names = { scatter: "1. Scatter", zero_insertion: "2. Zero insertion", gradient: "3. The gradient of a convolution" };
  box.replaceChildren(...Object.entries(names).map(([key, title]) => el("div", { class: "pg-kind-view", dataset: { view: key } }, el("h3", {}, title), el("p", { class: "small" }, times(d.views[key])))));
}

/** Trace output [k, i, j] (a click, Back/Next or the channel menu). */
function trace(pos) {
  state.set({ op_pos: pos });
  refresh();
}

function stepBy(delta) {
  if (!current) return;
  const { d } = current;
  const oneD = d.op === "conv1d";
  const [k, i, j] = d.trace.position;
  const OW = d.output_shape[oneD ? 1 : 2];
  const OH = oneD ? 1 : d.output_shape[1];
  const n = Math.max(0, Math.min(OH * OW - 1, i * OW + j + delta));
  trace([k, Math.floor(n / OW), n % OW]);
}

function numberField(key, id) {
  const input = $(id);
  input.addEventListener("input", () => {
    const text = input.value.trim();
    const v = Number(text);
    if (text === "" || !Number.isFinite(v)) return;
    const ok = Number.isInteger(v) && v >= Number(input.min) && v <= Number(input.max);
    input.setAttribute("aria-invalid", ok ? "false" : "true");
    if (!ok) {
      const name = document.querySelector(`label[for="${id}"]`).firstChild.textContent.trim();
      showError($("kind-error"), new Error(`${name} must be a whole number from ${input.min} to ${input.max}; ${text} is not used.`));
      return;
    }
    change({ [key]: v });
  });
}

/** Fill the operation menu from the API, wire the controls and draw the first example. */
export async function initKinds() {
  let names;
  try {
    const { operations } = await getJSON("/api/playground/operations");
    $("kind-op").replaceChildren(...operations.map((o) => el("option", { value: o.name }, times(o.title))));
    names = operations.map((o) => o.name);
  } catch (err) {
    showError($("kind-error"), err);
    setStatus("error");
    return;
  }
  sanitise(names);
  $("kind-op").addEventListener("change", () => {
    const op = $("kind-op").value;
    change({ op, op_g: KIND_DEFAULTS.op_g, op_opad: KIND_DEFAULTS.op_opad, ...PRESETS[op] }, true);
  });
  for (const [key, id] of Object.entries(FIELDS)) numberField(key, id);
  $("kind-seed").addEventListener("click", () => change({ op_seed: (state.get("op_seed") + 1) % 2 ** 31 }, true));
  $("kind-kout").addEventListener("change", () => trace([Number($("kind-kout").value), 0, 0]));
  $("kind-back").addEventListener("click", () => stepBy(-1));
  $("kind-fwd").addEventListener("click", () => stepBy(1));
  await refresh();
}
