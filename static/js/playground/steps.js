// Stepping through the convolution: the window of the current step, the highlights that
// link input cells, output cells and pooling windows on hover (looked up in the API's
// `windows`), the traced arithmetic of one value (POST /api/conv with `trace`), and the player.
// The maps build up as the window slides (as the lessons' pooling and softmax do): at step k
// of n ("step k" on the page) exactly k cells of each feature map are filled, the ReLU maps
// the same, a pooled cell once every cell of its window is; "Show the finished maps" fills all.

import { postJSON } from "../api.js";
import { $, el } from "../util.js";
import { renderArithmetic } from "./arith.js";
import { channelNames, state, ui } from "./model.js";
import { drawBeam } from "./beam.js";
import { fitStepView } from "./fit.js";
import { poolWindow } from "./relations.js";
import { renderFilterAndOutput } from "./stages.js";

export function hoverOutput(k, i, j) {
  if (!ui.current?.geom) return;
  const cells = i === null ? null : ui.current.geom.window(i, j);
  for (const v of ui.inputViews) v.mark("rf", cells);
  if (ui.outView) ui.outView.mark("hover", i === null || k !== currentK() ? null : [[i, j]]);
  ui.volumeViews.conv.forEach((v, n) => v.mark("hover", i === null || n !== k ? null : [[i, j]]));
}

export function hoverInput(r, c) {
  if (!ui.current?.geom) return;
  const hoverIn = r === null ? null : [r, c];
  const feeds = r === null ? null : ui.current.geom.feeds(r, c);
  for (const v of ui.inputViews) v.mark("hover", hoverIn ? [hoverIn] : null);
  if (ui.outView) ui.outView.mark("feeds", feeds);
  for (const v of ui.volumeViews.conv) v.mark("feeds", feeds);
  for (const v of ui.volumeViews.act) v.mark("feeds", feeds);
}

export function hoverPool(c, i, j) {
  const { pool } = ui.current;
  const before = ui.volumeViews.act.length ? ui.volumeViews.act : ui.volumeViews.conv;
  before.forEach((v) => {
    v.mark("pwin", null);
    v.mark("max", null);
  });
  ui.volumeViews.pool.forEach((v, n) => v.mark("hover", i === null || n !== c ? null : [[i, j]]));
  if (i === null) return;
  const target = before[c];
  target.mark("pwin", poolWindow(pool.windows, i, j));
  if (pool.argmax) {
    const [, ph, pw] = pool.shape;
    const n = (c * ph + i) * pw + j;
    target.mark("max", [[pool.argmax.rows[n], pool.argmax.cols[n]]]);
  }
}

export function currentK() {
  return Math.min(state.get("k"), (ui.current?.resolved.length || 1) - 1);
}

export function select(k, i, j) {
  pause();
  const patch = { step: ui.current.geom.step(i, j) };
  if (k !== currentK()) {
    patch.k = k;
    state.set(patch);
    $("kfilter").value = String(k);
    renderFilterAndOutput();
  } else {
    state.set(patch);
  }
  updateWindow();
}

export function updateWindow() {
  if (!ui.current?.geom) return;
  const { geom } = ui.current;
  const n = geom.positions;
  const step = Math.min(state.get("step"), n - 1);
  const k = currentK();
  const [i, j] = geom.position(step);
  const cells = geom.window(i, j);
  for (const v of ui.inputViews) v.mark("win", cells);
  if (ui.outView) ui.outView.mark("cur", [[i, j]]);
  ui.volumeViews.conv.forEach((v, m) => v.mark("cur", m === k ? [[i, j]] : null));
  buildUp(step);
  drawBeam(cells, [i, j]);
  const scrub = $("scrub");
  scrub.max = String(n - 1);
  scrub.value = String(step);
  scrub.setAttribute("aria-valuetext", `row ${i}, column ${j}`);
  // Two parts that each stay on one line: the label wraps between them when it is narrow.
  $("pos-text").replaceChildren(el("span", {}, `row ${i}, column ${j}`), " · ", el("span", {}, `step ${step + 1} of ${n}`));
  $("back").disabled = step === 0;
  $("first").disabled = step === 0;
  $("fwd").disabled = step >= n - 1;
  loadTrace(k, i, j);
}

/** Fill the cells the window has reached by step `step` (every cell with "show all"). */
function buildUp(step) {
  const { geom, pool } = ui.current;
  const all = state.get("all");
  const done = all ? null : (r, c) => geom.step(r, c) <= step;
  if (ui.outView) ui.outView.reveal(done);
  for (const v of [...ui.volumeViews.conv, ...ui.volumeViews.act]) v.reveal(done);
  // A pooled value is known once the last cell of its window (row-major) is.
  const pooled = all || !pool?.windows ? null
    : (r, c) => geom.step(Math.max(...pool.windows.rows[r]), Math.max(...pool.windows.cols[c])) <= step;
  for (const v of ui.volumeViews.pool) v.reveal(pooled);
  const n = geom.positions;
  $("fill-text").textContent = all ? `all ${n} values shown` : `${step + 1} of ${n} values computed`;
}

async function loadTrace(k, i, j) {
  const { s, input, resolved, body, C } = ui.current;
  const key = `${k}|${i}|${j}`;
  const token = ++ui.traceToken;
  const cache = ui.traceCache; // the cache of the settings this trace is computed for
  const arith = $("arith");
  arith.dataset.status = "loading";
  let trace = cache.get(key);
  if (!trace) {
    // Only filter k is needed for this value: one filter keeps the reply small.
    const F = s.ksize;
    const { pool: _pool, ...convOnly } = body;
    const one = {
      ...convOnly,
      weights: { shape: [1, C, F, F], data: Array.from(resolved[k].weights) },
      bias: [resolved[k].bias],
      trace: [0, i, j],
    };
    try {
      trace = (await postJSON("/api/conv", one)).trace;
    } catch (err) {
      if (token !== ui.traceToken) return;
      arith.replaceChildren(el("p", { class: "error", role: "alert" }, err.detail || err.message));
      arith.dataset.status = "error";
      return;
    }
    cache.set(key, trace);
  }
  if (token !== ui.traceToken) return;
  renderArithmetic(arith, trace, {
    k, filterTitle: resolved[k].title, channelNames: channelNames(C), inputShape: input.tensor.shape,
  });
  fitStepView(); // with its arithmetic drawn, the step view is sized to the screen
  arith.dataset.status = "ready";
}

let timer = null;

/** The player is running. */
export function playing() {
  return timer !== null;
}

export function setStep(step) {
  state.set({ step });
  updateWindow();
}

export function play() {
  if (!ui.current?.geom) return;
  if (state.get("step") >= ui.current.geom.positions - 1) setStep(0);
  clearInterval(timer);
  timer = setInterval(() => {
    const next = state.get("step") + 1;
    if (!ui.current?.geom || next >= ui.current.geom.positions) {
      pause();
      return;
    }
    setStep(next);
  }, 1000 / state.get("speed"));
  const btn = $("play");
  btn.textContent = "⏸ Pause";
  btn.setAttribute("aria-label", "Pause");
  btn.setAttribute("aria-pressed", "true");
}

export function pause() {
  if (timer === null) return;
  clearInterval(timer);
  timer = null;
  const btn = $("play");
  btn.textContent = "▶ Play";
  btn.setAttribute("aria-label", "Play");
  btn.setAttribute("aria-pressed", "false");
}
