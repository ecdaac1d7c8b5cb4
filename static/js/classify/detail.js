// One feature map, zoomed in: it takes the network's place on the page (a Back button,
// keyboard reachable, returns to the network). Click a pixel (or move with the arrow keys)
// to ask the trace API where its value came from; the receptive field is outlined on the
// model's input. Rows and columns are numbered from 0 at the top left, as in the traces.

import { latestOnly } from "../api.js";
import { el, fmt, showError, square } from "../util.js";
import { drawChannel, drawFilter, drawInput, valueAt } from "./maps.js";
import { layerTitle, namer, opName, shapeText } from "./network.js";
import { fieldText, renderTrace } from "./trace.js";

const ABOUT = {
  Conv: "Each value is one filter's dot product with a window of the previous layer's maps, plus a bias.",
  MaxPool: "Each value is the largest value of a small window of the previous map.",
  AveragePool: "Each value is the average of a small window of the previous map.",
  Relu: "ReLU keeps positive values and sets negative ones to 0.",
  GELU: "GELU lets positive values through and squashes negative ones towards 0, smoothly.",
  BatchNormalization: "Batch norm rescales each channel with statistics learned in training.",
};

function place(box, rows, cols, h, w) {
  box.style.left = `${(100 * cols[0]) / w}%`;
  box.style.top = `${(100 * rows[0]) / h}%`;
  box.style.width = `${(100 * (cols[1] - cols[0] + 1)) / w}%`;
  box.style.height = `${(100 * (rows[1] - rows[0] + 1)) / h}%`;
  box.hidden = false;
}

/**
 * @param {object} opts
 * @param {() => object} opts.getBody  the inspect answer drawn now
 * @param {(request: object, opts: {signal}) => Promise<object>} opts.trace  asks the trace API
 *   about a value of the current run ({layer, channel, row, col})
 * @param {(patch: object) => void} opts.onPick  the open map and pixel, for the URL
 * @param {(layer: object|null, channel: number) => void} opts.onZoom  a map was zoomed into
 *   (the page hides the network), or null: back to the network
 */
export function initDetail({ getBody, trace, onPick, onZoom }) {
  const panel = document.getElementById("detail");
  const mapCanvas = document.getElementById("detail-map");
  const cursor = document.getElementById("detail-cursor");
  const inputCanvas = document.getElementById("detail-input");
  const fieldBox = document.getElementById("detail-field");
  const fieldCaption = document.getElementById("detail-field-text");
  const traceBox = document.getElementById("trace");
  const filtersBox = document.getElementById("detail-filters");
  let current = null; // {layer, channel, row, col}
  const traceLatest = latestOnly((request, opts) => trace(request, opts));

  function dims() {
    const [, h, w] = current.layer.output.shape;
    return [h, w];
  }

  function renderFilters(layer, c) {
    filtersBox.replaceChildren();
    const wts = layer.weights;
    if (!wts || wts.same_as || c >= wts.filters_shown) return;
    const [, cin, kh, kw] = wts.full_shape;
    const tiles = [];
    for (let s = 0; s < wts.channels_shown; s++) {
      const canvas = el("canvas", { class: "pixels" });
      drawFilter(canvas, wts, c, s);
      tiles.push(el("figure", {}, canvas, el("figcaption", {}, `in ${s}`)));
    }
    filtersBox.append(
      el("p", { class: "small" }, el("strong", {}, `Filter ${c}`), `: ${square(kh, kw)} weights ${cin === 1 ? "for its one input channel" : `for each of the ${cin} input channels`}`,
        cin > wts.channels_shown ? ` (first ${wts.channels_shown} shown)` : "",
        wts.bias ? `, bias ${fmt(wts.bias[c], 4)}` : "", "."),
      el("div", { class: "filter-slices" }, tiles));
  }

  function open(layer, channel, { scroll = true } = {}) {
    const body = getBody();
    traceLatest.cancel(); // a trace asked for the previous map must not land in this one
    current = { layer, channel, row: -1, col: -1 };
    panel.hidden = false;
    const [h, w] = dims();
    document.getElementById("detail-title").replaceChildren(`${layerTitle(layer)}: map ${channel} of ${layer.output.channels} `,
      el("span", { class: "detail-onnx" }, `(ONNX node ${layer.name})`));
    document.getElementById("detail-intro").textContent =
      `${opName(layer)} layer, output ${shapeText(layer.output_shape)} (height×width×channels); this map is ${square(h, w)}, values from ${fmt(layer.output.min, 3)} to ${fmt(layer.output.max, 3)} across the layer. ${ABOUT[layer.activation || layer.op_type] || ""}`;
    drawChannel(mapCanvas, layer.output, channel);
    mapCanvas.setAttribute("aria-label", `Feature map ${channel} of ${layerTitle(layer)}, ${h} by ${w}`);
    mapCanvas.style.aspectRatio = `${w} / ${h}`;
    drawInput(inputCanvas, body.input);
    cursor.hidden = true;
    fieldBox.hidden = true;
    fieldCaption.textContent = "The input the model saw.";
    traceBox.replaceChildren(el("p", { class: "muted" }, "Click a pixel of the map to see how its value was computed."));
    renderFilters(layer, channel);
    onZoom(layer, channel);
    onPick({ layer: layer.name, ch: channel, r: -1, c: -1, zoom: 1 });
    if (scroll) {
      const top = panel.getBoundingClientRect().top;
      if (top < 0 || top > window.innerHeight / 2) panel.scrollIntoView({ block: "start" });
      document.getElementById("detail-back").focus({ preventScroll: true });
    }
  }

  async function pick(row, col) {
    if (!current) return;
    const [h, w] = dims();
    row = Math.max(0, Math.min(h - 1, row));
    col = Math.max(0, Math.min(w - 1, col));
    current.row = row;
    current.col = col;
    place(cursor, [row, row], [col, col], h, w);
    onPick({ layer: current.layer.name, ch: current.channel, r: row, c: col, zoom: 1 });
    const shown = valueAt(current.layer.output, current.channel, row, col);
    traceBox.replaceChildren(el("p", { class: "muted" }, `Row ${row}, column ${col}: value ≈ ${fmt(shown, 3)}; asking the engine how it was computed…`));
    try {
      const t = await traceLatest({ layer: current.layer.name, channel: current.channel, row, col });
      if (!t) return;
      renderTrace(traceBox, t, { names: namer(getBody()) });
      if (t.field) {
        const [, , ih, iw] = getBody().input.shape;
        place(fieldBox, t.field.rows, t.field.cols, ih, iw);
        fieldCaption.textContent = fieldText(t.field);
      }
    } catch (err) {
      const box = el("p", { class: "error" });
      showError(box, err);
      traceBox.replaceChildren(box);
    }
  }

  mapCanvas.addEventListener("click", (e) => {
    if (!current) return;
    const r = mapCanvas.getBoundingClientRect();
    const [h, w] = dims();
    pick(Math.floor(((e.clientY - r.top) / r.height) * h), Math.floor(((e.clientX - r.left) / r.width) * w));
  });
  mapCanvas.addEventListener("keydown", (e) => {
    if (!current) return;
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (e.altKey || e.ctrlKey || e.metaKey) return; // leave the browser's shortcuts alone
    if (moves[e.key]) {
      e.preventDefault();
      const [dr, dc] = moves[e.key];
      pick(Math.max(0, current.row) + (current.row < 0 ? 0 : dr), Math.max(0, current.col) + (current.col < 0 ? 0 : dc));
    } else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      pick(Math.max(0, current.row), Math.max(0, current.col));
    }
  });
  document.getElementById("detail-back").addEventListener("click", () => {
    if (!current) return;
    const { layer, channel } = current;
    traceLatest.cancel();
    panel.hidden = true;
    current = null;
    onPick({ layer: layer.name, ch: channel, r: -1, c: -1, zoom: 0 });
    onZoom(null, -1, { layer, channel });
  });

  return {
    open,
    pick,
    close() { traceLatest.cancel(); panel.hidden = true; current = null; },
    isOpen: () => current !== null,
  };
}
