// The training page's settings, all kept in the URL (a link shares the whole page): the
// check that puts anything a hand-edited link could hold back to its default, and the
// playground's controls showing them.

import { $ } from "../util.js";
import { BP_DEFAULT } from "./backprop.js";

export const FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"];
// How the page writes them: the API's and the URL's names keep ASCII; the page writes a
// square as ² and a product with the "·" of the backprop section's w1·x1.
const FEATURE_LABELS = { "x1^2": "x1²", "x2^2": "x2²", "x1*x2": "x1·x2" };

/** A feature as the page writes it: "x1^2" -> "x1²", "x1*x2" -> "x1·x2". */
export function featureLabel(name) {
  return FEATURE_LABELS[name] || name;
}
const DATASETS = ["circle", "xor", "gaussians", "spiral"];
const LRS = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const SPEEDS = [1, 5, 10, 25, 50];
export const DEFAULTS = {
  ds: "circle", noise: 0, ratio: 50, seed: 1, feats: ["x1", "x2"], hidden: [4, 2], act: "tanh",
  lr: 0.03, batch: 10, reg: "none", rate: 0, speed: 10, test: false,
  bp: { ...BP_DEFAULT }, cds: "circle", cseed: 4, csteps: 300, clr: 0.1,
};

/** Put back to its default every setting the page could not have made (`activations`: the menu's). */
export function sanitise(state, activations) {
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
  if (!activations.includes(s.act)) patch.act = DEFAULTS.act; // the menu: the registry's
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

// TensorFlow Playground's names for the same settings (its src/state.ts): what a link
// to it with this page's settings needs. Swish has no counterpart there.
const TFP = "https://playground.tensorflow.org/";
const TFP_DATA = { circle: "circle", xor: "xor", gaussians: "gauss", spiral: "spiral" };
const TFP_FEATURES = {
  x1: "x", x2: "y", "x1^2": "xSquared", "x2^2": "ySquared", "x1*x2": "xTimesY", "sin(x1)": "sinX", "sin(x2)": "sinY",
};
const TFP_ACTS = ["relu", "tanh", "sigmoid", "linear"];

/** A TensorFlow Playground link with the settings `s` (data, network, learning rate, batch...). */
export function playgroundUrl(s) {
  const hash = [
    ["activation", TFP_ACTS.includes(s.act) ? s.act : null],
    ["batchSize", s.batch],
    ["dataset", TFP_DATA[s.ds]],
    ["regularization", s.reg === "none" ? "none" : s.reg.toUpperCase()],
    ["learningRate", s.lr],
    ["regularizationRate", s.rate],
    ["noise", s.noise],
    ["networkShape", s.hidden.join(",")],
    ["percTrainData", s.ratio],
    ["showTestData", s.test],
    ["problem", "classification"],
    ...Object.entries(TFP_FEATURES).map(([ours, theirs]) => [theirs, s.feats.includes(ours)]),
  ].filter(([, v]) => v !== null && v !== undefined);
  return `${TFP}#${hash.map(([k, v]) => `${k}=${v}`).join("&")}`;
}

/** Show the settings `s` in the playground's controls (`ui`: the page's elements). */
export function showSettings(ui, s) {
  const link = $("tfp-link");
  if (link) link.href = playgroundUrl(s);
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
