// Shared by the training page's modules: number formatting and the colour scales.
// Orange is class 1 and positive values, blue class 0 and negative ones (as main.css).

import { title } from "../registry.js";
import { sci } from "../util.js";

export const ORANGE = [194, 65, 12]; // --pos, #c2410c
export const BLUE = [29, 78, 216]; // --neg, #1d4ed8

/** A number for reading: 4 significant digits (or `sig`), a power of ten (1.2×10⁻⁶, util's
 * convention, never "e-6") for tiny or huge values. */
export function num(x, sig = 4) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "−∞";
  if (x === 0) return "0";
  const ax = Math.abs(x);
  let s;
  if (ax < 1e-3 || ax >= 1e6) return sci(x, Math.max(1, sig - 1));
  else {
    s = x.toPrecision(sig);
    if (s.includes("e")) s = String(Number(s));
    if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  }
  return s.replace("-", "−");
}

/** A number in brackets when negative, for products written out: (−0.12). */
export function paren(x, sig = 4) {
  return x < 0 ? `(${num(x, sig)})` : num(x, sig);
}

/** RGB for t in [-1, 1]: blue - white - orange. */
export function tint(t) {
  const u = Math.max(-1, Math.min(1, t));
  const c = u >= 0 ? ORANGE : BLUE;
  const a = Math.abs(u);
  return [255 + (c[0] - 255) * a, 255 + (c[1] - 255) * a, 255 + (c[2] - 255) * a];
}

export function rgb([r, g, b]) {
  return `rgb(${Math.round(r)}, ${Math.round(g)}, ${Math.round(b)})`;
}

/** Series colours for the comparisons (distinct in hue and, for print, in dash): the depth
 * experiment's by name, any other run (one per activation) by its place in the list. */
const DEPTH_SERIES = {
  "plain, 4 layers": { color: "#64748b", dash: "2 3" },
  "plain, 20 layers": { color: "#b91c1c", dash: "6 4" },
  "residual, 20 layers": { color: "#047857", dash: null },
};
const PALETTE = [
  { color: "#7c3aed", dash: "6 4" }, { color: "#0e7490", dash: "2 3" }, { color: "#c2410c", dash: null },
  { color: "#be185d", dash: "1 3" }, { color: "#4d7c0f", dash: "8 3 2 3" },
];

export function seriesStyle(runs, run) {
  return DEPTH_SERIES[run.label] || PALETTE[runs.indexOf(run) % PALETTE.length];
}

/** An activation's title from the registry ("ReLU"); "Linear" (no activation) and other
 * labels capitalised. */
export function actTitle(name) {
  const t = title(name);
  return t !== name ? t : name[0].toUpperCase() + name.slice(1);
}
