// Lesson 3a: flattening a volume into a fully connected layer: the volume unrolled
// into one column, cell by cell, and the layer's shapes and parameters. The order and
// the counts come from the server (POST /api/lessons/dense-head); this module draws.

import { postJSON, latestOnly } from "../api.js";
import { $, formula, int, showError, svgEl } from "../util.js";

const CHANNEL_COLOURS = ["#ef8a62", "#67a96b", "#6f8fd8"];

/** Flatten a volume (its size and the class count in the URL) and unroll it, cell by cell. */
export function initFlatten(state) {
  const fields = { h: $("fl-h"), w: $("fl-w"), c: $("fl-c"), k: $("fl-k") };
  const errorBox = $("fl-error");
  const pos = $("fl-pos");
  const playBtn = $("fl-play");
  const ask = latestOnly((payload, opts) => postJSON("/api/lessons/dense-head", payload, opts));
  let example = null;
  let cells = null; // {volume: [...rects], column: [...rects]} indexed by column position
  let timer = null;

  function read() {
    const out = {};
    for (const [key, input] of Object.entries(fields)) {
      const v = Number(input.value);
      const max = Number(input.max);
      if (input.value.trim() === "" || !Number.isInteger(v) || v < 1 || v > max) {
        const name = input.labels[0].textContent;
        throw new Error(`${name} must be a whole number from 1 to ${int(max)}.`);
      }
      out[key] = v;
    }
    return out;
  }

  async function update() {
    let v;
    try {
      v = read();
    } catch (err) {
      showError(errorBox, err);
      return;
    }
    state.set({ vol: [v.h, v.w, v.c], classes: v.k });
    try {
      const r = await ask({ height: v.h, width: v.w, channels: v.c, outputs: v.k });
      if (!r) return;
      showError(errorBox, null);
      const volumeText = r.volume.join("×");
      $("fl-volume").textContent = volumeText;
      $("fl-features").textContent = int(r.features);
      $("fl-features-formula").textContent = `${formula(r.features_formula)} numbers in one column x`;
      $("fl-W-shape").textContent = `${int(r.weights_shape[0])}×${int(r.weights_shape[1])}`;
      $("fl-x-shape").textContent = `${int(r.features)}×1`;
      $("fl-b-shape").textContent = `${int(r.output_shape[0])}×1`;
      $("fl-s-shape").textContent = `${int(r.output_shape[0])}×1`;
      $("fl-params-formula").textContent = formula(r.params.formula);
      $("fl-params").textContent = `${int(r.params.total)} parameters`;
      const ex = r.example;
      $("fl-example-note").textContent = ex.length === r.features
        ? `Shown: your ${volumeText} volume, value by value. ConvLab stores volumes channel by channel (as PyTorch does), so the column holds all of the first channel's rows, then the second's, and so on.`
        : `Shown: a ${ex.volume.join("×")} corner of your ${volumeText} volume; the whole volume unrolls the same way into ${int(r.features)} numbers, channel by channel (as PyTorch stores it).`;
      if (!example || JSON.stringify(example.order) !== JSON.stringify(ex.order)) {
        example = ex;
        drawUnroll();
      }
    } catch (err) {
      showError(errorBox, err);
    }
  }

  function drawUnroll() {
    const svg = $("fl-svg");
    const [eh, ew, ec] = example.volume;
    const n = example.length;
    const cell = 16;
    const gap = 14;
    const sliceH = eh * cell;
    const colCell = Math.max(4, Math.min(12, Math.floor(300 / n)));
    const colH = n * colCell;
    const height = Math.max(ec * (sliceH + gap) + 10, colH + 30);
    const colX = ew * cell + 150;
    const width = colX + 70;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.replaceChildren();
    const slicesTop = (height - (ec * (sliceH + gap) - gap)) / 2;
    const colTop = (height - colH) / 2;
    const volCells = new Map();
    for (let c = 0; c < ec; c++) {
      const y0 = slicesTop + c * (sliceH + gap);
      svg.append(svgEl("rect", { x: 4, y: y0 + 4, width: ew * cell, height: sliceH, class: "slice-shadow" }));
      for (let i = 0; i < eh; i++) {
        for (let j = 0; j < ew; j++) {
          const rect = svgEl("rect", {
            x: j * cell, y: y0 + i * cell, width: cell, height: cell,
            fill: CHANNEL_COLOURS[c % 3], class: "vcell",
          });
          volCells.set(`${c},${i},${j}`, rect);
          svg.append(rect);
        }
      }
      svg.append(svgEl("text", { x: ew * cell + 8, y: y0 + sliceH / 2 + 4, class: "svg-label" }, `channel ${c}`));
    }
    const column = [];
    const volume = [];
    example.order.forEach(([c, i, j], k) => {
      const rect = svgEl("rect", {
        x: colX, y: colTop + k * colCell, width: 22, height: colCell,
        fill: CHANNEL_COLOURS[c % 3], class: "ccell",
      });
      svg.append(rect);
      column.push(rect);
      volume.push(volCells.get(`${c},${i},${j}`));
    });
    svg.append(svgEl("text", { x: colX + 11, y: colTop - 8, class: "svg-label", "text-anchor": "middle" }, "x"));
    svg.append(svgEl("text", { x: colX + 28, y: colTop + colH, class: "svg-label" }, `${n}`));
    const link = svgEl("path", { class: "unroll-link" });
    svg.append(link);
    cells = { column, volume, link, colX, colCell };
    pos.max = String(n);
    if (Number(pos.value) > n) pos.value = String(n);
    highlight(Number(pos.value));
  }

  function highlight(p) {
    if (!cells) return;
    const k = p - 1;
    cells.column.forEach((r, i) => {
      r.classList.toggle("empty", i > k);
      r.classList.toggle("current", i === k);
    });
    cells.volume.forEach((r, i) => {
      r.classList.toggle("current", i === k);
    });
    const src = cells.volume[k];
    const dst = cells.column[k];
    const x1 = Number(src.getAttribute("x")) + 16;
    const y1 = Number(src.getAttribute("y")) + 8;
    const x2 = cells.colX;
    const y2 = Number(dst.getAttribute("y")) + cells.colCell / 2;
    cells.link.setAttribute("d", `M${x1},${y1} C${x1 + 60},${y1} ${x2 - 60},${y2} ${x2},${y2}`);
    const [c, i, j] = example.order[k];
    // Numbered from 0, as everywhere in ConvLab: value p of the unrolling is x[p - 1].
    $("fl-pos-out").textContent = `position ${k} ← channel ${c}, row ${i}, column ${j}`;
  }

  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
    playBtn.setAttribute("aria-pressed", "false");
    playBtn.innerHTML = "&#9654; Unroll";
  }

  playBtn.addEventListener("click", () => {
    if (timer) { stop(); return; }
    if (Number(pos.value) >= Number(pos.max)) pos.value = "1";
    highlight(Number(pos.value));
    playBtn.setAttribute("aria-pressed", "true");
    playBtn.innerHTML = "&#10074;&#10074; Pause";
    timer = setInterval(() => {
      const next = Number(pos.value) + 1;
      if (next > Number(pos.max)) { stop(); return; }
      pos.value = String(next);
      highlight(next);
    }, 120);
  });
  pos.addEventListener("input", () => { stop(); highlight(Number(pos.value)); });
  for (const input of Object.values(fields)) input.addEventListener("change", update);

  // Restore from the URL; anything out of range falls back to the course's 32x32x3 -> 10.
  const inRange = (v, max) => Number.isInteger(v) && v >= 1 && v <= max;
  const vol = state.get("vol");
  const [h, w, c] = Array.isArray(vol) && vol.length === 3 && vol.every((v) => inRange(v, 4096)) ? vol : [32, 32, 3];
  fields.h.value = h;
  fields.w.value = w;
  fields.c.value = c;
  fields.k.value = inRange(state.get("classes"), 10000) ? state.get("classes") : 10;
  pos.value = "48";
  update();
}
