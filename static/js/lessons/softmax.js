// Lesson 3b: softmax step by step. Scores -> shift by the max -> exp -> normalise,
// every value from POST /api/softmax; this module builds the inputs, table and bars.

import { postJSON, latestOnly } from "../api.js";
import { $, el, fmt, showError } from "../util.js";
const CLASSES = ["cat", "car", "frog", "dog", "ship", "truck", "bird", "horse", "deer", "plane"];
const MIN_CLASSES = 2;
const MAX_CLASSES = 10;
const LIMIT = 1e6;
const COURSE = [3.2, 5.1, -1.7];

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
        el("td", {}, input),
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

  async function compute() {
    const s = scores();
    try {
      const r = await ask({ scores: s });
      if (!r) return;
      showError(errorBox, null);
      const trs = rows.querySelectorAll("tr");
      const lis = bars.querySelectorAll("li");
      r.probabilities.forEach((p, i) => {
        trs[i].querySelector(".shifted").textContent = fmt(r.shifted[i], 4);
        trs[i].querySelector(".exp").textContent = fmt(r.exp[i], 4);
        trs[i].querySelector(".prob").textContent = fmt(p, 4);
        lis[i].querySelector(".bar-fill").style.width = `${p * 100}%`;
        lis[i].querySelector(".bar-value").textContent = fmt(p, 4);
        lis[i].dataset.p = String(p);
        lis[i].setAttribute("aria-label", `${CLASSES[i]}: probability ${fmt(p, 4)}`);
      });
      const best = r.probabilities.indexOf(Math.max(...r.probabilities));
      lis.forEach((li, i) => li.classList.toggle("best", i === best));
      $("sm-max").textContent = fmt(r.max, 4);
      $("sm-sum").textContent = fmt(r.sum, 4);
      const m = fmt(r.max, 4);
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
