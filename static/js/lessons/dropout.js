// Lesson 4a: dropout in training and at inference. The example and every number come
// from the engine (GET / POST /api/lessons/dropout); this module draws the table.

import { getJSON, latestOnly, postJSON } from "../api.js";
import { $, el, fmt, fmtAll, int, showError } from "../util.js";

const RATIOS = [0.2, 0.5, 0.8];

export function initDropout(state) {
  const table = $("dp-table").tBodies[0];
  const errorBox = $("dp-error");
  const seedBox = $("dp-seed");
  const ask = latestOnly((payload, opts) => postJSON("/api/lessons/dropout", payload, opts));
  let example = null;

  function settings() {
    const s = state.get("dp") || {};
    const ratio = RATIOS.includes(s.ratio) ? s.ratio : example.ratio;
    const seed = Number.isInteger(s.seed) && s.seed >= 0 && s.seed <= 999999 ? s.seed : example.seed;
    return { ratio, seed, training: s.training !== false };
  }

  function show(s) {
    $("dp-train").setAttribute("aria-pressed", String(s.training));
    $("dp-infer").setAttribute("aria-pressed", String(!s.training));
    $("dp-ratio").value = String(s.ratio);
    seedBox.value = String(s.seed);
    $("dp-new").disabled = !s.training;
  }

  function row(head, cells, cls) {
    return el("tr", { class: cls }, el("th", { scope: "row" }, head), ...cells.map((c) => el("td", { class: "mono" }, c)));
  }

  async function compute() {
    const s = settings();
    show(s);
    try {
      const r = await ask({ x: example.x, dout: example.dout, ...s });
      if (!r) return;
      showError(errorBox, null);
      const mask = r.keep.map((k) => (r.training ? (k ? `× ${fmt(r.scale)}` : "dropped") : "kept"));
      // The table's numbers with one number of decimals (util's fmtAll over all of them).
      const n = r.x.length;
      const all = fmtAll([...r.x, ...r.y, ...r.dout, ...r.dx, ...r.mean_over_masks], 3);
      const part = (k) => all.slice(k * n, (k + 1) * n);
      table.replaceChildren(
        row("input x", part(0)),
        row(r.training ? "mask" : "mask (none)", mask, "dp-mask"),
        row(r.training ? `y = x·mask/(1 − ${fmt(r.ratio)})` : "y = x", part(1), "dp-y"),
        row("dL/dy (from above)", part(2)),
        row("dL/dx", part(3), "dp-dx"),
        row(`y averaged over ${int(r.draws)} masks`, part(4), "dp-avg"),
      );
      for (const [i, k] of r.keep.entries()) {
        table.rows[1].cells[i + 1].classList.toggle("dropped", !k);
        table.rows[2].cells[i + 1].classList.toggle("dropped", !k);
      }
      $("dp-explain").textContent = r.training
        ? `Training: this mask keeps ${r.kept} of ${r.keep.length} values and multiplies each by 1/(1 − ${fmt(r.ratio)}) = ${fmt(r.scale)}; the dropped ones are 0, and so is their gradient. `
          + `Mean of x ${fmt(r.mean_x)}, mean of y ${fmt(r.mean_y)} for this one mask; averaged over ${int(r.draws)} masks the engine drew, each output comes out close to its input (last row): that is what the scaling is for.`
        : `Inference: dropout is the identity, y = x and dL/dx = dL/dy. Nothing is dropped and nothing is rescaled, because training already scaled the kept values by 1/(1 − p). `
          + "(The original formulation scaled nothing in training and multiplied the weights by 1 − p at test time instead: the same expected output.)";
    } catch (err) {
      showError(errorBox, err);
    }
  }

  function set(patch) {
    state.set({ dp: { ...settings(), ...patch } });
    compute();
  }

  $("dp-train").addEventListener("click", () => set({ training: true }));
  $("dp-infer").addEventListener("click", () => set({ training: false }));
  $("dp-ratio").addEventListener("change", () => set({ ratio: Number($("dp-ratio").value) }));
  $("dp-new").addEventListener("click", () => set({ seed: (settings().seed + 1) % 1000000 }));
  seedBox.addEventListener("change", () => {
    const v = Number(seedBox.value);
    if (!Number.isInteger(v) || v < 0 || v > 999999) {
      seedBox.setAttribute("aria-invalid", "true");
      showError(errorBox, { message: "The seed is a whole number from 0 to 999999." });
      return;
    }
    seedBox.removeAttribute("aria-invalid");
    set({ seed: v });
  });

  getJSON("/api/lessons/dropout").then((ex) => {
    example = ex;
    compute();
  }, (err) => showError(errorBox, err));
}
