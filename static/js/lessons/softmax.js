// Lesson 3b: softmax step by step. Scores -> shift by the max -> exp -> normalise,
// every value from POST /api/softmax; this module builds the inputs, table and bars, and
// plays the computation one cell at a time (as the playground builds a feature map).

import { postJSON, latestOnly } from "../api.js";
import { $, el, fmtAll, showError } from "../util.js";
import { stepControls } from "./common.js";
const CLASSES = ["cat", "car", "frog", "dog", "ship", "truck", "bird", "horse", "deer", "plane"];
const MIN_CLASSES = 2;
const MAX_CLASSES = 10;
const LIMIT = 1e6;
const COURSE = [3.2, 5.1, -1.7];
const TICK_MS = 800;

/** The most decimals any score was typed with (at most 4): 3.2, 5.1, −1.7 -> 1. */
function typedDecimals(scores) {
  return Math.min(4, Math.max(0, ...scores.map((v) => {
    const [digits, exponent] = String(v).split("e");
    return Math.max(0, (digits.split(".")[1] || "").length - Number(exponent || 0));
  })));
}

/** The values through util's fmtAll, with exactly `decimals` decimals for all of them: the
 * significant digits that gives the largest. */
function withDecimals(values, decimals) {
  const top = Math.max(0, ...values.filter(Number.isFinite).map(Math.abs));
  return fmtAll(values, top > 0 ? decimals + 1 + Math.floor(Math.log10(top)) : 1);
}

export function initSoftmax(state) {
  const rows = $("sm-rows");
  const bars = $("sm-bars");
  const errorBox = $("sm-error");
  const ask = latestOnly((payload, opts) => postJSON("/api/softmax", payload, opts));

  function scores() {
    const s = state.get("scores");
    const ok = Array.isArray(s) && s.length >= MIN_CLASSES && s.length <= MAX_CLASSES
      && s.every((v) => typeof v === "number" && Number.isFinite(v) && Math.abs(v) <= LIMIT);
    return ok ? s : COURSE;
  }

  function build() {
    const s = scores();
    rows.replaceChildren(...s.map((v, i) => {
      const id = `sm-s${i}`;
      const input = el("input", {
        type: "number", id, step: "any", min: -LIMIT, max: LIMIT, value: v, inputmode: "decimal",
        "aria-label": `Score for ${CLASSES[i]}`,
      });
      input.addEventListener("input", () => onEdit(i, input));
      const remove = el("button", {
        type: "button", class: "icon-button", "aria-label": `Remove ${CLASSES[i]}`,
        disabled: s.length <= MIN_CLASSES, text: "×",
      });
      remove.addEventListener("click", () => {
        const next = scores().slice();
        next.splice(i, 1);
        state.set({ scores: next });
        build();
      });
      return el("tr", { dataset: { index: i } },
        el("th", { scope: "row" }, el("label", { for: id, text: CLASSES[i] })),
        el("td", { class: "score" }, input),
        el("td", { class: "mono shifted" }),
        el("td", { class: "mono exp" }),
        el("td", { class: "mono prob" }),
        el("td", {}, remove));
    }));
    bars.replaceChildren(...s.map((_, i) => el("li", { class: "bar-row", dataset: { index: i } },
      el("span", { class: "bar-label", text: CLASSES[i] }),
      el("span", { class: "bar-track" }, el("span", { class: "bar-fill" })),
      el("span", { class: "bar-value mono" }))));
    $("sm-add").disabled = s.length >= MAX_CLASSES;
    compute();
  }

  function onEdit(i, input) {
    const text = input.value.trim();
    const v = Number(text);
    if (text === "" || !Number.isFinite(v) || Math.abs(v) > LIMIT) {
      showError(errorBox, new Error(`The score for ${CLASSES[i]} must be a number between −1,000,000 and 1,000,000.`));
      return;
    }
    const next = scores().slice();
    next[i] = v;
    state.set({ scores: next });
    compute();
  }

  // The steps, in the order a student computes them: the max, each shifted score, each
  // exponential, their sum, each probability. After k steps exactly k cells are filled.
  let result = null; // the last /api/softmax answer, with its scores
  let texts = null; // each column's numbers, formatted together (one number of decimals)
  let step = 0;

  function stepList(n) {
    const each = (kind) => Array.from({ length: n }, (_, i) => ({ kind, i }));
    return [{ kind: "max" }, ...each("shifted"), ...each("exp"), { kind: "sum" }, ...each("prob")];
  }

  /** The table cell a step fills, and the cells it reads. */
  function cellsOf(s) {
    const trs = rows.querySelectorAll("tr");
    const td = (i, cls) => trs[i].querySelector(cls);
    const all = (cls) => [...trs].map((tr) => tr.querySelector(cls));
    switch (s.kind) {
      case "max": return { cell: $("sm-max").parentElement, used: all(".score") };
      case "shifted": return { cell: td(s.i, ".shifted"), used: [td(s.i, ".score"), $("sm-max").parentElement] };
      case "exp": return { cell: td(s.i, ".exp"), used: [td(s.i, ".shifted")] };
      case "sum": return { cell: $("sm-sum").parentElement, used: all(".exp") };
      default: return { cell: td(s.i, ".prob"), used: [td(s.i, ".exp"), $("sm-sum").parentElement] };
    }
  }

  function valueText(s) {
    if (s.kind === "max") return texts.max;
    if (s.kind === "sum") return texts.sum;
    return texts[s.kind][s.i];
  }

  function explainStep(s) {
    const r = result;
    const name = CLASSES[s.i];
    switch (s.kind) {
      case "max": return `The largest score: max(${texts.scores.join(", ")}) = ${texts.max}.`;
      case "shifted": return `Shift ${name}'s score by the max: ${texts.scores[s.i]} − ${texts.max} = ${texts.shifted[s.i]}.`;
      case "exp": return ["Exponentiate it: e", el("sup", { text: texts.shifted[s.i] }), ` = ${texts.exp[s.i]}.`];
      case "sum": return `Add the exponentials: ${texts.exp.join(" + ")} = ${texts.sum}.`;
      default: return `Normalise ${name}: ${texts.exp[s.i]} / ${texts.sum} = ${texts.prob[s.i]}`
        + (s.i === r.probabilities.length - 1 ? ". Done: the probabilities add up to 1." : ".");
    }
  }

  function render() {
    if (!result) return;
    const steps = stepList(result.probabilities.length);
    const total = steps.length;
    step = Math.max(0, Math.min(total, step));
    rows.querySelectorAll(".current, .used").forEach((c) => c.classList.remove("current", "used"));
    $("sm-max").textContent = "";
    $("sm-sum").textContent = "";
    steps.forEach((s, k) => {
      const { cell } = cellsOf(s);
      const done = k < step;
      const target = s.kind === "max" ? $("sm-max") : s.kind === "sum" ? $("sm-sum") : cell;
      target.textContent = done ? valueText(s) : "";
      cell.classList.toggle("pending", !done);
      cell.classList.toggle("current", k === step - 1 && step < total); // finished: nothing marked
    });
    $("sm-table").querySelectorAll("tfoot .used").forEach((c) => c.classList.remove("used"));
    if (step > 0 && step < total) cellsOf(steps[step - 1]).used.forEach((c) => c.classList.add("used"));
    // The bars show the probabilities computed so far.
    const lis = bars.querySelectorAll("li");
    const best = result.probabilities.indexOf(Math.max(...result.probabilities));
    result.probabilities.forEach((p, i) => {
      const shown = step >= total - result.probabilities.length + i + 1;
      lis[i].querySelector(".bar-fill").style.width = shown ? `${p * 100}%` : "0%";
      lis[i].querySelector(".bar-value").textContent = shown ? texts.prob[i] : "";
      lis[i].classList.toggle("best", shown && i === best);
      lis[i].setAttribute("aria-label", shown ? `${CLASSES[i]}: probability ${texts.prob[i]}` : `${CLASSES[i]}: not computed yet`);
    });
    $("sm-first").disabled = step === 0;
    $("sm-prev").disabled = step === 0;
    $("sm-next").disabled = step >= total;
    const scrub = $("sm-scrub");
    scrub.max = String(total);
    scrub.value = String(step);
    scrub.setAttribute("aria-valuetext", `step ${step} of ${total}`);
    $("sm-scrub-out").textContent = `${step} of ${total}`;
    $("sm-explain").replaceChildren(...(step === 0
      ? [`Press Play or Next to compute softmax one number at a time: ${total} steps.`]
      : [`Step ${step} of ${total}. `, ...[explainStep(steps[step - 1])].flat()]));
  }

  function setStep(k) {
    step = k;
    render();
  }

  const { stop } = stepControls("sm", {
    tick: TICK_MS,
    getStep: () => step,
    setStep,
    total: () => stepList(result.probabilities.length).length,
    ready: () => result !== null,
  });

  async function compute() {
    const s = scores();
    try {
      const r = await ask({ scores: s });
      if (!r) return;
      showError(errorBox, null);
      stop();
      result = r;
      // One number of decimals for each side of the table: the scores, their max and the
      // shifted scores with as many as the scores were typed with (s - max is exact); the
      // exponentials, their sum and the probabilities with four, so that a sentence such as
      // "0.0011 / 1.1507 = 0.0010" reads the same numbers as the table.
      const n = s.length;
      const left = withDecimals([...s, r.max, ...r.shifted], typedDecimals(s));
      const right = withDecimals([...r.exp, r.sum, ...r.probabilities], 4);
      texts = {
        scores: left.slice(0, n),
        max: left[n],
        shifted: left.slice(n + 1),
        exp: right.slice(0, n),
        sum: right[n],
        prob: right.slice(n + 1),
      };
      bars.querySelectorAll("li").forEach((li, i) => { li.dataset.p = String(r.probabilities[i]); });
      step = stepList(r.probabilities.length).length; // new scores: the whole computation, finished
      render();
      const m = texts.max;
      $("sm-shift-note").replaceChildren(
        `Subtracting the largest score (${m}) from every score changes nothing: each `,
        "exponential is divided by the same e", el("sup", { text: m }),
        ", which cancels in the division. It only avoids overflow: the largest exponent ",
        "becomes e", el("sup", { text: "0" }), " = 1, so even scores like 1000 (e",
        el("sup", { text: "1000" }), " is far too large for a float) give finite numbers.",
      );
    } catch (err) {
      showError(errorBox, err);
    }
  }

  $("sm-add").addEventListener("click", () => {
    const s = scores();
    if (s.length >= MAX_CLASSES) return;
    state.set({ scores: [...s, 0] });
    build();
    $(`sm-s${s.length}`).focus();
  });
  $("sm-huge").addEventListener("click", () => { state.set({ scores: [1000, 999, 995] }); build(); });
  $("sm-course").addEventListener("click", () => { state.set({ scores: COURSE }); build(); });

  build();
}
