// Lesson 1, second part: pooling applied to a real feature map. A sample convolved with an
// edge filter (POST /api/conv, with its value range) is pooled by POST /api/pool with the
// example's window and stride; the dense head it feeds is counted by
// POST /api/lessons/dense-head, before and after pooling.

import { latestOnly, postJSON, turns } from "../api.js";
import { drawMap } from "../draw/heatmap.js";
import { $, el, formula, int, showError, square } from "../util.js";
import { checkedSamples, getFeatureMap, hw, volume } from "./common.js";

/** Wire the sample and filter menus to `state`; `compute` redraws (the pooling mode
 * changed), `start` fills the menus and draws the first time. */
export function initPoolingMap(state, { K, S, P }) {
  const sampleSelect = $("fm-sample");
  const filterSelect = $("fm-filter");
  const fmError = $("fm-error");
  const poolMap = latestOnly((payload, opts) => postJSON("/api/pool", payload, opts));
  const headParams = (shape) => postJSON("/api/lessons/dense-head", {
    height: shape[1], width: shape[2], channels: shape[0], outputs: 10,
  });

  async function fillSamples() {
    try {
      const list = await checkedSamples(state);
      sampleSelect.replaceChildren(...list.map((s) => el("option", { value: s.name, text: s.title })));
      sampleSelect.value = state.get("sample");
    } catch (err) {
      showError(fmError, err);
    }
  }

  const mapTurns = turns();
  async function computeMap() {
    const turn = mapTurns.next();
    const mode = state.get("mode");
    $("fm-mode-label").textContent = mode === "max" ? "max pool" : "average pool";
    try {
      const fm = await getFeatureMap(state.get("sample"), state.get("edge"));
      if (!mapTurns.is(turn)) return; // another image or filter was picked meanwhile
      const pooled = await poolMap({ input: fm.relu, mode, kernel_size: K, stride: S, padding: P });
      if (!pooled || !mapTurns.is(turn)) return;
      const [ih, iw] = fm.input.shape.slice(1);
      drawMap($("fm-input"), fm.input.data, ih, iw, { scale: "grey", min: 0, max: 1 });
      const [ch, cw] = fm.relu.shape.slice(1);
      const range = { min: fm.relu.min, max: fm.relu.max }; // the server's, for both maps
      drawMap($("fm-conv"), fm.relu.data, ch, cw, range);
      const [ph, pw] = pooled.output.shape.slice(1);
      drawMap($("fm-pool"), pooled.output.data, ph, pw, range);
      $("fm-input-shape").textContent = volume(fm.input.shape);
      $("fm-conv-shape").textContent = volume(fm.relu.shape);
      $("fm-pool-shape").textContent = volume(pooled.output.shape);
      const kept = mode === "max" ? "the strongest response" : "the average response";
      $("fm-summary").textContent =
        `Pooling keeps ${kept} in each ${square(K)} window: the ${hw(fm.relu.shape)} map's ` +
        `${int(fm.size.activations)} values become ${int(pooled.output_size.activations)}, ` +
        "and the digit's edges are still plain to see.";
      showError(fmError, null);
      const [before, after] = await Promise.all([headParams(fm.relu.shape), headParams(pooled.output.shape)]);
      if (!mapTurns.is(turn)) return;
      $("fm-params").textContent =
        `Connecting this ${volume(fm.relu.shape)} map to 10 class scores takes ` +
        `${formula(before.params.formula)} parameters; after pooling to ${volume(pooled.output.shape)} ` +
        `it takes ${formula(after.params.formula)}.`;
      $("fm-params").dataset.before = before.params.total;
      $("fm-params").dataset.after = after.params.total;
    } catch (err) {
      if (mapTurns.is(turn)) showError(fmError, err);
    }
  }

  sampleSelect.addEventListener("change", () => { state.set({ sample: sampleSelect.value }); computeMap(); });
  filterSelect.addEventListener("change", () => { state.set({ edge: filterSelect.value }); computeMap(); });

  return {
    compute: computeMap,
    start() {
      if (!["vertical", "horizontal"].includes(state.get("edge"))) state.set({ edge: "vertical" });
      filterSelect.value = state.get("edge");
      fillSamples().then(computeMap);
    },
  };
}
