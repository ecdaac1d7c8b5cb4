// Numbers and shapes as the architectures page writes them (labels only: the exact
// value is always shown beside a compact one).

import { shape } from "../util.js";

/** Server text as the pages write it: util.formula, the one translation. */
export { formula as said } from "../util.js";

/** [C, H, W] -> "H×W×C" as the course writes it (util.shape); [N] -> "N". */
export function shapeText(dims) {
  return shape(dims);
}

/** 138357544 -> "138.4M" (labels only; the exact value is always shown beside it). */
export function compact(n) {
  const units = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "K"]];
  for (const [u, s] of units) {
    if (n < u) continue;
    const text = (n / u).toFixed(n >= 100 * u ? 0 : 1);
    return `${text.endsWith(".0") ? text.slice(0, -2) : text}${s}`;
  }
  return String(n);
}

/** A top-5 error object from the server -> "15.3%" ("–" when there is none). */
export function errorText(e) {
  return e.value === null ? "–" : `${e.value}%`;
}
