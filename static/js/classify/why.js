// "Why did it say that?": Grad-CAM over the image the model saw, the plain gradient
// (saliency) beside it, the randomisation sanity check, and fooling the model with the
// fast gradient sign method. Every number and map comes from the explain API
// (/api/models/{name}/gradcam and /fgsm); this module only draws them.

import { latestOnly, postForm } from "../api.js";
import { el, fmt, showError } from "../util.js";
import { drawMap, drawRGB } from "../draw/heatmap.js";
import { drawInput } from "./maps.js";
import { pct } from "./prediction.js";

const q = (label) => `“${label}”`;

// A sequential scale for heat (after matplotlib's "inferno"): violet -> red -> orange -> yellow.
const STOPS = [[0, [66, 10, 104]], [0.35, [147, 38, 103]], [0.6, [221, 81, 58]], [0.8, [252, 165, 10]], [1, [252, 255, 164]]];

/** Heat in [0, 1] as RGBA: near 0 transparent, then more opaque and brighter. */
export function heatColour(t) {
  const u = Math.max(0, Math.min(1, t));
  let i = 1;
  while (i < STOPS.length - 1 && STOPS[i][0] < u) i++;
  const [a, ca] = STOPS[i - 1];
  const [b, cb] = STOPS[i];
  const f = b > a ? (u - a) / (b - a) : 0;
  const rgb = ca.map((v, k) => Math.round(v + f * (cb[k] - v)));
  return [...rgb, u < 0.03 ? 0 : Math.round(255 * (0.35 + 0.55 * u))];
}

/** Draw a (H, W) heat map (values 0..1) into `canvas` as an overlay. */
function drawHeat(canvas, heat) {
  const [h, w] = heat.shape;
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) img.data.set(heatColour(heat.data[i]), 4 * i);
  ctx.putImageData(img, 0, 0);
}

/** The model's input with a heat map over it, in one frame. */
function overlay(input, heat, label) {
  const base = el("canvas", { class: "pixels", "aria-hidden": "true" });
  const top = el("canvas", { class: "pixels why-heat", "aria-hidden": "true" });
  drawInput(base, input);
  drawHeat(top, heat);
  return el("div", { class: "why-frame", role: "img", "aria-label": label }, base, top);
}

/** The colour key of the heat overlay. */
function heatLegend() {
  const strip = el("canvas", { class: "why-legend", "aria-hidden": "true" });
  strip.width = 100;
  strip.height = 1;
  const ctx = strip.getContext("2d");
  const img = ctx.createImageData(100, 1);
  for (let x = 0; x < 100; x++) img.data.set([...heatColour(x / 99).slice(0, 3), 255], 4 * x);
  ctx.putImageData(img, 0, 0);
  return el("p", { class: "why-key small muted" }, "0 ", strip, " 1: how strongly the layer saw evidence for the class there");
}

function hotText(hot) {
  if (!hot) return "";
  return ` Strongest at row ${hot.peak[0]}, column ${hot.peak[1]}; values of at least 0.5 lie in rows ${hot.rows[0]}–${hot.rows[1]}, columns ${hot.cols[0]}–${hot.cols[1]} (counted from 0 at the top left).`;
}

export function initWhy({ getBody, getBlob, getModel }) {
  const panel = document.getElementById("why");
  const classSelect = document.getElementById("why-class");
  const layerSelect = document.getElementById("why-layer");
  const quick = document.getElementById("why-quick");
  const figures = document.getElementById("why-figures");
  const formula = document.getElementById("why-formula");
  const sanity = document.getElementById("why-sanity");
  const status = document.getElementById("why-status");
  const error = document.getElementById("why-error");
  const fool = document.getElementById("why-fool");
  const foolOut = document.getElementById("why-fool-out");
  const ask = latestOnly((url, fields, opts) => postForm(url, fields, opts));
  const askFool = latestOnly((url, fields, opts) => postForm(url, fields, opts));
  let answer = null;

  function url(what) {
    return `/api/models/${encodeURIComponent(getModel())}/${what}`;
  }

  async function explain() {
    const body = getBody();
    const blob = getBlob();
    if (!body || !blob) return;
    showError(error, null);
    status.textContent = "Computing the gradients…";
    panel.setAttribute("aria-busy", "true");
    try {
      const fields = { file: blob, check: "true" };
      if (classSelect.value !== "") fields.target = classSelect.value;
      if (layerSelect.value !== "") fields.layer = layerSelect.value;
      const res = await ask(url("gradcam"), fields);
      if (!res) return;
      answer = res;
      render(body, res);
      status.textContent = "";
    } catch (err) {
      status.textContent = "";
      showError(error, err);
    } finally {
      panel.setAttribute("aria-busy", "false");
    }
  }

  function fillClasses(body) {
    const keep = classSelect.value;
    classSelect.replaceChildren(...body.classes.map((c, i) =>
      el("option", { value: String(i) }, `${c} (${pct(body.probabilities[i])})`)));
    classSelect.value = keep !== "" && Number(keep) < body.classes.length ? keep : String(body.index);
    quick.replaceChildren(...body.top.slice(1, 3).map((t) => el("button", {
      type: "button", class: "small-button", dataset: { index: String(t.index) },
      onclick: () => { classSelect.value = String(t.index); explain(); },
    }, `Why not ${q(t.label)}?`)));
    quick.prepend(el("button", {
      type: "button", class: "small-button", dataset: { index: String(body.index) },
      onclick: () => { classSelect.value = String(body.index); explain(); },
    }, `Why ${q(body.label)}?`));
  }

  function fillLayers(res) {
    layerSelect.disabled = res.layers.length === 0;
    if (!res.layer) {
      layerSelect.replaceChildren(el("option", { value: "" }, "(no conv layer)"));
      return;
    }
    const keep = res.layer.title;
    layerSelect.replaceChildren(...res.layers.map((l) =>
      el("option", { value: l.title }, `${l.title} (${l.shape_hwc})`)));
    layerSelect.value = keep;
  }

  function render(body, res) {
    fillLayers(res);
    const t = res.target;
    const input = body.input;
    if (!res.layer) {
      const only = el("canvas", { class: "pixels", role: "img",
        "aria-label": `Saliency: how strongly each pixel of the input changes the score of ${q(t.label)}, white = most.` });
      drawMap(only, res.saliency.data, res.saliency.shape[0], res.saliency.shape[1], { scale: "grey", min: 0, max: 1 });
      figures.replaceChildren(el("figure", { class: "why-fig" }, el("div", { class: "why-frame" }, only),
        el("figcaption", {}, el("strong", {}, "Saliency"), `: |d score / d pixel| for ${q(t.label)}, white = most`)));
      formula.replaceChildren(el("p", { class: "small" }, "This model has no convolutional layer, so there are no feature maps for Grad-CAM to weigh: only the plain gradient at each pixel is shown."));
      sanity.replaceChildren();
      return;
    }
    const heatLabel = `Grad-CAM for ${q(t.label)} on ${res.layer.title}, over the image the model saw.${hotText(res.hot)}`;
    const sal = el("canvas", { class: "pixels", role: "img",
      "aria-label": `Saliency: how strongly each pixel of the input changes the score of ${q(t.label)}, white = most.` });
    drawMap(sal, res.saliency.data, res.saliency.shape[0], res.saliency.shape[1], { scale: "grey", min: 0, max: 1 });
    const layerMap = el("canvas", { class: "pixels", role: "img",
      "aria-label": `Grad-CAM at ${res.layer.title}'s own resolution, ${res.layer.shape_hwc}.` });
    drawMap(layerMap, res.cam.data, res.cam.shape[0], res.cam.shape[1], { scale: "grey", min: 0, max: 1 });
    figures.replaceChildren(
      el("figure", { class: "why-fig" }, overlay(input, res.heatmap, heatLabel),
        el("figcaption", {}, el("strong", {}, "Grad-CAM"), ` for ${q(t.label)} (${pct(t.probability)}) on ${res.layer.title}`)),
      el("figure", { class: "why-fig" }, el("div", { class: "why-frame" }, layerMap),
        el("figcaption", {}, `The same map at ${res.layer.title}'s ${res.layer.shape_hwc.split("×").slice(0, 2).join("×")} positions`)),
      el("figure", { class: "why-fig" }, el("div", { class: "why-frame" }, sal),
        el("figcaption", {}, el("strong", {}, "Saliency"), ": |d score / d pixel|, white = most")),
    );
    const f = res.formula;
    formula.replaceChildren(
      heatLegend(),
      el("p", {}, el("code", {}, f.alpha)),
      el("p", {}, el("code", {}, f.map)),
      el("p", { class: "small" }, `${f.score}. The largest weights: `,
        f.largest.map((a, i) => `${i ? ", " : ""}α${a.k} = ${fmt(a.alpha, 4)}`).join(""),
        ` (map k of ${res.layer.title}; ${res.alphas.filter((a) => a > 0).length} of ${res.alphas.length} maps have α > 0).`),
    );
    renderSanity(input, res);
  }

  function renderSanity(input, res) {
    const s = res.sanity;
    if (!s) { sanity.replaceChildren(); return; }
    const why = el("p", { class: "small" }, "Why not Guided Backprop or Guided Grad-CAM? They fail the model-randomisation check of Adebayo et al. (“Sanity Checks for Saliency Maps”, NeurIPS 2018): their maps stay almost the same when the network's weights are replaced by random numbers, layer by layer from the top, so they do not show what the model learned. Here is the check's first step for this image: the class-score layer's weights replaced by random numbers.");
    if (!s.available) {
      sanity.replaceChildren(why, el("p", { class: "small", id: "why-sanity-result" }, `Not available for this model: ${s.reason}.`));
      return;
    }
    const r = s.rank_correlation;
    let verdict;
    if (r === null) {
      verdict = "One of the two maps is empty (no place raised the score), so the check says nothing for this class.";
    } else if (r < 0.5) {
      verdict = "The map changed: for this image, Grad-CAM passes the check; it depends on what the model learned.";
    } else {
      verdict = "The map hardly changed: for this image, Grad-CAM does not pass the check; read its map with care.";
    }
    sanity.replaceChildren(
      why,
      el("div", { class: "why-pair" },
        el("figure", { class: "why-fig" }, overlay(input, res.heatmap, "Grad-CAM of the trained model"),
          el("figcaption", {}, "Trained model")),
        el("figure", { class: "why-fig" }, overlay(input, s.heatmap, "Grad-CAM of the model with random class-score weights"),
          el("figcaption", {}, "Class-score layer randomised")),
      ),
      el("p", { class: "small", id: "why-sanity-result" },
        r === null ? verdict
          : `Rank correlation of the two maps: ${fmt(r, 2)} (1 = the same order of pixels, 0 = unrelated). ${verdict}`),
    );
  }

  async function foolIt() {
    const blob = getBlob();
    const body = getBody();
    if (!blob || !body) return;
    foolOut.replaceChildren(el("p", { class: "muted small" }, "Trying six step sizes…"));
    try {
      const res = await askFool(url("fgsm"), { file: blob });
      if (res) renderFool(body, res);
    } catch (err) {
      const p = el("p", { class: "error" });
      showError(p, err);
      foolOut.replaceChildren(p);
    }
  }

  function renderFool(body, res) {
    const rows = res.ladder.map((s, i) => el("tr", { class: i === res.flipped_at ? "top" : "" },
      el("td", {}, `${s.grey_levels} / 255`), el("td", {}, s.label), el("td", {}, pct(s.probability)),
      el("td", {}, pct(s.probability_original))));
    const table = el("table", { class: "why-ladder" },
      el("caption", { class: "small" }, "Each pixel moved by ε against the answer"),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "ε"), el("th", { scope: "col" }, "answer"),
        el("th", { scope: "col" }, "its probability"), el("th", { scope: "col" }, `p(${q(res.original.label)})`))),
      el("tbody", {}, rows));
    const parts = [];
    if (res.flipped_at === null) {
      parts.push(el("p", { id: "why-fool-verdict" }, `Even ${res.ladder.at(-1).grey_levels} grey levels per pixel did not change the answer ${q(res.original.label)}.`));
    } else {
      const s = res.ladder[res.flipped_at];
      parts.push(el("p", { id: "why-fool-verdict" }, `Moving each pixel by at most ${s.grey_levels} grey level${s.grey_levels === 1 ? "" : "s"} out of 255 (pixels already at black or white cannot go further) turns ${q(res.original.label)} into ${q(s.label)} (${pct(s.probability)}).`));
      const [c, h, w] = res.perturbation.shape;
      const pert = el("canvas", { class: "pixels", role: "img", "aria-label": "The change made to each pixel, magnified" });
      const span = Math.max(Math.abs(res.perturbation.min), Math.abs(res.perturbation.max)) || 1;
      if (c === 3) {
        drawRGB(pert, res.perturbation.data.map((v) => 0.5 + v / (2 * span)), h, w);
      } else {
        drawMap(pert, res.perturbation.data, h, w, { min: -span, max: span });
      }
      const adv = el("canvas", { class: "pixels", role: "img", "aria-label": `The changed image the model calls ${q(s.label)}` });
      drawInput(adv, { shape: [1, ...res.adversarial.shape], data: res.adversarial.data });
      const orig = el("canvas", { class: "pixels", role: "img", "aria-label": `The original image, ${q(res.original.label)}` });
      drawInput(orig, body.input);
      parts.push(el("div", { class: "why-pair" },
        el("figure", { class: "why-fig" }, el("div", { class: "why-frame" }, orig), el("figcaption", {}, `Original: ${q(res.original.label)}`)),
        el("figure", { class: "why-fig" }, el("div", { class: "why-frame" }, pert), el("figcaption", {}, `The change, magnified ${fmt(0.5 / span, 0)}×`)),
        el("figure", { class: "why-fig" }, el("div", { class: "why-frame" }, adv), el("figcaption", {}, `Changed: ${q(s.label)}`)),
      ));
      parts.push(el("p", { class: "small muted" }, "Each picture is drawn with its own contrast stretch; the change itself is at most ε per pixel."));
    }
    parts.push(el("div", { class: "scroll-x" }, table));
    foolOut.replaceChildren(...parts);
  }

  classSelect.addEventListener("change", explain);
  layerSelect.addEventListener("change", explain);
  fool.addEventListener("click", foolIt);

  return {
    /** A new image or model was run: explain its answer (the top class, default layer). */
    refresh(body) {
      panel.hidden = false;
      classSelect.value = "";
      layerSelect.replaceChildren();
      fillClasses(body);
      classSelect.value = String(body.index);
      foolOut.replaceChildren();
      explain();
    },
    current: () => answer,
  };
}
