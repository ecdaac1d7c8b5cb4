// The arithmetic of one output value, drawn from the API's trace:
// patch x weights = products, their sum (per channel, then all channels), + bias = value.
// Every number here is one the server sent; nothing is computed.

import { title } from "../registry.js";
import { el, fmt, fmtAll } from "../util.js";

function signClass(v) {
  return v > 0 ? "pos" : v < 0 ? "neg" : "zero";
}

/** At most this many decimals in a table: the API sends pixel values to 4 decimals, and a
 * column of "0.000000" would push the products off the screen. */
const MAX_DECIMALS = 4;

/** One table's numbers, one number of decimals for all (util.fmtAll: 4 significant digits of
 * the largest, at most MAX_DECIMALS decimals; whole numbers stay whole). */
function tableText(values) {
  if (values.every(Number.isInteger)) return values.map((v) => fmt(v));
  const top = Math.max(...values.map(Math.abs));
  // fmtAll gives sig - 1 - floor(log10(top)) decimals: fewer significant digits for a small top.
  const sig = top > 0 ? Math.min(4, MAX_DECIMALS + 1 + Math.floor(Math.log10(top))) : 4;
  return fmtAll(values, sig);
}

/** `label`: the table's accessible name; `caption`: what is written above it (null: nothing,
 * as in the rows below the first of an RGB filter, whose channel letter and the captions above
 * say it). */
function matrix(data, offset, kh, kw, { pads = null, signs = false, label, caption = label }) {
  const texts = tableText(Array.from(data.slice(offset, offset + kh * kw)));
  const grid = el("div", { class: "amat", role: "img", "aria-label": label });
  grid.style.gridTemplateColumns = `repeat(${kw}, auto)`;
  for (let p = 0; p < kh; p++) {
    for (let q = 0; q < kw; q++) {
      const v = data[offset + p * kw + q];
      const cls = ["acell"];
      if (pads && pads(p, q)) cls.push("pad");
      if (signs) cls.push(signClass(v));
      grid.append(el("span", { class: cls.join(" ") }, texts[p * kw + q]));
    }
  }
  return el("figure", { class: "afig" }, caption ? el("figcaption", { "aria-hidden": "true" }, caption) : null, grid);
}

/**
 * @param {HTMLElement} root
 * @param {object} trace  the API's trace
 * @param {object} ctx  filterTitle, k (filter index), channelNames, inputShape [C, H, W]
 */
export function renderArithmetic(root, trace, ctx) {
  const [c, kh, kw] = trace.patch.shape;
  const [, i, j] = trace.position;
  const [, h, w] = ctx.inputShape;
  const names = ctx.channelNames;
  const onPad = (p, q) => {
    const r = trace.input_rows[p];
    const s = trace.input_cols[q];
    return r < 0 || s < 0 || r >= h || s >= w;
  };
  // "4, 5, 6" as it is; a longer run of neighbours as "4 to 10" (a dilated window lists its taps).
  const list = (xs) => (xs.length > 3 && xs.every((v, n) => !n || v === xs[n - 1] + 1)
    ? `${xs[0]} to ${xs[xs.length - 1]}` : xs.join(", "));
  const parts = [
    el(
      "p",
      { class: "arith-where" },
      el("strong", {}, `Filter ${ctx.k}`), ` (${ctx.filterTitle}) at output row ${i}, column ${j}: `,
      `the window covers padded rows ${list(trace.rows)} and columns ${list(trace.cols)}`,
      trace.input_rows.some((r) => r < 0 || r >= h) || trace.input_cols.some((s) => s < 0 || s >= w)
        ? "; the hatched cells are zero padding."
        : ".",
    ),
  ];
  const plane = kh * kw;
  const rows = el("div", { class: "arith-rows" });
  for (let ch = 0; ch < c; ch++) {
    const off = ch * plane;
    const prefix = c > 1 ? `${names[ch]} ` : "";
    rows.append(
      el(
        "div",
        { class: "arith-row", dataset: { channel: String(ch) } },
        c > 1 ? el("span", { class: `arith-ch ch-${names[ch]}` }, names[ch]) : null,
        matrix(trace.patch.data, off, kh, kw, { pads: onPad, label: `${prefix}patch`, caption: ch === 0 ? "patch" : null }),
        el("span", { class: "arith-op", "aria-hidden": "true" }, "×"),
        matrix(trace.weights.data, off, kh, kw, { signs: true, label: `${prefix}weights`, caption: ch === 0 ? "weights" : null }),
        el("span", { class: "arith-op", "aria-hidden": "true" }, "="),
        matrix(trace.products.data, off, kh, kw, { signs: true, label: `${prefix}products`, caption: ch === 0 ? "products" : null }),
        el("span", { class: "arith-op", "aria-hidden": "true" }, "→"),
        el(
          "span",
          { class: "arith-csum" },
          el("span", { class: "small muted" }, c > 1 ? `${names[ch]} slice sum` : "sum"),
          el("output", { class: "channel-sum", dataset: { channel: String(ch) } }, fmt(trace.channel_sums[ch], 4)),
        ),
      ),
    );
  }
  const totals = [];
  const total = el("output", { class: "arith-sum" }, fmt(trace.sum, 4));

  if (c * plane <= 9) {
    // Written out in full when it is short enough to read: it ends with the sum.
    const terms = [];
    const xs = tableText(Array.from(trace.patch.data));
    const ws = tableText(Array.from(trace.weights.data));
    for (let n = 0; n < c * plane; n++) {
      terms.push(`${xs[n]}×${trace.weights.data[n] < 0 ? `(${ws[n]})` : ws[n]}`);
    }
    totals.push(el("p", { class: "arith-line formula" }, `${terms.join(" + ")} = `, total));
  } else if (c > 1) {
    const sums = [];
    trace.channel_sums.forEach((s, ch) => {
      if (ch) sums.push(" + ");
      sums.push(el("span", { class: `ch-${names[ch]}` }, `${names[ch]} ${fmt(s, 4)}`));
    });
    totals.push(el("p", { class: "arith-total" }, "The three slice sums add up: ", ...sums, " = ", total));
  } // else one channel with too many products to write out: the row's own "sum" is the sum
  const value = el("output", { class: "arith-value", dataset: { value: String(trace.value) } }, fmt(trace.value, 4));
  totals.push(
    el("p", { class: "arith-total arith-final" }, `${fmt(trace.sum, 4)} + bias ${fmt(trace.bias, 4)} = `, value),
  );
  if (trace.activation) {
    totals.push(
      el(
        "p",
        { class: "arith-total" },
        `${title(trace.activation)}(${fmt(trace.value, 4)}) = `,
        el("output", { class: "arith-activated" }, fmt(trace.activated, 4)),
      ),
    );
  }
  totals.push(
    el("p", { class: "small muted" }, `The engine's vectorised convolution gives ${fmt(trace.engine_value, 4)} there too.`),
  );
  // The products beside what they add up to, so the whole sum reads in one glance.
  parts.push(el("div", { class: "arith-body" }, rows, el("div", { class: "arith-totals" }, ...totals)));
  root.replaceChildren(...parts);
  root.dataset.position = `${ctx.k},${i},${j}`;
}
