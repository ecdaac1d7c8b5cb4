// The calculator's one layer: the form, POST /api/output-size, its numbers and sentences,
// and the window diagrams (drawn by ./diagrams.js from the same answer).

import { ApiError, getJSON, latestOnly, postJSON } from "../api.js";
import { $, debounce, el, int, showError, square } from "../util.js";
import { clearDiagrams, drawDiagrams } from "./diagrams.js";
import { memText, said, shapeText } from "./format.js";

export const EXAMPLES = {
  s1: { h: 7, w: 7, c: 1, k: 1, f: 3, s: 1, p: 0, d: 1 },
  s2: { h: 7, w: 7, c: 1, k: 1, f: 3, s: 2, p: 0, d: 1 },
  s3: { h: 7, w: 7, c: 1, k: 1, f: 3, s: 3, p: 0, d: 1 },
  pad1: { h: 7, w: 7, c: 1, k: 1, f: 3, s: 1, p: 1, d: 1 },
  six: { h: 32, w: 32, c: 3, k: 6, f: 5, s: 1, p: 0, d: 1 },
  cifar: { h: 32, w: 32, c: 3, k: 10, f: 5, s: 1, p: 2, d: 1 },
  alexnet: { h: 227, w: 227, c: 3, k: 96, f: 11, s: 4, p: 0, d: 1 },
};

const FIELDS = { h: "in-h", w: "in-w", c: "in-c", k: "in-k", f: "in-f", s: "in-s", p: "in-p", d: "in-d" };
let lastLayer = null;
let state = null;

function fillForm() {
  for (const [key, id] of Object.entries(FIELDS)) $(id).value = state.get(key);
  markExample();
}

/** aria-pressed on the example button whose numbers are in the form. */
function markExample() {
  for (const b of document.querySelectorAll("[data-example]")) {
    const ex = EXAMPLES[b.dataset.example];
    const on = Object.keys(FIELDS).every((key) => ex[key] === state.get(key));
    b.setAttribute("aria-pressed", String(on));
  }
}

function readForm() {
  const out = {};
  for (const [key, id] of Object.entries(FIELDS)) {
    const text = $(id).value.trim();
    if (!/^\d+$/.test(text)) return null;
    out[key] = Number(text);
  }
  return out;
}

const fetchLayer = latestOnly((body, opts) => postJSON("/api/output-size", body, opts));

async function updateLayer() {
  const v = readForm();
  if (!v) {
    showError($("layer-error"), new Error("Fill in every field with a whole number."));
    $("layer-output").hidden = true; // the last numbers belong to other settings
    return;
  }
  state.set(v);
  markExample();
  const body = {
    input_size: [v.h, v.w], kernel_size: v.f, stride: v.s, padding: v.p,
    dilation: v.d, in_channels: v.c, filters: v.k,
  };
  try {
    const res = await fetchLayer(body);
    if (res === undefined) return;
    showError($("layer-error"), null);
    $("layer-output").hidden = false;
    lastLayer = { req: v, res };
    renderLayer(v, res);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    showError($("layer-error"), err);
    // An impossible layer: the output-size sum with its numbers, from the 422.
    if (err.body?.formula) $("layer-error").append(" ", el("span", { class: "formula" }, said(err.body.formula)));
    $("layer-output").hidden = true; // the last numbers belong to other settings
    $("layer-fit").hidden = true;
    $("layer-explain").textContent = ""; // it described the last layer that worked
    lastLayer = null;
    clearDiagrams();
  }
}

function renderLayer(v, res) {
  const [k, oh, ow] = res.output_shape;
  $("out-size").textContent = square(oh, ow);
  $("out-volume").textContent = shapeText(res.output_shape);
  $("out-formula").textContent = said(res.formula);
  const pr = res.params;
  $("out-params").textContent = int(pr.total);
  $("out-params-split").textContent = `${int(pr.weights)} weight${pr.weights === 1 ? "" : "s"} + ${int(pr.biases)} bias${pr.biases === 1 ? "" : "es"}`;
  $("out-params-formula").textContent = said(pr.formula);
  $("out-acts").textContent = int(res.activations);
  $("out-memory").textContent = memText(res.memory_bytes);
  const fit = $("layer-fit");
  if (res.fits && res.reads_all_input) {
    fit.hidden = true;
    $("layer-explain").textContent = said(res.explanation);
  } else {
    fit.hidden = false;
    fit.textContent = `${res.fits ? "Skips input" : "Doesn't fit"}: ${said(res.explanation)}`;
    $("layer-explain").textContent = "";
  }
  const pos = $("win-pos");
  pos.max = String(oh * ow - 1);
  const asked = state.get("pos"); // from the URL, so any value
  const p = Number.isInteger(asked) ? Math.max(0, Math.min(asked, oh * ow - 1)) : 0;
  pos.value = String(p);
  drawDiagrams(v, res, p);
}

/** The rule "padding (F - 1)/2 keeps the size" from GET /api/calculator/rules, with a button
 * per course value that puts that F and P (stride 1, no dilation) into the form. */
async function initRule() {
  let rule;
  try {
    rule = (await getJSON("/api/calculator/rules")).same_padding;
  } catch (err) {
    showError($("layer-error"), err);
    return;
  }
  $("rule-text").textContent = said(rule.rule);
  $("rule-buttons").replaceChildren(...rule.examples.map((ex) => el("button", {
    type: "button", dataset: { ruleF: String(ex.kernel_size) },
    onclick: () => {
      state.set({ f: ex.kernel_size, p: ex.padding, s: 1, d: 1, pos: 0 });
      fillForm();
      updateLayer();
    },
  }, `F = ${ex.kernel_size}, P = ${ex.padding} on this input`)));
}

/** Wire the form, the example buttons and the position slider to `st`, and compute once. */
export function initLayer(st) {
  state = st;
  fillForm();
  const onLayer = debounce(updateLayer, 150);
  $("layer-form").addEventListener("input", onLayer);
  $("layer-form").addEventListener("submit", (e) => e.preventDefault());
  for (const b of document.querySelectorAll("[data-example]")) {
    b.addEventListener("click", () => {
      state.set({ ...EXAMPLES[b.dataset.example], pos: 0 });
      fillForm();
      updateLayer();
    });
  }
  $("win-pos").addEventListener("input", () => {
    const pos = Number($("win-pos").value);
    state.set({ pos });
    if (lastLayer) drawDiagrams(lastLayer.req, lastLayer.res, pos);
  });
  window.addEventListener("resize", debounce(() => {
    if (lastLayer) drawDiagrams(lastLayer.req, lastLayer.res, Number($("win-pos").value));
  }, 200));
  updateLayer();
  initRule();
}
