// The calculator's quiz: an exercise from GET /api/calculator/quiz (its seed in the URL),
// checked by POST /api/calculator/check.

import { ApiError, getJSON, postJSON } from "../api.js";
import { $, el, int } from "../util.js";
import { said } from "./format.js";

let state = null;
let exercise = null;

async function loadQuiz(seed) {
  const url = seed >= 0 ? `/api/calculator/quiz?seed=${seed}` : "/api/calculator/quiz";
  const q = await getJSON(url);
  exercise = q.exercise;
  state.set({ seed: q.seed });
  $("quiz-question").textContent = said(q.question);
  $("quiz-answer").value = "";
  $("quiz-feedback").hidden = true;
}

async function checkQuiz(evt) {
  evt.preventDefault();
  const text = $("quiz-answer").value.trim();
  const box = $("quiz-feedback");
  box.hidden = false;
  if (!/^\d+$/.test(text)) {
    box.className = "quiz-feedback error";
    box.replaceChildren("Type a whole number, then press Check.");
    return;
  }
  try {
    const r = await postJSON("/api/calculator/check", { exercise, answer: Number(text) });
    box.className = `quiz-feedback ${r.correct ? "ok" : "error"}`;
    const head = r.correct
      ? el("p", { class: "verdict" }, el("strong", {}, "Correct! "), `The answer is ${int(r.expected)}.`)
      : el("p", { class: "verdict" }, el("strong", {}, "Not quite. "), `You answered ${int(r.answer)}; the answer is ${int(r.expected)}.`);
    box.replaceChildren(
      head,
      r.hint ? el("p", { class: "hint-line" }, said(r.hint)) : "",
      el("p", {}, "Worked formula: ", el("span", { class: "formula" }, said(r.formula))),
      el("p", { class: "small" }, said(r.explanation)),
    );
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    box.className = "quiz-feedback error";
    box.replaceChildren(err.detail);
  }
}

export function initQuiz(st) {
  state = st;
  $("quiz-form").addEventListener("submit", checkQuiz);
  $("quiz-new").addEventListener("click", () => loadQuiz(-1));
  loadQuiz(state.get("seed")).catch((err) => {
    $("quiz-question").textContent = err.detail || String(err);
  });
}
