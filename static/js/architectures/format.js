// Numbers and shapes as the architectures page writes them (labels only: the exact
// value is always shown beside a compact one).

import { TIMES, formula, shape } from "../util.js";

const SUPERSCRIPT = { 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };

/**
 * A sentence, name or formula from the server (the API keeps ASCII) as the page writes it:
 * util.formula ("28x28x6" -> "28×28×6", "(32 - 5)/1" -> "(32 − 5)/1", "2*2" -> "2×2"), and
 * "->" as "→", a factor "3.1x as many" as "3.1× as many", a power "7^2" as "7²".
 */
export function said(text) {
  return formula(String(text ?? "")
    .replace(/\s*->\s*/g, " → ")
    .replace(/(\d)x(?!\w)/g, `$1${TIMES}`)
    .replace(/\^(\d+)/g, (_, d) => [...d].map((c) => SUPERSCRIPT[c]).join("")));
}

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
