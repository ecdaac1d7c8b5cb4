// The calculator's "other kinds of convolution": the kind menu (GET /api/calculator/kinds),
// the form, POST /api/calculator/kind, and its numbers and sentences. Every number shown
// comes from the server; this module only places them.

import { ApiError, getJSON, latestOnly, postJSON } from "../api.js";
import { $, debounce, el, int, shape, showError, square } from "../util.js";
import { said } from "./format.js";

export const KIND_DEFAULTS = {
  kind: "separable", kind_h: 112, kind_w: 112, kind_c: 64, kind_k: 128, kind_f: 3, kind_s: 1,
  kind_p: 1, kind_g: 2, kind_opad: 0, kind_b: 16,
};
// Layers of real networks (settings only; the server computes everything shown).
const EXAMPLES = {
  mobilenet: { kind: "separable", kind_h: 112, kind_w: 112, kind_c: 64, kind_k: 128, kind_f: 3, kind_s: 1, kind_p: 1 },
  inception: { kind: "bottleneck", kind_h: 28, kind_w: 28, kind_c: 192, kind_k: 32, kind_f: 5, kind_s: 1, kind_p: 2, kind_b: 16 },
  alexnet2: { kind: "grouped", kind_h: 27, kind_w: 27, kind_c: 96, kind_k: 256, kind_f: 5, kind_s: 1, kind_p: 2, kind_g: 2 },
  depthwise: { kind: "depthwise", kind_h: 56, kind_w: 56, kind_c: 128, kind_k: 128, kind_f: 3, kind_s: 1, kind_p: 1 },
  dcgan: { kind: "transposed", kind_h: 4, kind_w: 4, kind_c: 1024, kind_k: 512, kind_f: 4, kind_s: 2, kind_p: 1, kind_opad: 0 },
  text: { kind: "conv1d", kind_h: 50, kind_w: 50, kind_c: 300, kind_k: 100, kind_f: 3, kind_s: 1, kind_p: 0 },
};
const FIELDS = {
  kind_h: "kind-h", kind_w: "kind-w", kind_c: "kind-c", kind_k: "kind-k", kind_f: "kind-f", kind_s: "kind-s",
  kind_p: "kind-p", kind_g: "kind-g", kind_opad: "kind-opad", kind_b: "kind-b",
};
// Which boxes a kind reads (the others are hidden).
const USES = {
  grouped: ["kind_g"], transposed: ["kind_opad"], bottleneck: ["kind_b"], conv1d: [], pointwise: [],
};
const fetchKind = latestOnly((body, opts) => postJSON("/api/calculator/kind", body, opts));
let state = null;

/** A shape as the course writes it: [C, H, W] -> "H×W×C" (util.shape), a 1-D [C, L] -> "L×C". */
function shapeText(dims) {
  return dims.length === 2 ? square(dims[1], dims[0]) : shape(dims);
}

function fillForm() {
  const s = state.all();
  $("kind-kind").value = s.kind;
  for (const [key, id] of Object.entries(FIELDS)) $(id).value = String(s[key]);
  showFields(s.kind);
  markExample();
}

/** aria-pressed on the example whose settings are in the form. */
function markExample() {
  const s = state.all();
  for (const b of document.querySelectorAll("[data-kind-example]")) {
    const ex = EXAMPLES[b.dataset.kindExample];
    b.setAttribute("aria-pressed", String(Object.entries(ex).every(([k, v]) => s[k] === v)));
  }
}

function showFields(kind) {
  const optional = ["kind_g", "kind_opad", "kind_b"];
  for (const key of optional) $(FIELDS[key]).closest(".field").hidden = !(USES[kind] || []).includes(key);
  const oneD = kind === "conv1d";
  $("kind-w").closest(".field").hidden = oneD;
  $("kind-h").labels[0].firstChild.textContent = oneD ? "Length L" : "Height H";
  $("kind-f").disabled = kind === "pointwise"; // a 1x1 convolution
  $("kind-k").disabled = false;
}

function readForm() {
  const out = {};
  for (const [key, id] of Object.entries(FIELDS)) {
    const text = $(id).value.trim();
    if (!/^\d+$/.test(text)) return null;
    out[key] = Number(text);
  }
  return out;
}

async function update() {
  const kind = $("kind-kind").value;
  const v = readForm();
  if (!v) {
    showError($("kind-error"), new Error("Fill in every field with a whole number."));
    $("kind-output").hidden = true;
    return;
  }
  state.set({ kind, ...v });
  showFields(kind);
  markExample();
  const body = {
    kind, input_size: kind === "conv1d" ? [v.kind_h] : [v.kind_h, v.kind_w], in_channels: v.kind_c,
    filters: v.kind_k, kernel_size: v.kind_f, stride: v.kind_s, padding: v.kind_p, groups: v.kind_g,
    output_padding: v.kind_opad, bottleneck: v.kind_b,
  };
  let d;
  try {
    d = await fetchKind(body);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    showError($("kind-error"), err);
    $("kind-output").hidden = true; // the last numbers belong to other settings
    for (const id of ["kind-savings", "kind-explain"]) $(id).textContent = "";
    $("kind-stages").replaceChildren();
    return;
  }
  if (d === undefined) return;
  showError($("kind-error"), null);
  $("kind-output").hidden = false;
  render(d);
}

function render(d) {
  $("kind-out").textContent = shapeText(d.output_shape);
  $("kind-size-formula").textContent = `${shapeText(d.input_shape)} → ${shapeText(d.output_shape)}: ${said(d.size_formula)}`;
  $("kind-params").textContent = int(d.params.total);
  $("kind-params-formula").textContent = said(d.params.formula);
  $("kind-macs").textContent = int(d.macs.total);
  $("kind-macs-formula").textContent = said(d.macs.formula);
  $("kind-std-title").textContent = d.kind === "transposed" ? "The convolution it transposes" : "A standard convolution";
  $("kind-std-params").textContent = int(d.standard.params);
  $("kind-std-macs").textContent = int(d.standard.macs);
  $("kind-std-formula").textContent = said(d.standard.formula);
  $("kind-savings").textContent = said(d.savings);
  $("kind-stages").replaceChildren(...d.stages.map((st) => el("li", {},
    el("strong", {}, said(st.name)), ` → ${shapeText(st.output_shape)}: `,
    el("span", { class: "formula" }, said(st.params_formula)), " parameters, ",
    el("span", { class: "formula" }, said(st.macs_formula)), " multiply-adds")));
  $("kind-explain").textContent = said(d.explanation);
}

/** Wire the kind menu, the form and the examples to `st`, and compute once. */
export async function initKinds(st) {
  state = st;
  try {
    const { kinds } = await getJSON("/api/calculator/kinds");
    $("kind-kind").replaceChildren(...kinds.map((k) => el("option", { value: k.name }, said(k.title))));
    if (!kinds.some((k) => k.name === state.get("kind"))) state.set({ kind: KIND_DEFAULTS.kind });
  } catch (err) {
    showError($("kind-error"), err);
    return;
  }
  fillForm();
  const later = debounce(update, 150);
  $("kind-form").addEventListener("input", later);
  $("kind-form").addEventListener("submit", (e) => e.preventDefault());
  $("kind-kind").addEventListener("change", update);
  for (const b of document.querySelectorAll("[data-kind-example]")) {
    b.addEventListener("click", () => {
      state.set({ ...KIND_DEFAULTS, ...EXAMPLES[b.dataset.kindExample] });
      fillForm();
      update();
    });
  }
  await update();
}
