// The calculator page: one layer (POST /api/output-size) and its padding rule
// (/api/calculator/rules), the other kinds of convolution (/api/calculator/kind), the quiz
// (/api/calculator/quiz + /check) and the layer chain (/api/calculator/chain).
// Every number shown comes from the server; the modules in ../calculator/ wire and draw.

import { COURSE_CHAIN, initChain } from "../calculator/chain.js";
import { KIND_DEFAULTS, initKinds } from "../calculator/kinds.js";
import { EXAMPLES, initLayer } from "../calculator/layer.js";
import { initQuiz } from "../calculator/quiz.js";
import { createState } from "../state.js";

const state = createState({
  ...EXAMPLES.s1, pos: 0, seed: -1, input: [3, 32, 32], layers: COURSE_CHAIN, code: "pytorch",
  ...KIND_DEFAULTS,
});

initLayer(state);
initKinds(state);
initQuiz(state);
initChain(state);
