// The arithmetic of one output value of section 6 (./kinds.js), written from the API's trace:
// every product with the input cell and kernel tap it came from, the sum per input channel,
// the bias, and the engine's own value to compare. Every number here is one the server sent.

import { el, fmt } from "../util.js";

const n = (v) => fmt(v, 4);
/** "(−1)" for a negative factor, so "3×(−1)" reads as a product. */
const factor = (v) => (v < 0 ? `(${n(v)})` : n(v));

function where(d) {
  const [k, i, j] = d.trace.position;
  return d.op === "conv1d" ? `output channel ${k}, position ${j}` : `output channel ${k}, row ${i}, column ${j}`;
}

/** One line per input channel: its products added up, then its sum. */
function channelLines(trace, describe) {
  return trace.channels.map((c, m) => {
    const terms = trace.terms.filter((t) => t.channel === c);
    const parts = [];
    terms.forEach((t, q) => {
      if (q) parts.push(" + ");
      parts.push(el("span", { class: t.padding ? "arith-term pad" : "arith-term", title: describe(t) }, `${factor(t.x)}×${factor(t.w)}`));
    });
    return el(
      "p", { class: "arith-line formula", dataset: { channel: String(c) } },
      el("span", { class: "arith-ch" }, `channel ${c}: `),
      ...(parts.length ? parts : ["no products"]), " = ",
      el("output", { class: "channel-sum" }, n(trace.channel_sums[m])),
    );
  });
}

function total(trace, what) {
  const sums = trace.channel_sums.map((v, m) => `${m ? " + " : ""}${factor(v)}`).join("");
  return [
    trace.channels.length > 1 ? el("p", { class: "arith-total" }, `${what}: ${sums} = `, el("output", { class: "arith-sum" }, n(trace.sum))) : null,
    el("p", { class: "arith-total arith-final" }, `${n(trace.sum)} + bias ${n(trace.bias)} = `,
      el("output", { class: "arith-value", dataset: { value: String(trace.value) } }, n(trace.value))),
  ];
}

function engineNote(d, what) {
  return el("p", { class: "small muted" }, `The engine's vectorised ${what} gives ${n(d.trace.engine_value)} at ${where(d)} too.`);
}

function convParts(d) {
  const s = d.attributes.strides;
  const tap = (t) => (d.op === "conv1d" ? `input position ${t.col}, tap ${t.tap[1]}` : `input row ${t.row}, column ${t.col}, tap (${t.tap.join(", ")})`);
  const describe = (t) => `${tap(t)}${t.padding ? " (zero padding)" : ""}`;
  const first = d.op === "pointwise"
    ? `A 1×1 filter reads one cell in every channel: the ${d.trace.channels.length} channel values at this position, each times its weight.`
    : `The window steps ${s[s.length - 1]} at a time; it reads input channel${d.trace.channels.length > 1 ? "s" : ""} ${d.trace.channels.join(", ")}${d.op === "grouped" || d.op === "depthwise" ? " only (its group)" : ""}.${d.trace.terms.some((t) => t.padding) ? " Hatched products are on zero padding." : ""}`;
  return [el("p", { class: "arith-where" }, el("strong", {}, where(d)), ". ", first), ...channelLines(d.trace, describe),
    ...total(d.trace, "The channels add up"), engineNote(d, d.op === "conv1d" ? "1-D convolution" : "convolution")];
}

function separableParts(d) {
  const t = d.trace;
  const step1 = t.stage_values.map((sv) => channelLines(sv, (x) => `input row ${x.row}, column ${x.col}, tap (${x.tap.join(", ")})`)[0]);
  const mix = channelLines(t, () => "depthwise output times its 1×1 weight");
  return [
    el("p", { class: "arith-where" }, el("strong", {}, where(d)), ". Step 1, depthwise: each channel is filtered on its own (its biases are 0 in this example)."),
    ...step1,
    el("p", { class: "arith-where" }, "Step 2, 1×1: the depthwise values at this position, each times its weight, added up."),
    ...mix, ...total(t, "The channels add up"), engineNote(d, "depthwise and 1×1 convolutions"),
  ];
}

function transposedParts(d) {
  const t = d.trace;
  const describe = (x) => `input cell (${x.row}, ${x.col}) of channel ${x.channel}, kernel tap (${x.tap.join(", ")})`;
  const list = el("ul", { class: "arith-scatter small" }, ...t.terms.map((x) => el("li", {},
    `input (${x.row}, ${x.col}) = ${n(x.x)}, its kernel copy puts tap (${x.tap.join(", ")}) = ${n(x.w)} here: ${factor(x.x)}×${factor(x.w)} = ${n(x.product)}`)));
  const z = t.zero_view;
  return [
    el("p", { class: "arith-where" }, el("strong", {}, where(d)), `. Scatter: ${t.terms.length} kernel cop${t.terms.length === 1 ? "y lands" : "ies land"} on this cell.`),
    list, ...channelLines(t, describe), ...total(t, "The channels add up"),
    el("p", { class: "arith-where" }, "Zero insertion: the same value as an ordinary stride-1 window on the zero-inserted input (orange), times the kernel turned by 180 degrees: ",
      el("output", { class: "zero-sum" }, n(z.sum)), ` + bias ${n(t.bias)}.`),
    engineNote(d, "transposed convolution"),
  ];
}

/** Write the arithmetic of the answer `d` (POST /api/playground/convolution) into `root`. */
export function renderKindArithmetic(root, d) {
  const parts = d.op === "separable" ? separableParts(d) : d.op === "transposed" ? transposedParts(d) : convParts(d);
  root.replaceChildren(...parts.filter(Boolean));
}
