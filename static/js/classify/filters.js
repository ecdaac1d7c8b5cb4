// "What a filter responds to": a layer and channel picker, the channel's 9 top held-out
// images (each drawn with the receptive-field box the API gives and its value), then the
// activation-maximisation image. The API does the maths; this draws. The first request
// for a model may answer 202 while the server runs the held-out images through the
// engine (once per process); the progress is shown and the request repeated.

import { getJSON, latestOnly } from "../api.js";
import { el, fmt, shape, showError } from "../util.js";

const SIDE = 96; // px per patch image on the page

const sleep = (ms, signal) => new Promise((resolve, reject) => {
  const t = setTimeout(resolve, ms);
  if (signal) signal.addEventListener("abort", () => { clearTimeout(t); reject(new DOMException("aborted", "AbortError")); });
});

/** GET `url`, repeating it while the server answers 202 ("computing"); `onProgress(body)` each time. */
export async function getWhenReady(url, { signal, onProgress } = {}) {
  let body = await getJSON(url, { signal });
  while (body && body.status === "computing") {
    if (onProgress) onProgress(body);
    await sleep(1000, signal);
    body = await getJSON(url, { signal });
  }
  return body;
}

/** A held-out image (PNG data URL) drawn at `side` px, pixels kept sharp, with `field` outlined. */
function patchCanvas(src, field, size, side) {
  const canvas = el("canvas", { width: side, height: side, class: "pixels", "aria-hidden": "true" });
  const img = new Image();
  img.onload = () => {
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, 0, 0, side, side);
    if (!field || field.whole) return;
    const sx = side / size[1], sy = side / size[0];
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#ffb000";
    ctx.strokeRect(field.cols[0] * sx + 1, field.rows[0] * sy + 1,
      (field.cols[1] - field.cols[0] + 1) * sx - 2, (field.rows[1] - field.rows[0] + 1) * sy - 2);
  };
  img.src = src;
  return canvas;
}

export function initFilters({ onOpen } = {}) {
  const root = document.getElementById("filters");
  const layerSel = document.getElementById("flt-layer");
  const chanIn = document.getElementById("flt-channel");
  const range = document.getElementById("flt-channel-range");
  const status = document.getElementById("flt-status");
  const error = document.getElementById("flt-error");
  const grid = document.getElementById("flt-grid");
  const synth = document.getElementById("flt-synth");
  const source = document.getElementById("flt-source");
  let model = "";
  let layers = [];
  const loadLayers = latestOnly((url, opts) => getJSON(url, opts));
  const loadPatches = latestOnly((url, opts) => getWhenReady(url, { ...opts, onProgress: progress }));
  const loadSynth = latestOnly((url, opts) => getJSON(url, opts));

  function progress(body) {
    status.textContent = `${body.what}: ${body.done.toLocaleString("en")} of ${body.total.toLocaleString("en")} images (once per server process)…`;
  }

  function channels() {
    const layer = layers.find((l) => l.name === layerSel.value);
    return layer ? layer.shape[0] : 1;
  }

  function setChannel(c) {
    const n = channels();
    chanIn.value = String(Math.min(n - 1, Math.max(0, Math.round(Number(c) || 0))));
    show();
  }

  layerSel.addEventListener("change", () => {
    chanIn.max = String(channels() - 1);
    range.textContent = `(0–${channels() - 1})`;
    setChannel(0);
  });
  chanIn.addEventListener("change", () => setChannel(chanIn.value));
  document.getElementById("flt-prev").addEventListener("click", () => setChannel(Number(chanIn.value) - 1));
  document.getElementById("flt-next").addEventListener("click", () => setChannel(Number(chanIn.value) + 1));

  async function setModel(name) {
    if (name === model) return;
    // Nothing of the last model may still be asked for (its 202 polling included): it
    // may just have been deleted.
    for (const load of [loadLayers, loadPatches, loadSynth]) load.cancel();
    model = name;
    layers = [];
    grid.replaceChildren();
    synth.hidden = true;
    showError(error, null);
    const controls = root.querySelector(".xd-controls");
    try {
      const panels = await loadLayers(`/api/models/${encodeURIComponent(name)}/heldout`);
      if (!panels) return;
      root.hidden = false;
      controls.hidden = !panels.filters.available;
      document.getElementById("flt-body").hidden = !panels.filters.available;
      source.textContent = "";
      if (!panels.filters.available) {
        status.textContent = panels.filters.reason;
        return;
      }
      const body = await loadLayers(`/api/models/${encodeURIComponent(name)}/filters`);
      if (!body) return;
      layers = body.layers;
      layerSel.replaceChildren(...layers.map((l) => el("option", { value: l.name },
        `${l.title} · ${shape(l.shape)} (${l.name})`)));
      layerSel.value = body.default;
      layerSel.dispatchEvent(new Event("change"));
    } catch (err) {
      root.hidden = false;
      layerSel.replaceChildren();
      status.textContent = "";
      showError(error, err);
    }
  }

  async function show() {
    const layer = layerSel.value, channel = Number(chanIn.value);
    if (!model || !layer) return;
    const q = `layer=${encodeURIComponent(layer)}&channel=${channel}`;
    const base = `/api/models/${encodeURIComponent(model)}/filters`;
    showError(error, null);
    loadSynth.cancel();
    synth.hidden = true;
    status.textContent = "Looking up the top images…";
    try {
      const body = await loadPatches(`${base}/patches?${q}`);
      if (!body) return;
      renderPatches(body);
      status.textContent = "Optimising an image from noise on the engine…";
      const made = await loadSynth(`${base}/maximise?${q}`);
      if (!made) return;
      renderSynth(made, body);
      status.textContent = "";
    } catch (err) {
      status.textContent = "";
      showError(error, err);
    }
  }

  function renderPatches(body) {
    const size = body.input_shape.slice(1);
    grid.replaceChildren(...body.patches.map((p) => {
      const label = `Rank ${p.rank}: held-out image ${p.index} (a ${p.label}), value ${fmt(p.value, 3)} at row ${p.row}, column ${p.col}; receptive field rows ${p.field.rows[0]}–${p.field.rows[1]}, columns ${p.field.cols[0]}–${p.field.cols[1]}. Open in classify:`;
      const button = el("button", { type: "button", class: "xd-patch", title: label,
        onclick: () => onOpen && onOpen(p.url, p) },
      el("span", { class: "sr-only" }, label),
      patchCanvas(p.image, p.field, size, SIDE),
      el("span", { class: "xd-value" }, fmt(p.value, 2)),
      el("span", { class: "xd-meta small muted" }, `#${p.index} · ${p.label}`));
      return el("li", {}, button);
    }));
    source.textContent = `From ${body.images_scanned.toLocaleString("en")} images: ${body.source}. The engine ran them through every layer once (${fmt(body.precompute.seconds, 1)} s, batches of ${body.precompute.batch}); this answer took ${fmt(body.lookup_ms, 0)} ms.`;
  }

  function renderSynth(made, top) {
    synth.hidden = false;
    const img = document.getElementById("flt-synth-img");
    img.src = made.image;
    img.alt = `An image optimised to excite channel ${made.channel} of ${made.layer}`;
    const o = made.objective;
    document.getElementById("flt-synth-caption").textContent =
      `Gradient ascent on the channel's mean value: ${fmt(o.start, 3)} → ${fmt(o.end, 3)} in ${made.steps} steps (${fmt(made.seconds, 1)} s${made.stopped_early ? ", stopped at the time limit" : ""}), with jitter, a little blur and decay towards grey. The top real image's largest value: ${top.patches.length ? fmt(top.patches[0].value, 3) : "–"}.`;
  }

  return { setModel };
}
