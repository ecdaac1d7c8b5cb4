// The end of the network with its actual numbers: flatten -> dense layers -> softmax.
// Each vector-valued layer is a card; a dense layer's values are buttons that ask the
// trace API which inputs made them.

import { el, fmt, fmtAll, int } from "../util.js";
import { drawStrip } from "./maps.js";
import { layerTitle, opName } from "./network.js";

const LIST = 12; // vectors up to this long are listed value by value

export function renderDense(container, body, { onValue }) {
  container.replaceChildren();
  const layers = body.layers.filter((l) => l.output && l.output.shape.length === 1 && !l.part_of);
  const k = body.classes.length;
  const cards = [];
  for (const layer of layers) {
    const out = layer.output;
    const traceable = layer.op_type === "Gemm" || layer.op_type === "MatMul";
    const isScores = out.length === k;
    const card = el("article", { class: `dense-card${layer.op_type === "Softmax" ? " softmax" : ""}`, dataset: { layer: layer.name } },
      el("h3", {}, layerTitle(layer)),
      el("p", { class: "layer-kind" }, opName(layer)),
      el("p", { class: "layer-name", title: `ONNX node ${layer.name}` }, layer.name),
      el("p", { class: "layer-meta" }, `${int(out.length)} values${layer.params ? ` · ${int(layer.params)} params` : ""}`));
    if (out.length <= LIST && out.values) {
      const list = el("ol", { class: "vec-list" });
      const shown = fmtAll(out.values, 4); // one number of decimals for the list
      out.values.forEach((v, i) => {
        const label = isScores ? body.classes[i] : `#${i}`;
        const content = [el("span", { class: "vec-label" }, label), " ", el("span", { class: "vec-value" }, shown[i])];
        const row = traceable ? null : el("span", { class: "vec-row" }, content);
        const top = isScores && i === body.index;
        list.append(el("li", { class: top ? "top" : "" }, traceable
          ? el("button", { type: "button", class: "vec-button", "aria-label": `${label} ${shown[i]}: trace this output of ${layerTitle(layer)}`, onclick: () => onValue(layer, i, isScores ? label : null) }, content)
          : row));
      });
      card.append(list);
    } else {
      const canvas = el("canvas", { class: "pixels strip", "aria-hidden": "true" });
      drawStrip(canvas, out);
      const wrap = el("div", { class: "strip-row" }, canvas,
        el("p", { class: "small muted" }, `${fmt(out.min, 3)} to ${fmt(out.max, 3)}`,
          out.length > out.length_shown ? ` (first ${int(out.length_shown)} shown)` : ""));
      card.append(wrap);
      if (traceable) {
        canvas.classList.add("clickable");
        canvas.removeAttribute("aria-hidden");
        canvas.setAttribute("aria-label", `${layerTitle(layer)}: click a value to trace it`);
        canvas.addEventListener("click", (e) => {
          const r = canvas.getBoundingClientRect();
          onValue(layer, Math.min(out.length_shown - 1, Math.floor(((e.clientY - r.top) / r.height) * out.length_shown)), null);
        });
        const id = `pick-${layer.name}`;
        const num = el("input", { type: "number", id, min: 0, max: out.length_shown - 1, value: 0, step: 1 });
        card.append(el("p", { class: "small muted" }, "Click the strip, or pick an output:"),
          el("div", { class: "trace-pick" },
            el("label", { for: id }, "output #"), num,
            el("button", { type: "button", class: "small-button", onclick: () => {
              const i = Math.max(0, Math.min(out.length_shown - 1, Math.round(Number(num.value) || 0)));
              onValue(layer, i, null);
            } }, "Trace")));
      }
    }
    cards.push(card);
  }
  if (!cards.length) {
    container.append(el("p", { class: "muted" }, "This model has no vector layers to show."));
    return;
  }
  cards.forEach((c, i) => {
    if (i) container.append(el("span", { class: "flow-arrow", "aria-hidden": "true" }, "→"));
    container.append(c);
  });
}
