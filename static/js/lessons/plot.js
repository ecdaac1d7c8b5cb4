// Pure drawing: an activation function and its derivative as an SVG line plot (d3),
// with the saturated regions (derivative below a threshold) shaded and labelled.
// The values come from the server; this module only places them on the page.

import { symbol } from "../registry.js";
import { fmt } from "../util.js";

const d3 = window.d3;

/** How the formulas write `fn` and its derivative, at x and at z: σ(x), σ′(x), σ(z), σ′(z). */
export function names(fn) {
  const f = symbol(fn);
  return { f: `${f}(x)`, d: `${f}′(x)`, fz: `${f}(z)`, dz: `${f}′(z)` };
}

/** Runs of consecutive indices where `grad` is below `threshold`: [[i0, i1], ...]. */
function lowRuns(grad, threshold) {
  const runs = [];
  let start = -1;
  grad.forEach((g, i) => {
    const low = Math.abs(g) < threshold;
    if (low && start < 0) start = i;
    if (!low && start >= 0) { runs.push([start, i - 1]); start = -1; }
  });
  if (start >= 0) runs.push([start, grad.length - 1]);
  return runs;
}

/**
 * Draw `fn` into `box` (a div): data = {x, y, grad} arrays from POST /api/activation.
 * options: threshold (0.05), marker ({z, y, clamped}) for the neuron, readout (a <p>
 * that shows the values under the pointer), height.
 * Returns {setMarker(marker)}.
 */
export function plotActivation(box, fn, data, options = {}) {
  const { threshold = 0.05, readout = null, height = 230, width = 340 } = options;
  const label = names(fn);
  // The labelled axes sit on the plot's left and bottom edges, in these margins, so no tick
  // label lies on a curve; inside, unlabelled lines mark x = 0 and y = 0.
  const margin = { top: 10, right: 12, bottom: 24, left: 38 };
  const iw = width - margin.left - margin.right;
  const ih = height - margin.top - margin.bottom;
  const { x, y, grad } = data;
  const lo = Math.min(d3.min(y), d3.min(grad), 0);
  const hi = Math.max(d3.max(y), d3.max(grad), 1);
  const pad = 0.08 * (hi - lo);
  const sx = d3.scaleLinear().domain([x[0], x[x.length - 1]]).range([0, iw]);
  const sy = d3.scaleLinear().domain([lo - pad, hi + pad]).range([ih, 0]).nice();

  box.replaceChildren();
  const svg = d3.select(box).append("svg")
    .attr("viewBox", `0 0 ${width} ${height}`)
    .attr("class", "act-plot")
    .attr("role", "img")
    .attr("aria-label", `${label.f} and its derivative ${label.d} for x from ${x[0]} to ${x[x.length - 1]}`);
  const g = svg.append("g").attr("transform", `translate(${margin.left},${margin.top})`);

  // Where a two-line label is furthest from both curves and the x axis.
  function labelHeight(i0, i1) {
    const half = 13;
    const obstacles = [sy(0)];
    for (let i = i0; i <= i1; i++) obstacles.push(sy(y[i]), sy(grad[i]));
    let best = half + 2;
    let bestGap = -1;
    for (let cy = half + 2; cy <= ih - half - 2; cy += 3) {
      let gap = Infinity;
      for (const oy of obstacles) gap = Math.min(gap, Math.abs(oy - cy) - half);
      if (gap > bestGap + 0.5) { bestGap = gap; best = cy; }
    }
    return best;
  }

  // Saturated regions first, under everything else.
  const step = x.length > 1 ? x[1] - x[0] : 0;
  const labels = [];
  for (const [i0, i1] of lowRuns(grad, threshold)) {
    const x0 = sx(Math.max(x[0], x[i0] - step / 2));
    const x1 = sx(Math.min(x[x.length - 1], x[i1] + step / 2));
    const region = g.append("g").attr("class", "saturated");
    region.append("rect").attr("x", x0).attr("y", 0).attr("width", x1 - x0).attr("height", ih);
    // A run where the engine's derivative is exactly 0 passes no gradient at all (ReLU below 0).
    const none = grad.slice(i0, i1 + 1).every((v) => v === 0);
    const [line1, line2] = none ? ["no gradient: ", "f′(x) = 0"] : ["saturated: ", "gradient near 0"];
    // Centred on its region, but kept inside the plot (off the axes' tick labels).
    const label = { cx: Math.max(47, Math.min(iw - 47, (x0 + x1) / 2)), cy: labelHeight(i0, i1), line1, line2 };
    // Two lines about 90 by 28 units: a label that would cover another's is left out (the shading says it).
    if (!labels.some((l) => Math.abs(l.cx - label.cx) < 92 && Math.abs(l.cy - label.cy) < 30)) labels.push(label);
  }

  const zero = g.append("g").attr("class", "zero-lines");
  zero.append("line").attr("x1", 0).attr("x2", iw).attr("y1", sy(0)).attr("y2", sy(0));
  if (x[0] < 0 && x[x.length - 1] > 0) zero.append("line").attr("x1", sx(0)).attr("x2", sx(0)).attr("y1", 0).attr("y2", ih);
  g.append("g").attr("class", "axis axis-x").attr("transform", `translate(0,${ih})`)
    .call(d3.axisBottom(sx).ticks(6).tickSizeOuter(0));
  g.append("g").attr("class", "axis axis-y")
    .call(d3.axisLeft(sy).ticks(5).tickSizeOuter(0));

  const line = (values) => d3.line().x((_, i) => sx(x[i])).y((v) => sy(v))(values);
  g.append("path").attr("class", "line-d").attr("d", line(grad));
  g.append("path").attr("class", "line-f").attr("d", line(y));
  for (const { cx, cy, line1, line2 } of labels) {
    const text = g.append("text").attr("class", "sat-label").attr("text-anchor", "middle")
      .attr("x", cx).attr("y", cy - 2);
    text.append("tspan").text(line1);
    text.append("tspan").attr("x", cx).attr("dy", "1.15em").text(line2);
  }

  // Pointer readout: the server's value at the nearest sampled x.
  const guide = g.append("g").attr("class", "guide").style("display", "none");
  guide.append("line").attr("y1", 0).attr("y2", ih);
  const dotF = guide.append("circle").attr("r", 3.5).attr("class", "dot-f");
  const dotD = guide.append("circle").attr("r", 3.5).attr("class", "dot-d");
  if (readout) {
    readout.textContent = "Point at the plot to read the values.";
    g.append("rect").attr("class", "hit").attr("width", iw).attr("height", ih)
      .on("pointermove", (event) => {
        const [px] = d3.pointer(event);
        const i = Math.max(0, Math.min(x.length - 1, Math.round((sx.invert(px) - x[0]) / (step || 1))));
        guide.style("display", null).attr("transform", `translate(${sx(x[i])},0)`);
        dotF.attr("cy", sy(y[i]));
        dotD.attr("cy", sy(grad[i]));
        readout.textContent = `x = ${fmt(x[i])}: ${label.f} = ${fmt(y[i])}, ${label.d} = ${fmt(grad[i])}`;
      })
      .on("pointerleave", () => { guide.style("display", "none"); });
  }

  // The neuron's operating point.
  const marker = g.append("g").attr("class", "marker").style("display", "none");
  marker.append("line").attr("class", "marker-line").attr("y1", 0).attr("y2", ih);
  marker.append("circle").attr("r", 6);
  const mText = marker.append("text").attr("class", "marker-label").attr("y", -3);

  function setMarker(m) {
    if (!m) { marker.style("display", "none"); return; }
    const [a, b] = sx.domain();
    const zc = Math.max(a, Math.min(b, m.z));
    const outside = zc !== m.z;
    marker.style("display", null);
    marker.select("line").attr("x1", sx(zc)).attr("x2", sx(zc));
    marker.select("circle").attr("cx", sx(zc)).attr("cy", sy(Math.max(sy.domain()[0], Math.min(sy.domain()[1], m.y))));
    const label = outside ? `z = ${fmt(m.z)} ${m.z > b ? "→" : "←"}` : `z = ${fmt(m.z)}`;
    const right = sx(zc) > iw * 0.7;
    mText.attr("x", sx(zc) + (right ? -6 : 6)).attr("text-anchor", right ? "end" : "start")
      .attr("y", 12).text(label);
  }
  return { setMarker };
}
