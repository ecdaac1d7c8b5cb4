// The calculator page: one layer (POST /api/output-size), the quiz
// (/api/calculator/quiz + /check) and the layer chain (/api/calculator/chain).
// Every number shown comes from the server; this file only wires and draws.

import { ApiError, getJSON, latestOnly, postJSON } from "../api.js";
import { createState } from "../state.js";
import { $, bytes, debounce, el, int, showError, svgEl } from "../util.js";

const COURSE_CHAIN = [
  { type: "conv", filters: 10, kernel: 5, stride: 1, padding: 2, dilation: 1 },
  { type: "relu" },
  { type: "pool", mode: "max", kernel: 2, stride: 2, padding: 0 },
  { type: "flatten" },
  { type: "dense", units: 10 },
];

const EXAMPLES = {
  s1: { h: 7, w: 7, c: 1, k: 1, f: 3, s: 1, p: 0, d: 1 },
  s2: { h: 7, w: 7, c: 1, k: 1, f: 3, s: 2, p: 0, d: 1 },
  s3: { h: 7, w: 7, c: 1, k: 1, f: 3, s: 3, p: 0, d: 1 },
  pad1: { h: 7, w: 7, c: 1, k: 1, f: 3, s: 1, p: 1, d: 1 },
  cifar: { h: 32, w: 32, c: 3, k: 10, f: 5, s: 1, p: 2, d: 1 },
  alexnet: { h: 227, w: 227, c: 3, k: 96, f: 11, s: 4, p: 0, d: 1 },
};

// Fields of each layer type, with their limits (the server checks them too).
const LAYER_FIELDS = {
  conv: [
    ["filters", "Filters K", 1, 2048], ["kernel", "Size F", 1, 32], ["stride", "Stride S", 1, 16],
    ["padding", "Pad P", 0, 32], ["dilation", "Dilation", 1, 8],
  ],
  pool: [["kernel", "Size F", 1, 32], ["stride", "Stride S", 1, 32], ["padding", "Pad P", 0, 16]],
  dense: [["units", "Units", 1, 16384]],
  relu: [],
  flatten: [],
};
const NEW_LAYER = {
  conv: { type: "conv", filters: 16, kernel: 3, stride: 1, padding: 1, dilation: 1 },
  pool: { type: "pool", mode: "max", kernel: 2, stride: 2, padding: 0 },
  relu: { type: "relu" },
  flatten: { type: "flatten" },
  dense: { type: "dense", units: 10 },
};
const TITLES = { conv: "Conv", pool: "Pool", relu: "ReLU", flatten: "Flatten", dense: "Dense (fully connected)" };

const state = createState({
  ...EXAMPLES.s1, pos: 0, seed: -1, input: [3, 32, 32], layers: COURSE_CHAIN, code: "pytorch",
});


/** [C, H, W] -> "HxWxC" (the course's order); [N] -> "N". */
function shapeText(shape) {
  if (!shape) return "–";
  return shape.length === 3 ? `${shape[1]}x${shape[2]}x${shape[0]}` : int(shape[0]);
}

function memText(n) {
  return `${int(n)} bytes${n >= 1024 ? ` (${bytes(n)})` : ""}`;
}

// ---------------------------------------------------------------------------------
// One layer

const FIELDS = { h: "in-h", w: "in-w", c: "in-c", k: "in-k", f: "in-f", s: "in-s", p: "in-p", d: "in-d" };
let lastLayer = null;

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
    $("layer-output").hidden = true; // the last numbers belong to other settings
    $("layer-fit").hidden = true;
    lastLayer = null;
    clearDiagrams();
  }
}

function renderLayer(v, res) {
  const [k, oh, ow] = res.output_shape;
  $("out-size").textContent = `${oh}x${ow}`;
  $("out-volume").textContent = `${oh}x${ow}x${k}`;
  $("out-formula").textContent = res.formula;
  const pr = res.params;
  $("out-params").textContent = int(pr.total);
  $("out-params-split").textContent = `${int(pr.weights)} weight${pr.weights === 1 ? "" : "s"} + ${int(pr.biases)} bias${pr.biases === 1 ? "" : "es"}`;
  $("out-params-formula").textContent = pr.formula;
  $("out-acts").textContent = int(res.activations);
  $("out-memory").textContent = memText(res.memory_bytes);
  const fit = $("layer-fit");
  if (res.fits && res.reads_all_input) {
    fit.hidden = true;
    $("layer-explain").textContent = res.explanation;
  } else {
    fit.hidden = false;
    fit.textContent = `${res.fits ? "Skips input" : "Doesn't fit"}: ${res.explanation}`;
    $("layer-explain").textContent = "";
  }
  const pos = $("win-pos");
  pos.max = String(oh * ow - 1);
  const asked = state.get("pos"); // from the URL, so any value
  const p = Number.isInteger(asked) ? Math.max(0, Math.min(asked, oh * ow - 1)) : 0;
  pos.value = String(p);
  drawDiagrams(v, res, p);
}

// ---------------------------------------------------------------------------------
// The window diagrams: drawn from the numbers the API returned.

const GRID_MAX = 40; // padded cells per side drawn in the 2-D grid
const STRIP_MAX = 300; // padded cells drawn in the one-row strip

function clearDiagrams() {
  $("grid-svg").replaceChildren();
  $("strip-svg").replaceChildren();
  $("win-pos-text").textContent = "";
  $("strip-label").textContent = "";
  $("grid-note").hidden = true;
}

function drawDiagrams(v, res, pos) {
  const [pt, pl, pb, pr] = res.pads;
  const [oh, ow] = res.output_size;
  const i = Math.floor(pos / ow);
  const j = pos % ow;
  $("win-pos-text").textContent = `output row ${i}, column ${j} (of ${oh}x${ow})`;
  drawGrid(v, res, i, j, [pt, pl, pb, pr], oh, ow);
  drawStrip(v, res, j, [pl, pr], ow);
}

function drawGrid(v, res, i, j, pads, oh, ow) {
  const svg = $("grid-svg");
  svg.replaceChildren();
  const [pt, pl, pb, pr] = pads;
  const hp = v.h + pt + pb;
  const wp = v.w + pl + pr;
  const note = $("grid-note");
  if (hp > GRID_MAX || wp > GRID_MAX || oh > GRID_MAX || ow > GRID_MAX) {
    note.hidden = false;
    note.textContent = `The grid is drawn for inputs up to ${GRID_MAX} cells a side (this one is ${hp}x${wp} with padding); the row below shows every window position.`;
    svg.setAttribute("width", "0");
    svg.setAttribute("height", "0");
    return;
  }
  note.hidden = true;
  const avail = Math.max(280, Math.min(620, svg.closest(".diagrams").clientWidth - 8));
  const cs = Math.max(10, Math.min(34, Math.floor(avail / (wp + 3 + ow)), Math.floor(440 / hp)));
  const span = v.d * (v.f - 1) + 1;
  const gap = 3 * cs;
  const top = 22;
  const width = Math.max(wp * cs + gap + ow * cs + 2, wp * cs + gap + 96);
  const height = top + Math.max(hp, oh) * cs + 2;
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.append(svgEl("text", { x: 0, y: 14, class: "lbl" }, `input ${v.h}x${v.w}${pt + pl + pb + pr ? " + padding" : ""}`));
  svg.append(svgEl("text", { x: wp * cs + gap, y: 14, class: "lbl" }, `output ${oh}x${ow}`));
  // A cell is read when its row and its column are both read by some tap.
  const rowsUnread = new Set(res.unread.rows);
  const colsUnread = new Set(res.unread.columns);
  for (let r = 0; r < hp; r++) {
    for (let c = 0; c < wp; c++) {
      const pad = r < pt || r >= pt + v.h || c < pl || c >= pl + v.w;
      const missed = rowsUnread.has(r) || colsUnread.has(c);
      let cls = pad ? "cell pad" : "cell";
      if (missed) cls += " missed";
      svg.append(svgEl("rect", { x: c * cs + 1, y: top + r * cs + 1, width: cs - 1, height: cs - 1, class: cls }));
    }
  }
  // The window: its taps (every D-th cell when dilated) and its outline.
  const r0 = i * v.s;
  const c0 = j * v.s;
  for (let a = 0; a < v.f; a++) {
    for (let b = 0; b < v.f; b++) {
      svg.append(svgEl("rect", {
        x: (c0 + b * v.d) * cs + 1, y: top + (r0 + a * v.d) * cs + 1,
        width: cs - 1, height: cs - 1, class: "tap",
      }));
    }
  }
  svg.append(svgEl("rect", {
    x: c0 * cs + 0.5, y: top + r0 * cs + 0.5, width: span * cs, height: span * cs, class: "window",
  }));
  const ox = wp * cs + gap;
  for (let r = 0; r < oh; r++) {
    for (let c = 0; c < ow; c++) {
      const on = r === i && c === j;
      svg.append(svgEl("rect", {
        x: ox + c * cs + 1, y: top + r * cs + 1, width: cs - 1, height: cs - 1,
        class: on ? "cell out on" : "cell out",
      }));
    }
  }
  // The arrow from the window to its output cell.
  const ax = (c0 + span) * cs + 4;
  const ay = top + (r0 + span / 2) * cs;
  svg.append(svgEl("line", {
    x1: ax, y1: ay, x2: ox + j * cs - 2, y2: top + (i + 0.5) * cs, class: "arrow",
  }));
}

function drawStrip(v, res, j, [pl, pr], ow) {
  const svg = $("strip-svg");
  svg.replaceChildren();
  const total = v.w + pl + pr;
  const shown = Math.min(total, STRIP_MAX);
  const avail = Math.max(300, svg.parentElement.clientWidth - 8);
  const cs = Math.max(8, Math.min(36, Math.floor(avail / shown)));
  const span = v.d * (v.f - 1) + 1;
  const lanes = Math.max(1, Math.min(12, Math.ceil(span / v.s)));
  const laneH = 14;
  const rowY = 2;
  const barsY = rowY + cs + 10;
  const height = barsY + lanes * laneH + 22;
  const last = (ow - 1) * v.s + span - 1; // the last padded cell a window reaches
  const colsUnread = new Set(res.unread.columns);
  const width = Math.max(shown * cs + 2, last < total - 1 && last < shown ? (last + 1) * cs + 100 : 0);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  $("strip-label").textContent = `One row: ${pl ? `${pl} padding + ` : ""}${v.w} input${pr ? ` + ${pr} padding` : ""} = ${total} cells; the window (${span} cell${span > 1 ? "s" : ""} wide, stride ${v.s}) stops at ${ow} positions${shown < total ? ` (the first ${shown} cells are drawn)` : ""}.`;
  for (let c = 0; c < shown; c++) {
    const pad = c < pl || c >= pl + v.w;
    const cls = `cell${pad ? " pad" : ""}${colsUnread.has(c) ? " missed" : ""}`;
    svg.append(svgEl("rect", { x: c * cs + 1, y: rowY, width: cs - 1, height: cs, class: cls }));
    if (cs >= 18 && !pad) {
      svg.append(svgEl("text", { x: c * cs + cs / 2 + 0.5, y: rowY + cs / 2 + 4, class: "idx" }, String(c - pl)));
    }
  }
  for (let q = 0; q < ow; q++) {
    const x0 = q * v.s;
    if (x0 >= shown) break;
    const y = barsY + (q % lanes) * laneH;
    const on = q === j;
    const w = Math.min(span, shown - x0) * cs - 1;
    svg.append(svgEl("rect", { x: x0 * cs + 1, y, width: w, height: laneH - 5, rx: 3, class: on ? "bar on" : "bar" }));
    if (v.d > 1) {
      for (let t = 0; t < v.f && x0 + t * v.d < shown; t++) {
        svg.append(svgEl("rect", { x: (x0 + t * v.d) * cs + cs / 2 - 1, y: y + 2, width: 3, height: laneH - 9, class: "tick" }));
      }
    }
  }
  if (last < total - 1 && last < shown) {
    svg.append(svgEl("text", { x: (last + 1) * cs + 2, y: height - 6, class: "lbl bad" }, "never covered"));
  }
}

// ---------------------------------------------------------------------------------
// Quiz

let exercise = null;

async function loadQuiz(seed) {
  const url = seed >= 0 ? `/api/calculator/quiz?seed=${seed}` : "/api/calculator/quiz";
  const q = await getJSON(url);
  exercise = q.exercise;
  state.set({ seed: q.seed });
  $("quiz-question").textContent = q.question;
  $("quiz-answer").value = "";
  $("quiz-feedback").hidden = true;
}

async function checkQuiz(evt) {
  evt.preventDefault();
  const text = $("quiz-answer").value.trim();
  const box = $("quiz-feedback");
  box.hidden = false;
  if (!/^\d+$/.test(text)) {
    box.className = "quiz-feedback error";
    box.replaceChildren("Type a whole number, then press Check.");
    return;
  }
  try {
    const r = await postJSON("/api/calculator/check", { exercise, answer: Number(text) });
    box.className = `quiz-feedback ${r.correct ? "ok" : "error"}`;
    const head = r.correct
      ? el("p", { class: "verdict" }, el("strong", {}, "Correct! "), `The answer is ${int(r.expected)}.`)
      : el("p", { class: "verdict" }, el("strong", {}, "Not quite. "), `You answered ${int(r.answer)}; the answer is ${int(r.expected)}.`);
    box.replaceChildren(
      head,
      r.hint ? el("p", { class: "hint-line" }, r.hint) : "",
      el("p", {}, "Worked formula: ", el("span", { class: "formula" }, r.formula)),
      el("p", { class: "small" }, r.explanation),
    );
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    box.className = "quiz-feedback error";
    box.replaceChildren(err.detail);
  }
}

// ---------------------------------------------------------------------------------
// Layer chain

function cleanLayers(layers) {
  if (!Array.isArray(layers)) return COURSE_CHAIN;
  const out = [];
  for (const l of layers.slice(0, 64)) {
    if (!l || !LAYER_FIELDS[l.type]) continue;
    const clean = { ...NEW_LAYER[l.type] };
    for (const [key] of LAYER_FIELDS[l.type]) if (Number.isInteger(l[key])) clean[key] = l[key];
    if (l.type === "pool" && (l.mode === "max" || l.mode === "avg")) clean.mode = l.mode;
    out.push(clean);
  }
  return out;
}

let layers = cleanLayers(state.get("layers"));
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
      box.replaceChildren(el("p", { class: "layer-error", role: "alert" }, el("strong", {}, "This layer cannot work: "), row.error));
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
      row.size_formula ? el("span", { class: "formula" }, row.size_formula) : "",
      row.params && row.params_formula ? el("span", { class: "formula" }, row.params_formula) : "");
    box.replaceChildren(stats, formulas, row.note ? el("p", { class: "small warn-line" }, row.note) : "");
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

// ---------------------------------------------------------------------------------
// Wiring

function init() {
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

  $("quiz-form").addEventListener("submit", checkQuiz);
  $("quiz-new").addEventListener("click", () => loadQuiz(-1));

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
  updateLayer();
  loadQuiz(state.get("seed")).catch((err) => {
    $("quiz-question").textContent = err.detail || String(err);
  });
  runChain();
}

init();
