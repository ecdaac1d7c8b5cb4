// The calculator's layer chain: a stack of layers (kept in the URL) sent to
// POST /api/calculator/chain, each layer's shape and counts, the totals, and the stack as
// PyTorch and Keras code.

import { ApiError, latestOnly, postJSON } from "../api.js";
import { $, debounce, el, int, showError } from "../util.js";
import { memText, said, shapeText } from "./format.js";

export const COURSE_CHAIN = [
  { type: "conv", filters: 10, kernel_size: 5, stride: 1, padding: 2, dilation: 1 },
  { type: "relu" },
  { type: "pool", mode: "max", kernel_size: 2, stride: 2, padding: 0 },
  { type: "flatten" },
  { type: "dense", units: 10 },
];

// Fields of each layer type, with their limits (the server checks them too).
const LAYER_FIELDS = {
  conv: [
    ["filters", "Filters K", 1, 2048], ["kernel_size", "Size F", 1, 32], ["stride", "Stride S", 1, 16],
    ["padding", "Pad P", 0, 32], ["dilation", "Dilation", 1, 8],
  ],
  pool: [["kernel_size", "Size F", 1, 32], ["stride", "Stride S", 1, 32], ["padding", "Pad P", 0, 16]],
  dense: [["units", "Units", 1, 16384]],
  relu: [],
  flatten: [],
};
const NEW_LAYER = {
  conv: { type: "conv", filters: 16, kernel_size: 3, stride: 1, padding: 1, dilation: 1 },
  pool: { type: "pool", mode: "max", kernel_size: 2, stride: 2, padding: 0 },
  relu: { type: "relu" },
  flatten: { type: "flatten" },
  dense: { type: "dense", units: 10 },
};
const TITLES = { conv: "Conv", pool: "Pool", relu: "ReLU", flatten: "Flatten", dense: "Dense (fully connected)" };

let state = null;

function cleanLayers(layers) {
  if (!Array.isArray(layers)) return COURSE_CHAIN;
  const out = [];
  for (const l of layers.slice(0, 64)) {
    if (!l || !LAYER_FIELDS[l.type]) continue;
    const clean = { ...NEW_LAYER[l.type] };
    for (const [key] of LAYER_FIELDS[l.type]) {
      // Links made before the API's rename still say "kernel": read it as kernel_size.
      const v = key === "kernel_size" && l[key] === undefined ? l.kernel : l[key];
      if (Number.isInteger(v)) clean[key] = v;
    }
    if (l.type === "pool" && (l.mode === "max" || l.mode === "avg")) clean.mode = l.mode;
    out.push(clean);
  }
  return out;
}

let layers = [];
let chainResult = null;
let chainFailed = false; // the last request failed (not a broken stack)

function saveLayers() {
  state.set({ layers: layers.map((l) => ({ ...l })) });
}

function buildChainList() {
  const list = $("chain-list");
  list.replaceChildren();
  layers.forEach((layer, i) => list.append(layerCard(layer, i)));
}

function layerCard(layer, i) {
  const n = i + 1;
  const fields = LAYER_FIELDS[layer.type].map(([key, label, min, max]) => {
    const id = `L${i}-${key}`;
    const input = el("input", {
      id, type: "number", min, max, step: 1, inputmode: "numeric", value: layer[key],
    });
    input.addEventListener("input", () => {
      const text = input.value.trim();
      if (!/^\d+$/.test(text)) return;
      layers[i][key] = Number(text);
      saveLayers();
      scheduleChain();
    });
    return el("div", { class: "field" }, el("label", { for: id }, label), input);
  });
  if (layer.type === "pool") {
    const id = `L${i}-mode`;
    const sel = el("select", { id },
      el("option", { value: "max" }, "max"), el("option", { value: "avg" }, "average"));
    sel.value = layer.mode;
    sel.addEventListener("change", () => {
      layers[i].mode = sel.value;
      saveLayers();
      scheduleChain();
    });
    fields.unshift(el("div", { class: "field" }, el("label", { for: id }, "Mode"), sel));
  }
  const tool = (label, text, fn, disabled) =>
    el("button", { type: "button", class: "icon-button", "aria-label": label, title: label, disabled, onclick: fn }, text);
  return el("li", { class: `layer-card type-${layer.type}`, dataset: { index: i } },
    el("div", { class: "layer-head" },
      el("span", { class: "layer-num" }, String(n)),
      el("strong", {}, TITLES[layer.type]),
      el("span", { class: "layer-tools" },
        tool(`Move layer ${n} up`, "↑", () => move(i, -1), i === 0),
        tool(`Move layer ${n} down`, "↓", () => move(i, 1), i === layers.length - 1),
        tool(`Remove layer ${n}`, "✕", () => remove(i)))),
    fields.length ? el("div", { class: "layer-fields" }, fields) : "",
    el("div", { class: "layer-result" }, el("span", { class: "muted" }, "…")));
}

function move(i, delta) {
  const j = i + delta;
  [layers[i], layers[j]] = [layers[j], layers[i]];
  saveLayers();
  buildChainList();
  runChain();
  $("chain-list").children[j]?.querySelector(`[aria-label="Move layer ${j + 1} ${delta < 0 ? "up" : "down"}"]`)?.focus();
}

function remove(i) {
  layers.splice(i, 1);
  saveLayers();
  buildChainList();
  runChain();
}

function addLayer(type) {
  if (layers.length >= 64) {
    showError($("chain-error"), new Error("A stack holds at most 64 layers."));
    return;
  }
  layers.push({ ...NEW_LAYER[type] });
  saveLayers();
  buildChainList();
  runChain();
}

function readChainInput() {
  const vals = ["chain-c", "chain-h", "chain-w"].map((id) => $(id).value.trim());
  if (!vals.every((t) => /^\d+$/.test(t))) return null;
  return vals.map(Number);
}

const fetchChain = latestOnly((body, opts) => postJSON("/api/calculator/chain", body, opts));

async function runChain() {
  const input = readChainInput();
  if (!input) {
    showError($("chain-error"), new Error("Fill in the input's height, width and depth with whole numbers."));
    return;
  }
  state.set({ input });
  try {
    const res = await fetchChain({ input, layers });
    if (res === undefined) return;
    showError($("chain-error"), null);
    chainFailed = false;
    chainResult = res;
    renderChain(res);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    showError($("chain-error"), err);
    chainResult = null; // nothing below may describe another stack
    chainFailed = true;
    for (const box of $("chain-list").querySelectorAll(".layer-result")) {
      box.replaceChildren(el("span", { class: "muted small" }, "Not computed: see the message above the stack."));
    }
    $("chain-totals").replaceChildren();
    renderCode();
  }
}
const scheduleChain = debounce(runChain, 200);

function renderChain(res) {
  const cards = $("chain-list").children;
  res.layers.forEach((row, i) => {
    const card = cards[i];
    if (!card) return;
    const box = card.querySelector(".layer-result");
    card.classList.toggle("broken", Boolean(row.error));
    card.classList.toggle("skipped", row.skipped);
    if (row.error) {
      box.replaceChildren(el("p", { class: "layer-error", role: "alert" }, el("strong", {}, "This layer cannot work: "), said(row.error)));
      return;
    }
    if (row.skipped) {
      box.replaceChildren(el("p", { class: "muted small" }, "Not computed: a layer above does not work."));
      return;
    }
    const stats = el("p", { class: "layer-stats" },
      el("span", { class: "arrow-out" }, "→ "),
      el("strong", { class: "shape" }, shapeText(row.output_shape)),
      el("span", { class: "stat" }, `${int(row.params)} params`),
      el("span", { class: "stat" }, `${int(row.activations)} values · ${memText(row.memory_bytes)}`),
      row.macs ? el("span", { class: "stat muted" }, `${int(row.macs)} multiply-adds`) : "");
    const formulas = el("p", { class: "small layer-formulas" },
      row.size_formula ? el("span", { class: "formula" }, said(row.size_formula)) : "",
      row.params && row.params_formula ? el("span", { class: "formula" }, said(row.params_formula)) : "");
    box.replaceChildren(stats, formulas, row.note ? el("p", { class: "small warn-line" }, said(row.note)) : "");
  });
  const t = res.totals;
  const broken = t.broken_at !== null;
  $("chain-totals").replaceChildren(
    el("div", { class: "total" }, el("span", { class: "total-label" }, "Input"), el("strong", {}, shapeText(res.input_shape)), el("span", { class: "small muted" }, `${int(res.input.activations)} values`)),
    el("div", { class: "total" }, el("span", { class: "total-label" }, broken ? "Parameters (up to the break)" : "Total parameters"), el("strong", { id: "total-params" }, int(t.params))),
    el("div", { class: "total" }, el("span", { class: "total-label" }, "Activations incl. input"), el("strong", { id: "total-acts" }, int(t.activations))),
    el("div", { class: "total" }, el("span", { class: "total-label" }, "Forward memory (float32)"), el("strong", { id: "total-memory" }, memText(t.memory_bytes))),
    el("div", { class: "total" }, el("span", { class: "total-label" }, "Output"), el("strong", { id: "total-output" }, shapeText(t.output_shape))),
    broken ? el("p", { class: "error total-broken" }, `Layer ${t.broken_at + 1} breaks the stack; fix it to see the code.`) : "",
  );
  renderCode();
}

function renderCode() {
  const which = state.get("code") === "keras" ? "keras" : "pytorch";
  for (const b of document.querySelectorAll("[data-code]")) b.setAttribute("aria-pressed", String(b.dataset.code === which));
  const code = chainResult ? chainResult[which] : null;
  $("code-view").firstElementChild.textContent = code || (chainFailed
    ? "# No code: the stack could not be computed (see the message above it)."
    : "# The stack has a layer that cannot work: fix it to see the code.");
  $("code-copy").disabled = !code;
  $("code-text").value = code || "";
  $("code-status").textContent = "";
}

async function copyCode() {
  const code = chainResult && chainResult[state.get("code") === "keras" ? "keras" : "pytorch"];
  if (!code) return;
  try {
    if (!navigator.clipboard) throw new Error("no clipboard");
    await navigator.clipboard.writeText(code);
    $("code-status").textContent = "Copied to the clipboard.";
    $("code-fallback").hidden = true;
  } catch {
    $("code-fallback").hidden = false;
    $("code-text").value = code;
    $("code-text").focus();
    $("code-text").select();
    $("code-status").textContent = "The browser blocked the clipboard: the code is selected below.";
  }
}

/** Wire the stack's input, buttons and code view to `st`, and compute once. */
export function initChain(st) {
  state = st;
  layers = cleanLayers(state.get("layers"));
  const [c, h, w] = Array.isArray(state.get("input")) && state.get("input").length === 3 ? state.get("input") : [3, 32, 32];
  $("chain-c").value = c;
  $("chain-h").value = h;
  $("chain-w").value = w;
  for (const id of ["chain-c", "chain-h", "chain-w"]) $(id).addEventListener("input", scheduleChain);
  for (const b of document.querySelectorAll("[data-add]")) b.addEventListener("click", () => addLayer(b.dataset.add));
  $("chain-clear").addEventListener("click", () => {
    layers = [];
    saveLayers();
    buildChainList();
    runChain();
  });
  $("chain-example").addEventListener("click", () => {
    layers = cleanLayers(COURSE_CHAIN);
    $("chain-c").value = 3;
    $("chain-h").value = 32;
    $("chain-w").value = 32;
    saveLayers();
    buildChainList();
    runChain();
  });
  for (const b of document.querySelectorAll("[data-code]")) {
    b.addEventListener("click", () => {
      state.set({ code: b.dataset.code });
      renderCode();
    });
  }
  $("code-copy").addEventListener("click", copyCode);
  buildChainList();
  runChain();
}
