// Pure drawing: line charts of the API's curve points into an SVG (viewBox 360 x 200 unless told).
// Series are told apart by dash and markers as well as colour, and each ends in a label.

import { fmt, svgEl } from "../util.js";

const M = { top: 12, right: 14, bottom: 30, left: 46 };

/** Round numbers for axis ticks between lo and hi (about `count` of them). */
function ticks(lo, hi, count = 4) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function logTicks(lo, hi) {
  const out = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    const v = 10 ** e;
    if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
  }
  return out.length >= 2 ? out : [lo, hi];
}

/**
 * Draw `series` ([{label, xs, ys, kind: "train"|"val"|"a"|"b", markers}]) into `svg`.
 * options: width, height (of the viewBox), yMin, yMax (default: from the data), yFormat(v) -> text, xMax, scale "linear"|"log",
 * labels: write each series' label at its end; empty: the text shown when there is nothing to draw. Non-finite or null y values break the line.
 */
export function drawChart(svg, series, options = {}) {
  const { yFormat = (v) => fmt(v, 3), empty = "No steps yet.", scale = "linear", width: W = 360, height: H = 200 } = options;
  const desc = svg.querySelector("desc");
  svg.replaceChildren(...(desc ? [desc] : []));
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const finite = series.flatMap((s) => s.ys.filter((y) => typeof y === "number" && Number.isFinite(y) && (scale !== "log" || y > 0)));
  const xsAll = series.flatMap((s) => s.xs);
  if (!finite.length) {
    svg.append(svgEl("text", { x: W / 2, y: H / 2, class: "ln-chart-empty", "text-anchor": "middle" }, empty));
    if (desc) desc.textContent = empty;
    return;
  }
  const log = scale === "log";
  let yMin = options.yMin ?? Math.min(...finite);
  let yMax = options.yMax ?? Math.max(...finite);
  if (!log && options.yMin === undefined) yMin = Math.min(0, yMin);
  if (yMax <= yMin) yMax = yMin + (log ? yMin * 9 : 1);
  const xMax = Math.max(options.xMax || 0, ...xsAll, 1);
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const xp = (x) => M.left + (x / xMax) * iw;
  const t = (y) => (log ? (Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin)) : (y - yMin) / (yMax - yMin));
  const yp = (y) => M.top + ih - Math.max(0, Math.min(1, t(y))) * ih;

  const grid = svgEl("g", { class: "ln-grid", "aria-hidden": "true" });
  for (const v of log ? logTicks(yMin, yMax) : ticks(yMin, yMax)) {
    grid.append(svgEl("line", { x1: M.left, x2: W - M.right, y1: yp(v), y2: yp(v) }));
    grid.append(svgEl("text", { x: M.left - 5, y: yp(v) + 4, "text-anchor": "end" }, yFormat(v)));
  }
  for (const v of ticks(0, xMax, 4)) {
    grid.append(svgEl("text", { x: xp(v), y: H - M.bottom + 15, "text-anchor": "middle" }, fmt(v, 0)));
  }
  grid.append(svgEl("text", { x: M.left + iw / 2, y: H - 3, "text-anchor": "middle", class: "ln-axis-title" }, "step"));
  grid.append(svgEl("line", { x1: M.left, x2: M.left, y1: M.top, y2: M.top + ih, class: "ln-axis" }));
  grid.append(svgEl("line", { x1: M.left, x2: W - M.right, y1: M.top + ih, y2: M.top + ih, class: "ln-axis" }));
  svg.append(grid);

  const summary = [];
  for (const s of series) {
    const g = svgEl("g", { class: `ln-series ln-series-${s.kind}`, "aria-hidden": "true" });
    let d = "";
    let pen = false;
    let last = null;
    s.xs.forEach((x, i) => {
      const y = s.ys[i];
      const ok = typeof y === "number" && Number.isFinite(y) && (!log || y > 0);
      if (!ok) { pen = false; return; }
      d += `${pen ? "L" : "M"}${xp(x).toFixed(1)},${yp(y).toFixed(1)}`;
      pen = true;
      last = [x, y];
      if (s.markers) g.append(svgEl("circle", { cx: xp(x).toFixed(1), cy: yp(y).toFixed(1), r: 2.6 }));
    });
    if (s.xs.length === 1 && last && !s.markers) g.append(svgEl("circle", { cx: xp(last[0]), cy: yp(last[1]), r: 2.6 }));
    g.prepend(svgEl("path", { d }));
    if (last && s.label && options.labels) {
      g.append(svgEl("text", { x: Math.min(xp(last[0]), W - M.right) - 2, y: yp(last[1]) - 6, "text-anchor": "end", class: "ln-series-label" }, s.label));
    }
    svg.append(g);
    if (last) summary.push(`${s.label || s.kind}: ${yFormat(last[1])} at step ${last[0]}`);
  }
  if (desc) desc.textContent = summary.join("; ") || empty;
}
