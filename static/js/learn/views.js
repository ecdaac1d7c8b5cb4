// Pure drawing of a run's view (GET /api/learn/runs/{run}/view): the first layer's
// filters, one validation image's feature maps through every layer, and the grid of
// validation images with what the network predicts. Maps are drawn at native size and
// scaled up by CSS with smoothing off; colours: orange positive, blue negative.

import { decodeF16 } from "../api.js";
import { drawMap } from "../draw/heatmap.js";
import { el, fmt, int, shape as shapeOf } from "../util.js";

function canvas(cls, size) {
  const c = el("canvas", { class: `pixels ${cls}`, "aria-hidden": "true" });
  if (size) c.style.width = c.style.height = `${size}px`;
  return c;
}

/** An RGB filter (3, h, w) stretched to its own min..max, so its colours show. */
function drawRGBFilter(node, data, offset, h, w) {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < 3 * h * w; i++) {
    lo = Math.min(lo, data[offset + i]);
    hi = Math.max(hi, data[offset + i]);
  }
  node.width = w;
  node.height = h;
  const ctx = node.getContext("2d");
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    for (let c = 0; c < 3; c++) {
      const v = data[offset + c * h * w + i];
      img.data[4 * i + c] = hi > lo ? Math.round((255 * (v - lo)) / (hi - lo)) : 128;
    }
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** One (C, h, w) filter on a diverging scale of its own: the mean over channels when C > 1. */
function drawGreyFilter(node, data, offset, c, h, w) {
  let plane = data.subarray(offset, offset + h * w);
  if (c > 1) {
    plane = new Float32Array(h * w);
    for (let k = 0; k < c; k++) for (let i = 0; i < h * w; i++) plane[i] += data[offset + k * h * w + i] / c;
  }
  drawMap(node, plane, h, w, { scale: "diverging" });
}

/** Every filter of `filters` ({layer, tensor: f16 (F, C, KH, KW), count}) into `node`. */
export function drawFilters(node, note, filters) {
  const [f, c, h, w] = filters.tensor.shape;
  const data = decodeF16(filters.tensor);
  const size = Math.max(40, Math.min(64, h * 10));
  const rgb = c === 3;
  const items = [];
  for (let i = 0; i < f; i++) {
    const cv = canvas("ln-filter", size);
    if (rgb) drawRGBFilter(cv, data, i * c * h * w, h, w);
    else drawGreyFilter(cv, data, i * c * h * w, c, h, w);
    items.push(cv);
  }
  node.replaceChildren(...items);
  node.setAttribute("role", "img");
  const shown = filters.count && filters.count > f ? ` (the first ${f} of ${int(filters.count)})` : "";
  const what = h === 28 || h === 32 ? `rows of ${filters.layer}, each drawn as a ${h}×${w} image` : `filters of ${filters.layer}, each ${h}×${w}×${c}`;
  node.setAttribute("aria-label", `${f} ${what}${shown}`);
  if (note) {
    note.textContent = rgb
      ? `${filters.layer}: ${f} filters of ${h}×${w} over the 3 colour channels, each drawn as a colour image stretched to its own range (grey = its middle value).`
      : `${filters.layer}: ${f}${shown} ${h === 28 || h === 32 ? `weight rows, one per hidden unit, each drawn as a ${h}×${w} image` : `filters of ${h}×${w}`}; orange positive, blue negative, white zero, each on its own scale. They start as random noise; watch them turn into stroke and edge detectors.`;
  }
}

/** One layer's output (C, H, W) as a row of maps, or a vector (D,) as one strip. */
function layerRow(layer, i, classes) {
  const shape = layer.tensor.shape;
  const data = decodeF16(layer.tensor);
  const absMax = Math.max(Math.abs(layer.tensor.min ?? 0), Math.abs(layer.tensor.max ?? 0));
  const range = { min: -absMax, max: absMax };
  const maps = [];
  let shapeText;
  if (shape.length === 3) {
    const [c, h, w] = shape;
    const size = Math.max(24, Math.min(56, h * 2));
    for (let k = 0; k < c; k++) {
      const cv = canvas("ln-map", size);
      drawMap(cv, data, h, w, { offset: k * h * w, scale: "diverging", ...range });
      maps.push(cv);
    }
    shapeText = shapeOf(shape); // height×width×channels, as the course writes it
  } else {
    const d = shape[0];
    const cols = Math.min(d, 32);
    const rows = Math.ceil(d / cols);
    const padded = new Float32Array(rows * cols);
    padded.set(data);
    const cv = canvas("ln-vector");
    drawMap(cv, padded, rows, cols, { scale: "diverging", ...range });
    const px = d <= classes.length ? 22 : 8;
    cv.style.width = `${cols * px}px`;
    cv.style.height = `${rows * px}px`;
    // The last layer: one score per class, each under its class name.
    if (d === classes.length) {
      maps.push(el("div", { class: "ln-scores" }, cv,
        el("div", { class: "ln-classes", "aria-hidden": "true" }, classes.map((c) => el("span", { style: `width:${px}px` }, String(c).slice(0, 2))))));
    } else maps.push(cv);
    shapeText = `${d} values`;
  }
  return el("li", { class: "ln-map-row" },
    el("p", { class: "ln-map-label" }, el("span", { class: "ln-map-step" }, `${i + 1}`), ` ${layer.label} `,
      el("span", { class: "muted small" }, `${shapeText}, ${fmt(layer.tensor.min, 2)} to ${fmt(layer.tensor.max, 2)}`)),
    el("div", { class: "ln-map-cells", role: "img", "aria-label": `${layer.label}: ${shapeText}, values from ${fmt(layer.tensor.min, 3)} to ${fmt(layer.tensor.max, 3)}` }, maps));
}

/** The feature-map image and every layer's output for it. `image` is its address. */
export function drawMaps(node, maps, { image, classes }) {
  const label = classes[maps.label] ?? maps.label;
  const input = el("li", { class: "ln-map-row" },
    el("p", { class: "ln-map-label" }, el("span", { class: "ln-map-step" }, "0"), " input ",
      el("span", { class: "muted small" }, `validation image ${maps.image}, labelled ${label}`)),
    el("div", { class: "ln-map-cells" },
      el("img", { class: "pixels ln-input", src: image, alt: `Validation image ${maps.image}: ${label}`, width: 56, height: 56 })));
  node.replaceChildren(el("ol", { class: "ln-map-list" }, input, maps.layers.map((layer, i) => layerRow(layer, i, classes))));
}

/**
 * The predictions grid: each validation image with the predicted class; a wrong one is
 * marked with a cross, the true class and a border (never colour alone).
 */
export function drawPredictions(list, summaryNode, preds, { imageFor, classes }) {
  const items = preds.ids.map((id, i) => {
    const wrong = preds.wrong[i];
    const said = classes[preds.predicted[i]] ?? preds.predicted[i];
    const truth = classes[preds.labels[i]] ?? preds.labels[i];
    const conf = `${fmt(100 * preds.confidence[i], 0)}%`;
    return el("li", { class: `ln-pred${wrong ? " is-wrong" : ""}` },
      el("img", { class: "pixels", src: imageFor(id), alt: `Validation image ${id}, a ${truth}`, width: 40, height: 40, loading: "lazy" }),
      el("span", { class: "ln-pred-said" },
        el("span", { class: "ln-mark", "aria-hidden": "true" }, wrong ? "✗" : "✓"),
        el("span", { class: "visually-hidden" }, wrong ? "Wrong: " : "Right: "), said),
      el("span", { class: "ln-pred-conf" }, wrong ? `is ${truth}` : conf));
  });
  list.replaceChildren(...items);
  const right = preds.wrong.filter((w) => !w).length;
  summaryNode.textContent = `${right} of ${preds.ids.length} right. Wrong ones are marked ✗ with the true class beneath; right ones ✓ with the network's confidence.`;
}


