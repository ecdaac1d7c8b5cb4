// Section 3: why ReLU (sigmoid vs tanh vs ReLU in a 6 x 8 network) and why ResNet
// (degradation: plain 4 vs plain 20 vs residual 20, He initialisation and BatchNorm). The runs come from POST /api/train/compare; this
// module draws their loss curves, per-layer gradient sizes and decision surfaces.

import { decodeF16, postJSON } from "../api.js";
import { $, el, sci, showError } from "../util.js";
import { actTitle, num, seriesStyle } from "./common.js";
import { drawNodeMap } from "./plots.js";
import { featureLabel } from "./settings.js";

const d3 = window.d3;
const W = 460;
const H = 250;
const M = { top: 12, right: 14, bottom: 36, left: 48 };
const LOSS_CAP = 1.2;

const label = (run) => actTitle(run.label);

function legend(runs) {
  return el("ul", { class: "tr-chart-legend" }, ...runs.map((run) => el("li", {},
    el("span", { class: "key", style: `background:${seriesStyle(runs, run).color}` }), label(run))));
}

function lossChart(box, runs) {
  const steps = runs[0].loss_steps[runs[0].loss_steps.length - 1];
  let top = 0;
  for (const run of runs) for (const v of run.losses) if (v !== null) top = Math.max(top, v);
  const capped = top > LOSS_CAP;
  top = Math.min(top, LOSS_CAP);
  const x = d3.scaleLinear().domain([0, steps]).range([M.left, W - M.right]);
  const y = d3.scaleLinear().domain([0, top]).nice().range([H - M.bottom, M.top]);
  const svg = d3.create("svg").attr("viewBox", `0 0 ${W} ${H}`).attr("class", "tr-svg")
    .attr("role", "img")
    .attr("aria-label", `Training loss against step for ${runs.map(label).join(", ")}`);
  const id = `clip-${box.id}`;
  svg.append("clipPath").attr("id", id).append("rect")
    .attr("x", M.left).attr("y", M.top).attr("width", W - M.left - M.right).attr("height", H - M.top - M.bottom);
  svg.append("g").attr("transform", `translate(0,${H - M.bottom})`).call(d3.axisBottom(x).ticks(5));
  svg.append("g").attr("transform", `translate(${M.left},0)`).call(d3.axisLeft(y).ticks(5));
  svg.append("text").attr("class", "tr-axis-label").attr("x", (M.left + W - M.right) / 2).attr("y", H - 4)
    .attr("text-anchor", "middle").text("step");
  svg.append("text").attr("class", "tr-axis-label").attr("transform", `translate(12,${(H - M.bottom + M.top) / 2}) rotate(-90)`)
    .attr("text-anchor", "middle").text("training loss");
  if (0.693 <= top) {
    svg.append("line").attr("class", "tr-ref").attr("x1", M.left).attr("x2", W - M.right)
      .attr("y1", y(Math.LN2)).attr("y2", y(Math.LN2));
    svg.append("text").attr("class", "tr-ref-label").attr("x", W - M.right - 2).attr("y", y(Math.LN2) - 4)
      .attr("text-anchor", "end").text("log 2: guessing");
  }
  const line = d3.line().defined((d) => d[1] !== null).x((d) => x(d[0])).y((d) => y(Math.min(d[1], top * 1.05)));
  for (const run of runs) {
    const s = seriesStyle(runs, run);
    svg.append("path").attr("class", "curve").attr("clip-path", `url(#${id})`)
      .attr("data-label", run.label)
      .attr("fill", "none").attr("stroke", s.color).attr("stroke-width", 2.2)
      .attr("stroke-dasharray", s.dash)
      .attr("d", line(run.loss_steps.map((st, i) => [st, run.losses[i]])));
  }
  box.replaceChildren(svg.node(), legend(runs));
  if (capped) box.append(el("p", { class: "small muted" }, `Losses above ${LOSS_CAP} are cut off at the top.`));
}

function gradChart(box, runs) {
  const layers = Math.max(...runs.map((r) => r.grad_means.length));
  const positives = runs.flatMap((r) => r.grad_means).filter((g) => g > 0);
  const lo = 10 ** Math.floor(Math.log10(d3.min(positives) ?? 1e-6));
  const hi = 10 ** Math.ceil(Math.log10(d3.max(positives) ?? 1));
  const x = d3.scaleBand().domain(d3.range(1, layers + 1)).range([M.left, W - M.right]).padding(0.18);
  const inner = d3.scaleBand().domain(runs.map((r) => r.label)).range([0, x.bandwidth()]).padding(0.08);
  const y = d3.scaleLog().domain([lo, hi]).range([H - M.bottom, M.top]);
  const svg = d3.create("svg").attr("viewBox", `0 0 ${W} ${H}`).attr("class", "tr-svg")
    .attr("role", "img")
    .attr("aria-label", `Mean gradient size per layer for ${runs.map(label).join(", ")}, logarithmic scale`);
  const decades = d3.range(Math.log10(lo), Math.log10(hi) + 1).map((e) => 10 ** e);
  svg.append("g").attr("class", "tr-grid").selectAll("line").data(decades).join("line")
    .attr("x1", M.left).attr("x2", W - M.right).attr("y1", (d) => y(d)).attr("y2", (d) => y(d));
  const every = layers > 10 ? 2 : 1;
  svg.append("g").attr("transform", `translate(0,${H - M.bottom})`)
    .call(d3.axisBottom(x).tickValues(d3.range(1, layers + 1).filter((l) => l === 1 || l % every === 0)).tickSizeOuter(0));
  svg.append("g").attr("transform", `translate(${M.left},0)`)
    .call(d3.axisLeft(y).tickValues(decades).tickFormat((d) => sci(10 ** Math.round(Math.log10(d)), 1).replace(/^1×/, ""))); // 10⁻⁶, never 1e-6
  svg.append("text").attr("class", "tr-axis-label").attr("x", (M.left + W - M.right) / 2).attr("y", H - 4)
    .attr("text-anchor", "middle").text("layer (1 = next to the input)");
  for (const run of runs) {
    const s = seriesStyle(runs, run);
    svg.append("g").selectAll("rect").data(run.grad_means).join("rect")
      .attr("class", "bar").attr("data-label", run.label)
      .attr("x", (_, i) => x(i + 1) + inner(run.label))
      .attr("width", inner.bandwidth())
      .attr("y", (g) => (g > 0 ? y(Math.max(g, lo)) : H - M.bottom - 2))
      .attr("height", (g) => (g > 0 ? H - M.bottom - y(Math.max(g, lo)) : 2))
      .attr("fill", s.color)
      .append("title").text((g, i) => `${label(run)}, layer ${i + 1}: mean |dL/dW| = ${num(g, 3)}`);
  }
  box.replaceChildren(svg.node(), legend(runs));
}

function minis(box, runs) {
  box.replaceChildren(...runs.map((run) => {
    const canvas = el("canvas", { class: "pixels", width: 20, height: 20, "aria-hidden": "true" });
    const surf = run.surface;
    drawNodeMap(canvas, decodeF16(surf), 0, surf.shape[0], "surface");
    const final = run.losses[run.losses.length - 1];
    return el("figure", { class: "tr-mini", dataset: { label: run.label } },
      canvas,
      el("figcaption", {},
        el("span", { class: "key", style: `background:${seriesStyle(runs, run).color}` }),
        el("strong", {}, label(run)),
        el("br"),
        `loss ${num(final, 3)} · test accuracy ${num(100 * run.test_accuracy, 3)}%`,
        el("br"),
        el("span", { class: "muted" }, `layer-1 gradient ${num(run.grad_means[0], 2)}`)));
  }));
}

function verdict(node, runs, steps) {
  const finals = runs.map((r) => r.losses[r.losses.length - 1] ?? Infinity);
  const best = runs[finals.indexOf(Math.min(...finals))];
  const worst = runs[finals.indexOf(Math.max(...finals))];
  node.hidden = false;
  node.textContent = `After ${steps} steps: lowest training loss ${label(best)} `
    + `(${num(best.losses[best.losses.length - 1], 3)}), highest ${label(worst)} `
    + `(${num(worst.losses[worst.losses.length - 1], 3)}). Mean |dL/dW| in layer 1: `
    + runs.map((r) => `${label(r)} ${num(r.grad_means[0], 2)}`).join("; ") + ".";
}

/**
 * Degradation is not vanishing gradients: the served numbers of both, side by side, and
 * the server's findings for this run (`depth.findings`): each sentence says what these
 * settings showed, not what they usually show.
 */
function contrast(node, depth) {
  const [shallow, plain, residual] = depth.runs;
  const last = (r) => r.losses[r.losses.length - 1];
  const nobn = depth.without_batchnorm;
  const f = depth.findings;
  const g = `the plain 20-layer network's layer-1 gradient is ${num(plain.grad_means[0], 3)} against the 4-layer network's ${num(shallow.grad_means[0], 3)}`;
  const grads = f.plain_gradient_vanished
    ? `${g}: here it did vanish (under a hundredth). `
    : `${g}: it did not vanish. `;
  const losses = `Its training loss ends at ${num(last(plain), 3)} against ${num(last(shallow), 3)}`;
  let outcome;
  if (f.degraded && !f.plain_gradient_vanished) {
    outcome = `${losses}: degradation, the deeper plain network is harder to optimise, on its own training data`
      + (f.residual_better ? `, while the residual one reaches ${num(last(residual), 3)}. ` : ". ");
  } else if (f.degraded) {
    outcome = `${losses}: it trains worse, but with a vanished gradient this run does not separate degradation from vanishing gradients. `;
  } else {
    outcome = `${losses}: with these settings the deeper plain network is not clearly worse (degradation shows at the page's default settings; try circle, seed 4). `;
  }
  const nobnText = `the same 20 plain layers without BatchNorm, weights drawn with std 1/sqrt(fan_in), `
    + `end at loss ${num(nobn.final_loss, 3)} (training accuracy ${num(100 * nobn.train_accuracy, 3)}%) `
    + `with a layer-1 gradient of ${num(nobn.grad_means[0], 3)}`
    + (f.nobn_gradient_vanished
      ? (f.nobn_learned ? ": its gradient vanished, yet it learned something here. " : ": that network does not train, because its gradients vanish, the problem the activation experiment above shows. ")
      : ": its gradient did not vanish with these settings. ");
  node.hidden = false;
  node.replaceChildren(
    el("strong", {}, "What this run shows: "),
    "with He initialisation and BatchNorm, ", grads, outcome,
    el("br"),
    el("strong", {}, "Not the same as vanishing gradients: "), nobnText);
}

function describe(s) {
  return `Settings: ${s.dataset} data, noise ${s.noise}%, seed ${s.seed}, ${s.train_points} training points `
    + `(features ${s.features.map(featureLabel).join(", ")}); ${s.steps} steps of mini-batch gradient descent, batch ${s.batch_size}, `
    + `learning rate ${s.learning_rate}; initial weights ${s.init}; loss: ${s.loss}.`;
}

/** Wire the section. get() / set(patch) read and write its slice of the page state. */
export function initCompare({ get, set }) {
  const ctl = { data: $("cmp-data"), seed: $("cmp-seed"), steps: $("cmp-steps"), lr: $("cmp-lr") };
  const error = $("cmp-error");
  const button = $("cmp-run");
  const s = get();
  ctl.data.value = s.cds;
  ctl.seed.value = String(s.cseed);
  ctl.steps.value = String(s.csteps);
  ctl.lr.value = String(s.clr);

  async function run() {
    const seed = Number(ctl.seed.value);
    if (!Number.isInteger(seed) || seed < 0 || seed > 999999) {
      ctl.seed.setAttribute("aria-invalid", "true");
      showError(error, { message: "The seed is a whole number from 0 to 999999." });
      return;
    }
    ctl.seed.removeAttribute("aria-invalid");
    const body = {
      dataset: ctl.data.value, seed, steps: Number(ctl.steps.value), learning_rate: Number(ctl.lr.value),
    };
    set({ cds: body.dataset, cseed: seed, csteps: body.steps, clr: body.learning_rate });
    button.disabled = true;
    button.textContent = "Training…";
    for (const id of ["act-loss", "depth-loss"]) $(id).setAttribute("aria-busy", "true");
    try {
      const act = await postJSON("/api/train/compare", { kind: "activation", ...body });
      lossChart($("act-loss"), act.runs);
      gradChart($("act-grad"), act.runs);
      minis($("act-surfaces"), act.runs);
      verdict($("act-verdict"), act.runs, act.settings.steps);
      $("cmp-settings").textContent = `${describe(act.settings)} Activation experiment: ${act.settings.hidden.length} hidden layers of ${act.settings.hidden[0]}.`;
      $("act-loss").setAttribute("aria-busy", "false");
      const depth = await postJSON("/api/train/compare", { kind: "depth", ...body });
      lossChart($("depth-loss"), depth.runs);
      gradChart($("depth-grad"), depth.runs);
      minis($("depth-surfaces"), depth.runs);
      verdict($("depth-verdict"), depth.runs, depth.settings.steps);
      contrast($("depth-contrast"), depth);
      $("cmp-settings").append(` Depth experiment's initial weights: ${depth.settings.init}.`);
      $("depth-loss").setAttribute("aria-busy", "false");
      showError(error, null);
    } catch (err) {
      showError(error, err);
    } finally {
      button.disabled = false;
      button.textContent = "Train them";
    }
  }

  button.addEventListener("click", run);
  return { run };
}
