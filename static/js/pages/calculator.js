// The calculator page: one layer (POST /api/output-size), the quiz
// (/api/calculator/quiz + /check) and the layer chain (/api/calculator/chain).
// Every number shown comes from the server; the modules in ../calculator/ wire and draw.

import { COURSE_CHAIN, initChain } from "../calculator/chain.js";
import { EXAMPLES, initLayer } from "../calculator/layer.js";
import { initQuiz } from "../calculator/quiz.js";
import { createState } from "../state.js";

const state = createState({
  ...EXAMPLES.s1, pos: 0, seed: -1, input: [3, 32, 32], layers: COURSE_CHAIN, code: "pytorch",
});

initLayer(state);
initQuiz(state);
initChain(state);
