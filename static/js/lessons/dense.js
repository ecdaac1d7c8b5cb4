// Lesson 3a: counting the parameters of a small dense network, layer by layer. The
// counts come from the server (POST /api/lessons/network-params); this module draws.
// (Flattening a volume into the first dense layer is lessons/flatten.js.)

import { postJSON, latestOnly } from "../api.js";
import { $, el, formula, int, prose, showError, svgEl } from "../util.js";

const MAX_DRAWN = 8; // neurons per layer the drawing shows
const MAX_HIDDEN = 3;

function plural(n, one, many = `${one}s`) {
  return `${int(n)} ${n === 1 ? one : many}`;
}

function layerName(l, count) {
  if (l === 0) return "Inputs";
  if (l === count - 1) return "Outputs";
  return `Hidden layer ${l}`;
}

/** A small dense network whose layer sizes (in the URL) the student sets; its parameters, layer by layer. */
export function initNetwork(state) {
  const controls = $("net-controls");
  const svg = $("net-svg");
  const list = $("net-layers");
  const errorBox = $("net-error");
  const ask = latestOnly((payload, opts) => postJSON("/api/lessons/network-params", payload, opts));

  function layers() {
    const net = state.get("net");
    const ok = Array.isArray(net) && net.length >= 2 && net.length <= MAX_HIDDEN + 2
      && net.every((v) => Number.isInteger(v) && v >= 1 && v <= MAX_DRAWN);
    return ok ? net : [3, 4, 2];
  }

  function buildControls() {
    const net = layers();
    const nodes = net.map((v, l) => {
      const id = `net-l${l}`;
      const input = el("input", { type: "number", id, min: 1, max: MAX_DRAWN, step: 1, value: v });
      input.addEventListener("change", () => {
        const n = Number(input.value);
        if (!Number.isInteger(n) || n < 1 || n > MAX_DRAWN) {
          showError(errorBox, new Error(`${layerName(l, net.length)} needs a whole number of neurons from 1 to ${MAX_DRAWN}.`));
          return;
        }
        const next = layers().slice();
        next[l] = n;
        state.set({ net: next });
        update();
      });
      return el("div", { class: "field" }, el("label", { for: id, text: layerName(l, net.length) }), input);
    });
    const add = el("button", { type: "button", text: "+ Hidden layer", disabled: net.length >= MAX_HIDDEN + 2 });
    add.addEventListener("click", () => {
      const next = layers().slice();
      next.splice(next.length - 1, 0, 4);
      state.set({ net: next });
      buildControls();
      update();
    });
    const remove = el("button", { type: "button", text: "− Hidden layer", disabled: net.length <= 2 });
    remove.addEventListener("click", () => {
      const next = layers().slice();
      next.splice(next.length - 2, 1);
      state.set({ net: next });
      buildControls();
      update();
    });
    controls.replaceChildren(...nodes, el("div", { class: "row net-buttons" }, add, remove));
  }

  function setHighlight(l) {
    svg.classList.toggle("has-hl", l !== null);
    for (const node of svg.querySelectorAll("[data-layer]")) {
      node.classList.toggle("hl", l !== null && Number(node.dataset.layer) === l);
    }
    for (const item of list.querySelectorAll("[data-layer]")) {
      item.classList.toggle("hl", l !== null && Number(item.dataset.layer) === l);
    }
  }

  function draw(net) {
    const width = 460;
    const height = 290;
    const r = 14;
    const top = 30;
    const bottom = height - 40;
    const xs = net.map((_, l) => 40 + (l * (width - 80)) / (net.length - 1));
    const ys = net.map((n) => Array.from({ length: n }, (_, i) =>
      top + r + ((bottom - top - 2 * r) * (i + 0.5)) / n));
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.replaceChildren();
    // Hover regions, one per layer with weights: from the previous column to this one.
    for (let l = 1; l < net.length; l++) {
      const hit = svgEl("rect", {
        x: xs[l - 1] + r, y: 0, width: xs[l] - xs[l - 1], height, class: "net-hit", "data-hit": l,
      });
      hit.addEventListener("pointerenter", () => setHighlight(l));
      hit.addEventListener("pointerleave", () => setHighlight(null));
      svg.append(hit);
    }
    const weights = svgEl("g", { class: "weights" });
    for (let l = 1; l < net.length; l++) {
      for (const y0 of ys[l - 1]) {
        for (const y1 of ys[l]) {
          weights.append(svgEl("line", {
            x1: xs[l - 1] + r, y1: y0, x2: xs[l] - r, y2: y1, class: "weight", "data-layer": l,
          }));
        }
      }
    }
    svg.append(weights);
    net.forEach((n, l) => {
      const kind = l === 0 ? "input" : l === net.length - 1 ? "output" : "hidden";
      ys[l].forEach((y) => {
        svg.append(svgEl("circle", { cx: xs[l], cy: y, r, class: `neuron ${kind}`, "data-layer": l }));
        if (l > 0) {
          svg.append(svgEl("circle", { cx: xs[l] + r * 0.8, cy: y - r * 0.8, r: 6, class: "bias", "data-layer": l }));
          svg.append(svgEl("text", { x: xs[l] + r * 0.8, y: y - r * 0.8 + 3, class: "bias-text", "data-layer": l }, "b"));
        }
      });
      const label = l === 0 ? "input" : l === net.length - 1 ? "output" : `hidden ${l}`;
      svg.append(svgEl("text", { x: xs[l], y: height - 18, class: "svg-label", "text-anchor": "middle" }, label));
      svg.append(svgEl("text", { x: xs[l], y: height - 4, class: "svg-label muted", "text-anchor": "middle" }, `${n} neuron${n === 1 ? "" : "s"}`));
    });
  }

  async function update() {
    const net = layers();
    draw(net);
    try {
      const r = await ask({ layers: net });
      if (!r) return;
      showError(errorBox, null);
      list.replaceChildren(...r.per_layer.map((p) => {
        const name = layerName(p.layer, net.length).toLowerCase();
        const item = el("button", { type: "button", class: "layer-chip", dataset: { layer: p.layer } },
          el("strong", { text: `${name[0].toUpperCase()}${name.slice(1)}` }),
          el("span", { class: "mono", text: formula(p.formula) }),
          el("span", { class: "chip-detail", text: `${plural(p.weights, "weight")} + ${plural(p.biases, "bias", "biases")}` }));
        item.addEventListener("pointerenter", () => setHighlight(p.layer));
        item.addEventListener("pointerleave", () => setHighlight(null));
        item.addEventListener("focus", () => setHighlight(p.layer));
        item.addEventListener("blur", () => setHighlight(null));
        return el("li", {}, item);
      }));
      $("net-total").textContent = int(r.total);
      $("net-summary").textContent = prose(r.summary);
    } catch (err) {
      showError(errorBox, err);
    }
  }

  buildControls();
  update();
}
