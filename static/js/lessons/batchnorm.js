// Lesson 4b: batch normalisation in training and at inference. The example and every
// number (statistics, x-hat, y, running estimates, gradients) come from the engine
// (GET / POST /api/lessons/batchnorm); this module builds the inputs and the tables.
// "Take a training step" keeps the running estimates the engine returns, as a layer does.

import { getJSON, latestOnly, postJSON } from "../api.js";
import { $, debounce, el, fmt, fmtAll, showError } from "../util.js";

// Channels and examples are numbered from 0, as rows, columns and maps are everywhere in ConvLab.
const CH = ["channel 0", "channel 1", "channel 2", "channel 3"];

export function initBatchNorm(state) {
  const inputs = $("bn-inputs");
  const out = $("bn-out");
  const errorBox = $("bn-error");
  const ask = latestOnly((payload, opts) => postJSON("/api/lessons/batchnorm", payload, opts));
  let example = null;

  const copy = (v) => JSON.parse(JSON.stringify(v));
  const fresh = () => ({ x: copy(example.x), gamma: copy(example.gamma), beta: copy(example.beta),
    running_mean: copy(example.running_mean), running_var: copy(example.running_var), training: true });

  /** The lesson's state, or the example where the URL holds anything the page could not have made. */
  function current() {
    const s = state.get("bn");
    const rows = example.x.length;
    const cols = example.x[0].length;
    const nums = (a, n) => Array.isArray(a) && a.length === n
      && a.every((v) => typeof v === "number" && Number.isFinite(v) && Math.abs(v) <= example.limit);
    const ok = s && Array.isArray(s.x) && s.x.length === rows && s.x.every((r) => nums(r, cols))
      && ["gamma", "beta", "running_mean", "running_var"].every((k) => nums(s[k], cols))
      && s.running_var.every((v) => v >= 0);
    return ok ? { ...s, training: s.training !== false } : fresh();
  }

  function numberInput(id, label, value, onChange) {
    const input = el("input", { type: "number", id, step: "any", value, inputmode: "decimal",
      min: -example.limit, max: example.limit, "aria-label": label, class: "tvt-cell" });
    input.addEventListener("input", debounce(() => {
      const v = Number(input.value);
      const bad = input.value.trim() === "" || !Number.isFinite(v) || Math.abs(v) > example.limit;
      input.toggleAttribute("aria-invalid", bad);
      if (bad) {
        showError(errorBox, { message: `${label}: type a number from −${example.limit} to ${example.limit}.` });
        return;
      }
      onChange(v);
    }, 250));
    return input;
  }

  function buildInputs() {
    const s = current();
    const cols = s.x[0].length;
    const edit = (patchFn) => (v) => {
      const next = copy(current());
      patchFn(next, v);
      state.set({ bn: next });
      compute();
    };
    inputs.tHead.replaceChildren(el("tr", {}, el("td", {}),
      ...CH.slice(0, cols).map((c) => el("th", { scope: "col" }, c))));
    inputs.tBodies[0].replaceChildren(
      ...s.x.map((r, i) => el("tr", {}, el("th", { scope: "row" }, `example ${i}`),
        ...r.map((v, c) => el("td", {}, numberInput(`bn-x${i}-${c}`, `Example ${i}, ${CH[c]}`, v,
          edit((n, val) => { n.x[i][c] = val; })))))),
      ...[["gamma", "γ (learned scale)"], ["beta", "β (learned shift)"]].map(([k, head]) =>
        el("tr", { class: "tvt-param" }, el("th", { scope: "row" }, head),
          ...s[k].map((v, c) => el("td", {}, numberInput(`bn-${k}${c}`, `${head}, ${CH[c]}`, v,
            edit((n, val) => { n[k][c] = val; })))))),
    );
  }

  /** One row of the table; `texts` are its values already formatted (see `rows`). */
  function row(head, texts, cls) {
    return el("tr", { class: cls }, el("th", { scope: "row" }, head),
      ...texts.map((t) => el("td", { class: "mono" }, t)));
  }

  /** The rows of one quantity (a statistic, or x̂ for every example), formatted together:
   * one number of decimals for all its values (util's fmtAll), "–" where there is none. */
  function rows(heads, values, cls) {
    const flat = values.flat();
    const texts = fmtAll(flat.map((v) => (v === null ? NaN : v)), 4);
    const width = values[0].length;
    return heads.map((head, i) => row(head, texts.slice(i * width, (i + 1) * width), cls));
  }
  const one = (head, values, cls) => rows([head], [values], cls)[0];
  const perExample = (name, values, cls) => rows(values.map((_, i) => `${name}, example ${i}`), values, cls);

  async function compute(step = false) {
    const s = current();
    $("bn-train").setAttribute("aria-pressed", String(s.training));
    $("bn-infer").setAttribute("aria-pressed", String(!s.training));
    try {
      const r = await ask({ x: s.x, gamma: s.gamma, beta: s.beta, running_mean: s.running_mean,
        running_var: s.running_var, training: step || s.training, dout: example.dout });
      if (!r) return;
      showError(errorBox, null);
      const cols = s.x[0].length;
      const t = r.training;
      out.tHead.replaceChildren(el("tr", {}, el("th", { scope: "col" }, t ? "training" : "inference"),
        ...CH.slice(0, cols).map((c) => el("th", { scope: "col" }, c))));
      out.tBodies[0].replaceChildren(
        one("batch mean", r.batch_mean || Array(cols).fill(null), t ? "used" : ""),
        one("batch variance", r.batch_var || Array(cols).fill(null), t ? "used" : ""),
        one(t ? "running mean (before)" : "running mean", s.running_mean, t ? "" : "used"),
        one(t ? "running variance (before)" : "running variance", s.running_var, t ? "" : "used"),
        one("1/√(σ² + ε)", r.inv_std),
        ...perExample("x̂", r.xhat, "bn-xhat"),
        ...perExample("y", r.y, "bn-y"),
        one("running mean (after)", r.running_mean, "bn-rm"),
        one("running variance (after)", r.running_var, "bn-rv"),
        ...perExample("dL/dy", example.dout, "bn-dout"),
        ...perExample("dL/dx", r.dx, "bn-dx"),
        one("dL/dγ = Σ dL/dy · x̂", r.dgamma, "bn-dgamma"),
        one("dL/dβ = Σ dL/dy", r.dbeta, "bn-dbeta"),
      );
      explain(r);
      if (step) { // the layer keeps the estimates the engine moved
        state.set({ bn: { ...copy(s), running_mean: r.running_mean, running_var: r.running_var } });
        compute();
      }
    } catch (err) {
      showError(errorBox, err);
    }
  }

  function explain(r) {
    const m = fmt(r.momentum);
    $("bn-explain").textContent = r.training
      ? `Training: each channel is normalised with this batch's own mean and variance (highlighted), so every column of x̂ has mean 0 and variance 1 whatever its scale, and y = γ·x̂ + β. `
        + `The running estimates move toward the batch's: running = ${m}·running + ${fmt(1 - r.momentum)}·batch. Take a few training steps and watch them approach the batch's statistics.`
      : `Inference: each channel is normalised with the running estimates (highlighted), not this batch's statistics, so each example's y depends on that example alone. `
        + "With estimates that have not seen the data yet (mean 0, variance 1) the output is barely normalised: take training steps, then come back.";
    $("bn-learned").replaceChildren(
      el("li", {}, el("strong", {}, "Learned: γ and β. "),
        "They get gradients (dL/dγ and dL/dβ, the last two rows), and gradient descent updates them like any weight; they let the layer undo the normalisation where that helps."),
      el("li", {}, el("strong", {}, "Estimated: the running mean and variance. "),
        "They get no gradient; they are averages of the batches seen in training, updated in the forward pass, and used only at inference."));
  }

  $("bn-train").addEventListener("click", () => { state.set({ bn: { ...copy(current()), training: true } }); compute(); });
  $("bn-infer").addEventListener("click", () => { state.set({ bn: { ...copy(current()), training: false } }); compute(); });
  $("bn-step").addEventListener("click", () => compute(true));
  $("bn-reset").addEventListener("click", () => { state.set({ bn: fresh() }); buildInputs(); compute(); });

  getJSON("/api/lessons/batchnorm").then((ex) => {
    example = ex;
    buildInputs();
    compute();
  }, (err) => showError(errorBox, err));
}
