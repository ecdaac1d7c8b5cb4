// The lessons page: pooling, activations, fully connected layers and softmax, dropout and
// batch normalisation.
// One state object for the whole page, mirrored to the URL; each section wires its
// own part of it (static/js/lessons/*.js).

import { createState } from "../state.js";
import { initPooling } from "../lessons/pooling.js";
import { initActivations } from "../lessons/activations.js";
import { initNetwork } from "../lessons/dense.js";
import { initFlatten } from "../lessons/flatten.js";
import { initSoftmax } from "../lessons/softmax.js";
import { initDropout } from "../lessons/dropout.js";
import { initBatchNorm } from "../lessons/batchnorm.js";

const listeners = [];
const state = createState({
  // 1. pooling
  cells: [], // the course example's values (GET /api/lessons/pooling)
  mode: "max",
  step: 0,
  sample: "digit-3",
  edge: "vertical",
  // 2. activations: the neuron
  fn: "sigmoid",
  w: 1,
  x: 1,
  b: 0,
  // 3. fully connected and softmax
  vol: [32, 32, 3],
  classes: 10,
  net: [3, 4, 2],
  scores: [3.2, 5.1, -1.7],
  // 4. dropout and batch normalisation (null: the API's example)
  dp: null,
  bn: null,
}, { onChange: (all, patch) => listeners.forEach((fn) => fn(all, patch)) });
/** Sections listen to each other's changes (the activations reuse the pooling's image). */
state.subscribe = (fn) => listeners.push(fn);

initPooling(state);
initActivations(state);
initFlatten(state);
initNetwork(state);
initSoftmax(state);
initDropout(state);
initBatchNorm(state);
