// The playground's network diagram: one small heat map per neuron (its output over the
// input plane), weights as lines whose width and colour show size and sign, and an info
// box that explains the weight or neuron under the pointer or keyboard focus.

import { el, svgEl as svg } from "../util.js";
import { activation } from "../registry.js";
import { actTitle, num, paren, rgb, tint } from "./common.js";
import { drawNodeMap } from "./plots.js";
import { featureLabel } from "./settings.js";

const NODE = 38;
const ROW = 52;
const HEAD = 64;
const LEFT = 58;
const COL_MIN = 70;
const FEATURE_TEXT = {
  x1: "the point's first coordinate",
  x2: "the point's second coordinate",
  "x1^2": "the first coordinate squared",
  "x2^2": "the second coordinate squared",
  "x1*x2": "the product of the two coordinates",
  "sin(x1)": "the sine of the first coordinate",
  "sin(x2)": "the sine of the second coordinate",
};


export class NetworkView {
  /**
   * box: the diagram's container; info: the element that explains the active item;
   * onNeurons(layer, delta): the student pressed + or - above hidden layer `layer` (0-based).
   */
  constructor(box, info, { onNeurons, maxNeurons = 8 } = {}) {
    this.box = box;
    this.info = info;
    this.onNeurons = onNeurons;
    this.maxNeurons = maxNeurons;
    this.intro = info.innerHTML;
    this.active = null;
    this.net = null;
    this.last = null;
    this.step = 0;
  }

  /** Lay the diagram out for layer sizes [inputs, ...hidden, 1]. */
  build(sizes, features, activation) {
    this.sizes = sizes;
    this.features = features;
    this.activation = activation;
    this.active = null;
    this.info.innerHTML = this.intro;
    const cols = sizes.length;
    const avail = Math.max(this.box.parentElement.clientWidth - 4, 280);
    const colW = Math.max(COL_MIN, (avail - LEFT) / cols);
    const width = Math.round(LEFT + colW * cols);
    const rows = Math.max(...sizes);
    const height = HEAD + rows * ROW + 6;
    this.pos = sizes.map((n, c) => Array.from({ length: n }, (_, r) => ({
      x: LEFT + colW * (c + 0.5),
      y: HEAD + ((rows - n) / 2 + r + 0.5) * ROW,
    })));

    const head = el("div", { class: "tr-net-cols" });
    const hidden = sizes.length - 2;
    sizes.forEach((n, c) => {
      const title = c === 0 ? "Features" : c === cols - 1 ? "Output" : `Layer ${c}`;
      const col = el("div", { class: "tr-net-col", style: `left:${LEFT + colW * c}px;width:${colW}px` },
        el("span", { class: "tr-col-title" }, title));
      if (c > 0 && c <= hidden) {
        col.append(
          el("span", { class: "tr-col-ctrl" },
            el("button", {
              type: "button", class: "tr-pm", "aria-label": `Add a neuron to hidden layer ${c}`,
              disabled: n >= this.maxNeurons, onclick: () => this.onNeurons?.(c - 1, +1),
            }, "+"),
            el("button", {
              type: "button", class: "tr-pm", "aria-label": `Remove a neuron from hidden layer ${c}`,
              disabled: n <= 1, onclick: () => this.onNeurons?.(c - 1, -1),
            }, "−")),
          el("span", { class: "tr-col-n" }, `${n} neuron${n === 1 ? "" : "s"}`));
      }
      head.append(col);
    });

    const links = svg("svg", { class: "tr-links", width, height, viewBox: `0 0 ${width} ${height}` });
    const visible = svg("g");
    const hits = svg("g");
    links.append(visible, hits);
    this.linkEls = [];
    for (let l = 1; l < cols; l++) {
      const layer = [];
      for (let j = 0; j < sizes[l]; j++) {
        const row = [];
        for (let i = 0; i < sizes[l - 1]; i++) {
          const a = this.pos[l - 1][i];
          const b = this.pos[l][j];
          const x0 = a.x + NODE / 2;
          const x1 = b.x - NODE / 2;
          const mid = (x0 + x1) / 2;
          const d = `M${x0},${a.y} C${mid},${a.y} ${mid},${b.y} ${x1},${b.y}`;
          const line = svg("path", { d, class: "tr-link" });
          const hit = svg("path", {
            d, class: "tr-hit", tabindex: "0", role: "button",
            "aria-label": `weight from ${this.nodeName(l - 1, i)} to ${this.nodeName(l, j)}`,
            "data-layer": l, "data-to": j, "data-from": i,
          });
          const show = () => this.activate({ type: "weight", l, j, i }, line);
          hit.addEventListener("mouseenter", show);
          hit.addEventListener("focus", show);
          visible.append(line);
          hits.append(hit);
          row.push(line);
        }
        layer.push(row);
      }
      this.linkEls.push(layer);
    }

    const nodes = el("div", { class: "tr-nodes" });
    this.nodeEls = [];
    sizes.forEach((n, c) => {
      for (let r = 0; r < n; r++) {
        const p = this.pos[c][r];
        const canvas = el("canvas", { class: "tr-node-map pixels", width: 20, height: 20, "aria-hidden": "true" });
        const node = el("button", {
          type: "button",
          class: `tr-node${c === 0 ? " is-input" : ""}${c === cols - 1 ? " is-output" : ""}`,
          style: `left:${p.x - NODE / 2}px;top:${p.y - NODE / 2}px;width:${NODE}px;height:${NODE}px`,
          "aria-label": this.nodeName(c, r),
          dataset: { col: c, row: r },
        }, canvas);
        const show = () => this.activate({ type: "node", c, r }, node);
        node.addEventListener("mouseenter", show);
        node.addEventListener("focus", show);
        if (c === 0) {
          nodes.append(el("span", { class: "tr-feature-label", style: `top:${p.y - 9}px;right:${width - p.x + NODE / 2 + 6}px` }, featureLabel(features[r])));
        }
        nodes.append(node);
        this.nodeEls.push({ node, canvas, c, r });
      }
    });

    const stage = el("div", { class: "tr-stage", style: `width:${width}px;height:${height}px` }, links, nodes);
    this.box.replaceChildren(head, stage);
    head.style.width = `${width}px`;
    if (this.net) this.paint();
  }

  nodeName(c, r) {
    const cols = this.sizes.length;
    if (c === 0) return `input ${featureLabel(this.features[r])}`;
    if (c === cols - 1) return "the output";
    return `neuron ${r + 1} of hidden layer ${c}`;
  }

  /** New parameters, node grids (Float32Array, n_nodes x res x res) and the last update. */
  update(net, grids, res, last, step) {
    this.net = net;
    this.grids = grids;
    this.res = res;
    this.last = last;
    this.step = step;
    this.paint();
    if (this.active) this.explain();
  }

  paint() {
    const { weights } = this.net;
    let big = 0;
    for (const layer of weights) for (const row of layer) for (const w of row) big = Math.max(big, Math.abs(w));
    weights.forEach((layer, l) => layer.forEach((row, j) => row.forEach((w, i) => {
      const line = this.linkEls[l]?.[j]?.[i];
      if (!line) return;
      const strength = Math.min(1, Math.abs(w));
      line.setAttribute("stroke", rgb(tint(Math.sign(w) * (0.25 + 0.75 * strength))));
      line.setAttribute("stroke-width", (1 + 7 * Math.min(Math.abs(w), 5) / 5).toFixed(2));
    })));
    if (!this.grids) return;
    const plane = this.res * this.res;
    const cols = this.sizes.length;
    // A hidden neuron's colour range is its activation's output range (the registry's):
    // (0, 1) like a probability, (-1, 1), or, when unbounded, its own largest value.
    const [lo, hi] = activation(this.activation)?.range || [null, null];
    let k = 0;
    for (const { canvas, c } of this.nodeEls) {
      let kind = "auto";
      if (c === cols - 1 || (c > 0 && lo === 0 && hi === 1)) kind = "prob";
      else if (c > 0 && lo === -1 && hi === 1) kind = "signed";
      drawNodeMap(canvas, this.grids, k * plane, this.res, kind);
      k++;
    }
  }

  activate(item, elem) {
    if (this.activeEl) this.activeEl.classList.remove("is-active");
    this.active = item;
    this.activeEl = elem;
    elem.classList.add("is-active");
    this.explain();
  }

  explain() {
    const a = this.active;
    if (!a || !this.net) return;
    const last = this.last;
    const lr = last ? num(last.learning_rate, 4) : null;
    const regNote = last && last.regularization !== "none"
      ? el("p", { class: "small muted" }, `dL/dw includes the ${last.regularization.toUpperCase()} term: rate ${num(last.reg_rate)} × ${last.regularization === "l2" ? "w" : "sign(w)"}.`)
      : null;
    let title;
    let value;
    let parts;
    if (a.type === "weight") {
      title = `Weight: ${this.nodeName(a.l - 1, a.i)} → ${this.nodeName(a.l, a.j)}`;
      const w = this.net.weights[a.l - 1][a.j][a.i];
      value = el("p", {}, "w = ", el("strong", { class: "tr-wval" }, num(w, 5)));
      if (last) {
        const before = last.weights_before[a.l - 1][a.j][a.i];
        const g = last.grad_weights[a.l - 1][a.j][a.i];
        parts = [before, g, w];
      }
    } else if (a.c === 0) {
      const f = this.features[a.r];
      this.info.replaceChildren(
        el("h4", {}, `Input ${featureLabel(f)}`),
        el("p", {}, `The feature ${featureLabel(f)}: ${FEATURE_TEXT[f] || featureLabel(f)}. Its square shows its value over the plane (orange positive, blue negative). Inputs have no weights of their own; the lines leaving them do.`));
      return;
    } else {
      const out = a.c === this.sizes.length - 1;
      title = out ? "The output neuron" : `Neuron ${a.r + 1} of hidden layer ${a.c}`;
      const b = this.net.biases[a.c - 1][a.r];
      const fn = out ? "p = sigmoid(z)" : `${actTitle(this.activation)}(z)`;
      value = el("p", {}, `Its output is ${fn} with z = Σ w × input + b. Bias b = `, el("strong", { class: "tr-wval" }, num(b, 5)), out ? ". The square is p, the probability of orange, over the plane." : ". The square is its output over the plane.");
      if (last) {
        const before = last.biases_before[a.c - 1][a.r];
        const g = last.grad_biases[a.c - 1][a.r];
        parts = [before, g, b];
      }
    }
    const sym = a.type === "weight" ? "w" : "b";
    const nodes = [el("h4", {}, title), value];
    if (parts) {
      const [before, g, after] = parts;
      nodes.push(
        el("p", {}, `Gradient on the last step (step ${this.step}): dL/d${sym} = `, el("strong", {}, num(g, 4))),
        el("p", { class: "formula tr-update" },
          `${sym} ← ${sym} − lr × dL/d${sym} = ${num(before, 5)} − ${lr} × ${paren(g, 4)} = ${num(after, 5)}`),
        regNote,
      );
    } else {
      nodes.push(el("p", { class: "muted" }, "No step taken yet: press Step to compute this gradient."));
    }
    this.info.replaceChildren(...nodes.filter(Boolean));
  }
}
