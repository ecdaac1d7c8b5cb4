// Lesson 1: pooling. The course's 4x4 example pooled window by window (values and
// winners from POST /api/pool), then pooling applied to a real feature map.

import { postJSON, tensor, latestOnly, turns } from "../api.js";
import { el, fmt, int, showError } from "../util.js";
import { drawMap } from "../draw/heatmap.js";
import { COURSE_POOL, checkedSamples, getFeatureMap, hw, volume } from "./common.js";

const N = 4; // the example is 4x4
const K = 2; // window 2x2
const S = 2; // stride 2
const LIMIT = 999;
const TICK_MS = 1100;

const $ = (id) => document.getElementById(id);

export function initPooling(state) {
  const inputGrid = $("pool-input");
  const outputGrid = $("pool-output");
  const explain = $("pool-explain");
  const errorBox = $("pool-error");
  const playBtn = $("pool-play");
  let result = null; // the last /api/pool answer for the example
  let timer = null;

  // Input cells: real number inputs, labelled by row and column.
  const inputs = [];
  for (let r = 0; r < N; r++) {
    for (let c = 0; c < N; c++) {
      const idx = r * N + c;
      const input = el("input", {
        type: "number", step: "any", min: -LIMIT, max: LIMIT, inputmode: "decimal",
        "aria-label": `Input row ${r + 1}, column ${c + 1}`,
        class: `cell win-${Math.floor(r / K) * (N / K) + Math.floor(c / K)}`,
        dataset: { idx },
      });
      input.addEventListener("change", onEdit);
      inputs.push(input);
      inputGrid.append(input);
    }
  }
  const outCells = [];
  for (let i = 0; i < (N / K) ** 2; i++) {
    const cell = el("span", { class: `cell win-${i}`, dataset: { idx: i } });
    outCells.push(cell);
    outputGrid.append(cell);
  }

  function fillInputs() {
    state.get("cells").forEach((v, i) => { inputs[i].value = String(v); });
  }

  function readInputs() {
    const values = [];
    for (let i = 0; i < inputs.length; i++) {
      const text = inputs[i].value.trim();
      const v = Number(text);
      if (text === "" || !Number.isFinite(v) || Math.abs(v) > LIMIT) {
        const r = Math.floor(i / N) + 1;
        const c = (i % N) + 1;
        throw new Error(`Row ${r}, column ${c} needs a number between −${LIMIT} and ${LIMIT}.`);
      }
      values.push(v);
    }
    return values;
  }

  function onEdit() {
    let cells;
    try {
      cells = readInputs();
    } catch (err) {
      showError(errorBox, err);
      return;
    }
    state.set({ cells });
    compute();
  }

  const poolExample = latestOnly((payload, opts) => postJSON("/api/pool", payload, opts));

  async function compute() {
    const cells = state.get("cells");
    const mode = state.get("mode");
    try {
      const r = await poolExample({ input: tensor([1, N, N], cells), mode, kernel_size: K, stride: S });
      if (!r) return;
      result = { ...r, mode }; // until the next answer, the page explains this one
      showError(errorBox, null);
      $("pool-out-shape").textContent = hw(r.output.shape);
      $("pool-formula").textContent = r.output_size.formula;
      render();
    } catch (err) {
      showError(errorBox, err);
    }
  }

  function windows() {
    return result ? result.output.data.length : (N / K) ** 2;
  }

  function render() {
    const mode = state.get("mode");
    const n = windows();
    const step = Math.max(0, Math.min(n, state.get("step")));
    const current = step - 1;
    const outW = result ? result.output.shape[2] : N / K;
    // Input cells: the current window, the finished ones, and the winners.
    inputs.forEach((input, i) => {
      const r = Math.floor(i / N);
      const c = i % N;
      const w = Math.floor(r / K) * outW + Math.floor(c / K);
      input.classList.toggle("in-window", w === current);
      input.classList.toggle("done", w < current);
      input.classList.remove("winner");
    });
    if (result && result.argmax) {
      for (let w = 0; w < step; w++) {
        const idx = result.argmax.rows[w] * N + result.argmax.cols[w];
        inputs[idx].classList.add("winner");
      }
    }
    outCells.forEach((cell, w) => {
      const shown = result && w < step;
      cell.textContent = shown ? fmt(result.output.data[w], 3) : "?";
      cell.classList.toggle("pending", !shown);
      cell.classList.toggle("in-window", w === current);
      cell.setAttribute("aria-label", shown
        ? `Output ${Math.floor(w / outW) + 1}, ${(w % outW) + 1}: ${fmt(result.output.data[w], 3)}`
        : `Output ${Math.floor(w / outW) + 1}, ${(w % outW) + 1}: not computed yet`);
    });
    $("pool-max").setAttribute("aria-pressed", String(mode === "max"));
    $("pool-avg").setAttribute("aria-pressed", String(mode === "avg"));
    $("pool-first").disabled = step === 0;
    $("pool-prev").disabled = step === 0;
    $("pool-next").disabled = step >= n;
    explain.textContent = explainStep(step, n, outW, result ? result.mode : mode);
  }

  function explainStep(step, n, outW, mode) {
    if (!result) return "";
    if (step === 0) {
      return `Press Play or Step to slide the ${K}×${K} window over the input, ${S} cells at a time.`;
    }
    const w = step - 1;
    const i = Math.floor(w / outW);
    const j = w % outW;
    const cells = state.get("cells");
    const vals = [];
    for (let r = i * S; r < i * S + K; r++) {
      for (let c = j * S; c < j * S + K; c++) vals.push(fmt(cells[r * N + c], 3));
    }
    const value = fmt(result.output.data[w], 3);
    const where = `Window ${step} of ${n} (rows ${i * S + 1}–${i * S + K}, columns ${j * S + 1}–${j * S + K})`;
    let text;
    if (mode === "max") {
      const r = result.argmax.rows[w] + 1;
      const c = result.argmax.cols[w] + 1;
      text = `${where}: max(${vals.join(", ")}) = ${value}, the cell at row ${r}, column ${c}.`;
    } else {
      text = `${where}: average of ${vals.join(", ")} = ${value}.`;
    }
    if (step === n) text += " Done: every window has given one output value.";
    return text;
  }

  function setStep(step) {
    state.set({ step: Math.max(0, Math.min(windows(), step)) });
    render();
  }

  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
    playBtn.setAttribute("aria-pressed", "false");
    playBtn.innerHTML = "&#9654; Play";
  }

  function play() {
    if (state.get("step") >= windows()) setStep(0);
    playBtn.setAttribute("aria-pressed", "true");
    playBtn.innerHTML = "&#10074;&#10074; Pause";
    timer = setInterval(() => {
      setStep(state.get("step") + 1);
      if (state.get("step") >= windows()) stop();
    }, TICK_MS);
  }

  playBtn.addEventListener("click", () => (timer ? stop() : play()));
  $("pool-next").addEventListener("click", () => { stop(); setStep(state.get("step") + 1); });
  $("pool-prev").addEventListener("click", () => { stop(); setStep(state.get("step") - 1); });
  $("pool-first").addEventListener("click", () => { stop(); setStep(0); });
  for (const [id, mode] of [["pool-max", "max"], ["pool-avg", "avg"]]) {
    $(id).addEventListener("click", () => {
      if (state.get("mode") === mode) return;
      state.set({ mode });
      compute();
      computeMap();
    });
  }
  $("pool-reset-cells").addEventListener("click", () => {
    state.set({ cells: COURSE_POOL });
    fillInputs();
    compute();
  });

  // --- a real feature map -------------------------------------------------------
  const sampleSelect = $("fm-sample");
  const filterSelect = $("fm-filter");
  const fmError = $("fm-error");
  const poolMap = latestOnly((payload, opts) => postJSON("/api/pool", payload, opts));
  const headParams = (shape) => postJSON("/api/lessons/dense-head", {
    height: shape[1], width: shape[2], channels: shape[0], outputs: 10,
  });

  async function fillSamples() {
    try {
      const list = await checkedSamples(state);
      sampleSelect.replaceChildren(...list.map((s) => el("option", { value: s.name, text: s.title })));
      sampleSelect.value = state.get("sample");
    } catch (err) {
      showError(fmError, err);
    }
  }

  const mapTurns = turns();
  async function computeMap() {
    const turn = mapTurns.next();
    const mode = state.get("mode");
    $("fm-mode-label").textContent = mode === "max" ? "max pool" : "average pool";
    try {
      const fm = await getFeatureMap(state.get("sample"), state.get("edge"));
      if (!mapTurns.is(turn)) return; // another image or filter was picked meanwhile
      const pooled = await poolMap({ input: fm.relu, mode, kernel_size: K, stride: S });
      if (!pooled || !mapTurns.is(turn)) return;
      const [ih, iw] = fm.input.shape.slice(1);
      drawMap($("fm-input"), fm.input.data, ih, iw, { scale: "grey", min: 0, max: 1 });
      const [ch, cw] = fm.relu.shape.slice(1);
      const range = drawMap($("fm-conv"), fm.relu.data, ch, cw);
      const [ph, pw] = pooled.output.shape.slice(1);
      drawMap($("fm-pool"), pooled.output.data, ph, pw, range);
      $("fm-input-shape").textContent = hw(fm.input.shape);
      $("fm-conv-shape").textContent = hw(fm.relu.shape);
      $("fm-pool-shape").textContent = hw(pooled.output.shape);
      const kept = mode === "max" ? "the strongest response" : "the average response";
      $("fm-summary").textContent =
        `Pooling keeps ${kept} in each ${K}×${K} window: the ${hw(fm.relu.shape)} map's ` +
        `${int(fm.size.activations)} values become ${int(pooled.output_size.activations)}, ` +
        "and the digit's edges are still plain to see.";
      showError(fmError, null);
      const [before, after] = await Promise.all([headParams(fm.relu.shape), headParams(pooled.output.shape)]);
      if (!mapTurns.is(turn)) return;
      $("fm-params").textContent =
        `Connecting this ${volume(fm.relu.shape)} map to 10 class scores takes ` +
        `${before.params.formula} parameters; after pooling to ${volume(pooled.output.shape)} ` +
        `it takes ${after.params.formula}.`;
      $("fm-params").dataset.before = before.params.total;
      $("fm-params").dataset.after = after.params.total;
    } catch (err) {
      if (mapTurns.is(turn)) showError(fmError, err);
    }
  }

  sampleSelect.addEventListener("change", () => { state.set({ sample: sampleSelect.value }); computeMap(); });
  filterSelect.addEventListener("change", () => { state.set({ edge: filterSelect.value }); computeMap(); });

  // Start: restore the URL's state (anything unusable falls back to the course's values).
  const cells = state.get("cells");
  const okCells = Array.isArray(cells) && cells.length === N * N
    && cells.every((v) => typeof v === "number" && Math.abs(v) <= LIMIT);
  if (!okCells) state.set({ cells: COURSE_POOL });
  if (!["max", "avg"].includes(state.get("mode"))) state.set({ mode: "max" });
  if (!["vertical", "horizontal"].includes(state.get("edge"))) state.set({ edge: "vertical" });
  fillInputs();
  filterSelect.value = state.get("edge");
  render();
  compute();
  fillSamples().then(computeMap);
}
