// Numbers as the calculator writes them (the numbers themselves come from the API), with
// the site's one formatter (util.js): shapes height×width×channels with "×", true minus.

import { TIMES, bytes, formula, int, shape } from "../util.js";

const NAMED = "(?:width|height|depth|[A-Z])";
const NAMED_TIMES = new RegExp(`\\b(${NAMED}) x (?=${NAMED}\\b)`, "g");

/** A sentence or formula from the server (the API keeps ASCII) as the calculator writes it:
 * util.formula ("3x3" -> "3×3", "(7 - 3 + 2*0)/1" -> "(7 − 3 + 2×0)/1"), and a product of
 * named sizes with × too ("width x height x depth", "F x F"). */
export function said(text) {
  return formula(String(text ?? "").replace(NAMED_TIMES, `$1 ${TIMES} `));
}

/** [C, H, W] -> "H×W×C" (the course's order); [N] -> "N". */
export function shapeText(dims) {
  if (!dims) return "–";
  return shape(dims);
}

export function memText(n) {
  return `${int(n)} bytes${n >= 1024 ? ` (${bytes(n)})` : ""}`;
}
