// The playground's controls: the settings form kept in step with the state, the filter
// editor, the drawing canvas and upload, and the sample list. A change updates the state
// and asks for a refresh (the function `initControls` is given).

import { getJSON } from "../api.js";
import { makeDrawable } from "../draw/canvas-input.js";
import { drawMap, drawRGB } from "../draw/heatmap.js";
import { $, debounce, el, showError } from "../util.js";
import { FilterEditor } from "./filters.js";
import { ADD_ORDER, COURSE, state, times, ui } from "./model.js";
import { CUSTOM_TEXT, InputSource, fitWeights, loadPresets, stored } from "./sources.js";
import { renderFilterAndOutput, renderVolume } from "./stages.js";
import { pause, play, setStep, playing, updateWindow } from "./steps.js";

let refresh = () => {};
const scheduleRefresh = debounce(() => refresh(), 150);

export function syncControls(s) {
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
  $("show-all").checked = s.all;
  $("map-scales").checked = s.scale === "map";
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

/** A new filter size: presets stay presets (the API's version at the new size, or a stand-in
 * where it has none), your own weights keep their values, centred. */
function changeKernelSize(F) {
  const s = state.all();
  const C = ui.current?.C ?? 1;
  const filters = s.filters.map((f) => (typeof f === "string" ? f : fitWeights(f, C, F)));
  change({ ksize: F, filters, step: 0 }, { now: true });
}

function filterEdit(mutate) {
  const s = state.all();
  const filters = [...s.filters];
  const bias = [...s.bias];
  mutate(filters, bias);
  return { filters, bias };
}

export const editor = new FilterEditor($("filters"), {
  preset(i, name) {
    const value = name === "custom" ? Array.from(ui.current.resolved[i].weights) : name;
    const patch = filterEdit((f) => { f[i] = value; });
    if (name !== "custom") patch.k = i; // show the filter just chosen, step by step
    change(patch, { now: true });
  },
  weight(i, index, v) {
    const weights = Array.from(ui.current.resolved[i].weights);
    weights[index] = v;
    ui.current.resolved[i] = { ...ui.current.resolved[i], name: "custom", title: "Custom", description: CUSTOM_TEXT, weights };
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
    const presets = await loadPresets(s.ksize, ui.current?.C ?? 1);
    const used = new Set(s.filters);
    const next = ADD_ORDER.find((n) => presets.byName[n] && !used.has(n)) || presets.list[0].name;
    change(filterEdit((f, b) => {
      f.push(next);
      b.push(0);
    }), { now: true });
  });
  $("kfilter").addEventListener("change", () => {
    state.set({ k: Number($("kfilter").value) });
    if (!ui.current?.geom) return;
    renderFilterAndOutput();
    updateWindow();
  });
  $("play").addEventListener("click", () => (playing() ? pause() : play()));
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
    if (ui.current?.geom) setStep(Math.min(ui.current.geom.positions - 1, state.get("step") + 1));
  });
  $("scrub").addEventListener("input", () => {
    pause();
    setStep(Number($("scrub").value));
  });
  $("show-all").addEventListener("change", () => {
    state.set({ all: $("show-all").checked });
    updateWindow();
  });
  $("map-scales").addEventListener("change", () => {
    state.set({ scale: $("map-scales").checked ? "map" : "shared" });
    if (!ui.current?.geom) return;
    renderFilterAndOutput();
    renderVolume();
    updateWindow();
  });
  $("speed").addEventListener("change", () => {
    state.set({ speed: Number($("speed").value) });
    if (playing()) play();
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

export const inputs = new InputSource(drawing);

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
      select.append(el("optgroup", { label: title }, ...mine.map((x) => el("option", { value: x.name }, times(x.title) + (x.label && !x.title.includes(x.label) ? ` (${x.label})` : "")))));
    }
    const others = samples.filter((x) => !(x.kind in groups));
    for (const x of others) select.append(el("option", { value: x.name }, times(x.title)));
  } catch (err) {
    showError($("input-error"), err);
  }
}

/** Wire every control, restore a kept drawing and fill the sample list; `onRefresh`
 * recomputes the page from the state. */
export async function initControls(onRefresh) {
  refresh = onRefresh;
  wireControls();
  restoreDrawing();
  drawingReady = true;
  await loadSamples();
}
