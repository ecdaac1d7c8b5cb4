// The architectures page: the side-by-side summary and chart (GET /api/architectures),
// ImageNet's challenge and its charts (../architectures/ilsvrc.js), one network's full
// table in any of its layouts (GET /api/architectures/{name}) and the three ideas
// (GET /api/architectures/ideas, in ../architectures/ideas.js). Every number comes from
// the server.

import { ApiError, getJSON, latestOnly } from "../api.js";
import { createState } from "../state.js";
import { $, debounce, el, int, showError, svgEl } from "../util.js";
import { compact, errorText, said, shapeText } from "../architectures/format.js";
import { initIdeas } from "../architectures/ideas.js";
import { initIlsvrc } from "../architectures/ilsvrc.js";
import { renderLayoutCompare } from "../architectures/layouts.js";

const state = createState({ arch: "lenet5", metric: "total_params", log: false, channels: 64, size: "total_macs" });
const METRICS = ["total_params", "total_macs", "total_activations"];
if (!METRICS.includes(state.get("metric"))) state.set({ metric: "total_params" }); // from the URL
if (!["total_params", "total_macs"].includes(state.get("size"))) state.set({ size: "total_macs" });

let summaries = [];
let expanded = new Set();

// ---------------------------------------------------------------------------------
// Summary table and chart

function renderSummary(data) {
  summaries = data.architectures;
  const body = $("summary-table").tBodies[0];
  body.replaceChildren(...summaries.map((a) => {
    return el("tr", { dataset: { name: a.name } },
      el("th", { scope: "row" }, el("button", { type: "button", class: "link-button", onclick: () => pick(a.name, true) }, a.title)),
      el("td", {}, a.ilsvrc ?? "–"),
      el("td", { title: a.published.venue }, a.published.year),
      el("td", {}, a.depth),
      el("td", {}, int(a.total_params)),
      el("td", {}, int(a.total_activations)),
      el("td", {}, a.memory_text),
      el("td", { title: `${int(a.total_macs)} multiply-adds` }, int(a.total_macs)),
      el("td", {}, errorText(a.top5_error)));
  }));
  const seen = new Set();
  const list = $("top5-list");
  list.replaceChildren();
  for (const a of summaries) {
    const key = a.top5_error.context;
    if (seen.has(key)) continue;
    seen.add(key);
    const same = summaries.filter((b) => b.top5_error.context === key).map((b) => b.title).join(", ");
    const e = a.top5_error;
    list.append(el("dt", {}, `${same}: ${e.value === null ? "no ImageNet figure" : `${e.value}%, ${e.entry}`}`),
      el("dd", {}, said(key), " ", el("span", { class: "source" }, `Source: ${e.source}.`)));
  }
  $("counting").textContent = `What is counted. ${said(data.counting)}`;
  markPicked();
  drawChart();
}

function drawChart() {
  const svg = $("chart");
  if (!summaries.length) return;
  const metric = state.get("metric");
  const log = state.get("log");
  const label = { total_params: "parameters", total_macs: "multiply-adds", total_activations: "activations" }[metric];
  const width = Math.max(300, svg.parentElement.clientWidth);
  const left = width < 500 ? 92 : 130;
  const right = 70;
  const rowH = 26;
  const top = 24;
  const area = width - left - right;
  const height = top + summaries.length * rowH + 8;
  svg.replaceChildren(svgEl("desc", { id: "chart-desc" }, `${label} of each architecture, ${log ? "log" : "linear"} scale.`));
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const values = summaries.map((a) => a[metric]);
  const max = Math.max(...values);
  let scale;
  let ticks;
  if (log) {
    const lo = 10 ** Math.floor(Math.log10(Math.min(...values)));
    const hi = 10 ** Math.ceil(Math.log10(max));
    scale = (v) => ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * area;
    ticks = [];
    for (let t = lo; t <= hi; t *= 10) ticks.push(t);
  } else {
    scale = (v) => (v / max) * area;
    ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  }
  for (const t of ticks) {
    const x = left + scale(t || (log ? ticks[0] : 0));
    svg.append(svgEl("line", { x1: x, y1: top - 6, x2: x, y2: height - 6, class: "tick-line" }));
    svg.append(svgEl("text", { x, y: top - 10, class: "tick-label" }, t === 0 ? "0" : compact(t)));
  }
  summaries.forEach((a, i) => {
    const y = top + i * rowH;
    const w = Math.max(2, scale(a[metric]));
    const on = a.name === state.get("arch");
    svg.append(svgEl("text", { x: left - 8, y: y + rowH / 2 + 3, class: `bar-name${on ? " on" : ""}` }, a.title.replace(" (Inception v1)", "")));
    svg.append(svgEl("rect", { x: left, y: y + 4, width: w, height: rowH - 9, rx: 3, class: `bar${on ? " on" : ""}`, "data-name": a.name }));
    svg.append(svgEl("text", { x: left + w + 5, y: y + rowH / 2 + 3, class: "bar-value" }, compact(a[metric])));
  });
  $("chart-caption").textContent = log
    ? `Log scale: each grid line is 10 times the one before, so LeNet-5's ${int(summaries[0][metric])} ${label} and the largest networks fit on one chart.`
    : `Linear scale: bar length is proportional to the number of ${label}. Tick "the log scale" to compare the small networks too.`;
}

// ---------------------------------------------------------------------------------
// One architecture

const fetchArch = latestOnly((name, opts) => getJSON(`/api/architectures/${encodeURIComponent(name)}`, opts));

let baseOf = {}; // variant name -> the case study it lays out (from GET /api/architectures)

function markPicked() {
  const name = baseOf[state.get("arch")] || state.get("arch");
  for (const b of document.querySelectorAll(".arch-picker button")) b.setAttribute("aria-pressed", String(b.dataset.name === name));
  for (const tr of $("summary-table").tBodies[0].rows) tr.classList.toggle("picked", tr.dataset.name === name);
}

async function pick(name, scroll = false) {
  state.set({ arch: name });
  expanded = new Set();
  markPicked();
  drawChart();
  try {
    const d = await fetchArch(name);
    if (d === undefined) return;
    showError($("detail-error"), null);
    renderDetail(d);
    if (scroll) $("detail").scrollIntoView({ block: "start" });
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    showError($("detail-error"), err);
  }
}

const TAGS = { course: "Course", paper: "Paper", convlab: "ConvLab" };

function renderDetail(d) {
  const years = d.ilsvrc ? `ILSVRC ${d.ilsvrc}; paper ${d.published.venue}` : d.published.venue;
  $("arch-title").textContent = `${d.title} (${years}) · ${d.authors}`;
  $("arch-idea").textContent = said(d.idea);
  const items = [
    ["Depth", `${d.depth} weight layers`],
    ["Parameters", int(d.total_params)],
    ["Weights only", int(d.total_weights)],
    ["Activations", `${int(d.total_activations)} values`],
    ["Memory / image", `${d.memory_text} (float32 activations of one forward pass)`],
    ["Multiply-adds", int(d.total_macs)],
    ["Top-5 error", d.top5_error.value === null ? "–" : `${d.top5_error.value}% (${d.top5_error.entry})`],
  ];
  $("arch-totals").replaceChildren(...items.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { id: `total-${k.toLowerCase().replace(/[^a-z0-9]+/g, "-")}` }, v)]));
  $("arch-notes").replaceChildren(...d.notes.map((n) => el("div", { class: "note" },
    el("h4", {}, said(n.topic)),
    el("p", { class: "note-compare" },
      el("span", { class: `tag ${n.claim_by}` }, TAGS[n.claim_by]), ` ${said(n.claim)} `,
      el("span", { class: "tag exact" }, "Counted"), ` ${said(n.exact)}`),
    el("p", { class: "small" }, said(n.explanation)),
    n.source ? el("p", { class: "source" }, `Source: ${n.source}.`) : "")));
  $("arch-error-source").textContent = d.top5_error.value === null ? "" : `Top-5 error: ${said(d.top5_error.context)} Source: ${d.top5_error.source}.`;
  renderLayouts(d);
  renderLayoutCompare(d).catch((err) => {
    if (!(err instanceof ApiError)) throw err;
    showError($("detail-error"), err);
  });
  const hasBlocks = d.layers.some((r) => r.children);
  $("expand-all").hidden = !hasBlocks;
  $("expand-all").setAttribute("aria-pressed", "false");
  $("expand-all").textContent = "Expand every block";
  $("table-hint").textContent = hasBlocks
    ? "Each block is one row; open it to see the layers inside. Block totals are the sums of their layers."
    : "";
  renderTable(d);
}

let current = null;

function renderLayouts(d) {
  const box = document.querySelector(".layout-picker");
  box.hidden = !d.layouts.length;
  box.querySelector(".layout-buttons").replaceChildren(...d.layouts.map((l) => el("button", {
    type: "button", dataset: { name: l.name }, "aria-pressed": String(l.name === d.name), onclick: () => pick(l.name),
  }, said(l.label))));
}

function renderTable(d) {
  current = d;
  const body = $("layer-table").tBodies[0];
  const rows = [el("tr", { class: "input-row" },
    el("th", { scope: "row" }, "input"), el("td", { class: "what" }, "the image"),
    el("td", {}, shapeText(d.input_shape)), el("td", {}, "0"), el("td", {}, "0"),
    el("td", {}, int(d.input.activations)),
    el("td", {}, d.input.memory_text),
    el("td", {}, "–"))];
  d.layers.forEach((row, i) => {
    rows.push(tableRow(row, i, 0));
    if (row.children && expanded.has(i)) row.children.forEach((c) => rows.push(tableRow(c, i, 1)));
  });
  body.replaceChildren(...rows);
  $("layer-table").tFoot.replaceChildren(el("tr", {},
    el("th", { scope: "row" }, "Total"), el("td", { class: "what" }, `${d.layers.length} rows + input`),
    el("td", {}, shapeText(d.output_shape)),
    el("td", { id: "table-total-weights" }, int(d.total_weights)),
    el("td", { id: "table-total-params" }, int(d.total_params)),
    el("td", {}, int(d.total_activations)), el("td", { id: "table-total-memory" }, d.memory_text),
    el("td", {}, int(d.total_macs))));
}

function tableRow(row, i, level) {
  let nameCell;
  if (row.children && level === 0) {
    const open = expanded.has(i);
    nameCell = el("th", { scope: "row" }, el("button", {
      type: "button", class: "expand", "aria-expanded": String(open),
      "aria-label": `${open ? "Hide" : "Show"} the ${row.children.length} layers of ${said(row.name)}`,
      onclick: () => toggle(i),
    }, el("span", { "aria-hidden": "true", class: "chev" }, open ? "▾" : "▸"), ` ${said(row.name)}`));
  } else {
    nameCell = el("th", { scope: "row" }, said(row.name));
  }
  const formula = !row.children && row.params ? el("div", { class: "row-formula" }, said(row.params_formula)) : "";
  const note = row.note ? el("div", { class: "row-note" }, said(row.note)) : "";
  return el("tr", { class: `${level ? "sub" : ""} t-${row.type}`.trim() },
    nameCell,
    el("td", { class: "what" }, said(row.detail), formula, note),
    el("td", {}, shapeText(row.output_shape)),
    el("td", {}, int(row.weights)),
    el("td", {}, int(row.params)),
    el("td", {}, int(row.activations)),
    el("td", {}, row.memory_text),
    el("td", {}, row.macs ? int(row.macs) : "–"));
}

function toggle(i) {
  if (expanded.has(i)) expanded.delete(i);
  else expanded.add(i);
  renderTable(current);
  $("layer-table").tBodies[0].querySelectorAll("button.expand")[blockIndex(i)]?.focus();
}

function blockIndex(i) {
  return current.layers.slice(0, i).filter((r) => r.children).length;
}

// ---------------------------------------------------------------------------------
// Wiring

async function init() {
  const picker = document.querySelector(".arch-picker");
  $("chart-metric").value = state.get("metric");
  $("chart-log").checked = state.get("log");
  $("chart-metric").addEventListener("change", () => {
    state.set({ metric: $("chart-metric").value });
    drawChart();
  });
  $("chart-log").addEventListener("change", () => {
    state.set({ log: $("chart-log").checked });
    drawChart();
  });
  $("expand-all").addEventListener("click", () => {
    const all = $("expand-all").getAttribute("aria-pressed") !== "true";
    $("expand-all").setAttribute("aria-pressed", String(all));
    $("expand-all").textContent = all ? "Collapse every block" : "Expand every block";
    expanded = new Set(all ? current.layers.map((r, i) => (r.children ? i : -1)).filter((i) => i >= 0) : []);
    renderTable(current);
  });
  window.addEventListener("resize", debounce(drawChart, 200));
  initIdeas(state);
  initIlsvrc(state, (name) => pick(name, true));
  try {
    const data = await getJSON("/api/architectures");
    baseOf = Object.fromEntries(data.variants.map((v) => [v.name, v.base]));
    picker.replaceChildren(...data.architectures.map((a) => el("button", {
      type: "button", dataset: { name: a.name }, "aria-pressed": "false", onclick: () => pick(a.name),
    }, a.title.replace(" (Inception v1)", ""))));
    renderSummary(data);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    showError($("summary-error"), err);
  }
  const known = (n) => summaries.some((a) => a.name === n) || n in baseOf;
  pick(known(state.get("arch")) ? state.get("arch") : "lenet5");
}

init();
