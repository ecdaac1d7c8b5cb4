// The architectures page's three ideas (GET /api/architectures/ideas): stacked small
// filters and their receptive field and VGG's other lessons, Inception's 1x1 bottlenecks
// (with the module drawn) and no big FC layers, and residual blocks (basic and bottleneck,
// drawn). Every number comes from the server.

import { ApiError, getJSON, latestOnly } from "../api.js";
import { $, debounce, el, fmt, int, showError, square, svgEl } from "../util.js";
import { drawBlock, drawInception } from "./diagrams.js";
import { compact, said, shapeText } from "./format.js";

const fetchIdeas = latestOnly((c, opts) => getJSON(`/api/architectures/ideas?channels=${c}`, opts));

let state = null;

/** The ideas section: its channel count in the URL (state.channels), redrawn as it is typed. */
export function initIdeas(pageState) {
  state = pageState;
  $("idea-c").value = state.get("channels");
  $("idea-c").addEventListener("input", debounce(loadIdeas, 200));
  loadIdeas();
}

async function loadIdeas() {
  const text = $("idea-c").value.trim();
  if (!/^\d+$/.test(text)) {
    showError($("ideas-error"), new Error("Type a whole number of channels (1 to 1024)."));
    return;
  }
  try {
    const d = await fetchIdeas(Number(text));
    if (d === undefined) return;
    showError($("ideas-error"), null);
    state.set({ channels: Number(text) });
    renderIdeas(d);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    showError($("ideas-error"), err);
  }
}

function pairs(list) {
  return list.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]);
}

function renderIdeas(d) {
  const s = d.stacked;
  $("idea-stacked").replaceChildren(...pairs([
    ["Receptive field", s.receptive_fields.map((r) => square(r)).join(" → ")],
    [`Three ${square(s.kernel_size)} layers`, el("span", { id: "stacked-params" }, el("span", { class: "formula" }, said(s.stacked_formula)))],
    [`One ${square(s.receptive_field)} layer`, el("span", { id: "single-params" }, el("span", { class: "formula" }, said(s.single_formula)))],
    ["Saved", `${int(s.saved)} weights: the ${square(s.receptive_field)} layer needs ${fmt(s.ratio, 2)} times as many`],
    ["Non-linearities", `${s.nonlinearities.stacked} ReLUs against ${s.nonlinearities.single}`],
  ]));
  drawReceptiveField(s.receptive_fields);
  $("vgg-lessons").replaceChildren(...d.vgg_lessons.map((l) => el("li", {},
    el("strong", {}, `${said(l.title)}. `), said(l.text), " ", el("span", { class: "source" }, `Source: ${l.source}.`))));

  const inc = d.inception;
  const t = $("idea-inception");
  const head = el("thead", {}, el("tr", {}, ...["Layer", "Output", "Parameters", "Multiply-adds"].map((h) => el("th", { scope: "col" }, h))));
  const body = el("tbody");
  for (const [label, mod] of [["Naive module", inc.naive], ["With 1×1 bottlenecks", inc.bottleneck]]) {
    body.append(el("tr", { class: "mod" }, el("th", { scope: "row" }, label), el("td", {}, shapeText(mod.output_shape)), el("td", {}, int(mod.params)), el("td", { class: "mod-macs" }, int(mod.macs))));
    for (const c of mod.children) {
      body.append(el("tr", { class: "sub" }, el("th", { scope: "row" }, said(c.name)), el("td", {}, shapeText(c.output_shape)), el("td", {}, int(c.params)), el("td", {}, c.macs ? int(c.macs) : "–")));
    }
  }
  t.replaceChildren(head, body);
  drawInception($("inception-svg"), inc.input_shape, inc.bottleneck_branches, inc.bottleneck.children.at(-1));
  $("idea-saving").replaceChildren(el("strong", {}, "Saved by the bottlenecks: "), said(inc.saving.text));
  const nf = inc.no_fc;
  $("idea-nofc").replaceChildren(
    el("strong", {}, "No big FC layers. "),
    `GoogLeNet's last volume is ${shapeText(nf.last_volume)}. A 4096-unit FC layer on it, as in VGG, would need `,
    el("span", { class: "formula" }, said(nf.fc_formula)),
    ` parameters, against ${int(nf.total_params)} for the whole of GoogLeNet. Average pooling (${nf.avgpool_params} parameters) turns the volume into ${int(nf.last_volume[0])} values, and only the 1000-way classifier (${int(nf.classifier_params)}) remains.`,
  );

  const r = d.residual;
  const wide = r.bottleneck.output_shape[0]; // 4C, as the server built the block
  const inner = r.bottleneck.children[0].output_shape[0];
  const down = r.downsampling.children.find((c) => c.name.startsWith("downsample"));
  $("idea-residual").replaceChildren(...pairs([
    ["Identity shortcut", `${r.identity_params} parameters, nothing stored: x is added back as is`],
    [`Basic block, ${r.channels} channels`, `${int(r.basic.params)} parameters (two 3×3 convs + BatchNorm)`],
    [`Basic block, ${wide} channels`, `${int(r.basic_wide.params)} parameters`],
    [`Bottleneck, ${wide} → ${inner} → ${wide}`, `${int(r.bottleneck.params)} parameters (1×1, 3×3, 1×1 + BatchNorm), used from ResNet-50 up`],
    ["When the shape changes", `a 1×1 projection (stride 2 where the size halves): ${said(down.params_formula)}`],
    ["Depth", r.resnets.map((n) => `${n.depth} layers: ${compact(n.total_params)}`).join(" · ")],
  ]));
  drawBlock($("basic-svg"), r.basic, `A basic residual block on ${r.channels} channels`);
  drawBlock($("bottleneck-svg"), r.bottleneck, `A bottleneck residual block, ${wide} → ${inner} → ${wide} channels`);
  $("basic-caption").textContent = `Basic block (ResNet-18 and -34), ${r.channels} channels in and out: ${int(r.basic.params)} parameters.`;
  $("bottleneck-caption").textContent = `Bottleneck block (ResNet-50 and up), ${wide} channels in and out, ${inner} inside: ${int(r.bottleneck.params)} parameters, against ${int(r.basic_wide.params)} for a basic block on ${wide}.`;
}

function drawReceptiveField(fields) {
  const svg = $("rf-svg");
  const n = fields[fields.length - 1];
  const cs = 20;
  const size = n * cs + 2;
  const legendW = 170;
  svg.replaceChildren(svgEl("desc", { id: "rf-desc" }, `Receptive fields ${fields.join(", ")} of 1 to ${fields.length} stacked layers.`));
  svg.setAttribute("viewBox", `0 0 ${size + legendW} ${size}`);
  svg.setAttribute("width", size + legendW);
  svg.setAttribute("height", size);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) svg.append(svgEl("rect", { x: c * cs + 1, y: r * cs + 1, width: cs - 1, height: cs - 1, class: "rf-cell" }));
  }
  fields.slice().reverse().forEach((f, k) => {
    const level = fields.length - k;
    const off = ((n - f) / 2) * cs;
    svg.append(svgEl("rect", { x: off + 1, y: off + 1, width: f * cs - 1, height: f * cs - 1, class: `rf-box l${level}` }));
    svg.append(svgEl("text", { x: size + 10, y: 18 + (level - 1) * 22, class: `rf-label l${level}` }, `through ${level} layer${level > 1 ? "s" : ""}: ${square(f)}`));
  });
  svg.append(svgEl("rect", { x: ((n - 1) / 2) * cs + 1, y: ((n - 1) / 2) * cs + 1, width: cs - 1, height: cs - 1, class: "rf-centre" }));
  const ly = 18 + fields.length * 22;
  svg.append(svgEl("rect", { x: size + 10, y: ly - 10, width: 11, height: 11, class: "rf-centre" }));
  svg.append(svgEl("text", { x: size + 26, y: ly, class: "rf-label" }, "one output value"));
}
