// Numbers as the calculator writes them (the numbers themselves come from the API), with
// the site's one formatter (util.js): shapes height×width×channels with "×", true minus.

import { bytes, int, shape } from "../util.js";

/** Server text as the pages write it: util.formula, the one translation. */
export { formula as said } from "../util.js";

/** [C, H, W] -> "H×W×C" (the course's order); [N] -> "N". */
export function shapeText(dims) {
  if (!dims) return "–";
  return shape(dims);
}

export function memText(n) {
  return `${int(n)} bytes${n >= 1024 ? ` (${bytes(n)})` : ""}`;
}
