// The classify page: pick a model and an image, then follow the image through the
// network. One inspect request gives everything drawn here (and a run id); clicking a
// value asks the trace endpoint for its arithmetic in that run. State (model, sample,
// open map and pixel) lives in the URL; an uploaded or drawn image is kept in
// sessionStorage so a reload shows it again.

import { ApiError, getBlob, latestOnly, postForm, postJSON } from "../api.js";
import { createState } from "../state.js";
import { el, fmt, showError } from "../util.js";
import { renderDense } from "../classify/dense.js";
import { initDetail } from "../classify/detail.js";
import { defaultSample, initInputs, sampleUrl } from "../classify/inputs.js";
import { initModels } from "../classify/models.js";
import { renderNetwork } from "../classify/network.js";
import { renderBars, renderPreprocessing, renderSoftmax, renderVerdict } from "../classify/prediction.js";
import { renderTrace } from "../classify/trace.js";
import { initWhy } from "../classify/why.js";

const STORE_KEY = "convlab-classify-image";
const state = createState({ model: "", src: "sample", sample: "", layer: "", ch: -1, r: -1, c: -1 });

const runError = document.getElementById("run-error");
const result = document.getElementById("result");
let body = null;
let blob = null;
const inspectLatest = latestOnly((url, fields, opts) => postForm(url, fields, opts));
const denseTrace = latestOnly((request, opts) => traceRun(request, opts));

const models = initModels({
  select: document.getElementById("model-select"),
  cardNode: document.getElementById("model-card"),
  form: document.getElementById("byo-form"),
  mineNode: document.getElementById("my-models"),
  noteNode: document.getElementById("models-note"),
  onSelect: (card) => {
    state.set({ model: card.name, layer: "", ch: -1, r: -1, c: -1 });
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
    state.set({ src: where.src, sample: where.sample || "", layer: "", ch: -1, r: -1, c: -1 });
    if (where.src !== "sample") remember(image);
    run();
  },
});

const detail = initDetail({
  getBody: () => body,
  trace: (request, opts) => traceRun(request, opts),
  onPick: (patch) => state.set(patch),
});

const why = initWhy({
  getBody: () => body,
  getBlob: () => blob,
  getModel: () => state.get("model"),
});

function adaptTo(card) {
  const channels = card ? card.input.channels : "L";
  inputs.setChannels(channels);
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
  renderVerdict(body);
  renderPreprocessing(body);
  renderBars(body);
  renderSoftmax(body);
  const columns = renderNetwork(document.getElementById("layers"), body, { onMap: (layer, c) => detail.open(layer, c) });
  const withMaps = body.layers.filter((l) => l.output).length;
  document.getElementById("net-summary").textContent =
    `${columns} layers (${body.layers.length} operations in the ONNX graph, ${withMaps} with outputs shown). Scroll sideways to follow the image through the network.`;
  renderDense(document.getElementById("dense-flow"), body, { onValue: traceDense });
  denseTrace.cancel();
  document.getElementById("dense-trace").replaceChildren();
  const diff = body.check.max_abs_diff_vs_onnxruntime;
  document.getElementById("check").textContent =
    `Check: ConvLab's engine and onnxruntime agree on the output to within ${diff === null ? "–" : fmt(diff, 10)}. Server time ${fmt(body.timing_ms.total, 0)} ms.`;
  restoreDetail();
  why.refresh(body);
}

function restoreDetail() {
  const name = state.get("layer");
  const layer = body.layers.find((l) => l.name === name && l.output && l.output.shape.length === 3);
  if (!layer || state.get("ch") < 0 || state.get("ch") >= layer.output.channels_shown) {
    detail.close();
    return;
  }
  const { r, c } = state.all();
  detail.open(layer, state.get("ch"), { scroll: false });
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
    if (t) renderTrace(box, t, { className });
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
    const keep = { layer: state.get("layer"), ch: state.get("ch"), r: state.get("r"), c: state.get("c") };
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
