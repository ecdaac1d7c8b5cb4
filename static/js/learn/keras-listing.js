// The course's Keras example, line by line (templates/learn.html, #keras-code): the
// parameter counts and the accuracy of the model this recipe produced come from its
// model card (GET /api/models/mnist-mlp), never from the page; "Train it here" uses the
// page's own Keras preset (#preset-keras), so the live run is the same recipe.

import { getJSON } from "../api.js";
import { $, el, int } from "../util.js";

const MODEL = "mnist-mlp";

/** The card's layers of one kind (ONNX op), in order. */
const layersOf = (card, op) => card.architecture.filter((a) => a.op === op);

async function fill() {
  const box = $("keras-model");
  let card;
  try {
    card = await getJSON(`/api/models/${MODEL}`);
  } catch (err) {
    box.textContent = `The model card of ${MODEL} could not be read: ${err.detail || err.message}.`;
    return;
  }
  // Each dense layer's count as the card gives it, with its sizes: inputs (the layer
  // before's output) x units weights + units biases.
  const dense = (layer) => {
    const before = card.architecture[card.architecture.indexOf(layer) - 1].output_shape.at(-1);
    const units = layer.output_shape.at(-1);
    return `${int(layer.params)} (${int(before)} × ${int(units)} weights + ${int(units)} biases)`;
  };
  const [fc1, fc2] = layersOf(card, "Gemm");
  $("keras-fc1-params").textContent = dense(fc1);
  $("keras-fc2-params").textContent = dense(fc2);
  $("keras-params").textContent = int(card.parameters);
  const m = card.metrics;
  const t = card.training;
  box.replaceChildren(
    "The model it produced: ",
    el("a", { href: `/classify?model=${MODEL}` }, MODEL),
    `, ${int(card.parameters)} parameters, trained by ConvLab with this recipe (${t.epochs} epochs, batch ${t.batch_size}, seed ${t.seed}) on ${int(card.dataset.train_size)} training images: `,
    el("strong", { id: "keras-accuracy" }, `${(100 * m.accuracy).toFixed(2)}%`),
    ` accuracy on the ${int(m.images)} held-out validation images (`,
    el("a", { href: "#facts-split" }, "which ones, and why"),
    `), measured with ${m.evaluated_with} on the exported file.`,
  );
}

function wire() {
  $("keras-run").addEventListener("click", () => {
    const preset = $("preset-keras");
    preset.scrollIntoView({ block: "center" });
    preset.focus();
    if (!preset.disabled) preset.click();
  });
}

wire();
fill();
