// Lesson 2: activation functions. The registry's lesson activations with their derivatives
// (POST /api/activation on 201 points), the same functions on a feature map, and one
// neuron whose gradient vanishes when its weight is large (POST /api/lessons/neuron).

import { postJSON, tensor, latestOnly, turns } from "../api.js";
import { $, debounce, fmt, showError } from "../util.js";
import { drawMap } from "../draw/heatmap.js";
import { checkedSamples, getFeatureMap } from "./common.js";
import { LESSON_ACTIVATIONS, title } from "../registry.js";
import { names, plotActivation } from "./plot.js";

const FUNCTIONS = LESSON_ACTIVATIONS.map((a) => a.name);

/** `count` evenly spaced inputs from `a` to `b` (the x values we ask the engine about). */
function samplePoints(a, b, count) {
  return Array.from({ length: count }, (_, i) => a + ((b - a) * i) / (count - 1));
}

const curves = new Map();
/** The engine's f(x) and f'(x) on [a, b]: {x, y, grad}. */
function curve(fn, a, b, count) {
  const key = `${fn}|${a}|${b}|${count}`;
  if (!curves.has(key)) {
    const x = samplePoints(a, b, count);
    const p = postJSON("/api/activation", { input: tensor([count], x), function: fn })
      .then((r) => ({ x, y: r.output.data, grad: r.gradient.data }));
    p.catch(() => curves.delete(key));
    curves.set(key, p);
  }
  return curves.get(key);
}

export function initActivations(state) {
  drawPlots();
  drawMaps(state);
  state.subscribe((_, patch) => {
    if ("sample" in patch || "edge" in patch) drawMaps(state);
  });
  initNeuron(state);
}

async function drawPlots() {
  const errorBox = $("act-error");
  try {
    await Promise.all(FUNCTIONS.map(async (fn) => {
      const fig = $(`plot-${fn}`);
      const data = await curve(fn, -6, 6, 201);
      plotActivation(fig.querySelector(".plot-box"), fn, data, { readout: fig.querySelector(".readout") });
      fig.dataset.ready = "true";
    }));
    showError(errorBox, null);
  } catch (err) {
    showError(errorBox, err);
  }
}

const mapTurns = turns();
async function drawMaps(state) {
  const errorBox = $("am-error");
  const turn = mapTurns.next();
  try {
    await checkedSamples(state);
    const fm = await getFeatureMap(state.get("sample"), state.get("edge"));
    const [h, w] = fm.pre.shape.slice(1);
    const outs = await Promise.all(FUNCTIONS.map((fn) =>
      postJSON("/api/activation", { input: fm.pre, function: fn })));
    if (!mapTurns.is(turn)) return; // another image or filter was picked meanwhile
    const show = (id, data) => {
      const { min, max } = drawMap($(`am-${id}`), data, h, w);
      $(`am-${id}-range`).textContent = `${fmt(min, 2)} … ${fmt(max, 2)}`;
    };
    show("pre", fm.pre.data);
    FUNCTIONS.forEach((fn, i) => show(fn, outs[i].output.data));
    showError(errorBox, null);
  } catch (err) {
    showError(errorBox, err);
  }
}

function initNeuron(state) {
  const fnSelect = $("n-fn");
  const sliders = { w: $("n-w"), x: $("n-x"), b: $("n-b") };
  const errorBox = $("n-error");
  const verdict = $("n-verdict");
  let plot = null;
  let plotFn = null;

  const ask = latestOnly((payload, opts) => postJSON("/api/lessons/neuron", payload, opts));
  const saveState = debounce(() => state.set(readSliders()), 200);

  function readSliders() {
    const v = {};
    for (const [k, s] of Object.entries(sliders)) v[k] = Number(s.value);
    return v;
  }

  function showSliderValues(v) {
    for (const k of Object.keys(sliders)) $(`n-${k}-out`).textContent = fmt(v[k], 2);
  }

  async function ensurePlot(fn) {
    if (plotFn === fn && plot) return plot;
    const data = await curve(fn, -12, 12, 241);
    plot = plotActivation(document.querySelector(".neuron-plot"), fn, data, { height: 200 });
    plotFn = fn;
    return plot;
  }

  async function update() {
    const fn = fnSelect.value;
    const v = readSliders();
    showSliderValues(v);
    try {
      const [r, p] = await Promise.all([ask({ ...v, function: fn }), ensurePlot(fn)]);
      if (!r) return;
      const n = names(fn);
      $("n-z-expr").textContent = `${fmt(r.w, 2)} × ${fmt(r.x, 2)} + ${fmt(r.b, 2)}`;
      $("n-z").textContent = fmt(r.z, 4);
      $("n-y-label").textContent = `y = ${n.fz}`;
      $("n-y").textContent = fmt(r.y, 8);
      $("n-g-label").textContent = `local gradient ${n.dz}`;
      $("n-g").textContent = fmt(r.local_gradient, 6);
      $("n-dw-expr").textContent = `${fmt(r.local_gradient, 6)} × ${fmt(r.x, 2)}`;
      $("n-dw").textContent = fmt(r.dy_dw, 6);
      $("n-dx").textContent = fmt(r.dy_dx, 6);
      $("n-db").textContent = fmt(r.dy_db, 6);
      p.setMarker({ z: r.z, y: r.y });
      verdict.className = r.saturated ? "warning" : "ok";
      verdict.textContent = r.saturated
        ? (r.local_gradient === 0
          ? `Gradient near 0: ${title(fn)}'s slope is exactly 0 at z = ${fmt(r.z, 3)}, so it passes no gradient back ` +
            `(${n.dz} = ${fmt(r.local_gradient, 6)}). ∂L/∂w = ${fmt(r.dy_dw, 6)}: w does not learn from this input.`
          : `Gradient near 0: z = ${fmt(r.z, 3)} lies in the flat, saturated part of the curve, where ` +
            `${n.dz} = ${fmt(r.local_gradient, 6)} < ${r.threshold}. So ∂L/∂w = ${fmt(r.dy_dw, 6)} and a ` +
            "gradient step barely moves w: the gradient has vanished.")
        : `The gradient flows: ${n.dz} = ${fmt(r.local_gradient, 6)}, so ∂L/∂w = ${fmt(r.dy_dw, 6)} ` +
          "and a gradient step changes w.";
      verdict.dataset.saturated = String(r.saturated);
      showError(errorBox, null);
    } catch (err) {
      showError(errorBox, err);
    }
  }

  for (const s of Object.values(sliders)) {
    s.addEventListener("input", () => { update(); saveState(); });
  }
  fnSelect.addEventListener("change", () => { state.set({ fn: fnSelect.value }); update(); });
  const preset = (w) => () => {
    sliders.w.value = String(w);
    state.set({ w });
    update();
  };
  $("n-small").addEventListener("click", preset(0.5));
  $("n-large").addEventListener("click", preset(8));

  // Restore from the URL (the sliders clamp anything out of range).
  fnSelect.value = FUNCTIONS.includes(state.get("fn")) ? state.get("fn") : FUNCTIONS[0];
  for (const [k, s] of Object.entries(sliders)) s.value = String(state.get(k));
  update();
}
