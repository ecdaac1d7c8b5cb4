// The classify page: pick a model and an image, then follow the image through the
// network, left to right. One inspect request gives everything drawn here (and a run
// id). Pointing at a map selects it: lines join it to the maps it was computed from (the
// API's `reads`); clicking it zooms into its arithmetic (the trace endpoint, in that run),
// in the network's place, with a Back button. State (model, sample, selected map, zoom,
// pixel) lives in the URL; an uploaded or drawn image is kept in sessionStorage so a
// reload shows it again. With no ?model= the page starts with a digit model.

import { ApiError, getBlob, latestOnly, postForm, postJSON } from "../api.js";
import { createState } from "../state.js";
import { debounce, el, fmt, shape, showError } from "../util.js";
import { renderDense } from "../classify/dense.js";
import { initDetail } from "../classify/detail.js";
import { defaultSample, initInputs, sampleUrl } from "../classify/inputs.js";
import { initModels } from "../classify/models.js";
import { revealColumn, showReads } from "../classify/connections.js";
import { namer, renderNetwork } from "../classify/network.js";
import { renderBars, renderPreprocessing, renderSoftmax, renderVerdict } from "../classify/prediction.js";
import { renderTrace } from "../classify/trace.js";
import { initWhy } from "../classify/why.js";
import { initConfusion } from "../classify/confusion.js";
import { initFilters } from "../classify/filters.js";

const STORE_KEY = "convlab-classify-image";
const state = createState({ model: "", src: "sample", sample: "", layer: "", ch: -1, r: -1, c: -1, zoom: 0 });

const runError = document.getElementById("run-error");
const result = document.getElementById("result");
const resultMore = document.getElementById("result-more");
const resultRest = document.getElementById("result-rest");
const network = document.getElementById("network");
const strips = [document.getElementById("layers"), document.getElementById("layers-mirror")];
const readsText = document.getElementById("net-reads");
let body = null;
let blob = null;
const inspectLatest = latestOnly((url, fields, opts) => postForm(url, fields, opts));
const denseTrace = latestOnly((request, opts) => traceRun(request, opts));

const models = initModels({
  select: document.getElementById("model-select"),
  cardNode: document.getElementById("model-card"),
  switchNode: document.getElementById("model-switch"),
  form: document.getElementById("byo-form"),
  mineNode: document.getElementById("my-models"),
  noteNode: document.getElementById("models-note"),
  onSelect: (card) => {
    state.set({ model: card.name, layer: "", ch: -1, r: -1, c: -1, zoom: 0 });
    adaptTo(card);
    const sample = inputs.samples().find((s) => s.name === state.get("sample"));
    if (state.get("src") === "sample" && (!blob || (sample && sample.channels !== card.input.channels))) {
      inputs.pickSample(defaultSample(inputs.samples(), card.input.channels));
    } else {
      run();
    }
  },
});

const inputs = initInputs({
  onError: (err) => showError(runError, err),
  onImage: (image, where) => {
    blob = image;
    state.set({ src: where.src, sample: where.sample || "", layer: "", ch: -1, r: -1, c: -1, zoom: 0 });
    if (where.src !== "sample") remember(image);
    run();
  },
});

const detail = initDetail({
  getBody: () => body,
  trace: (request, opts) => traceRun(request, opts),
  onPick: (patch) => state.set(patch),
  onZoom: (layer, channel, back) => {
    network.hidden = Boolean(layer);
    if (layer) {
      select(layer, channel, { remember: false });
      return;
    }
    select(back.layer, back.channel, { remember: false });
    const thumb = network.querySelector(`.layer-col[data-layer="${CSS.escape(back.layer.name)}"] .thumb[data-ch="${back.channel}"]`);
    if (thumb) {
      if (thumb.getBoundingClientRect().top < 0) network.scrollIntoView({ block: "start" });
      thumb.focus({ preventScroll: true });
    }
  },
});

/** Lines drawn for the selected map again, after the columns moved (show all, a resize). */
function redrawReads() {
  if (!body || network.hidden) return;
  const { layer, ch } = state.all();
  const l = body.layers.find((x) => x.name === layer);
  const shown = strips.flatMap((s) => [...s.querySelectorAll(".layer-col.is-selected")]);
  if (l && ch >= 0) select(l, ch, { remember: false });
  else if (shown.length) {
    const first = body.layers.find((x) => x.name === shown[0].dataset.layer);
    const pressed = shown[0].querySelector('.thumb[aria-pressed="true"]');
    if (first && pressed) select(first, Number(pressed.dataset.ch), { remember: false });
  }
}
window.addEventListener("resize", debounce(redrawReads, 150));
document.getElementById("branch").addEventListener("toggle", redrawReads);

/** Select a map: mark it, join it to the maps it reads, say so in words. */
function select(layer, channel, { remember = true } = {}) {
  readsText.textContent = showReads(strips, body, layer, channel);
  if (remember && !detail.isOpen()) state.set({ layer: layer.name, ch: channel, r: -1, c: -1, zoom: 0 });
}

const why = initWhy({
  getBody: () => body,
  getBlob: () => blob,
  getModel: () => state.get("model"),
});

// Held-out data (issue 17): what a filter responds to, where the model goes wrong. An
// image there opens here as if uploaded: its PNG (GET /api/models/{name}/heldout/{i}.png).
async function openHeldout(url) {
  try {
    const image = await getBlob(url);
    inputs.showTab("upload");
    blob = image;
    state.set({ src: "upload", sample: "", layer: "", ch: -1, r: -1, c: -1, zoom: 0 });
    remember(image);
    document.querySelector(".cls-setup").scrollIntoView({ block: "start" });
    run();
  } catch (err) {
    showError(runError, err);
  }
}
const filters = initFilters({ onOpen: openHeldout });
const confusion = initConfusion({ onOpen: openHeldout });

function adaptTo(card) {
  const channels = card ? card.input.channels : "L";
  inputs.setChannels(channels);
  if (card) for (const panel of [filters, confusion]) panel.setModel(card.name);
}

function remember(image) {
  if (image.size > 3 * 1024 * 1024) return;
  const reader = new FileReader();
  reader.onload = () => {
    try {
      sessionStorage.setItem(STORE_KEY, reader.result);
    } catch {
      // storage full or disabled: a reload falls back to a sample
    }
  };
  reader.readAsDataURL(image);
}

function recall() {
  const url = sessionStorage.getItem(STORE_KEY);
  if (!url || !url.startsWith("data:")) return null;
  const [head, data] = url.split(",");
  const type = head.slice(5).split(";")[0] || "image/png";
  const bin = atob(data);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type });
}

function setBusy(busy) {
  document.body.classList.toggle("cls-busy", busy);
  result.setAttribute("aria-busy", String(busy));
  resultMore.setAttribute("aria-busy", String(busy));
  resultRest.setAttribute("aria-busy", String(busy));
}

let runs = 0;
async function run() {
  const name = state.get("model");
  if (!name || !blob) return;
  const turn = ++runs;
  showError(runError, null);
  setBusy(true);
  try {
    const res = await inspectLatest(`/api/models/${encodeURIComponent(name)}/inspect`, { file: blob });
    if (!res) return;
    body = res;
    render();
  } catch (err) {
    showError(runError, err);
  } finally {
    if (turn === runs) setBusy(false); // a run that a newer one replaced leaves it busy
  }
}

function render() {
  result.hidden = false;
  resultMore.hidden = false;
  resultRest.hidden = false;
  renderVerdict(body);
  renderPreprocessing(body);
  renderBars(body);
  renderSoftmax(body);
  const net = renderNetwork(strips[0], strips[1], body, {
    onMap: (layer, c) => detail.open(layer, c),
    onSelect: (layer, c) => select(layer, c),
    onResize: redrawReads,
  });
  const branch = document.getElementById("branch");
  branch.hidden = net.mirrored === 0;
  document.getElementById("branch-title").textContent =
    `Second branch (${net.mirrored} layers): ${net.branchTitle}`;
  document.getElementById("net-summary").textContent =
    `${net.columns + net.mirrored} layers (${body.layers.length} ONNX operations); scroll sideways.`;
  renderHierarchy(document.getElementById("net-hierarchy"), body);
  renderDense(document.getElementById("dense-flow"), body, { onValue: traceDense });
  denseTrace.cancel();
  document.getElementById("dense-trace").replaceChildren();
  const diff = body.check.max_abs_diff_vs_onnxruntime;
  document.getElementById("check").textContent =
    `Check: ConvLab's engine and onnxruntime agree on the output to within ${diff === null ? "–" : fmt(diff, 10)}. Server time ${fmt(body.timing_ms.total, 0)} ms.`;
  restoreDetail();
  why.refresh(body);
}

/** The map the URL names (zoomed in or only selected), else map 0 of the first conv layer. */
/**
 * Low -> mid -> high-level features, said with this model's own conv layers (their names
 * and shapes from the inspect answer); hidden for a model without convolutions.
 */
function renderHierarchy(node, res) {
  const convs = res.layers.filter((l) => l.op_type === "Conv" && !l.branch && l.output_shape);
  node.hidden = convs.length === 0;
  if (!convs.length) return;
  const named = (l) => `${l.title} (${shape(l.output_shape)})`;
  const first = convs[0];
  const last = convs[convs.length - 1];
  const middle = convs.length > 2 ? convs[Math.floor(convs.length / 2)] : null;
  node.replaceChildren(
    el("strong", {}, "From edges to digits and objects. "),
    `A trained CNN builds its features up in levels. The first conv layer, ${named(first)}, responds to low-level patterns: edges, strokes and spots of colour, each filter one small pattern at every position. `,
    convs.length > 1
      ? `Later layers combine them into mid-level features (corners, curves, textures, parts)${middle ? `, as in ${named(middle)}` : ""}, and the last, ${named(last)}, into high-level ones that mark whole digits or objects, over maps so coarse that each value sees most of the image. `
      : "This model has only one conv layer: its dense layers do the combining. ",
    "Compare the columns above: the first maps still look like your image, the later ones less and less. ",
    el("span", { class: "muted" }, "(Zeiler and Fergus, “Visualizing and Understanding Convolutional Networks”, ECCV 2014, showed this by projecting each layer's strongest units back to the pixels.)"),
  );
}

function restoreDetail() {
  const name = state.get("layer");
  const maps = (l) => l.output && l.output.shape.length === 3;
  const layer = body.layers.find((l) => l.name === name && maps(l));
  const ch = state.get("ch");
  if (!layer || ch < 0 || ch >= layer.output.channels_shown) {
    detail.close();
    network.hidden = false;
    const first = body.layers.find((l) => maps(l) && l.op_type === "Conv" && !l.branch) || body.layers.find(maps);
    if (first) {
      select(first, 0, { remember: false });
      revealColumn(strips, first.name);
    } else {
      readsText.textContent = "";
    }
    return;
  }
  if (!state.get("zoom") && !(state.get("r") >= 0 && state.get("c") >= 0)) { // a traced pixel: zoomed (older links)
    detail.close();
    network.hidden = false;
    if (layer.branch) document.getElementById("branch").open = true;
    select(layer, ch, { remember: false });
    revealColumn(strips, layer.name);
    return;
  }
  const { r, c } = state.all();
  detail.open(layer, ch, { scroll: false });
  if (r >= 0 && c >= 0) detail.pick(r, c);
}

/**
 * Ask the trace API about a value of the run drawn now (the inspect answer's run id; the
 * input does not travel back). A run the server no longer keeps answers 410: the same
 * image is inspected again (the same numbers, a new run id) and the trace asked once more.
 */
async function traceRun(request, { signal } = {}) {
  const model = encodeURIComponent(state.get("model"));
  const ask = () => postJSON(`/api/models/${model}/trace`, { ...request, run: body.run }, { signal });
  try {
    return await ask();
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 410 || !blob) throw err;
    const shown = body;
    const fresh = await postForm(`/api/models/${model}/inspect`, { file: blob }, { signal });
    if (body !== shown) throw err; // another image replaced this one meanwhile
    body.run = fresh.run;
    return ask();
  }
}

async function traceDense(layer, index, className) {
  const box = document.getElementById("dense-trace");
  box.replaceChildren(el("p", { class: "muted" }, "Asking the engine…"));
  try {
    const t = await denseTrace({ layer: layer.name, channel: index, row: 0, col: 0 });
    if (t) renderTrace(box, t, { className, names: namer(body) });
  } catch (err) {
    const p = el("p", { class: "error" });
    showError(p, err);
    box.replaceChildren(p);
  }
}

async function start() {
  try {
    const [card] = await Promise.all([models.load(state.get("model")), inputs.load()]);
    if (!card) {
      showError(runError, new Error("This server has no trained models yet. Upload your own ONNX model under “Bring your own model”."));
      document.getElementById("byo").open = true;
      return;
    }
    state.set({ model: card.name });
    adaptTo(card);
    const src = state.get("src");
    if (src !== "sample") {
      const saved = recall();
      if (saved) {
        inputs.showTab(src === "draw" ? "draw" : "upload");
        blob = saved;
        run();
        return;
      }
    }
    const names = inputs.samples().map((s) => s.name);
    const sample = names.includes(state.get("sample")) ? state.get("sample") : defaultSample(inputs.samples(), card.input.channels);
    const keep = { layer: state.get("layer"), ch: state.get("ch"), r: state.get("r"), c: state.get("c"), zoom: state.get("zoom") };
    blob = null;
    inputs.markSample(sample);
    state.set({ src: "sample", sample });
    blob = await getBlob(sampleUrl(sample, 112));
    state.set(keep);
    run();
  } catch (err) {
    showError(runError, err);
  }
}

start();
