// The playground's views of one refresh: the input preview, the output-size formula (or
// why there is no output), the step-by-step grids (input, filter, feature map) and the
// volume (every feature map, the activation, the pooling), all drawn from the API's answer.

import { drawMap, drawRGB } from "../draw/heatmap.js";
import { activation } from "../registry.js";
import { $, el, fmt, formula, showError, square } from "../util.js";
import { refit } from "./fit.js";
import { MatrixView } from "./grid.js";
import { absMax, channelNames, shapeText, state, times, ui } from "./model.js";
import { hoverInput, hoverOutput, hoverPool, select } from "./steps.js";

export function renderInputPreview(s, input) {
  const [C, H, W] = input.tensor.shape;
  const canvas = $("input-thumb");
  if (C === 3) drawRGB(canvas, input.tensor.data, H, W);
  else drawMap(canvas, input.tensor.data, H, W, { scale: "grey", min: 0, max: 1 });
  $("input-shape").textContent = shapeText(H, W, C);
  const label = input.label && !input.title.includes(input.label) ? ` · label: ${input.label}` : "";
  const note = s.src === "sample" && s.sample === "course-6x6" ? " · a binary image, always 6×6 and one channel" : "";
  $("input-desc").textContent = times(`${input.title}${label}${note}`);
  $("input-scale").textContent = C === 3
    ? "Each value is how much of its colour (red, green or blue) a pixel has, from 0 (none) to 1 (full): 0, 0, 0 is black and 1, 1, 1 white."
    : "Each value is a pixel's brightness, 0 = black, 1 = white.";
}

/** The colour scale of map `k`: one for the whole stage (its min/max), or the map's own
 * range (the API's map_ranges) when "each map on its own scale" is on. */
function mapScale(tensor, ranges, k) {
  const [lo, hi] = state.get("scale") === "map" && ranges ? ranges[k] : [tensor.min, tensor.max];
  return { kind: "diverging", absMax: absMax(lo, hi) };
}

export function showSize(size) {
  showError($("size-error"), null);
  $("size-formula").textContent = formula(size.formula);
  $("size-formula").hidden = false;
  const text = $("size-text");
  text.textContent = times(size.explanation);
  text.classList.toggle("warning", !size.fits);
  text.hidden = false;
  $("size-params").textContent = size.params ? `Learnable parameters: ${formula(size.params.formula)}.` : "";
}

export function showImpossible(err) {
  showError($("size-error"), err);
  $("size-error").textContent = times($("size-error").textContent);
  // The output-size sum with this layer's numbers (from the 422): the sentence above says why.
  const sum = $("size-formula");
  const text = err.body?.formula;
  sum.textContent = text ? formula(text) : "";
  sum.hidden = !text;
  const sizeText = $("size-text");
  sizeText.textContent = "";
  sizeText.classList.remove("warning"); // no empty warning bar above the error
  sizeText.hidden = true;
  $("size-params").textContent = "";
  const msg = () => el("p", { class: "notice" }, "No output for these settings: see the reason under “Layer settings”.");
  $("in-grids").replaceChildren(msg());
  $("w-grids").replaceChildren();
  $("out-grid").replaceChildren();
  $("w-caption").textContent = ""; // they described the last layer that worked
  $("out-caption").textContent = "";
  $("arith").replaceChildren();
  $("beam").replaceChildren();
  $("fill-text").textContent = "";
  $("volume").replaceChildren(msg());
  $("scrub").max = "0";
  $("pos-text").textContent = "";
  ui.inputViews = [];
  ui.weightViews = [];
  ui.outView = null;
  ui.volumeViews = { conv: [], act: [], pool: [] };
}

export function renderFilterChoice(resolved, k) {
  const select = $("kfilter");
  select.replaceChildren(...resolved.map((f, n) => el("option", { value: String(n) }, `${n}: ${f.title}`)));
  select.value = String(Math.min(k, resolved.length - 1));
}

export function renderStepView() {
  const { input, geom, conv, C } = ui.current;
  const [, H, W] = input.tensor.shape;
  const pads = conv.output_size.pads;
  const names = channelNames(C);
  const tints = C === 3 ? ["red", "green", "blue"] : ["grey"];
  const [pt, pl, pb, pr] = pads;
  $("in-caption").textContent = `${shapeText(H, W, C)}${pt + pl + pb + pr ? `, padded to ${shapeText(...geom.padded, C)}` : ""}`;
  ui.inputViews = names.map((name, c) => {
    const box = el("div", { class: "pg-grid", dataset: { channel: name } });
    if (C > 1) box.append(el("p", { class: `pg-chname ch-${name}` }, `${name} channel`));
    const holder = el("div");
    box.append(holder);
    const view = new MatrixView(holder, {
      label: `Input, ${name} channel`,
      // Numbers while the grid stays small enough to fit the screen with them; three
      // channels side by side: smaller, and as pixels (every RGB sample is 8 px or more).
      pixelWidth: C === 3 ? 150 : 260,
      cellsMax: C === 3 ? 6 : 10,
      fit: true,
      onHover: (r, col) => hoverInput(r, col),
    });
    view.render({ data: input.tensor.data, offset: c * H * W, h: H, w: W, pads, scale: { kind: tints[c], lo: 0, hi: 1 } });
    return { box, view };
  });
  $("in-grids").replaceChildren(...ui.inputViews.map((v) => v.box));
  ui.inputViews = ui.inputViews.map((v) => v.view);
  renderFilterAndOutput();
}

export function renderFilterAndOutput() {
  const { s, C, resolved, conv } = ui.current;
  const k = Math.min(s.k, resolved.length - 1);
  const names = channelNames(C);
  const F = s.ksize;
  const f = resolved[k];
  const wmax = absMax(...conv.filter_ranges[k]);
  refit(); // another filter or new settings: fitted to the screen again from full size
  $("w-caption").textContent = `${k}: ${f.title}, ${shapeText(F, F, C)}, bias ${fmt(f.bias, 4)}`;
  ui.weightViews = names.map((name, c) => {
    const box = el("div", { class: "pg-grid" });
    if (C > 1) box.append(el("p", { class: `pg-chname ch-${name}` }, `${name} slice`));
    const holder = el("div");
    box.append(holder);
    const view = new MatrixView(holder, { label: `Filter ${k}, ${name} slice` });
    view.render({ data: f.weights, offset: c * F * F, h: F, w: F, scale: { kind: "diverging", absMax: wmax }, digits: 2 });
    return { box, view };
  });
  $("w-grids").replaceChildren(...ui.weightViews.map((v) => v.box));
  const pre = conv.pre_activation || conv.output;
  const [, ho, wo] = pre.shape;
  $("out-caption").textContent = `${k}, ${shapeText(ho, wo, 1)}${s.act !== "none" ? " (before the activation)" : ""}`;
  ui.outView = new MatrixView($("out-grid"), {
    label: `Feature map ${k}`,
    interactive: true,
    pixelWidth: 240,
    cellsMax: 10,
    fit: true,
    onHover: (i, j) => hoverOutput(k, i, j),
    onSelect: (i, j) => select(k, i, j),
  });
  const ranges = conv.map_ranges?.[conv.pre_activation ? "pre_activation" : "output"];
  ui.outView.render({ data: pre.data, offset: k * ho * wo, h: ho, w: wo, scale: mapScale(pre, ranges, k) });
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

export function renderVolume() {
  const { s, conv, pool, resolved } = ui.current;
  const pre = conv.pre_activation || conv.output;
  const [K, ho, wo] = pre.shape;
  const parts = [];
  ui.volumeViews = { conv: [], act: [], pool: [] };
  const addMaps = (st, key, tensor, ranges, opts) => {
    const [n, h, w] = tensor.shape;
    for (let c = 0; c < n; c++) {
      const scale = mapScale(tensor, ranges, c);
      const { fig, view } = mapFigure(`Filter ${c} · ${resolved[c].title}`, (holder) => {
        const v = new MatrixView(holder, { label: `${key} map ${c}`, cellsMax: 10, pixelWidth: 150, ...opts(c) });
        v.render({ data: tensor.data, offset: c * h * w, h, w, scale });
        return v;
      });
      fig.dataset.h = String(h);
      fig.dataset.w = String(w);
      st.maps.append(fig);
      ui.volumeViews[key].push(view);
    }
  };
  const convStage = stage(
    "conv", "Convolution", shapeText(ho, wo, K),
    `${K} filter${K > 1 ? "s" : ""}, each ${shapeText(s.ksize, s.ksize, ui.current.C)}, give ${K} feature map${K > 1 ? "s" : ""} of ${ho}×${wo}, stacked: ${shapeText(ho, wo, K)}.`,
  );
  const mr = conv.map_ranges || {};
  addMaps(convStage, "conv", pre, conv.pre_activation ? mr.pre_activation : mr.output, (c) => ({
    interactive: true,
    onHover: (i, j) => hoverOutput(c, i, j),
    onSelect: (i, j) => select(c, i, j),
  }));
  parts.push(convStage.node);
  if (s.act !== "none") {
    const a = activation(s.act);
    const actStage = stage("act", a.title, shapeText(ho, wo, K), `${a.title}: ${a.formula}, applied to every value. ${a.note} The shape does not change.`);
    addMaps(actStage, "act", conv.output, mr.output, (c) => ({
      interactive: true,
      onHover: (i, j) => hoverOutput(c, i, j),
      onSelect: (i, j) => select(c, i, j),
    }));
    parts.push(el("div", { class: "pg-arrow", "aria-hidden": "true" }, "↓"), actStage.node);
  }
  if (pool) {
    parts.push(el("div", { class: "pg-arrow", "aria-hidden": "true" }, "↓"));
    const title = `${s.pool === "max" ? "Max" : "Average"} pooling ${square(s.pk)}, stride ${s.ps}`;
    if (pool.error) {
      const st = stage("pool", title, "", "");
      st.maps.append(el("p", { class: "error", role: "alert" }, pool.error.detail || pool.error.message));
      parts.push(st.node);
    } else {
      const [, ph, pw] = pool.shape;
      const st = stage(
        "pool", title, shapeText(ph, pw, K),
        `Each ${square(s.pk)} window of every map is replaced by its ${s.pool === "max" ? "largest value" : "mean"}: ${formula(pool.size.formula)} per side. Pooling works on each map separately, so the depth stays ${K}.`,
      );
      addMaps(st, "pool", pool, pool.map_ranges, (c) => ({ onHover: (i, j) => hoverPool(c, i, j) }));
      parts.push(st.node);
    }
  }
  $("volume").replaceChildren(...parts);
  $("volume-scale-note").textContent = state.get("scale") === "map"
    ? "Each map has its own colour scale (its largest magnitude is full colour), so a weak map shows its pattern too; compare numbers, not colours, between maps."
    : "All maps of a stage share one colour scale, so their colours can be compared; a weak map may look almost white.";
}
