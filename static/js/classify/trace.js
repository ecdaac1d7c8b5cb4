// The arithmetic behind one value, as the trace API returns it: patch x weights =
// products for a convolution, the top contributions of a dense layer, a pooling window,
// an activation's formula. This module only lays the numbers out. Layers are named as
// the network view names them (conv1, pool1: `titleOf`), shapes height×width×channels,
// rows and columns numbered from 0 at the top left.

import { el, fmt, fmtAll, int, shape, square } from "../util.js";

let titleOf = (name) => name; // set for each render from the inspect answer's titles

const n = (v, d = 4) => (v === null || v === undefined ? "–" : fmt(v, d));

function matrix(values, { pad = null, mark = null, label }) {
  const cols = values[0] ? values[0].length : 0;
  const cells = [];
  const shown = fmtAll(values.flat().map((v) => (v === null || v === undefined ? NaN : v)), 3); // one number of decimals per grid
  values.forEach((row, i) => row.forEach((v, j) => {
    const isPad = pad && pad[i][j];
    const cls = ["m-cell", isPad ? "pad" : "", mark && mark[0] === i && mark[1] === j ? "mark" : ""].join(" ").trim();
    cells.push(el("span", { class: cls, title: isPad ? "padding (0)" : "" }, isPad && v === null ? "pad" : shown[i * cols + j]));
  }));
  return el("span", { class: "m-block" }, el("span", { class: "m-caption" }, label),
    el("span", { class: "m-grid", role: "img", "aria-label": label, style: `grid-template-columns: repeat(${cols}, auto)` }, cells));
}

function range(list) {
  const lo = Math.min(...list);
  const hi = Math.max(...list);
  return lo === hi ? `${lo}` : `${lo}–${hi}`;
}

function windowText(t) {
  const w = t.window;
  const pads = w.padding.flat().filter(Boolean).length;
  return `rows ${range(w.rows)}, columns ${range(w.cols)}${pads ? ` (${pads} of the cells fall on the zero padding)` : ""}`;
}

function conv(t) {
  const first = t.channels.slice(0, 3);
  const rest = t.channels.slice(3);
  const channelBlock = (ch) => el("div", { class: "mat-row" },
    el("span", { class: "mat-label" }, `input channel ${ch.channel}`),
    matrix(ch.patch, { pad: t.window.padding, label: "input patch" }), el("span", { class: "op" }, "×"),
    matrix(ch.weights, { label: "filter weights" }), el("span", { class: "op" }, "="),
    matrix(ch.products, { label: "products" }), el("span", { class: "op" }, "→ sum"),
    el("span", { class: "chip" }, n(ch.sum)));
  const sums = t.channel_sums.length > 1
    ? el("p", { class: "small" }, `Adding the ${t.channels_total} channel sums: the ${t.channels.length} largest are `,
      t.channels.map((c, i) => el("span", { class: "chip", title: `channel ${c.channel}` }, `${i ? "+ " : ""}${n(c.sum)}`)),
      t.channels_total > t.channels.length ? ` and the other ${t.channels_total - t.channels.length} add up to ${n(t.rest_sum)}.` : ".")
    : null;
  return [
    el("p", {}, `The filter's ${square(...t.kernel)} window sits on ${windowText(t)} of `,
      el("strong", {}, titleOf(t.input_layer)), ` (${shape(t.input_shape)}). In each of the ${t.channels_total} input channel${t.channels_total > 1 ? "s" : ""}, the patch is multiplied by the filter cell by cell, and the products are added up.`),
    el("div", { class: "mats" }, first.map(channelBlock)),
    rest.length ? el("details", { class: "more-channels" }, el("summary", {}, `${rest.length} more channels`),
      el("div", { class: "mats" }, rest.map(channelBlock))) : null,
    sums,
    el("p", { class: "equation" }, `sum ${n(t.sum)} + bias ${n(t.bias)} = `, el("strong", {}, n(t.result))),
  ];
}

function dense(t, classes) {
  const sources = t.top.some((item) => item.source);
  const rows = t.top.map((item) => el("tr", {},
    el("td", {}, int(item.index)),
    sources ? el("td", {}, item.source ? `${titleOf(item.source.layer)} map ${item.source.channel}, row ${item.source.row}, column ${item.source.col}` : "–") : null,
    el("td", {}, n(item.x)), el("td", {}, n(item.w)),
    el("td", { class: item.product > 0 ? "pos" : item.product < 0 ? "neg" : "" }, n(item.product))));
  const p = t.output_shape.length === 4
    ? el("p", {}, `A MatMul on feature maps: the value is row ${t.position.row} of map ${t.position.channel} of `,
      el("strong", {}, titleOf(t.input_layer)), ` (${int(t.inputs_total)} numbers) times column ${t.position.col} of a weight matrix, added up. The ${t.top.length} biggest contributions x·w:`)
    : el("p", {}, `Each output of a dense layer is a weighted sum of all ${int(t.inputs_total)} inputs (from `,
      el("strong", {}, titleOf(t.input_layer)), `) plus a bias. The ${t.top.length} biggest contributions x·w:`);
  const heads = sources ? ["input #", "from", "x", "w", "x·w"] : ["input #", "x", "w", "x·w"];
  return [
    p,
    el("div", { class: "scroll-x" }, el("table", { class: "trace-table" },
      el("thead", {}, el("tr", {}, heads.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows),
      el("tfoot", {}, el("tr", {}, el("th", { scope: "row", colspan: String(heads.length - 1) }, `the other ${int(t.inputs_total - t.top.length)} inputs`), el("td", {}, n(t.rest_sum)))))),
    el("p", { class: "equation" }, t.alpha !== 1 ? `${n(t.alpha)} × ` : "", `sum ${n(t.sum)} + bias ${n(t.bias)} = `, el("strong", {}, n(t.result)),
      classes ? ` (the score of ${classes})` : ""),
  ];
}

function pool(t) {
  const w = t.window;
  let mark = null;
  if (t.winner) mark = [w.rows.indexOf(t.winner.row), w.cols.indexOf(t.winner.col)];
  const grid = w.values ? matrix(w.values, { pad: w.padding, mark, label: "pooling window" }) : null;
  if (t.kind === "maxpool") {
    return [el("p", {}, `Max pooling keeps the largest value of the window on ${windowText(t)} of `, el("strong", {}, titleOf(t.input_layer)), "."),
      grid, el("p", { class: "equation" }, `max = `, el("strong", {}, n(t.result)),
        `, from row ${t.winner.row}, column ${t.winner.col}`)];
  }
  return [el("p", {}, `Average pooling takes the mean of the window on ${windowText(t)} of `, el("strong", {}, titleOf(t.input_layer)), "."),
    grid, el("p", { class: "equation" }, `${n(t.sum)} / ${t.count} = `, el("strong", {}, n(t.result)))];
}

function elementwise(t, depth) {
  const parts = [el("p", { class: "equation" }, `x = ${n(t.x)} (from ${titleOf(t.input_layer)}); ${t.op}: ${t.formula || ""}`,
    t.constant !== undefined ? ` with c = ${n(t.constant)}` : "", " = ", el("strong", {}, n(t.result)))];
  if (t.constants) {
    const c = t.constants;
    parts.push(el("p", { class: "small" }, `mean ${n(c.mean)}, var ${n(c.var)}, ε ${c.epsilon}, scale ${n(c.scale)}, B ${n(c.B)}`));
  }
  parts.push(sourceBlock(t, depth, `x = ${n(t.x)}`));
  return parts;
}

/** Where an operand came from: the trace of its own layer, nested (or null). */
function sourceBlock(t, depth, what) {
  if (!t.source || depth >= 3) return null;
  return el("div", { class: "trace-source" },
    el("p", { class: "trace-sub" }, `Where ${what} came from: ${titleOf(t.source.layer)} (${t.source.op_type})`),
    body(t.source, depth + 1));
}

function skip(t, depth) {
  const parts = [el("p", { class: "equation" }, `Skip connection: x + F(x) = ${n(t.x)} + ${n(t.fx)} = `, el("strong", {}, n(t.result))),
    el("p", { class: "small" }, `x is this block's input, carried past the block unchanged (from ${titleOf(t.shortcut_layer)}); F(x) is what the block's layers made of it (from ${titleOf(t.main_layer)}). The block only has to learn the change F(x), as in ResNet.`)];
  parts.push(sourceBlock(t, depth, `F(x) = ${n(t.fx)}`));
  return parts;
}

function body(t, depth = 0, classes = null) {
  if (t.kind === "skip") return skip(t, depth);
  if (t.kind === "conv") return conv(t);
  if (t.kind === "dense") return dense(t, classes);
  if (t.kind === "maxpool" || t.kind === "avgpool") return pool(t);
  if (t.kind === "elementwise") return elementwise(t, depth);
  return [el("p", {}, "No arithmetic to show for this layer.")];
}

/** A sentence about the receptive field (`t.field`), or null. */
export function fieldText(field) {
  if (!field) return null;
  if (field.whole) return "This value depends on the whole input image (a layer on the way mixes all positions).";
  const [r0, r1] = field.rows;
  const [c0, c1] = field.cols;
  return `Receptive field: this value depends only on input rows ${r0}–${r1} and columns ${c0}–${c1} (numbered from 0), a ${square(field.size[0], field.size[1])} window${
    field.size[0] > r1 - r0 + 1 || field.size[1] > c1 - c0 + 1 ? " (part of it falls on padding outside the image)" : ""}.`;
}

/**
 * @param {object} opts
 * @param {string|null} opts.className  the class a score stands for
 * @param {(name: string) => string} opts.names  ONNX node name -> the layer's course name
 */
export function renderTrace(container, t, { className = null, names = null } = {}) {
  titleOf = names || ((name) => name);
  const where = t.output_shape.length === 4 ? `map ${t.position.channel}, row ${t.position.row}, column ${t.position.col}` : `output ${t.position.channel}`;
  const agree = Math.abs(t.result - t.value) <= 1e-4 * Math.max(1, Math.abs(t.value));
  container.replaceChildren(
    el("h3", { class: "trace-title" }, `${titleOf(t.layer)} (${t.op_type}), ${where} = `, el("strong", {}, n(t.value))),
    ...body(t, 0, className).filter(Boolean),
    el("p", { class: `small ${agree ? "ok" : "warning"}` }, agree
      ? `The arithmetic gives ${n(t.result)}, the value the engine put in the layer's output.`
      : `The arithmetic gives ${n(t.result)}; the layer's output holds ${n(t.value)}.`),
  );
}
