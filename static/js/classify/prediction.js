// The answer: the verdict in words, the preprocessing steps, the probability bars and
// the softmax table. Every number comes from the inspect response.

import { el, fmt, fmtAll, shape } from "../util.js";
import { drawInput } from "./maps.js";
import { namer } from "./network.js";

const MAX_ROWS = 20;

/** A probability as a percentage a student can read: 54.3%, 0.06%, <0.01%. */
export function pct(p) {
  if (p > 0 && p < 0.0001) return "<0.01%";
  if (p > 0.9999 && p < 1) return ">99.99%";
  return `${fmt(100 * p, p < 0.01 || p > 0.99 ? 2 : 1)}%`;
}
const q = (label) => `“${label}”`;

/** The model's confidence, said honestly. */
export function verdictText(top) {
  const [a, b, c] = top;
  if (!b) return `The model has one class: ${q(a.label)}.`;
  if (a.probability >= 0.9) {
    const second = b.probability >= 0.01 ? ` Its second guess, ${q(b.label)}, gets ${pct(b.probability)}.` : "";
    return `The model is ${pct(a.probability)} sure this is ${q(a.label)}.${second}`;
  }
  if (a.probability >= 0.5) {
    return `The model is ${pct(a.probability)} sure this is ${q(a.label)}; its second guess is ${q(b.label)} at ${pct(b.probability)}.`;
  }
  const third = c ? ` and ${q(c.label)} (${pct(c.probability)})` : "";
  return `The model is unsure: its best guess, ${q(a.label)}, gets only ${pct(a.probability)}; next come ${q(b.label)} (${pct(b.probability)})${third}.`;
}

export function renderVerdict(body) {
  document.getElementById("verdict-label").textContent = body.label;
  document.getElementById("verdict-text").textContent =
    `${verdictText(body.top)} A network always answers with one of its classes, even for an image that shows none of them.`;
  const list = document.getElementById("top3");
  list.replaceChildren(...body.top.map((t, i) => el("li", { class: i === 0 ? "first" : "" },
    el("span", { class: "top3-label" }, t.label),
    el("span", { class: "top3-p" }, pct(t.probability)))));
}

export function renderPreprocessing(body) {
  const notes = document.getElementById("prep-notes");
  notes.replaceChildren(...body.notes.map((n) => el("p", { class: "warning small" }, n)));
  const steps = document.getElementById("prep-steps");
  steps.replaceChildren(...body.preprocessing.map((s, i) => el("li", { class: "prep-step" },
    el("figure", {},
      el("img", { src: s.image, alt: s.caption, class: i === 0 ? "" : "pixels" }),
      el("figcaption", {}, el("strong", {}, `${i + 1}. ${s.name}`), el("span", {}, s.caption))))));
  const [, c, h, w] = body.input.shape;
  const box = document.getElementById("prep-tensor");
  const figs = [];
  const data = body.input.data;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of data) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const channelNames = c === 3 ? ["red", "green", "blue"] : ["grey"];
  for (let k = 0; k < c; k++) {
    const canvas = el("canvas", { class: "pixels", "aria-label": `${channelNames[k]} channel of the model's input` });
    drawInput(canvas, body.input, k);
    figs.push(el("figure", {}, canvas, el("figcaption", {}, channelNames[k])));
  }
  box.replaceChildren(
    el("p", { class: "small" }, el("strong", {}, `${steps.children.length + 1}. The tensor the model sees: `),
      `${shape([c, h, w])} numbers (height×width×channels), x = (pixel/255 − mean) / std, from ${fmt(lo, 3)} to ${fmt(hi, 3)} `,
      "(blue below 0, orange above)."),
    el("div", { class: "tensor-maps" }, figs),
  );
}

export function renderBars(body) {
  const bars = document.getElementById("bars");
  const probs = body.probabilities;
  let order = probs.map((_, i) => i);
  if (order.length > MAX_ROWS) order = order.sort((a, b) => probs[b] - probs[a]).slice(0, MAX_ROWS);
  bars.replaceChildren(...order.map((i) => {
    const top = i === body.index;
    return el("div", { class: `bar-row${top ? " top" : ""}`, role: "listitem", "aria-label": `${body.classes[i]}: ${pct(probs[i])}` },
      el("span", { class: "bar-label", title: body.classes[i] }, body.classes[i]),
      el("span", { class: "bar-track", "aria-hidden": "true" },
        el("span", { class: "bar-fill", style: `width: ${(100 * probs[i]).toFixed(2)}%` })),
      el("span", { class: "bar-value" }, pct(probs[i])));
  }));
  if (probs.length > MAX_ROWS) bars.append(el("p", { class: "small muted" }, `The ${MAX_ROWS} most likely of ${probs.length} classes.`));
}

export function renderSoftmax(body) {
  const table = document.getElementById("softmax-table");
  const note = document.getElementById("softmax-note");
  const sm = body.softmax;
  const details = document.getElementById("softmax-details");
  details.hidden = !sm;
  if (!sm) return;
  let order = sm.scores.map((_, i) => i);
  if (order.length > MAX_ROWS) order = order.sort((a, b) => sm.probabilities[b] - sm.probabilities[a]).slice(0, MAX_ROWS);
  // One number of decimals for each side of the table (util.fmtAll), so −0.175 never sits
  // beside 1e-4: the scores, the shifted scores and the max (in the note below); the
  // exponentials, their sum, the probabilities and theirs (1).
  const n = sm.scores.length;
  const left = fmtAll([...sm.scores, ...sm.shifted, sm.max], 3);
  const right = fmtAll([...sm.exp, sm.sum, ...sm.probabilities, 1], 5);
  const col = { scores: left.slice(0, n), shifted: left.slice(n, 2 * n), exp: right.slice(0, n),
    probabilities: right.slice(n + 1, 2 * n + 1) };
  table.replaceChildren(
    el("caption", { class: "sr-only" }, "Softmax step by step"),
    el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, "class"),
      el("th", { scope: "col" }, "score s"),
      el("th", { scope: "col" }, "s − max"),
      el("th", { scope: "col" }, "e^(s−max)"),
      el("th", { scope: "col" }, "p = e / Σ"))),
    el("tbody", {}, order.map((i) => el("tr", { class: i === body.index ? "top" : "" },
      el("th", { scope: "row" }, body.classes[i]),
      el("td", {}, col.scores[i]),
      el("td", {}, col.shifted[i]),
      el("td", {}, col.exp[i]),
      el("td", {}, col.probabilities[i])))),
    el("tfoot", {}, el("tr", {},
      el("th", { scope: "row" }, "sum"), el("td", {}), el("td", {}),
      el("td", {}, right[n]), el("td", {}, right[2 * n + 1]))),
  );
  note.textContent = `Subtracting the largest score (${left[2 * n]}) first changes no probability but keeps e^s from overflowing. `
    + (sm.layer ? `The scores are the engine's values at the input of the ${namer(body)(sm.layer)} layer.` : "The model outputs raw scores; the page applies softmax to them.");
}
