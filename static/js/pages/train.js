// "How do we train?": wiring only. Every number comes from the API (/api/train/data,
// /api/train/step, /api/train/backprop, /api/train/compare); this module keeps the
// network's current weights between steps (the server is stateless), and draws.

import { decodeF16, postJSON } from "../api.js";
import { createState } from "../state.js";
import { $, debounce, el, showError } from "../util.js";
import { BP_DEFAULT, initBackprop } from "../train/backprop.js";
import { num } from "../train/common.js";
import { initCompare } from "../train/compare.js";
import { NetworkView } from "../train/network.js";
import { drawLossChart, drawSurface, drawThumb } from "../train/plots.js";

const FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"];
const DATASETS = ["circle", "xor", "gaussians", "spiral"];
const LRS = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const SPEEDS = [1, 5, 10, 25, 50];
const MAX_HISTORY = 4000;
const DEFAULTS = {
  ds: "circle", noise: 0, ratio: 50, seed: 1, feats: ["x1", "x2"], hidden: [4, 2], act: "tanh",
  lr: 0.03, batch: 10, reg: "none", rate: 0, speed: 10, test: false,
  bp: { ...BP_DEFAULT }, cds: "circle", cseed: 4, csteps: 300, clr: 0.1,
};
const root = $("train");
const state = createState(DEFAULTS);
sanitise();

function sanitise() {
  const s = state.all();
  const patch = {};
  const intIn = (v, lo, hi) => Number.isInteger(v) && v >= lo && v <= hi;
  if (!DATASETS.includes(s.ds)) patch.ds = DEFAULTS.ds;
  if (!intIn(s.noise, 0, 50) || s.noise % 5) patch.noise = 0;
  if (!intIn(s.ratio, 10, 90) || s.ratio % 10) patch.ratio = 50;
  if (!intIn(s.seed, 0, 999999)) patch.seed = 1;
  const feats = Array.isArray(s.feats) ? FEATURES.filter((f) => s.feats.includes(f)) : [];
  if (!feats.length) patch.feats = [...DEFAULTS.feats];
  else if (JSON.stringify(feats) !== JSON.stringify(s.feats)) patch.feats = feats;
  if (!Array.isArray(s.hidden) || s.hidden.length > 6 || !s.hidden.every((n) => intIn(n, 1, 8))) patch.hidden = [...DEFAULTS.hidden];
  if (![...$("act").options].some((o) => o.value === s.act)) patch.act = DEFAULTS.act; // the menu: the registry's
  if (!LRS.includes(s.lr)) patch.lr = DEFAULTS.lr;
  if (!intIn(s.batch, 1, 30)) patch.batch = 10;
  if (!["none", "l1", "l2"].includes(s.reg)) patch.reg = "none";
  if (!RATES.includes(s.rate)) patch.rate = 0;
  if (!SPEEDS.includes(s.speed)) patch.speed = DEFAULTS.speed;
  if (!s.bp || typeof s.bp !== "object" || !Object.keys(BP_DEFAULT).every((k) => Number.isFinite(s.bp[k]))) patch.bp = { ...BP_DEFAULT };
  if (!DATASETS.includes(s.cds)) patch.cds = "circle";
  if (!intIn(s.cseed, 0, 999999)) patch.cseed = DEFAULTS.cseed;
  if (![100, 200, 300, 500].includes(s.csteps)) patch.csteps = 300;
  if (![0.01, 0.03, 0.1, 0.3].includes(s.clr)) patch.clr = 0.1;
  if (Object.keys(patch).length) state.set(patch);
}

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
  const s = state.all();
  ui.lr.value = String(s.lr);
  ui.act.value = s.act;
  ui.reg.value = s.reg;
  ui.rate.value = String(s.rate);
  ui.rate.disabled = s.reg === "none";
  ui.speed.value = String(s.speed);
  ui.batch.value = String(s.batch);
  $("batch-out").textContent = String(s.batch);
  ui.noise.value = String(s.noise);
  $("noise-out").textContent = String(s.noise);
  ui.ratio.value = String(s.ratio);
  $("ratio-out").textContent = String(s.ratio);
  ui.seed.textContent = String(s.seed);
  ui.showTest.checked = s.test;
  for (const b of document.querySelectorAll(".tr-ds")) b.setAttribute("aria-pressed", String(b.dataset.ds === s.ds));
  for (const box of ui.features.querySelectorAll("input")) {
    box.checked = s.feats.includes(box.value);
    box.disabled = box.checked && s.feats.length === 1;
  }
  const n = s.hidden.length;
  ui.layerCount.textContent = `${n} hidden layer${n === 1 ? "" : "s"}`;
  ui.layerAdd.disabled = n >= 6;
  ui.layerRemove.disabled = n === 0;
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
    return el("label", { class: "tr-check", for: id }, box, el("span", { class: "mono" }, f));
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
