// Lesson 1: pooling. The course's example (GET /api/lessons/pooling: its values, window
// and stride) pooled window by window (values, winners and each window's cells from
// POST /api/pool), then pooling applied to a real feature map (./pooling-map.js).
// The output builds up as the playground's feature map does: after k steps exactly k
// cells are filled, the current one highlighted, the rest empty; Start/Back/Play/Next and
// a scrub bar move through the steps. Rows and columns are numbered from 0.

import { getJSON, postJSON, tensor, latestOnly } from "../api.js";
import { $, el, fmt, formula, square, showError } from "../util.js";
import { hw, stepControls } from "./common.js";
import { initPoolingMap } from "./pooling-map.js";

const TICK_MS = 1100;

/** Every [row, column] of pooling window w (row-major) in a /api/pool answer's `windows`. */
function windowCells(windows, outW, w) {
  const rows = windows.rows[Math.floor(w / outW)];
  const cols = windows.cols[w % outW];
  return rows.flatMap((r) => cols.map((c) => [r, c]));
}

export async function initPooling(state) {
  const inputGrid = $("pool-input");
  const outputGrid = $("pool-output");
  const explain = $("pool-explain");
  const errorBox = $("pool-error");
  let example;
  try {
    example = await getJSON("/api/lessons/pooling");
  } catch (err) {
    showError(errorBox, err);
    return;
  }
  const { kernel_size: K, stride: S, padding: P, limit: LIMIT } = example;
  const [, N, M] = example.input.shape;
  const course = example.input.data;
  let result = null; // the last /api/pool answer for the example

  // Input cells: real number inputs, labelled by row and column.
  inputGrid.style.gridTemplateColumns = `repeat(${M}, 3.3rem)`;
  const inputs = [];
  for (let r = 0; r < N; r++) {
    for (let c = 0; c < M; c++) {
      const input = el("input", {
        type: "number", step: "any", min: -LIMIT, max: LIMIT, inputmode: "decimal",
        "aria-label": `Input row ${r}, column ${c}`,
        class: "cell",
        dataset: { idx: r * M + c },
      });
      input.addEventListener("change", onEdit);
      inputs.push(input);
      inputGrid.append(input);
    }
  }
  let outCells = [];
  /** One output cell per window (`size`: [rows, columns] of the output). */
  function outputCells([oh, ow]) {
    if (outCells.length !== oh * ow) {
      outputGrid.style.gridTemplateColumns = `repeat(${ow}, 3.3rem)`;
      outCells = Array.from({ length: oh * ow }, (_, i) => el("span", { class: `cell win-${i % 4}`, dataset: { idx: i } }));
      outputGrid.replaceChildren(...outCells);
    }
  }
  outputCells(example.output_size);

  /** Each input cell coloured as the window it falls in, from the answer's `windows`. */
  function layOut(r) {
    const [, oh, ow] = r.output.shape;
    outputCells([oh, ow]);
    inputs.forEach((input) => { input.dataset.window = ""; });
    for (let w = 0; w < oh * ow; w++) {
      for (const [y, x] of windowCells(r.windows, ow, w)) {
        const input = inputs[y * M + x];
        if (input.dataset.window) continue; // overlapping windows: the first one's colour
        input.dataset.window = String(w);
        input.className = `cell win-${w % 4}`;
      }
    }
  }

  const cellsNow = () => (state.get("cells").length ? state.get("cells") : course);

  function fillInputs() {
    cellsNow().forEach((v, i) => { inputs[i].value = String(v); });
  }

  function readInputs() {
    const values = [];
    for (let i = 0; i < inputs.length; i++) {
      const text = inputs[i].value.trim();
      const v = Number(text);
      if (text === "" || !Number.isFinite(v) || Math.abs(v) > LIMIT) {
        throw new Error(`Row ${Math.floor(i / M)}, column ${i % M} needs a number between −${LIMIT} and ${LIMIT}.`);
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
    const mode = state.get("mode");
    try {
      const r = await poolExample({
        input: tensor(example.input.shape, cellsNow()), mode, kernel_size: K, stride: S, padding: P,
      });
      if (!r) return;
      result = { ...r, mode, cells: cellsNow() }; // until the next answer, the page explains this one
      layOut(r);
      showError(errorBox, null);
      $("pool-out-shape").textContent = hw(r.output.shape);
      $("pool-formula").textContent = formula(r.output_size.formula);
      render();
    } catch (err) {
      showError(errorBox, err);
    }
  }

  function windows() {
    return result ? result.output.data.length : 0;
  }

  function render() {
    const mode = state.get("mode");
    const n = windows();
    const step = Math.max(0, Math.min(n, state.get("step")));
    const current = step - 1;
    const outW = result ? result.output.shape[2] : 1;
    // Input cells: the current window, the finished ones, and the winners.
    const inCurrent = new Set(result && current >= 0 ? windowCells(result.windows, outW, current).map(([y, x]) => y * M + x) : []);
    inputs.forEach((input, i) => {
      const w = input.dataset.window === "" || input.dataset.window === undefined ? -1 : Number(input.dataset.window);
      input.classList.toggle("in-window", inCurrent.has(i));
      input.classList.toggle("done", w >= 0 && w < current && !inCurrent.has(i));
      input.classList.remove("winner");
    });
    if (result && result.argmax) {
      for (let w = 0; w < step; w++) {
        inputs[result.argmax.rows[w] * M + result.argmax.cols[w]].classList.add("winner");
      }
    }
    outCells.forEach((cell, w) => {
      const shown = result && w < step;
      const where = `Output row ${Math.floor(w / outW)}, column ${w % outW}`;
      cell.textContent = shown ? fmt(result.output.data[w], 3) : "";
      cell.classList.toggle("pending", !shown);
      cell.classList.toggle("in-window", w === current);
      cell.title = shown ? `${where}: ${fmt(result.output.data[w], 3)}` : `${where}: not computed yet`;
    });
    $("pool-max").setAttribute("aria-pressed", String(mode === "max"));
    $("pool-avg").setAttribute("aria-pressed", String(mode === "avg"));
    $("pool-first").disabled = step === 0;
    $("pool-prev").disabled = step === 0;
    $("pool-next").disabled = step >= n;
    const scrub = $("pool-scrub");
    scrub.max = String(n);
    scrub.value = String(step);
    scrub.setAttribute("aria-valuetext", step === 0 ? "no window yet" : `window ${step} of ${n}`);
    $("pool-scrub-out").textContent = `${step} of ${n}`;
    explain.textContent = explainStep(step, n, outW);
  }

  function explainStep(step, n, outW) {
    if (!result) return "";
    if (step === 0) {
      return `Press Play or Next to slide the ${square(K)} window over the input, ${S} cells at a time.`;
    }
    const w = step - 1;
    const rows = result.windows.rows[Math.floor(w / outW)];
    const cols = result.windows.cols[w % outW];
    const vals = windowCells(result.windows, outW, w).map(([y, x]) => fmt(result.cells[y * M + x], 3));
    const value = fmt(result.output.data[w], 3);
    const where = `Window ${step} of ${n} (rows ${rows[0]}–${rows[rows.length - 1]}, columns ${cols[0]}–${cols[cols.length - 1]})`;
    let text;
    if (result.mode === "max") {
      const r = result.argmax.rows[w];
      const c = result.argmax.cols[w];
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

  const map = initPoolingMap(state, { K, S, P });

  stepControls("pool", {
    tick: TICK_MS, getStep: () => state.get("step"), setStep, total: windows,
  });
  for (const [id, mode] of [["pool-max", "max"], ["pool-avg", "avg"]]) {
    $(id).addEventListener("click", () => {
      if (state.get("mode") === mode) return;
      state.set({ mode });
      compute();
      map.compute();
    });
  }
  $("pool-reset-cells").addEventListener("click", () => {
    state.set({ cells: [] }); // the course's values
    fillInputs();
    compute();
  });

  // Start: restore the URL's state (anything unusable falls back to the course's values).
  const cells = state.get("cells");
  const okCells = Array.isArray(cells) && (cells.length === 0 || (cells.length === N * M
    && cells.every((v) => typeof v === "number" && Math.abs(v) <= LIMIT)));
  if (!okCells) state.set({ cells: [] });
  if (!["max", "avg"].includes(state.get("mode"))) state.set({ mode: "max" });
  fillInputs();
  render();
  compute();
  map.start();
}
