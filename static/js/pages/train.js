// "How do we train?": wiring only. Every number comes from the API (/api/train/data,
// /api/train/step, /api/train/backprop, /api/train/compare); this module keeps the
// network's current weights between steps (the server is stateless), and draws.

import { decodeF16, postJSON } from "../api.js";
import { createState } from "../state.js";
import { $, debounce, el, showError } from "../util.js";
import { initBackprop } from "../train/backprop.js";
import { num } from "../train/common.js";
import { initCompare } from "../train/compare.js";
import { NetworkView } from "../train/network.js";
import { drawLossChart, drawSurface, drawThumb } from "../train/plots.js";
import { DEFAULTS, FEATURES, featureLabel, sanitise, showSettings } from "../train/settings.js";

const MAX_HISTORY = 4000;
const root = $("train");
const state = createState(DEFAULTS);
sanitise(state, [...$("act").options].map((o) => o.value));

// ---------------------------------------------------------------- the playground

const ui = {
  play: $("play-btn"), step: $("step-btn"), reset: $("reset"), epoch: $("epoch"), stepCount: $("step-count"),
  lr: $("lr"), act: $("act"), reg: $("reg"), rate: $("rate"), speed: $("speed"), batch: $("batch"),
  noise: $("noise"), ratio: $("ratio"), regen: $("regen"), seed: $("seed-val"), showTest: $("show-test"),
  error: $("play-error"), diverged: $("diverged"), testLoss: $("test-loss"), trainLoss: $("train-loss"),
  testAcc: $("test-acc"), lossChart: $("loss-chart"), surface: $("surface"), features: $("features"),
  layerCount: $("layer-count"), layerAdd: $("layer-add"), layerRemove: $("layer-remove"),
};

let net = null; // the current network as the server last sent it
let trainState = { epoch: 0, cursor: 0, step: 0 };
let history = { step: [], train: [], test: [] };
let last = null; // the last response, for redrawing
let points = null;
let extent = 6;
let playing = false;
let looping = false;
let queue = Promise.resolve();
let layoutKey = "";

const view = new NetworkView($("net"), $("weight-info"), {
  onNeurons(layer, delta) {
    const hidden = [...state.get("hidden")];
    hidden[layer] = Math.max(1, Math.min(8, hidden[layer] + delta));
    state.set({ hidden });
    reconfigure();
  },
});

/** Run `fn` after everything queued before it (steps and resets never overlap). */
function exclusive(fn) {
  const next = queue.then(fn);
  queue = next.catch(() => {});
  return next;
}

function dataSpec() {
  const s = state.all();
  return { dataset: s.ds, noise: s.noise, train_ratio: s.ratio, seed: s.seed, features: s.feats };
}

function hyper() {
  const s = state.all();
  return { learning_rate: s.lr, batch_size: s.batch, regularization: s.reg, reg_rate: s.rate };
}

async function loadData() {
  const spec = dataSpec();
  const d = await postJSON("/api/train/data", spec);
  points = { train: d.train, test: d.test };
  extent = d.extent;
}

async function resetNetwork() {
  const s = state.all();
  const r = await postJSON("/api/train/step", {
    data: dataSpec(), network: { hidden: s.hidden, activation: s.act }, hyper: hyper(), steps: 0,
  });
  history = { step: [0], train: [r.train_loss], test: [r.test_loss] };
  apply(r);
}

async function advance(steps) {
  if (!net) return;
  const r = await postJSON("/api/train/step", {
    data: dataSpec(),
    network: { hidden: net.sizes.slice(1, -1), activation: net.activation, weights: net.weights, biases: net.biases },
    hyper: hyper(),
    steps,
    state: trainState,
  });
  const h = r.history;
  history.step.push(...h.step);
  history.train.push(...h.train_loss);
  history.test.push(...h.test_loss);
  if (history.step.length > MAX_HISTORY) {
    const keep = (_, i, a) => i % 2 === 0 || i === a.length - 1;
    history = { step: history.step.filter(keep), train: history.train.filter(keep), test: history.test.filter(keep) };
  }
  apply(r);
  if (r.diverged) {
    ui.diverged.hidden = false;
    setPlaying(false);
  }
}

function apply(r) {
  net = r.network;
  trainState = r.state;
  last = r;
  showError(ui.error, null);
  const key = JSON.stringify([net.sizes, net.features, net.activation]);
  if (key !== layoutKey) {
    layoutKey = key;
    view.build(net.sizes, net.features, net.activation);
  }
  draw();
}

function draw() {
  if (!last) return;
  const r = last;
  ui.epoch.textContent = String(trainState.epoch);
  ui.stepCount.textContent = String(trainState.step);
  ui.testLoss.textContent = num(r.test_loss, 3);
  ui.trainLoss.textContent = num(r.train_loss, 3);
  ui.testAcc.textContent = `${num(100 * r.test_accuracy, 3)}%`;
  drawLossChart(ui.lossChart, history);
  drawSurface(ui.surface, decodeF16(r.surface), r.surface.shape[0], points, { extent, showTest: state.get("test") });
  view.update(net, decodeF16(r.nodes), r.nodes.shape[1], r.last_update, trainState.step);
  root.dataset.status = "ready";
}

function fail(err) {
  showError(ui.error, err);
  setPlaying(false);
}

function setPlaying(on) {
  playing = on;
  ui.play.setAttribute("aria-pressed", String(on));
  ui.play.textContent = on ? "❚❚ Pause" : "▶ Play";
  if (on) {
    ui.diverged.hidden = true;
    loop();
  }
}

async function loop() {
  if (looping) return;
  looping = true;
  try {
    while (playing) {
      await exclusive(() => advance(state.get("speed")));
      await new Promise((resolve) => requestAnimationFrame(resolve));
    }
  } catch (err) {
    fail(err);
  } finally {
    looping = false;
  }
}

/** Data or network shape changed: new data, new starting weights. */
function reconfigure({ data = false } = {}) {
  renderControls();
  exclusive(async () => {
    if (data) await loadData();
    ui.diverged.hidden = true;
    await resetNetwork();
  }).catch(fail);
}

function renderControls() {
  showSettings(ui, state.all());
}

function buildFeatures() {
  ui.features.replaceChildren(...FEATURES.map((f) => {
    const id = `feat-${FEATURES.indexOf(f)}`;
    const box = el("input", { type: "checkbox", id, value: f });
    box.addEventListener("change", () => {
      const chosen = FEATURES.filter((g) => (g === f ? box.checked : state.get("feats").includes(g)));
      if (!chosen.length) return;
      state.set({ feats: chosen });
      reconfigure({ data: true });
    });
    return el("label", { class: "tr-check", for: id }, box, el("span", { class: "mono" }, featureLabel(f)));
  }));
}

function wire() {
  ui.play.addEventListener("click", () => setPlaying(!playing));
  ui.step.addEventListener("click", () => {
    setPlaying(false);
    exclusive(() => advance(1)).catch(fail);
  });
  ui.reset.addEventListener("click", () => {
    setPlaying(false);
    reconfigure();
  });
  const onChange = (node, key, parse, reset) => node.addEventListener("change", () => {
    state.set({ [key]: parse(node.value) });
    renderControls();
    if (reset) reconfigure(reset);
  });
  onChange(ui.lr, "lr", Number, null);
  onChange(ui.reg, "reg", String, null);
  onChange(ui.rate, "rate", Number, null);
  onChange(ui.speed, "speed", Number, null);
  onChange(ui.act, "act", String, {});
  onChange(ui.noise, "noise", Number, { data: true });
  onChange(ui.ratio, "ratio", Number, { data: true });
  for (const [node, out] of [[ui.noise, "noise-out"], [ui.ratio, "ratio-out"], [ui.batch, "batch-out"]]) {
    node.addEventListener("input", () => { $(out).textContent = node.value; });
  }
  ui.batch.addEventListener("change", () => {
    state.set({ batch: Number(ui.batch.value) });
    renderControls();
  });
  ui.regen.addEventListener("click", () => {
    state.set({ seed: Math.floor(Math.random() * 1_000_000) });
    reconfigure({ data: true });
  });
  ui.showTest.addEventListener("change", () => {
    state.set({ test: ui.showTest.checked });
    draw();
  });
  for (const b of document.querySelectorAll(".tr-ds")) {
    b.addEventListener("click", () => {
      if (b.dataset.ds === state.get("ds")) return;
      state.set({ ds: b.dataset.ds });
      reconfigure({ data: true });
    });
  }
  ui.layerAdd.addEventListener("click", () => {
    const hidden = state.get("hidden");
    if (hidden.length >= 6) return;
    state.set({ hidden: [...hidden, 2] });
    reconfigure();
  });
  ui.layerRemove.addEventListener("click", () => {
    const hidden = state.get("hidden");
    if (!hidden.length) return;
    state.set({ hidden: hidden.slice(0, -1) });
    reconfigure();
  });
  window.addEventListener("resize", debounce(() => {
    if (!net) return;
    view.build(net.sizes, net.features, net.activation);
    draw();
  }, 150));
}

async function thumbnails() {
  for (const b of document.querySelectorAll(".tr-ds")) {
    const d = await postJSON("/api/train/data", { dataset: b.dataset.ds, seed: 1 });
    drawThumb(b.querySelector("canvas"), d, d.extent);
  }
}

buildFeatures();
renderControls();
wire();
reconfigure({ data: true });
thumbnails().catch(() => {});

// ---------------------------------------------------------------- sections 2 and 3

initBackprop({ get: () => state.get("bp"), set: (bp) => state.set({ bp: { ...state.get("bp"), ...bp } }) });

const compare = initCompare({ get: () => state.all(), set: (patch) => state.set(patch) });
const section = $("why-relu");
if ("IntersectionObserver" in window) {
  const seen = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) {
      seen.disconnect();
      compare.run();
    }
  }, { rootMargin: "600px 0px" });
  seen.observe(section);
} else {
  compare.run();
}
