// Pure drawing for the playground: the decision surface with its points, a neuron's
// heat map, a data-set thumbnail and the loss curves. Canvas + data in, pixels out.

import { tint } from "./common.js";

/** Size a canvas's backing store to its CSS box times the device pixel ratio. */
export function fitCanvas(canvas, cssWidth, cssHeight) {
  const dpr = Math.min(window.devicePixelRatio || 1, 2);
  const w = Math.max(1, Math.round(cssWidth * dpr));
  const h = Math.max(1, Math.round(cssHeight * dpr));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  return dpr;
}

/** Paint an (res x res) grid (row 0 = top) into a new native-size canvas. */
function gridImage(data, offset, res, colour) {
  const off = document.createElement("canvas");
  off.width = res;
  off.height = res;
  const ctx = off.getContext("2d");
  const img = ctx.createImageData(res, res);
  for (let i = 0; i < res * res; i++) {
    const [r, g, b] = colour(data[offset + i]);
    img.data[4 * i] = r;
    img.data[4 * i + 1] = g;
    img.data[4 * i + 2] = b;
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return off;
}

/** Probability p of class 1 -> colour, kept light so the points stay visible. */
export function probColour(p) {
  return tint((2 * p - 1) * 0.78);
}

/**
 * The decision surface (res x res probabilities) scaled to the canvas, with the points.
 * points: {train: {x1, x2, label}, test: {...}}, extent: coordinates span [-extent, extent].
 */
export function drawSurface(canvas, probs, res, points, { extent = 6, showTest = false } = {}) {
  const css = canvas.clientWidth || 300;
  const dpr = fitCanvas(canvas, css, css);
  canvas.width = canvas.width; // a fresh bitmap and context state: same data, same pixels
  // CPU-backed from the first draw, so a redraw of the same data gives the same pixels.
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const size = canvas.width;
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  if (probs) ctx.drawImage(gridImage(probs, 0, res, probColour), 0, 0, size, size);
  else {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, size, size);
  }
  // Axes through the origin, faint.
  ctx.strokeStyle = "rgba(23, 32, 51, 0.18)";
  ctx.lineWidth = dpr;
  ctx.beginPath();
  ctx.moveTo(size / 2, 0); ctx.lineTo(size / 2, size);
  ctx.moveTo(0, size / 2); ctx.lineTo(size, size / 2);
  ctx.stroke();
  if (!points) return;
  const toPx = (v) => ((v + extent) / (2 * extent)) * size;
  const r = Math.max(2.2, size / 110);
  const sets = showTest ? [[points.train, "#fff"], [points.test, "#111827"]] : [[points.train, "#fff"]];
  for (const [set, ring] of sets) {
    for (let i = 0; i < set.label.length; i++) {
      const x = toPx(set.x1[i]);
      const y = size - toPx(set.x2[i]);
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fillStyle = set.label[i] === 1 ? "#ea580c" : "#2563eb";
      ctx.fill();
      ctx.lineWidth = Math.max(1, dpr * 0.9);
      ctx.strokeStyle = ring;
      ctx.stroke();
    }
  }
}

/**
 * One neuron's output over the plane into its own small canvas (native size, CSS scales it).
 * kind: "prob" (centre 0.5, range 0..1), "surface" (the same, lighter), "signed" (-1..1),
 * or "auto" (centred on 0, range from the data).
 */
export function drawNodeMap(canvas, data, offset, res, kind) {
  let colour;
  if (kind === "prob") colour = (v) => tint(2 * v - 1);
  else if (kind === "surface") colour = probColour;
  else if (kind === "signed") colour = (v) => tint(v);
  else {
    let m = 0;
    for (let i = 0; i < res * res; i++) m = Math.max(m, Math.abs(data[offset + i]));
    colour = (v) => tint(m > 0 ? v / m : 0);
  }
  canvas.width = res;
  canvas.height = res;
  canvas.getContext("2d").drawImage(gridImage(data, offset, res, colour), 0, 0);
}

/** A data set's points, small, on white (the data-set buttons). */
export function drawThumb(canvas, points, extent) {
  const ctx = canvas.getContext("2d");
  const s = canvas.width;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, s, s);
  for (const set of [points.train, points.test]) {
    for (let i = 0; i < set.label.length; i++) {
      ctx.fillStyle = set.label[i] === 1 ? "#ea580c" : "#2563eb";
      const x = ((set.x1[i] + extent) / (2 * extent)) * s;
      const y = s - ((set.x2[i] + extent) / (2 * extent)) * s;
      ctx.fillRect(x - 0.75, y - 0.75, 1.5, 1.5);
    }
  }
}

/**
 * Training and test loss against the step: history = {step, train, test} arrays.
 * The y axis runs from 0 to the largest loss seen.
 */
export function drawLossChart(canvas, history) {
  const cssW = canvas.clientWidth || 300;
  const cssH = canvas.clientHeight || 90;
  const dpr = fitCanvas(canvas, cssW, cssH);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const W = canvas.width;
  const H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  ctx.fillStyle = "#fbfcfe";
  ctx.fillRect(0, 0, W, H);
  const n = history.step.length;
  const pad = { l: 34 * dpr, r: 6 * dpr, t: 6 * dpr, b: 16 * dpr };
  let top = 0;
  for (let i = 0; i < n; i++) top = Math.max(top, history.train[i], history.test[i]);
  top = top > 0 ? top : 1;
  const x0 = history.step[0] ?? 0;
  const x1 = Math.max(history.step[n - 1] ?? 1, x0 + 1);
  const px = (s) => pad.l + ((s - x0) / (x1 - x0)) * (W - pad.l - pad.r);
  const py = (v) => H - pad.b - (v / top) * (H - pad.t - pad.b);
  ctx.font = `${10 * dpr}px system-ui, sans-serif`;
  ctx.fillStyle = "#55607a";
  ctx.textBaseline = "middle";
  ctx.textAlign = "right";
  ctx.fillText(top.toPrecision(2), pad.l - 4 * dpr, py(top));
  ctx.fillText("0", pad.l - 4 * dpr, py(0));
  ctx.textAlign = "left";
  ctx.textBaseline = "alphabetic";
  ctx.fillText(`step ${x0}`, pad.l, H - 3 * dpr);
  ctx.textAlign = "right";
  ctx.fillText(`${x1}`, W - pad.r, H - 3 * dpr);
  ctx.strokeStyle = "#d9deea";
  ctx.lineWidth = dpr;
  ctx.beginPath();
  ctx.moveTo(pad.l, py(0)); ctx.lineTo(W - pad.r, py(0));
  ctx.moveTo(pad.l, py(top)); ctx.lineTo(W - pad.r, py(top));
  ctx.stroke();
  if (n === 0) return;
  for (const [key, colour, width] of [["train", "#9aa3b5", 1.6], ["test", "#172033", 1.8]]) {
    ctx.strokeStyle = colour;
    ctx.lineWidth = width * dpr;
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      const x = px(history.step[i]);
      const y = py(history[key][i]);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    }
    if (n === 1) ctx.lineTo(px(history.step[0]) + 2 * dpr, py(history[key][0]));
    ctx.stroke();
  }
}
