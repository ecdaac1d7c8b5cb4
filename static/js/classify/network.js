// The network as columns of feature-map thumbnails, one column per layer, left to right,
// each titled as a course names it (conv1, relu1, pool1, ..., fc1, softmax: the API's
// `title`) with the ONNX node's name in small print. Layers of a second branch (the
// mirrored image of test-time augmentation: the API's `branch`) go in their own strip.
// Shapes are written height×width×channels; the API's tensors stay NCHW.

import { el, fmt, int, shape, square } from "../util.js";
import { drawChannel, drawFilter, drawInput, drawStrip } from "./maps.js";

const FIRST = 6; // maps (and filters) shown before "show all": a column fits one screen

const OP_NAMES = {
  Conv: "Convolution", MaxPool: "Max pooling", AveragePool: "Average pooling",
  GlobalAveragePool: "Global average pooling", Relu: "ReLU", LeakyRelu: "Leaky ReLU",
  Sigmoid: "Sigmoid", Tanh: "Tanh", Gelu: "GELU", BatchNormalization: "Batch norm",
  Flatten: "Flatten", Reshape: "Reshape", Gemm: "Dense (fully connected)", MatMul: "Dense (fully connected)",
  Softmax: "Softmax", Add: "Add", Sub: "Subtract", Mul: "Multiply", Div: "Divide",
  Concat: "Concatenate", Identity: "Identity", Dropout: "Dropout", Constant: "Constant",
  Erf: "Erf", Clip: "Clip", Pad: "Pad", Transpose: "Transpose",
};

/** What kind of layer this is, in words ("Convolution", "GELU", "Skip connection (add)"). */
export function opName(layer) {
  if (layer.activation) return layer.activation;
  if (layer.skip) return "Skip connection (add)";
  if (layer.title === "mirror") return "Mirror the image (flip left-right)";
  if (layer.title === "sum of both views") return "Add the two branches' scores";
  if (layer.title === "average") return "Halve the sum: the average";
  return OP_NAMES[layer.op_type] || layer.op_type;
}

/** The layer's course name, with its branch: "conv1", "conv1 (mirrored image)". */
export function layerTitle(layer) {
  if (!layer) return "";
  const t = layer.title || layer.name;
  return layer.branch === "mirror" && layer.title !== "mirror" ? `${t} (mirrored image)` : t;
}

/** ONNX node name -> the layer's course name, for the layers of one inspect answer. */
export function namer(body) {
  const byName = new Map(body.layers.map((l) => [l.name, l]));
  return (name) => (name === "input" ? "the input" : byName.has(name) ? layerTitle(byName.get(name)) : name);
}

/** An API shape (N, C, H, W) or (N, F) as the course writes it: 28×28×6, or 10. */
export function shapeText(dims) {
  if (!dims) return "";
  const d = dims.slice(1);
  return d.length ? shape(d) : "1";
}

function attrText(layer) {
  const a = layer.attributes;
  if (layer.op_type === "Conv" && layer.input_shapes[1]) {
    const [f, , kh, kw] = layer.input_shapes[1];
    const parts = [`${f} filters ${square(kh, kw)}`];
    if (a.strides && a.strides.some((s) => s !== 1)) parts.push(`stride ${a.strides[0]}`);
    if (a.pads && a.pads.some((p) => p !== 0)) parts.push(`pad ${a.pads[0]}`);
    if (a.group && a.group !== 1) parts.push(`groups ${a.group}`);
    return parts.join(", ");
  }
  if ((layer.op_type === "MaxPool" || layer.op_type === "AveragePool") && a.kernel_shape) {
    return `${square(...a.kernel_shape)} window, stride ${(a.strides || [1])[0]}`;
  }
  if (layer.op_type === "Gemm" && layer.input_shapes[1]) {
    const [a0, a1] = layer.input_shapes[1];
    const [inn, out] = a.transB ? [a1, a0] : [a0, a1];
    return `${int(inn)} → ${int(out)}`;
  }
  return "";
}

function filtersBlock(layer, expanded) {
  const w = layer.weights;
  if (!w) return null;
  if (w.same_as) return el("p", { class: "filters-note" }, "the same filters as the main branch");
  const [f, c, kh, kw] = w.full_shape;
  const rgb = c === 3;
  const n = expanded ? w.filters_shown : Math.min(FIRST, w.filters_shown);
  const tiles = [];
  for (let k = 0; k < n; k++) {
    const canvas = el("canvas", { class: "pixels" });
    drawFilter(canvas, w, k, rgb ? null : 0);
    tiles.push(el("span", { class: "filter", title: `filter ${k}` }, canvas));
  }
  const what = rgb ? " in colour" : c === 1 ? "" : ", the slice for input channel 0";
  return el("details", { class: "filters" },
    el("summary", { class: "filters-note" }, `filters ${shape([c, kh, kw])}`),
    what ? el("p", { class: "filters-note" }, `shown${what}`) : null,
    el("div", { class: "filter-grid" }, tiles),
    f > n ? el("p", { class: "filters-note" }, `${n} of ${f}`) : null);
}

function column(layer, folded, hooks) {
  const out = layer.output;
  const col = el("div", { class: "layer-col", role: "listitem", dataset: { layer: layer.name } });
  const meta = [shapeText(layer.output_shape)];
  if (layer.params) meta.push(`${int(layer.params)} params`);
  col.append(
    el("h3", { class: "layer-op" }, layer.title || layer.name),
    el("p", { class: "layer-kind" }, opName(layer)),
    el("p", { class: "layer-name", title: `ONNX node ${layer.name}` }, el("span", { class: "sr-only" }, "ONNX node "), layer.name),
    el("p", { class: "layer-meta" }, meta.join(" · ")),
  );
  const attrs = attrText(layer);
  if (attrs) col.append(el("p", { class: "layer-attrs" }, attrs));
  if (layer.skip) {
    col.append(el("p", { class: "layer-attrs skip-note" },
      `x + F(x) as in ResNet: x from ${hooks.titleOf(layer.skip.shortcut)}, F(x) from ${hooks.titleOf(layer.skip.main)}`));
  }
  const steps = folded.filter((f) => f.op_type !== "Constant");
  if (steps.length) {
    const ops = [...steps.map((f) => f.op_type), layer.op_type].join(" → ");
    col.append(el("p", { class: "layer-attrs", title: `in the ONNX file: ${ops}` }, `one layer; ${steps.length + 1} ops in the file (${ops})`));
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
      const canvas = el("canvas", { class: "pixels" });
      drawChannel(canvas, out, c);
      const label = `${layerTitle(layer)}, map ${c}: zoom into its arithmetic`;
      grid.append(el("button", {
        type: "button", class: "thumb", "aria-label": label, "aria-pressed": "false", title: label, dataset: { ch: c },
        onclick: () => hooks.onMap(layer, c),
        onfocus: () => hooks.onSelect(layer, c),
        onmouseenter: () => hooks.onSelect(layer, c),
      }, canvas));
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
      hooks.onResize();
    });
    col.append(more);
  }
  if (out.channels > out.channels_shown) {
    col.append(el("p", { class: "layer-attrs" }, `first ${out.channels_shown} of ${out.channels} maps sent`));
  }
  return col;
}

/**
 * One column per layer of the main branch in `container`, the second branch's in
 * `mirrorContainer`; inner steps of an element-wise chain fold into the chain's column.
 * Returns {columns, mirrored, branchTitle}.
 */
export function renderNetwork(container, mirrorContainer, body, hooks) {
  container.replaceChildren();
  mirrorContainer.replaceChildren();
  const titleOf = namer(body);
  const all = { onResize: () => {}, ...hooks, titleOf };
  const inputCol = el("div", { class: "layer-col input-col", role: "listitem", dataset: { layer: "input" } },
    el("h3", { class: "layer-op" }, "input"),
    el("p", { class: "layer-kind" }, "what the model sees"),
    el("p", { class: "layer-meta" }, shapeText(body.input.shape)));
  const canvas = el("canvas", { class: "pixels input-thumb", id: "net-input", role: "img", "aria-label": "The model's input" });
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
  let mirrored = 0;
  let branchTitle = "";
  for (const layer of body.layers) {
    if (layer.part_of) continue;
    const col = column(layer, folded.get(layer.name) || [], all);
    if (layer.branch) {
      if (layer.branch_title) branchTitle = layer.branch_title;
      mirrorContainer.append(col);
      mirrored += 1;
    } else {
      container.append(col);
      columns += 1;
    }
  }
  return { columns, mirrored, branchTitle };
}
