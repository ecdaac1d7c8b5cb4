// What the lessons share: the edge filters (inputs to
// the engine, not results), and cached fetches of a sample and its feature map.

import { getJSON, postJSON, tensor } from "../api.js";
import { $, shape } from "../util.js";

/** 3x3 edge filters as a CNN uses them (cross-correlation, never flipped). */
export const EDGE_FILTERS = {
  vertical: { label: "vertical edges (Sobel x)", kernel: [-1, 0, 1, -2, 0, 2, -1, 0, 1] },
  horizontal: { label: "horizontal edges (Sobel y)", kernel: [-1, -2, -1, 0, 0, 0, 1, 2, 1] },
};

const samples = new Map();
const maps = new Map();

/** A sample image as a (1, 28, 28) tensor in [0, 1]. */
export function getSample(name) {
  if (!samples.has(name)) {
    const p = getJSON(`/api/samples/${encodeURIComponent(name)}?channels=L&size=28`)
      .then((r) => r.tensor);
    p.catch(() => samples.delete(name));
    samples.set(name, p);
  }
  return samples.get(name);
}

/**
 * The sample convolved with an edge filter (padding 1, so 28x28 stays 28x28):
 * {input, pre (before any activation), relu, size} from POST /api/conv.
 */
export function getFeatureMap(name, edge) {
  const key = `${name}|${edge}`;
  if (!maps.has(key)) {
    const filter = EDGE_FILTERS[edge] || EDGE_FILTERS.vertical;
    const p = getSample(name).then(async (input) => {
      const r = await postJSON("/api/conv", {
        input,
        weights: tensor([1, 1, 3, 3], filter.kernel),
        padding: 1,
        activation: "relu",
      });
      return { input, pre: r.pre_activation, relu: r.output, size: r.output_size };
    });
    p.catch(() => maps.delete(key));
    maps.set(key, p);
  }
  return maps.get(key);
}

let catalogue = null;
/** Single-channel samples to offer (GET /api/samples). */
export function listSamples() {
  if (!catalogue) {
    catalogue = getJSON("/api/samples").then((r) =>
      r.samples.filter((s) => s.kind !== "course" && s.channels === "L"));
    catalogue.catch(() => { catalogue = null; });
  }
  return catalogue;
}

/** The samples on offer; a sample name in the URL that is not one of them is replaced. */
export async function checkedSamples(state) {
  const list = await listSamples();
  if (!list.some((s) => s.name === state.get("sample"))) state.set({ sample: list[0].name });
  return list;
}

/** "28×28", the size of one map, from a (C, H, W) or (H, W) shape. */
export function hw(dims) {
  return shape(dims.length === 3 ? dims.slice(1) : dims);
}

/** A (C, H, W) shape written as the course writes volumes, H×W×C (util.shape). */
export const volume = shape;

/**
 * Start / Back / Play / Next and the scrub bar of a step-by-step view (ids `${prefix}-first`,
 * `-prev`, `-play`, `-next`, `-scrub`), as the pooling and softmax lessons build their cells.
 * `getStep()` and `setStep(k)` read and move the view; `total()` is the number of steps;
 * `ready()` says whether there is anything to play. Returns `stop` (a new answer stops play).
 */
export function stepControls(prefix, { tick, getStep, setStep, total, ready = () => true }) {
  const playBtn = $(`${prefix}-play`);
  let timer = null;

  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
    playBtn.setAttribute("aria-pressed", "false");
    playBtn.innerHTML = "&#9654; Play";
  }

  function play() {
    if (getStep() >= total()) setStep(0);
    playBtn.setAttribute("aria-pressed", "true");
    playBtn.innerHTML = "&#10074;&#10074; Pause";
    timer = setInterval(() => {
      setStep(getStep() + 1);
      if (getStep() >= total()) stop();
    }, tick);
  }

  playBtn.addEventListener("click", () => {
    if (!ready()) return;
    if (timer) stop();
    else play();
  });
  $(`${prefix}-next`).addEventListener("click", () => { stop(); setStep(getStep() + 1); });
  $(`${prefix}-prev`).addEventListener("click", () => { stop(); setStep(getStep() - 1); });
  $(`${prefix}-first`).addEventListener("click", () => { stop(); setStep(0); });
  $(`${prefix}-scrub`).addEventListener("input", (e) => { stop(); setStep(Number(e.target.value)); });
  return { stop };
}
