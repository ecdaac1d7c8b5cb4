// Section 2: backprop on a 2-2-1 sigmoid network, one example, every number written out.
// The numbers come from POST /api/train/backprop; this module lays them out.

import { postJSON } from "../api.js";
import { $, debounce, el, showError, svgEl as svg } from "../util.js";
import { num, paren, rgb, tint } from "./common.js";

export const BP_DEFAULT = {
  x1: 0.05, x2: 0.1, t: 0.01, lr: 0.5,
  w1: 0.15, w2: 0.2, w3: 0.25, w4: 0.3, w5: 0.4, w6: 0.45, b1: 0.35, b2: 0.35, b3: 0.6,
};
const PARAMS = ["w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3"];
const POS = { x1: [46, 62], x2: [46, 188], h1: [232, 62], h2: [232, 188], y: [404, 125] };
// weight -> [from, to, where along the edge its label sits]
const EDGES = {
  w1: ["x1", "h1", 0.5], w2: ["x2", "h1", 0.3], w3: ["x1", "h2", 0.3], w4: ["x2", "h2", 0.5],
  w5: ["h1", "y", 0.5], w6: ["h2", "y", 0.5],
};


/** Wire the section. get() / set(patch) read and write its slice of the page state. */
export function initBackprop({ get, set }) {
  const inputs = { x1: $("bp-x1"), x2: $("bp-x2"), t: $("bp-target"), lr: $("bp-lr") };
  const box = $("bp-params");
  for (const p of PARAMS) {
    const input = el("input", { type: "number", id: `bp-${p}`, step: "any" });
    box.append(el("div", { class: "field" }, el("label", { for: `bp-${p}` }, p), input));
    inputs[p] = input;
  }
  const error = $("bp-error");
  let last = null;

  function fill(values) {
    for (const [k, input] of Object.entries(inputs)) {
      input.value = String(values[k]);
      input.removeAttribute("aria-invalid");
    }
  }

  function read() {
    const out = {};
    const bad = [];
    for (const [k, input] of Object.entries(inputs)) {
      const v = input.value.trim() === "" ? NaN : Number(input.value);
      const ok = Number.isFinite(v);
      if (ok) input.removeAttribute("aria-invalid");
      else input.setAttribute("aria-invalid", "true");
      if (ok) out[k] = v;
      else bad.push(k === "t" ? "target" : k === "lr" ? "learning rate" : k);
    }
    return { values: out, bad };
  }

  async function compute() {
    const { values, bad } = read();
    if (bad.length) {
      showError(error, { message: `Type a number for ${bad.join(", ")}.` });
      return;
    }
    set(values);
    const params = Object.fromEntries(PARAMS.map((p) => [p, values[p]]));
    try {
      const r = await postJSON("/api/train/backprop", {
        x1: values.x1, x2: values.x2, target: values.t, learning_rate: values.lr, params,
      });
      showError(error, null);
      last = r;
      render(r);
    } catch (err) {
      showError(error, err);
    }
  }

  const later = debounce(compute, 200);
  for (const input of Object.values(inputs)) input.addEventListener("input", later);
  $("bp-step").addEventListener("click", () => {
    if (!last) return;
    const next = { ...get() };
    for (const p of PARAMS) next[p] = Number(last.updated[p].toPrecision(6));
    fill(next);
    compute();
  });
  $("bp-reset").addEventListener("click", () => {
    fill(BP_DEFAULT);
    compute();
  });

  fill({ ...BP_DEFAULT, ...get() });
  compute();
}

function render(r) {
  drawDiagram(document.getElementById("bp-diagram"), r);
  const p = r.params;
  const n = r.nodes;
  const x = r.inputs;
  const f = (v) => paren(v, 4);
  const fwd = [
    ["z1", `w1·x1 + w2·x2 + b1 = ${f(p.w1)}·${f(x.x1)} + ${f(p.w2)}·${f(x.x2)} + ${f(p.b1)}`, n.z1],
    ["h1", `σ(z1) = σ(${num(n.z1)})`, n.h1],
    ["z2", `w3·x1 + w4·x2 + b2 = ${f(p.w3)}·${f(x.x1)} + ${f(p.w4)}·${f(x.x2)} + ${f(p.b2)}`, n.z2],
    ["h2", `σ(z2) = σ(${num(n.z2)})`, n.h2],
    ["z3", `w5·h1 + w6·h2 + b3 = ${f(p.w5)}·${f(n.h1)} + ${f(p.w6)}·${f(n.h2)} + ${f(p.b3)}`, n.z3],
    ["y", `σ(z3) = σ(${num(n.z3)})`, n.y],
    ["L", `½(y − t)² = ½(${num(n.y)} − ${num(r.target)})²`, r.loss],
  ];
  document.getElementById("bp-forward").replaceChildren(...fwd.map(([name, expr, v]) =>
    el("li", {}, el("span", { class: "tr-lhs" }, name), ` = ${expr} = `, el("strong", {}, num(v, 5)))));

  document.getElementById("bp-backward").replaceChildren(...r.lines.map((line) => {
    const chips = [];
    line.factors.forEach((fac, i) => {
      const [sym, meaning] = fac.label.split(" = ");
      if (i) chips.push(el("span", { class: "tr-times", "aria-hidden": "true" }, "×"));
      chips.push(el("span", { class: "tr-factor", title: meaning ? `${sym} = ${meaning}` : sym },
        el("span", { class: "tr-sym" }, sym),
        el("span", { class: "tr-val" }, num(fac.value, 4)),
        el("span", { class: "tr-why" }, meaning ? `= ${meaning}` : "")));
    });
    const syms = line.factors.map((fac) => fac.label.split(" = ")[0]).join(" · ");
    const nums = line.factors.map((fac) => `(${num(fac.value, 4)})`).join("");
    return el("li", { class: "tr-chain-line", dataset: { param: line.param } },
      el("p", { class: "tr-chain-sym" }, el("span", { class: "tr-lhs" }, `dL/d${line.param}`), ` = ${syms}`),
      el("div", { class: "tr-factors" }, ...chips),
      el("p", { class: "tr-chain-num" }, `= ${nums} = `, el("strong", { class: "tr-grad" }, num(line.product, 4)),
        el("span", { class: "small muted" }, ` (engine: ${num(line.gradient, 6)})`)));
  }));

  const body = document.querySelector("#bp-update tbody");
  body.replaceChildren(...r.lines.map((line) => el("tr", {},
    el("th", { scope: "row" }, line.param),
    el("td", {}, num(line.before, 5)),
    el("td", {}, num(line.gradient, 4)),
    el("td", {}, `${num(line.before, 5)} − ${num(r.learning_rate)} × ${paren(line.gradient, 4)} = `,
      el("strong", {}, num(line.after, 5))))));

  const after = document.getElementById("bp-after");
  const down = r.new_loss < r.loss;
  after.className = down ? "ok" : "warning";
  after.textContent = `With the updated weights the same example gives y = ${num(r.new_nodes.y, 5)} and `
    + `L = ${num(r.new_loss, 5)} (was ${num(r.loss, 5)}): the loss went ${down ? "down" : "up — the learning rate is too large for this step"}. `
    + "Press “Take the step” to move the weights there and repeat.";
}

function drawDiagram(root, r) {
  const n = r.nodes;
  const vals = { x1: r.inputs.x1, x2: r.inputs.x2, h1: n.h1, h2: n.h2, y: n.y };
  const g = [];
  for (const [w, [a, b, at]] of Object.entries(EDGES)) {
    const [xa, ya] = POS[a];
    const [xb, yb] = POS[b];
    const v = r.params[w];
    g.push(svg("line", {
      x1: xa, y1: ya, x2: xb, y2: yb, class: "bp-edge",
      stroke: rgb(tint(Math.sign(v) * (0.3 + 0.7 * Math.min(1, Math.abs(v))))),
      "stroke-width": (1.5 + 3 * Math.min(1, Math.abs(v))).toFixed(2),
    }));
    const lx = xa + (xb - xa) * at;
    const ly = ya + (yb - ya) * at - 8;
    g.push(svg("text", { x: lx, y: ly, class: "bp-wlabel", "text-anchor": "middle" }, `${w} = ${num(v, 3)}`));
  }
  for (const [name, [cx, cy]] of Object.entries(POS)) {
    g.push(svg("circle", { cx, cy, r: 27, class: `bp-node bp-${name[0]}` }));
    g.push(svg("text", { x: cx, y: cy - 5, class: "bp-nname", "text-anchor": "middle" }, name));
    g.push(svg("text", { x: cx, y: cy + 11, class: "bp-nval", "text-anchor": "middle" }, num(vals[name], 4)));
  }
  const bias = { h1: "b1", h2: "b2", y: "b3" };
  for (const [node, b] of Object.entries(bias)) {
    const [cx, cy] = POS[node];
    g.push(svg("text", { x: cx, y: cy + 44, class: "bp-blabel", "text-anchor": "middle" }, `${b} = ${num(r.params[b], 3)}`));
  }
  const [yx, yy] = POS.y;
  g.push(svg("text", { x: yx, y: yy - 38, class: "bp-blabel", "text-anchor": "middle" }, `target t = ${num(r.target, 4)}`));
  g.push(svg("text", { x: yx, y: yy + 62, class: "bp-loss", "text-anchor": "middle" }, `L = ${num(r.loss, 4)}`));
  root.replaceChildren(...g);
}
