// The convolution playground: wiring only. Every number shown comes from the API
// (/api/samples, /api/image, /api/filters, /api/playground/layer to check the settings
// first, /api/conv with its trace and pooling, and for section 6
// /api/playground/convolution); the modules in ../playground/ arrange and draw them, and do
// index bookkeeping for highlights.

import { ApiError, postJSON } from "../api.js";
import { editor, initControls, inputs, syncControls } from "../playground/controls.js";
import { MAX_FILTERS, channelNames, convBody, paddingValue, sanitise, state, ui } from "../playground/model.js";
import { initKinds } from "../playground/kinds.js";
import { ConvGeometry } from "../playground/relations.js";
import { loadPresets, resolveFilters } from "../playground/sources.js";
import {
  renderFilterChoice, renderInputPreview, renderStepView, renderVolume, showImpossible, showSize,
} from "../playground/stages.js";
import { pause, updateWindow } from "../playground/steps.js";
import { $, showError } from "../util.js";

const root = $("playground");
let generation = 0;
let renders = 0;

/** "loading" while a refresh runs; when it ends, its outcome and a new version number. */
function setStatus(status) {
  root.dataset.status = status;
  if (status !== "loading") root.dataset.version = String(++renders);
}

async function refresh() {
  const gen = ++generation;
  ui.traceToken++; // a trace asked for under the old settings must not be drawn
  pause();
  setStatus("loading");
  const s = state.all();
  syncControls(s);
  let input;
  try {
    input = await inputs.load(s);
  } catch (err) {
    if (gen !== generation) return;
    showError($("input-error"), err);
    setStatus("error");
    return;
  }
  if (gen !== generation) return;
  showError($("input-error"), null);
  renderInputPreview(s, input);
  const C = input.tensor.shape[0];
  let presets;
  try {
    // The 3x3 presets too: their titles name a preset that has no version at this size.
    [presets] = await Promise.all([loadPresets(s.ksize, C), loadPresets(3, C)]);
  } catch (err) {
    if (gen !== generation) return;
    showError($("size-error"), err);
    setStatus("error");
    return;
  }
  if (gen !== generation) return;
  const resolved = resolveFilters(s, presets, C);
  editor.render({ filters: resolved, size: s.ksize, channelNames: channelNames(C), presets: presets.list });
  $("filters-count").textContent = `(${resolved.length} of at most ${MAX_FILTERS})`;
  $("filters-rgb").hidden = C === 1;
  $("add-filter").disabled = resolved.length >= MAX_FILTERS;
  renderFilterChoice(resolved, s.k);

  const body = convBody(s, input, resolved);
  let conv;
  try {
    // Checked first: a layer that cannot be computed is explained without asking /api/conv
    // (whose 422 the browser would log as a failed request).
    const [, H, W] = input.tensor.shape;
    const check = await postJSON("/api/playground/layer", {
      input_size: [H, W], kernel_size: s.ksize, stride: s.stride, padding: paddingValue(s.pad),
      dilation: s.dil, in_channels: C, filters: resolved.length,
    });
    if (gen !== generation) return;
    if (!check.possible) {
      ui.current = { s, input, presets, resolved, C, conv: null, body };
      showImpossible({ detail: check.detail, body: { formula: check.formula } });
      setStatus("invalid");
      return;
    }
    conv = await postJSON("/api/conv", body);
  } catch (err) {
    if (gen !== generation) return;
    if (!(err instanceof ApiError) || err.status !== 422) {
      // Busy (503) or unreachable: the settings may be fine, so nothing is wiped.
      showError($("size-error"), err);
      setStatus("error");
      return;
    }
    ui.current = { s, input, presets, resolved, C, conv: null, body };
    showImpossible(err);
    setStatus("invalid");
    return;
  }
  if (gen !== generation) return;
  const pool = poolOf(conv.pool);
  const size = conv.output_size;
  const geom = new ConvGeometry(size.output_size, conv.windows);
  ui.current = { s, input, presets, resolved, C, conv, pool, geom, body };
  ui.traceCache = new Map();
  if (s.step >= geom.positions) state.set({ step: 0 });
  showSize(size);
  renderStepView();
  renderVolume();
  updateWindow();
  setStatus("ready");
}

/** The pooled maps of a /api/conv answer as one tensor, or {error} when that pooling cannot be. */
function poolOf(answer) {
  if (!answer) return null;
  if (answer.error) return { error: { detail: answer.error } };
  const { output, argmax, output_size: size, windows } = answer;
  return { ...output, argmax, size, windows };
}

sanitise();
await initControls(refresh);
refresh();
initKinds(); // section 6, the other kinds of convolution: its own settings and requests
