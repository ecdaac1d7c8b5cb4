// Predict, then run it: the student commits to a guess, then the page trains two runs
// from the same seed (without and with the change) for the same steps and shows what
// the engine's numbers say. Which choice came true is read from those numbers.

import { title as activationTitle } from "../registry.js";
import { el, fmt, int, showError, svgEl } from "../util.js";
import { drawChart } from "./curves.js";
import * as api from "./run.js";

export const PROMPT_STEPS = 100;
const LOG_EVERY = 5;

const CHOICES = [
  { value: "lower", text: "Lower: it learns faster" },
  { value: "same", text: "About the same" },
  { value: "higher", text: "Higher: it learns slower, stalls or blows up" },
];

/** The prompts, each a change to the current options and what each outcome teaches. */
function prompts(catalogue) {
  const lrSpec = catalogue.options.learning_rate;
  const acts = catalogue.options.activation.choices;
  const list = [
    {
      id: "lr",
      change(cfg) {
        const base = Math.min(cfg.learning_rate, lrSpec.max / 100);
        return { base: { learning_rate: base }, changed: { learning_rate: base * 100 } };
      },
      question: (cfg, c) => `With ${optimiserText(cfg.optimizer)} at learning rate ${fmt(c.base.learning_rate, 6)}, what happens to the training loss after ${PROMPT_STEPS} steps if you raise the learning rate 100× (to ${fmt(c.changed.learning_rate, 6)})?`,
      labels: (c) => [`learning rate ${fmt(c.base.learning_rate, 6)}`, `learning rate ${fmt(c.changed.learning_rate, 6)}`],
      teach: {
        higher: "Each update moves every weight by the learning rate times its gradient. 100× larger steps overshoot the bottom of the valley: the loss jumps around, stalls near log(10) ≈ 2.3 (guessing) or grows. The learning rate is the first thing to check when a loss will not fall.",
        lower: "Here the bigger steps paid off: the starting rate was on the careful side for this network, and 100× more was still small enough not to overshoot. Push it further and it will eventually blow up.",
        same: "The two runs ended close: the optimiser absorbed the change (Adam scales each step by the gradient's recent size, so the learning rate sets how far a step goes rather than multiplying the gradient).",
      },
    },
    {
      id: "act",
      change(cfg) {
        const from = cfg.activation === "sigmoid" ? "sigmoid" : "relu";
        const to = from === "sigmoid" ? "relu" : "sigmoid";
        return { base: { activation: from }, changed: { activation: to } };
      },
      question: (cfg, c) => `Swap ${activationTitle(c.base.activation)} for ${activationTitle(c.changed.activation)} in every hidden layer, keeping everything else. After ${PROMPT_STEPS} steps, the training loss will be…`,
      labels: (c) => [activationTitle(c.base.activation), activationTitle(c.changed.activation)],
      teach: {
        higher: "Sigmoid's slope is at most 0.25 and nearly 0 when a unit saturates, so the gradient shrinks at every layer on its way back and the early layers barely move: training starts slowly. ReLU's slope is exactly 1 wherever a unit is active.",
        lower: "The change helped this network: ReLU passes gradients back unshrunk (slope 1 where active), where sigmoid's slope is at most 0.25, so the early layers learn sooner.",
        same: "Close: with so few layers between the loss and the first weights, the shrinking gradient of sigmoid costs little here. In deeper networks the gap grows with every layer.",
      },
    },
  ];
  // The activation prompt needs both activations on the server's menu.
  return list.filter((p) => p.id !== "act" || (acts.includes("sigmoid") && acts.includes("relu")));
}

function optimiserText(name) {
  return { sgd: "SGD", momentum: "SGD with momentum", adam: "Adam" }[name] || name;
}

/** The last training-loss point of a run's curves (mean over its last LOG_EVERY steps). */
function lastLoss(curves) {
  const ys = curves.log_loss;
  return ys.length ? ys[ys.length - 1] : null;
}

function outcome(base, changed) {
  if (changed === null || !Number.isFinite(changed)) return "higher";
  if (base === null || !Number.isFinite(base)) return "lower";
  const ratio = changed / base;
  if (ratio > 1.25) return "higher";
  if (ratio < 0.8) return "lower";
  return "same";
}

/** Train one run of `options` for PROMPT_STEPS steps; its summary (curves) after. */
async function trainRun(options, onProgress) {
  const run = await api.retrying(() => api.create({ ...options, log_every: LOG_EVERY, eval_every: PROMPT_STEPS }));
  try {
    let step = 0;
    while (step < PROMPT_STEPS) {
      const r = await api.retrying(() => api.steps(run.run, PROMPT_STEPS - step, -1, false));
      step = r.step;
      onProgress(step);
    }
    return await api.summary(run.run);
  } finally {
    api.remove(run.run).catch(() => {});
  }
}

function renderPrompt(p, ctx) {
  const name = `guess-${p.id}`;
  const box = el("article", { class: "panel ln-prompt", id: `prompt-${p.id}`, "aria-labelledby": `${name}-q` });
  const question = el("p", { id: `${name}-q`, class: "ln-question" });
  const radios = CHOICES.map((c) => el("label", { class: "ln-choice" },
    el("input", { type: "radio", name, value: c.value }), ` ${c.text}`));
  const fieldset = el("fieldset", { class: "ln-choices" }, el("legend", {}, "Your guess"), radios);
  const go = el("button", { type: "button", class: "primary", disabled: true }, "Lock in my guess and run it");
  const status = el("p", { class: "small ln-prompt-status", role: "status" });
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const reveal = el("div", { class: "ln-reveal", hidden: true });
  box.append(question, fieldset, el("div", { class: "row" }, go, status), error, reveal);
  fieldset.addEventListener("change", () => { go.disabled = false; });

  const describe = () => {
    const cfg = ctx.config();
    question.textContent = cfg ? p.question(cfg, p.change(cfg)) : "";
  };

  go.addEventListener("click", async () => {
    const cfg = ctx.config();
    const guess = fieldset.querySelector("input:checked");
    if (!cfg || !guess) return;
    const change = p.change(cfg);
    const [baseLabel, changedLabel] = p.labels(change);
    fieldset.disabled = true;
    go.disabled = true;
    reveal.hidden = true;
    showError(error, null);
    ctx.pause();
    box.setAttribute("aria-busy", "true");
    try {
      const options = { ...ctx.options() };
      status.textContent = `Your guess is locked in. Training with ${baseLabel}…`;
      const a = await trainRun({ ...options, ...change.base }, (s) => { status.textContent = `Training with ${baseLabel}: step ${s} of ${PROMPT_STEPS}…`; });
      const b = await trainRun({ ...options, ...change.changed }, (s) => { status.textContent = `Training with ${changedLabel}: step ${s} of ${PROMPT_STEPS}…`; });
      status.textContent = "";
      showReveal(reveal, p, guess.value, a, b, [baseLabel, changedLabel]);
    } catch (err) {
      status.textContent = "";
      showError(error, err);
    } finally {
      fieldset.disabled = false;
      box.setAttribute("aria-busy", "false");
      go.disabled = false;
      go.textContent = "Run it again with a new guess";
    }
  });
  return { box, describe };
}

function showReveal(node, p, guess, a, b, labels) {
  const la = lastLoss(a.curves);
  const lb = lastLoss(b.curves);
  const what = outcome(la, lb);
  const right = what === guess;
  const word = { lower: "lower", same: "about the same", higher: "higher" }[what];
  const chart = svgEl("svg", { class: "ln-chart", viewBox: "0 0 360 200", role: "img", "aria-label": `Training loss of both runs over ${PROMPT_STEPS} steps` });
  chart.append(svgEl("desc"));
  const finite = [...a.curves.log_loss, ...b.curves.log_loss].filter((y) => Number.isFinite(y) && y > 0);
  const wide = finite.length && Math.max(...finite) / Math.min(...finite) > 30;
  drawChart(chart, [
    { label: labels[0], kind: "a", xs: a.curves.log_step, ys: a.curves.log_loss },
    { label: labels[1], kind: "b", xs: b.curves.log_step, ys: b.curves.log_loss, markers: true },
  ], { scale: wide ? "log" : "linear", xMax: PROMPT_STEPS });
  const val = (r) => (r.curves.val_acc.length ? `${fmt(100 * r.curves.val_acc[r.curves.val_acc.length - 1], 1)}%` : "–");
  const acc = (r) => (r.curves.log_acc.length ? `${fmt(100 * r.curves.log_acc[r.curves.log_acc.length - 1], 1)}%` : "–");
  const row = (label, r, loss) => el("tr", {}, el("th", { scope: "row" }, label), el("td", {}, fmt(loss, 4)), el("td", {}, acc(r)), el("td", {}, val(r)));
  node.replaceChildren(
    el("p", { class: right ? "ok" : "warning" },
      el("strong", {}, right ? "✓ Your guess was right. " : "✗ Not this time. "),
      `With ${labels[1]} the training loss after ${PROMPT_STEPS} steps was ${word}: ${fmt(lb, 4)} against ${fmt(la, 4)}.`),
    el("div", { class: "ln-reveal-grid" },
      el("figure", { class: "ln-curve" }, el("figcaption", { class: "ln-fig-title" }, `Training loss${wide ? " (log scale)" : ""}`), chart,
        el("p", { class: "small muted" }, `Solid line: ${labels[0]}; dotted line with dots: ${labels[1]}.`)),
      el("div", { class: "scroll-x" }, el("table", { class: "ln-reveal-table" },
        el("caption", { class: "small muted" }, `Both runs: same seed, same images, ${PROMPT_STEPS} steps. Loss and training accuracy: the mean over the last ${LOG_EVERY} steps; validation: ${int(a.config.val_size)} held-out images, scored at step ${PROMPT_STEPS}.`),
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Run"), el("th", { scope: "col" }, "Loss"), el("th", { scope: "col" }, "Training acc."), el("th", { scope: "col" }, "Validation acc."))),
        el("tbody", {}, row(labels[0], a, la), row(labels[1], b, lb))))),
    el("p", {}, p.teach[what]));
  node.hidden = false;
}

/**
 * Build the prompts into `node`. ctx: config() (the current run's config, or null),
 * options() (what the form would send), pause() (stop the live run while these train).
 * Returns refresh() to re-word the questions when the options change.
 */
export function initPrompts(node, catalogue, ctx) {
  const built = prompts(catalogue).map((p) => renderPrompt(p, ctx));
  node.replaceChildren(...built.map((b) => b.box));
  const refresh = () => built.forEach((b) => b.describe());
  refresh();
  return { refresh };
}
