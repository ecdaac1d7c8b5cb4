// The network as columns of feature-map thumbnails, one column per layer, with the
// layer's output shape, parameter count and (for conv layers) its filters.

import { el, fmt, int } from "../util.js";
import { drawChannel, drawFilter, drawInput, drawStrip } from "./maps.js";

const FIRST = 8; // maps (and filters) shown before "show all"

const OP_NAMES = {
  Conv: "Convolution", MaxPool: "Max pooling", AveragePool: "Average pooling",
  GlobalAveragePool: "Global average pooling", Relu: "ReLU", LeakyRelu: "Leaky ReLU",
  Sigmoid: "Sigmoid", Tanh: "Tanh", Gelu: "GELU", BatchNormalization: "Batch norm",
  Flatten: "Flatten", Reshape: "Reshape", Gemm: "Dense (Gemm)", MatMul: "MatMul",
  Softmax: "Softmax", Add: "Add", Sub: "Subtract", Mul: "Multiply", Div: "Divide",
  Concat: "Concatenate", Identity: "Identity", Dropout: "Dropout", Constant: "Constant",
  Erf: "Erf", Clip: "Clip", Pad: "Pad", Transpose: "Transpose",
};

export function opName(layer) {
  if (layer.activation) return layer.activation;
  if (layer.skip) return "Skip connection (add)";
  return OP_NAMES[layer.op_type] || layer.op_type;
}

export function shapeText(shape) {
  if (!shape) return "";
  const s = shape.slice(1);
  return s.length ? s.join("×") : "1";
}

function attrText(layer) {
  const a = layer.attributes;
  if (layer.op_type === "Conv" && layer.input_shapes[1]) {
    const [f, , kh, kw] = layer.input_shapes[1];
    const parts = [`${f} filters ${kh}×${kw}`];
    if (a.strides && a.strides.some((s) => s !== 1)) parts.push(`stride ${a.strides[0]}`);
    if (a.pads && a.pads.some((p) => p !== 0)) parts.push(`pad ${a.pads[0]}`);
    if (a.group && a.group !== 1) parts.push(`groups ${a.group}`);
    return parts.join(", ");
  }
  if ((layer.op_type === "MaxPool" || layer.op_type === "AveragePool") && a.kernel_shape) {
    return `${a.kernel_shape.join("×")} window, stride ${(a.strides || [1])[0]}`;
  }
  if (layer.op_type === "Gemm" && layer.input_shapes[1]) {
    const [a0, a1] = layer.input_shapes[1];
    const [inn, out] = a.transB ? [a1, a0] : [a0, a1];
    return `${int(inn)} → ${int(out)}`;
  }
  return "";
}

function thumb(payload, c, label, onClick) {
  const canvas = el("canvas", { class: "pixels" });
  drawChannel(canvas, payload, c);
  return el("button", { type: "button", class: "thumb", "aria-label": label, "aria-pressed": "false", title: label, dataset: { ch: c }, onclick: onClick }, canvas);
}

/** Mark the thumbnail of the enlarged map (and only that one). */
export function markThumb(container, layerName, channel) {
  for (const b of container.querySelectorAll('.thumb[aria-pressed="true"]')) b.setAttribute("aria-pressed", "false");
  if (!layerName) return;
  const col = container.querySelector(`.layer-col[data-layer="${CSS.escape(layerName)}"]`);
  const b = col && col.querySelector(`.thumb[data-ch="${channel}"]`);
  if (b) b.setAttribute("aria-pressed", "true");
}

function filtersBlock(layer, expanded) {
  const w = layer.weights;
  if (!w) return null;
  if (w.same_as) return el("p", { class: "filters-note" }, `same filters as ${w.same_as}`);
  const [f, c, kh, kw] = w.full_shape;
  const rgb = c === 3;
  const n = expanded ? w.filters_shown : Math.min(FIRST, w.filters_shown);
  const tiles = [];
  for (let k = 0; k < n; k++) {
    const canvas = el("canvas", { class: "pixels" });
    drawFilter(canvas, w, k, rgb ? null : 0);
    tiles.push(el("span", { class: "filter", title: `filter ${k}` }, canvas));
  }
  const what = rgb ? "in colour" : c === 1 ? "" : "(slice for input channel 0)";
  return el("div", { class: "filters" },
    el("p", { class: "filters-note" }, `filters ${kh}×${kw}×${c} ${what}`),
    el("div", { class: "filter-grid" }, tiles),
    f > n ? el("p", { class: "filters-note" }, `${n} of ${f}`) : null);
}

function column(layer, folded, onMap) {
  const out = layer.output;
  const col = el("div", { class: "layer-col", role: "listitem", dataset: { layer: layer.name } });
  const meta = [shapeText(layer.output_shape)];
  if (layer.params) meta.push(`${int(layer.params)} params`);
  col.append(
    el("h3", { class: "layer-op" }, opName(layer)),
    el("p", { class: "layer-name", title: layer.name }, layer.name),
    el("p", { class: "layer-meta" }, meta.join(" · ")),
  );
  const attrs = attrText(layer);
  if (attrs) col.append(el("p", { class: "layer-attrs" }, attrs));
  if (layer.skip) {
    col.append(el("p", { class: "layer-attrs skip-note" },
      `x + F(x), as in ResNet: adds this block's input x (from ${layer.skip.shortcut}) to F(x), the output of ${layer.skip.main}`));
  }
  const steps = folded.filter((f) => f.op_type !== "Constant");
  if (steps.length) {
    col.append(el("p", { class: "layer-attrs" }, `spelled out as ${[...steps.map((f) => f.op_type), layer.op_type].join(" → ")}`));
  }
  if (!out) {
    col.classList.add("compact");
    col.append(el("p", { class: "layer-attrs" }, layer.note || "no output to show"));
    return col;
  }
  if (out.shape.length === 1) {
    col.classList.add("vector");
    const canvas = el("canvas", { class: "pixels strip", "aria-hidden": "true" });
    drawStrip(canvas, out);
    col.append(el("div", { class: "strip-wrap" }, canvas),
      el("p", { class: "layer-attrs" }, `${int(out.length)} values, ${fmt(out.min, 2)} to ${fmt(out.max, 2)}`));
    return col;
  }
  const grid = el("div", { class: "thumbs" });
  const filters = el("div", {});
  col.append(grid, filters);
  let expanded = false;
  const draw = () => {
    const n = expanded ? out.channels_shown : Math.min(FIRST, out.channels_shown);
    grid.replaceChildren();
    for (let c = 0; c < n; c++) {
      grid.append(thumb(out, c, `${layer.name}, map ${c}: enlarge`, () => onMap(layer, c)));
    }
    filters.replaceChildren(filtersBlock(layer, expanded) || "");
  };
  draw();
  if (out.channels_shown > FIRST || (layer.weights && layer.weights.filters_shown > FIRST)) {
    const more = el("button", { type: "button", class: "small-button more", "aria-expanded": "false" });
    const label = () => { more.textContent = expanded ? "Show fewer" : `Show all ${out.channels_shown}`; };
    label();
    more.addEventListener("click", () => {
      expanded = !expanded;
      more.setAttribute("aria-expanded", String(expanded));
      label();
      draw();
    });
    col.append(more);
  }
  if (out.channels > out.channels_shown) {
    col.append(el("p", { class: "layer-attrs" }, `first ${out.channels_shown} of ${out.channels} maps sent`));
  }
  return col;
}

/** One column per layer; inner steps of an element-wise chain fold into the chain's column. */
export function renderNetwork(container, body, { onMap }) {
  container.replaceChildren();
  const inputCol = el("div", { class: "layer-col input-col", role: "listitem", dataset: { layer: "input" } },
    el("h3", { class: "layer-op" }, "Input"),
    el("p", { class: "layer-name" }, "what the model sees"),
    el("p", { class: "layer-meta" }, shapeText(body.input.shape)));
  const canvas = el("canvas", { class: "pixels input-thumb", "aria-label": "The model's input" });
  drawInput(canvas, body.input);
  inputCol.append(canvas);
  container.append(inputCol);
  const folded = new Map();
  for (const layer of body.layers) {
    if (layer.part_of) {
      if (!folded.has(layer.part_of)) folded.set(layer.part_of, []);
      folded.get(layer.part_of).push(layer);
    }
  }
  let columns = 0;
  for (const layer of body.layers) {
    if (layer.part_of) continue;
    container.append(column(layer, folded.get(layer.name) || [], onMap));
    columns += 1;
  }
  return columns;
}
