// "Watch a CNN learn": wiring only. The options come from GET /api/learn/recipes, every
// number drawn from the run's answers (app/routers/learn.py states the contract). One
// live run at a time; its id is kept in sessionStorage so a reload continues it, and the
// chosen options live in the URL.

import { createState } from "../state.js";
import { $, int, showError } from "../util.js";
import { showRun } from "../learn/dashboard.js";
import { initExport } from "../learn/export.js";
import { buildOptions, defaultFor, optionValues, recipeNote, trainingSize, unknownRecipeText } from "../learn/options.js";
import { initPrompts } from "../learn/prompts.js";
import * as api from "../learn/run.js";

const RUN_KEY = "convlab-learn-run";
const KERAS_EPOCHS = 5;
const PER_CALL = [1, 5, 10, 20, 50];
// The URL keeps the network and only the options that differ from its defaults.
const state = createState({ recipe: "", opts: {}, per: 10 });
const root = $("learn");

const ui = {
  play: $("play"), step: $("step"), reset: $("reset"), per: $("per-call"), busy: $("busy"), busyText: $("busy-text"),
  error: $("run-error"), optionsError: $("options-error"), params: $("params"), recipeNote: $("recipe-note"),
  recipeUnknown: $("recipe-unknown"),
  stepN: $("stat-step"), epoch: $("stat-epoch"), lr: $("stat-lr"), speed: $("stat-speed"), loss: $("stat-loss"),
  trainAcc: $("stat-train-acc"), valAcc: $("stat-val-acc"), lossCurve: $("loss-curve"), accCurve: $("acc-curve"),
  filters: $("filters"), filtersNote: $("filters-note"), maps: $("maps"), preds: $("preds"), predsSummary: $("preds-summary"),
  confusion: $("confusion"), cell: $("cell"), trainSize: $("train-size"),
};

let catalogue = null;
let form = null;
let run = null; // the live run's summary: {run, config, classes, step, epoch, ...}
let curves = null; // its curve points so far
let lastStep = null; // the latest steps answer (speed, loss, accuracy)
let playing = false;
let loop = null; // the play loop's promise while it runs
let generation = 0; // bumped when the run is replaced: late answers of an old run are dropped
let stopAt = null; // a preset's last step (the Keras example's 5 epochs), or null
let prompts = null;
let updateExport = () => {};

// ------------------------------------------------------------------ options

/** Every shown option's value: the network's defaults, then the URL's changes. */
const values = () => optionValues(catalogue, state.get("recipe"), state.get("opts"));

function setOption(name, value) {
  if (name === "recipe") {
    ui.recipeUnknown.hidden = true; // the student chose a network: the URL's unknown one is behind them
    state.set({ recipe: value, opts: {} }); // a new network starts from its own defaults
  } else {
    const opts = { ...state.get("opts") };
    if (value === defaultFor(catalogue, state.get("recipe"), name)) delete opts[name];
    else opts[name] = value;
    state.set({ opts });
  }
  form.set(values());
  replaceRun();
}

function describeRecipe() {
  ui.recipeNote.textContent = recipeNote(catalogue, state.get("recipe"));
}

// ------------------------------------------------------------------ the run

function busy(text) {
  ui.busy.classList.toggle("is-busy", Boolean(text));
  root.setAttribute("aria-busy", text ? "true" : "false");
  if (text) ui.busyText.textContent = text;
}

function idleText() {
  if (!run) return "No run yet.";
  return run.step === 0 ? "Ready: press Start, or Step for one call." : `Paused at step ${int(run.step)}.`;
}

function setControls() {
  const have = Boolean(run);
  ui.play.disabled = !have;
  ui.step.disabled = !have || playing;
  ui.reset.disabled = !have || playing;
  ui.play.setAttribute("aria-pressed", String(playing));
  ui.play.innerHTML = playing ? "&#10074;&#10074; Pause" : run && run.step > 0 ? "&#9654; Continue" : "&#9654; Start";
  updateExport(run);
}

/** Forget the live run and make one with the current options (the old one is deleted). */
async function replaceRun() {
  const mine = ++generation;
  stopAt = null;
  await pause();
  const old = run;
  run = null;
  setControls();
  showError(ui.error, null);
  showError(ui.optionsError, null);
  busy("Building the network…");
  try {
    if (old) await api.remove(old.run).catch(() => {});
    const made = await api.retrying(() => api.create(values()));
    if (mine !== generation) {
      api.remove(made.run).catch(() => {});
      return;
    }
    sessionStorage.setItem(RUN_KEY, made.run);
    await adopt(made, mine);
  } catch (err) {
    if (mine !== generation) return;
    showError(err.status === 422 ? ui.optionsError : ui.error, err);
    ui.params.textContent = "–";
    busy(null);
    root.dataset.status = "error";
  }
}

/** Make `summary` the live run: draw its numbers and its view. */
async function adopt(summary, mine) {
  run = summary;
  curves = summary.curves;
  lastStep = null;
  ui.params.textContent = int(summary.params);
  prompts.refresh();
  const view = await api.view(summary.run, 0);
  if (mine !== generation) return;
  show(view);
  busy(null);
  ui.busyText.textContent = idleText();
  setControls();
  root.dataset.status = "ready";
}

/** Reuse the run this tab had (a reload), when it is still there with the same options. */
async function resume() {
  const id = sessionStorage.getItem(RUN_KEY);
  if (!id) return false;
  try {
    const summary = await api.retrying(() => api.summary(id));  // 503 while the data set loads
    const want = values();
    if (Object.keys(want).every((k) => summary.config[k] === want[k])) {
      await adopt(summary, generation);
      return true;
    }
    await api.remove(id);
  } catch {
    // gone or expired: make a new one
  }
  return false;
}

function appendCurves(fresh) {
  if (!fresh) return;
  for (const key of Object.keys(fresh)) curves[key] = (curves[key] || []).concat(fresh[key]);
}

/** One steps call of the chosen size; false when training should stop. */
async function oneCall() {
  const mine = generation;
  const from = run.step;
  const per = stopAt ? Math.min(state.get("per"), Math.max(1, stopAt - from)) : state.get("per");
  busy(`Training: up to ${int(per)} step${per === 1 ? "" : "s"} from step ${int(from)}…`);
  const answer = await api.retrying(() => api.steps(run.run, per, from, true));
  if (mine !== generation) return false;
  run = { ...run, step: answer.step, epoch: answer.epoch };
  lastStep = answer;
  appendCurves(answer.curves);
  if (answer.view) show(answer.view);
  else show(await api.view(run.run, 0));
  if (answer.loss === null || !Number.isFinite(answer.loss)) {
    showError(ui.error, new Error("The loss is no longer a number: training diverged (the weights blew up). Lower the learning rate; changing it starts a new run."));
    return false;
  }
  if (stopAt && run.step >= stopAt) {
    stopAt = null;
    return false;
  }
  return true;
}

async function play() {
  playing = true;
  setControls();
  loop = (async () => {
    try {
      while (playing && (await oneCall()));
    } catch (err) {
      showError(ui.error, err);
    } finally {
      playing = false;
      busy(null);
      ui.busyText.textContent = idleText();
      setControls();
      loop = null;
    }
  })();
}

/** Stop the play loop after the call in flight (resolves when it has stopped). */
async function pause() {
  playing = false;
  if (loop) await loop;
}

async function stepOnce() {
  if (!run || playing) return;
  ui.step.disabled = true;
  showError(ui.error, null);
  try {
    await oneCall();
  } catch (err) {
    showError(ui.error, err);
  } finally {
    busy(null);
    ui.busyText.textContent = idleText();
    setControls();
  }
}

async function resetRun() {
  if (!run || playing) return;
  const mine = ++generation;
  busy("Back to step 0 (the same seed: the same start, bit for bit)…");
  showError(ui.error, null);
  try {
    const summary = await api.reset(run.run);
    if (mine === generation) await adopt(summary, mine);
  } catch (err) {
    showError(ui.error, err);
    busy(null);
  }
}

// ------------------------------------------------------------------ drawing

function show(view) {
  showRun(ui, view, { run, curves, lastStep });
}

// ------------------------------------------------------------------ start

/** The course's Keras example: keras-mlp (its dropout 0.2 is the recipe's default), Adam,
 * batch 32 (the default of Keras's model.fit), and Start stops after 5 epochs. */
async function keras() {
  const mlp = catalogue.recipes.find((r) => r.name === "keras-mlp");
  if (!mlp) return;
  const opts = { optimizer: "adam", batch_size: 32 };
  for (const k of Object.keys(opts)) if (opts[k] === defaultFor(catalogue, mlp.name, k)) delete opts[k];
  state.set({ recipe: mlp.name, opts, per: 50 });
  ui.recipeUnknown.hidden = true;
  ui.per.value = "50";
  form.set(values());
  describeRecipe();
  await replaceRun();
  if (!run) return;
  stopAt = KERAS_EPOCHS * run.steps_per_epoch;
  ui.busyText.textContent = `The course's Keras example is ready: ${int(run.n_train)} training images, ${int(run.steps_per_epoch)} steps per epoch, so ${KERAS_EPOCHS} epochs = ${int(stopAt)} steps. Press Start; it stops after epoch ${KERAS_EPOCHS}.`;
}

async function start() {
  try {
    catalogue = await api.recipes();
  } catch (err) {
    showError(ui.error, err);
    busy(null);
    ui.busyText.textContent = "The training service did not answer.";
    root.dataset.status = "error";
    return;
  }
  // A ?recipe= the server does not have (an old link, a typo) is said, as classify says an unknown ?model=.
  const unknown = unknownRecipeText(catalogue, state.get("recipe"));
  ui.recipeUnknown.hidden = !unknown;
  ui.recipeUnknown.textContent = unknown || "";
  if (!catalogue.recipes.some((r) => r.name === state.get("recipe"))) state.set({ recipe: catalogue.options.recipe.default });
  if (!PER_CALL.includes(state.get("per"))) state.set({ per: 10 });
  ui.per.value = String(state.get("per"));
  form = buildOptions($("option-fields"), catalogue, {
    onChange: (name, value) => { setOption(name, value); describeRecipe(); },
    onInvalid: (text) => showError(ui.optionsError, new Error(text)),
  });
  form.set(values());
  describeRecipe();
  const size = trainingSize(catalogue);
  if (size) ui.trainSize.textContent = size;
  prompts = initPrompts($("prompts"), catalogue, {
    config: () => (run ? run.config : null),
    options: () => values(),
    pause: () => pause(),
  });
  updateExport = initExport(
    { button: $("to-classify"), status: $("classify-status"), error: $("classify-error"), links: { keras: $("code-keras"), pytorch: $("code-pytorch"), onnx: $("onnx-link") } },
    { current: () => run, pause },
  );
  ui.play.addEventListener("click", () => (playing ? pause() : play()));
  ui.step.addEventListener("click", stepOnce);
  ui.reset.addEventListener("click", resetRun);
  ui.per.addEventListener("change", () => state.set({ per: Number(ui.per.value) }));
  $("preset-keras").addEventListener("click", keras);
  $("options").addEventListener("submit", (evt) => evt.preventDefault());
  busy("Building the network…");
  if (!(await resume())) await replaceRun();
}

start();
