// The architectures page's ImageNet section (GET /api/architectures/ilsvrc): the
// challenge and its tasks, the quoted results with their sources, and two charts drawn
// as SVG: the entries' top-5 error by year, and one network's error against its size
// (multiply-adds or parameters, as counted by the engine).

import { ApiError, getJSON } from "../api.js";
import { $, debounce, el, int, showError, svgEl } from "../util.js";
import { compact, said } from "./format.js";

let data = null;
let state = null;

/** Load the section once; redraw the charts on resize and when the size metric changes. */
export async function initIlsvrc(pageState, onPick) {
  state = pageState;
  $("size-metric").value = state.get("size");
  $("size-metric").addEventListener("change", () => {
    state.set({ size: $("size-metric").value });
    drawSizeChart();
  });
  window.addEventListener("resize", debounce(() => { drawYearChart(); drawSizeChart(); }, 200));
  try {
    data = await getJSON("/api/architectures/ilsvrc");
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    showError($("ilsvrc-error"), err);
    return;
  }
  renderText(onPick);
  drawYearChart();
  drawSizeChart();
}

const source = (s) => el("span", { class: "source" }, `Source: ${s}.`);

function renderText(onPick) {
  const a = data.about;
  $("ilsvrc-text").replaceChildren(el("strong", {}, `${a.name}. `), said(a.text));
  $("ilsvrc-tasks").replaceChildren(...a.tasks.map((t) => el("li", {}, el("strong", {}, `${t.name}: `), said(t.text))));
  $("ilsvrc-source").textContent = `Sources: ${a.source}; tasks: ${a.tasks_source}.`;
  $("ilsvrc-facts").replaceChildren(...data.facts.map((f) => el("li", {}, said(f.text), " ", source(f.source))));
  const h = data.human;
  $("ilsvrc-human").replaceChildren(el("span", { class: "tag course" }, "Course"), ` ${said(h.course)}. `,
    el("span", { class: "tag paper" }, "Measured"), ` ${said(h.text)}`);
  $("ilsvrc-human-source").textContent = `Source: ${h.source}.`;
  const rows = [
    ...data.entries.map((e) => [`${e.year}: ${e.label}`, e.top5, e.what,
      e.arch ? el("button", { type: "button", class: "link-button", onclick: () => onPick(e.arch) }, `${int(e.total_params)} parameters`) : "–", e.source]),
    ...data.single_models.map((s) => [`${s.title}, one network`, s.top5, s.what,
      el("button", { type: "button", class: "link-button", onclick: () => onPick(s.arch) }, s.counts_text), s.source]),
    ...h.measured.map((m) => [`A person: ${m.who}`, m.top5, `${int(m.images)} test images`, "–", h.source]),
  ];
  $("ilsvrc-points").tBodies[0].replaceChildren(...rows.map(([p, v, what, counts, src]) => el("tr", {},
    el("th", { scope: "row" }, p), el("td", {}, v === null ? "–" : `${v}%`), el("td", { class: "what" }, typeof what === "string" ? said(what) : what),
    el("td", { class: "what" }, counts), el("td", { class: "what small" }, src))));
}

function frame(svg, height) {
  const width = Math.max(300, svg.parentElement.clientWidth);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const desc = svg.querySelector("desc");
  svg.replaceChildren(desc);
  return width;
}

function yAxis(svg, y, left, right, ticks) {
  for (const t of ticks) {
    svg.append(svgEl("line", { x1: left, y1: y(t), x2: right, y2: y(t), class: "tick-line" }));
    svg.append(svgEl("text", { x: left - 6, y: y(t) + 4, class: "tick-label end" }, `${t}%`));
  }
}

/** Place each point's label where it overlaps no point, no earlier label and stays inside
 * the plot: to the right, left, above or below (text width estimated from its length). */
function placeLabels(svg, points, box) {
  const placed = [];
  const hit = (a, b) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
  const dots = points.map((p) => ({ x0: p.cx - 6, x1: p.cx + 6, y0: p.cy - 6, y1: p.cy + 6 }));
  for (const p of points) {
    const w = p.text.length * 7 + 2;
    // [dx, dy, anchor]: right, left, above, below, then the corners.
    const options = [[8, 4, "start"], [-8, 4, "end"], [0, -10, "middle"], [0, 19, "middle"],
      [6, -9, "start"], [6, 17, "start"], [-6, -9, "end"], [-6, 17, "end"]];
    let best = null;
    for (const [dx, dy, anchor] of options) {
      const x = p.cx + dx;
      const x0 = anchor === "end" ? x - w : anchor === "middle" ? x - w / 2 : x;
      const r = { x0, x1: x0 + w, y0: p.cy + dy - 10, y1: p.cy + dy + 2 };
      const outside = r.x0 < box.left || r.x1 > box.right || r.y0 < box.top || r.y1 > box.bottom;
      const cost = (outside ? 100 : 0) + [...dots, ...placed].filter((o) => hit(r, o)).length;
      if (!best || cost < best.cost) best = { x, y: p.cy + dy, anchor, r, cost };
      if (cost === 0) break;
    }
    placed.push(best.r);
    svg.append(svgEl("text", { x: best.x, y: best.y, class: "pt-label", "text-anchor": best.anchor }, p.text));
  }
}

function drawYearChart() {
  const svg = $("year-chart");
  if (!data) return;
  const height = 260;
  const width = frame(svg, height);
  const left = 44, right = width - 12, top = 14, bottom = height - 30;
  const years = data.entries.map((e) => e.year);
  const y0 = Math.min(...years) - 0.5, y1 = Math.max(...years) + 0.5;
  const maxErr = 30;
  const x = (yr) => left + ((yr - y0) / (y1 - y0)) * (right - left);
  const y = (err) => top + (1 - err / maxErr) * (bottom - top);
  yAxis(svg, y, left, right, [0, 10, 20, 30]);
  for (let yr = Math.ceil(y0); yr <= y1; yr++) svg.append(svgEl("text", { x: x(yr), y: height - 10, class: "tick-label" }, yr));
  const human = data.human.measured[0];
  svg.append(svgEl("line", { x1: left, y1: y(human.top5), x2: right, y2: y(human.top5), class: "human-line" }));
  svg.append(svgEl("text", { x: left + 4, y: y(human.top5) + 14, class: "human-label" }, `a person (A1): ${human.top5}%`));
  const winners = data.entries.filter((e) => e.place === 1);
  svg.append(svgEl("polyline", { points: winners.map((e) => `${x(e.year)},${y(e.top5)}`).join(" "), class: "win-line" }));
  const labels = data.entries.map((e) => {
    const cx = x(e.year), cy = y(e.top5);
    svg.append(svgEl("circle", { cx, cy, r: 5, class: `pt${e.place === 1 ? " win" : ""}${e.arch ? " case" : ""}`, "data-label": e.label }));
    return { cx, cy, text: `${e.label.replace(/ \(.*\)/, "")} ${e.top5}%` };
  });
  placeLabels(svg, labels, { left, right: width - 2, top: 0, bottom });
}

function drawSizeChart() {
  const svg = $("size-chart");
  if (!data) return;
  const metric = state.get("size");
  const height = 260;
  const width = frame(svg, height);
  const pts = data.single_models.filter((s) => s.top5 !== null);
  const left = 44, right = width - 16, top = 14, bottom = height - 30;
  const values = pts.map((s) => s[metric]);
  const lo = Math.min(...values) / 2; // room for the points' labels at both ends
  const hi = Math.max(...values) * 2;
  const maxErr = 20;
  const x = (v) => left + ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (right - left);
  const y = (err) => top + (1 - err / maxErr) * (bottom - top);
  yAxis(svg, y, left, right, [0, 5, 10, 15, 20]);
  for (let t = 10 ** Math.ceil(Math.log10(lo)); t <= hi; t *= 10) {
    svg.append(svgEl("line", { x1: x(t), y1: top, x2: x(t), y2: bottom, class: "tick-line" }));
    svg.append(svgEl("text", { x: x(t), y: height - 10, class: "tick-label" }, compact(t)));
  }
  const labels = pts.map((s) => {
    const cx = x(s[metric]), cy = y(s.top5);
    svg.append(svgEl("circle", { cx, cy, r: 5, class: "pt win case", "data-label": s.title }));
    return { cx, cy, text: `${s.title} ${s.top5}%` };
  });
  placeLabels(svg, labels, { left, right: width - 2, top: 0, bottom });
  $("size-chart-desc").textContent = `Single-model top-5 error against ${metric === "total_macs" ? "multiply-adds" : "parameters"}: ${pts.map((s) => `${s.title} ${s.top5}% at ${compact(s[metric])}`).join("; ")}.`;
}
