// The arithmetic behind one value, as the trace API returns it: patch x weights =
// products for a convolution, the top contributions of a dense layer, a pooling window,
// an activation's formula. This module only lays the numbers out. Layers are named as
// the network view names them (conv1, pool1: `titleOf`), shapes height×width×channels,
// rows and columns numbered from 0 at the top left.

import { el, fmt, fmtAll, formula, int, shape, square } from "../util.js";

let titleOf = (name) => name; // set for each render from the inspect answer's titles

const n = (v, d = 4) => (v === null || v === undefined ? "–" : fmt(v, d));

/**
 * The numbers that one trace's sentences add up, written with one number of decimals
 * (util's fmtAll), so that "sum −0.2420 + bias −0.2328 = −0.4748" reads as one sum: `f(v)`
 * gives a value's text; a value that was not listed falls back to `n`.
 */
function together(values) {
  const listed = values.filter((v) => typeof v === "number");
  const texts = fmtAll(listed, 4);
  const byValue = new Map(listed.map((v, i) => [v, texts[i]]));
  return (v) => (typeof v === "number" && byValue.has(v) ? byValue.get(v) : n(v));
}

/** The numbers of a trace's own sentences (its title and its equation), by kind. */
function scalars(t) {
  const ends = [t.result, t.value];
  if (t.kind === "conv") return [...t.channels.map((c) => c.sum), t.rest_sum, t.sum, t.bias, ...ends];
  if (t.kind === "dense") return [...t.top.map((item) => item.product), t.rest_sum, t.sum, t.bias, ...ends];
  if (t.kind === "avgpool") return [t.sum, ...ends];
  if (t.kind === "elementwise") return [t.x, t.constant, ...ends];
  if (t.kind === "skip") return [t.x, t.fx, ...ends];
  return ends;
}

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

function conv(t, f) {
  const first = t.channels.slice(0, 3);
  const rest = t.channels.slice(3);
  const channelBlock = (ch) => el("div", { class: "mat-row" },
    el("span", { class: "mat-label" }, `input channel ${ch.channel}`),
    matrix(ch.patch, { pad: t.window.padding, label: "input patch" }), el("span", { class: "op" }, "×"),
    matrix(ch.weights, { label: "filter weights" }), el("span", { class: "op" }, "="),
    matrix(ch.products, { label: "products" }), el("span", { class: "op" }, "→ sum"),
    el("span", { class: "chip" }, f(ch.sum)));
  const sums = t.channel_sums.length > 1
    ? el("p", { class: "small" }, `Adding the ${t.channels_total} channel sums: the ${t.channels.length} largest are `,
      t.channels.map((c, i) => el("span", { class: "chip", title: `channel ${c.channel}` }, `${i ? "+ " : ""}${f(c.sum)}`)),
      t.channels_total > t.channels.length ? ` and the other ${t.channels_total - t.channels.length} add up to ${f(t.rest_sum)}.` : ".")
    : null;
  return [
    el("p", {}, `The filter's ${square(...t.kernel)} window sits on ${windowText(t)} of `,
      el("strong", {}, titleOf(t.input_layer)), ` (${shape(t.input_shape)}). In each of the ${t.channels_total} input channel${t.channels_total > 1 ? "s" : ""}, the patch is multiplied by the filter cell by cell, and the products are added up.`),
    el("div", { class: "mats" }, first.map(channelBlock)),
    rest.length ? el("details", { class: "more-channels" }, el("summary", {}, `${rest.length} more channels`),
      el("div", { class: "mats" }, rest.map(channelBlock))) : null,
    sums,
    el("p", { class: "equation" }, `sum ${f(t.sum)} + bias ${f(t.bias)} = `, el("strong", {}, f(t.result))),
  ];
}

function dense(t, f, classes) {
  const xs = fmtAll(t.top.map((item) => item.x), 4); // one number of decimals per column
  const ws = fmtAll(t.top.map((item) => item.w), 4);
  const sources = t.top.some((item) => item.source);
  const rows = t.top.map((item, i) => el("tr", {},
    el("td", {}, int(item.index)),
    sources ? el("td", {}, item.source ? `${titleOf(item.source.layer)} map ${item.source.channel}, row ${item.source.row}, column ${item.source.col}` : "–") : null,
    el("td", {}, xs[i]), el("td", {}, ws[i]),
    el("td", { class: item.product > 0 ? "pos" : item.product < 0 ? "neg" : "" }, f(item.product))));
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
      el("tfoot", {}, el("tr", {}, el("th", { scope: "row", colspan: String(heads.length - 1) }, `the other ${int(t.inputs_total - t.top.length)} inputs`), el("td", {}, f(t.rest_sum)))))),
    el("p", { class: "equation" }, t.alpha !== 1 ? `${n(t.alpha)} × ` : "", `sum ${f(t.sum)} + bias ${f(t.bias)} = `, el("strong", {}, f(t.result)),
      classes ? ` (the score of ${classes})` : ""),
  ];
}

function pool(t, f) {
  const w = t.window;
  let mark = null;
  if (t.winner) mark = [w.rows.indexOf(t.winner.row), w.cols.indexOf(t.winner.col)];
  const grid = w.values ? matrix(w.values, { pad: w.padding, mark, label: "pooling window" }) : null;
  if (t.kind === "maxpool") {
    return [el("p", {}, `Max pooling keeps the largest value of the window on ${windowText(t)} of `, el("strong", {}, titleOf(t.input_layer)), "."),
      grid, el("p", { class: "equation" }, `max = `, el("strong", {}, f(t.result)),
        `, from row ${t.winner.row}, column ${t.winner.col}`)];
  }
  return [el("p", {}, `Average pooling takes the mean of the window on ${windowText(t)} of `, el("strong", {}, titleOf(t.input_layer)), "."),
    grid, el("p", { class: "equation" }, `${f(t.sum)} / ${t.count} = `, el("strong", {}, f(t.result)))];
}

function elementwise(t, f, depth) {
  const parts = [el("p", { class: "equation" }, `x = ${f(t.x)} (from ${titleOf(t.input_layer)}); ${t.op}: ${formula(t.formula || "")}`,
    t.constant !== undefined ? ` with c = ${f(t.constant)}` : "", " = ", el("strong", {}, f(t.result)))];
  if (t.constants) {
    const c = t.constants;
    const k = together([c.mean, c.var, c.scale, c.B]);
    parts.push(el("p", { class: "small" }, `mean ${k(c.mean)}, var ${k(c.var)}, ε ${n(c.epsilon, 6)}, scale ${k(c.scale)}, B ${k(c.B)}`));
  }
  parts.push(sourceBlock(t, depth, `x = ${f(t.x)}`));
  return parts;
}

/** Where an operand came from: the trace of its own layer, nested (or null). */
function sourceBlock(t, depth, what) {
  if (!t.source || depth >= 3) return null;
  return el("div", { class: "trace-source" },
    el("p", { class: "trace-sub" }, `Where ${what} came from: ${titleOf(t.source.layer)} (${t.source.op_type})`),
    body(t.source, depth + 1));
}

function skip(t, f, depth) {
  const parts = [el("p", { class: "equation" }, `Skip connection: x + F(x) = ${f(t.x)} + ${f(t.fx)} = `, el("strong", {}, f(t.result))),
    el("p", { class: "small" }, `x is this block's input, carried past the block unchanged (from ${titleOf(t.shortcut_layer)}); F(x) is what the block's layers made of it (from ${titleOf(t.main_layer)}). The block only has to learn the change F(x), as in ResNet.`)];
  parts.push(sourceBlock(t, depth, `F(x) = ${f(t.fx)}`));
  return parts;
}

function body(t, depth = 0, classes = null, f = together(scalars(t))) {
  if (t.kind === "skip") return skip(t, f, depth);
  if (t.kind === "conv") return conv(t, f);
  if (t.kind === "dense") return dense(t, f, classes);
  if (t.kind === "maxpool" || t.kind === "avgpool") return pool(t, f);
  if (t.kind === "elementwise") return elementwise(t, f, depth);
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
  const f = together(scalars(t)); // the title, the equation and the last sentence alike
  container.replaceChildren(
    el("h3", { class: "trace-title" }, `${titleOf(t.layer)} (${t.op_type}), ${where} = `, el("strong", {}, f(t.value))),
    ...body(t, 0, className, f).filter(Boolean),
    el("p", { class: `small ${agree ? "ok" : "warning"}` }, agree
      ? `The arithmetic gives ${f(t.result)}, the value the engine put in the layer's output.`
      : `The arithmetic gives ${f(t.result)}; the layer's output holds ${f(t.value)}.`),
  );
}
