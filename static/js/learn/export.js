// Take the model home: "Try it in Classify" (GET model.onnx, POST /api/models, keep the
// handle in this browser's "Your models" list as the classify page does, go there), and
// the code and ONNX downloads.

import { showError } from "../util.js";
import * as api from "./run.js";

// static/js/classify/models.js keeps this browser's uploads under this key, as
// [{name: "user-…", title}]; the classify page lists them under "Your models".
const SAVED_KEY = "convlab-my-models";

function remember(card) {
  try {
    const list = JSON.parse(localStorage.getItem(SAVED_KEY) || "[]");
    const kept = Array.isArray(list) ? list.filter((m) => m && m.name !== card.name) : [];
    kept.push({ name: card.name, title: card.title });
    localStorage.setItem(SAVED_KEY, JSON.stringify(kept));
  } catch {
    // storage disabled: the link still opens the model for this visit
  }
}

/** The classify page's upload fields for run `run` (its summary): the ONNX file, class
 * names and the run's own normalisation, so Classify prepares images as training did. */
function fields(blob, run) {
  const cfg = run.config;
  const pre = run.preprocessing;
  const channels = pre.mean.length;
  return {
    file: new File([blob], `learn-${cfg.recipe}-${cfg.dataset}-step${run.step}.onnx`, { type: "application/octet-stream" }),
    labels: new File([run.classes.join("\n")], "labels.txt", { type: "text/plain" }),
    mean: pre.mean.join(","),
    std: pre.std.join(","),
    preprocess: channels === 1 ? "digit" : "none",
  };
}

/**
 * Wire the export panel. `current()` answers the live run's summary (with step) or null;
 * `pause()` stops training first, so the model sent is the one on screen.
 */
export function initExport({ button, status, error, links }, { current, pause }) {
  button.addEventListener("click", async () => {
    const run = current();
    if (!run) return;
    await pause();
    showError(error, null);
    button.disabled = true;
    status.textContent = `Exporting the network at step ${run.step} as ONNX and checking it on the server…`;
    try {
      const blob = await api.onnx(run.run);
      const card = await api.uploadModel(fields(blob, run));
      remember(card);
      status.textContent = `Done: “${card.title}”. Opening Classify…`;
      window.location.assign(`/classify?model=${encodeURIComponent(card.name)}`);
    } catch (err) {
      status.textContent = "";
      showError(error, err);
      button.disabled = false;
    }
  });

  /** Point the downloads at run `run` (or disable them when there is none). */
  return function update(run) {
    button.disabled = !run;
    for (const [node, href] of [
      [links.keras, run && api.codeUrl(run.run, "keras")],
      [links.pytorch, run && api.codeUrl(run.run, "pytorch")],
      [links.onnx, run && api.onnxUrl(run.run)],
    ]) {
      if (href) {
        node.href = href;
        node.setAttribute("download", "");
        node.removeAttribute("aria-disabled");
      } else {
        node.href = "#home";
        node.removeAttribute("download");
        node.setAttribute("aria-disabled", "true");
      }
    }
  };
}
