// The filter editor: one card per filter with a preset menu, one F x F grid of number
// inputs per input channel, and a bias. It only reports edits; the page owns the state.

import { el, fmt } from "../util.js";
import { times } from "./model.js";

export const WEIGHT_LIMIT = 1000;

function shown(v) {
  // What an input box shows: at most 3 decimals, no exponent for the small values presets use.
  return String(Number(v.toFixed(3)));
}

export class FilterEditor {
  /**
   * @param {HTMLElement} root
   * @param {object} on  preset(i, name), weight(i, index, value), bias(i, value), remove(i)
   */
  constructor(root, on) {
    this.root = root;
    this.on = on;
    this.key = "";
    this.cards = [];
  }

  /**
   * filters: [{name ("custom" or a preset), title, description, weights (C*F*F), bias}]
   * presets: [{name, title}] available at this size; channelNames: ["R", "G", "B"] or ["grey"].
   */
  render({ filters, size, channelNames, presets }) {
    const key = JSON.stringify([size, channelNames, filters.length, presets.map((p) => p.name)]);
    if (key !== this.key) {
      this.key = key;
      this.cards = filters.map((f, i) => this._card(i, size, channelNames, presets, filters.length));
      this.root.replaceChildren(...this.cards.map((c) => c.node));
    }
    filters.forEach((f, i) => this._update(this.cards[i], f));
  }

  _card(i, size, channelNames, presets, count) {
    const select = el(
      "select",
      { id: `fp-${i}` },
      ...presets.map((p) => el("option", { value: p.name }, times(p.title))),
      el("option", { value: "custom" }, "Custom (your own weights)"),
    );
    select.addEventListener("change", () => this.on.preset(i, select.value));
    const desc = el("p", { class: "fdesc small muted" });
    const inputs = [];
    const slices = channelNames.map((name, ch) => {
      const grid = el("div", { class: "kgrid" });
      grid.style.gridTemplateColumns = `repeat(${size}, minmax(0, 1fr))`;
      for (let p = 0; p < size; p++) {
        for (let q = 0; q < size; q++) {
          const index = (ch * size + p) * size + q;
          const input = el("input", {
            type: "number",
            step: "any",
            min: -WEIGHT_LIMIT,
            max: WEIGHT_LIMIT,
            inputmode: "decimal",
            class: "kcell",
            "aria-label": `Filter ${i}${channelNames.length > 1 ? `, ${name} slice` : ""}, row ${p}, column ${q}`,
          });
          input.addEventListener("input", () => {
            const v = Number(input.value);
            const ok = input.value.trim() !== "" && Number.isFinite(v) && Math.abs(v) <= WEIGHT_LIMIT;
            input.setAttribute("aria-invalid", ok ? "false" : "true");
            if (ok) this.on.weight(i, index, v);
          });
          inputs.push(input);
          grid.append(input);
        }
      }
      const title = channelNames.length > 1 ? `${name} slice` : `${size}×${size} weights`;
      return el("fieldset", { class: `fslice ch-${name}` }, el("legend", {}, title), grid);
    });
    const bias = el("input", { type: "number", step: "any", id: `fb-${i}`, class: "kbias", min: -WEIGHT_LIMIT, max: WEIGHT_LIMIT });
    bias.addEventListener("input", () => {
      const v = Number(bias.value);
      const ok = bias.value.trim() !== "" && Number.isFinite(v) && Math.abs(v) <= WEIGHT_LIMIT;
      bias.setAttribute("aria-invalid", ok ? "false" : "true");
      if (ok) this.on.bias(i, v);
    });
    // Enter moves to the next cell (then the bias), like a spreadsheet.
    const order = [...inputs, bias];
    order.forEach((input, n) => {
      input.addEventListener("keydown", (e) => {
        if (e.key !== "Enter") return;
        e.preventDefault();
        const next = order[(n + (e.shiftKey ? order.length - 1 : 1)) % order.length];
        next.focus();
        next.select();
      });
    });
    const remove = el("button", { type: "button", class: "fremove", "aria-label": `Remove filter ${i}`, disabled: count <= 1 }, "Remove");
    remove.addEventListener("click", () => this.on.remove(i));
    const node = el(
      "article",
      { class: "fcard", dataset: { index: String(i) } },
      el("header", { class: "fcard-head" }, el("h3", {}, `Filter ${i}`), remove),
      el("div", { class: "field" }, el("label", { for: `fp-${i}` }, "Preset"), select),
      desc,
      el("div", { class: "fslices" }, ...slices),
      el("div", { class: "field fbias" }, el("label", { for: `fb-${i}` }, "Bias b"), bias),
    );
    return { node, select, desc, inputs, bias };
  }

  _update(card, f) {
    card.select.value = f.name;
    card.desc.textContent = times(f.description);
    f.weights.forEach((v, n) => {
      const input = card.inputs[n];
      if (document.activeElement === input) return;
      input.value = shown(v);
      input.setAttribute("aria-invalid", "false");
      input.title = fmt(v, 6);
    });
    if (document.activeElement !== card.bias) card.bias.value = shown(f.bias);
  }
}
