// How a matrix cell looks: its colour under a scale (diverging around 0, or a tint from
// the server's min/max), its number rounded to fit, the ink that reads on it, and the
// hatching of padding cells, and the marks and empty cells of pixel mode.

import { diverging } from "../draw/heatmap.js";
import { fmt } from "../util.js";

/** A cell not computed yet (pixel mode; cell mode: .mcell.pending). */
export const PENDING_RGB = [241, 244, 249];
/** How each mark of ./grid.js is drawn in pixel mode, in this order (later on top). */
export const MARK_STYLE = {
  rf: { fill: "rgba(29, 78, 216, 0.35)", stroke: "#1d4ed8" },
  feeds: { fill: "rgba(29, 78, 216, 0.35)", stroke: "#1d4ed8" },
  pwin: { fill: "rgba(124, 58, 237, 0.3)", stroke: "#7c3aed" },
  win: { fill: "rgba(245, 158, 11, 0.28)", stroke: "#d97706" },
  cur: { fill: "rgba(245, 158, 11, 0.35)", stroke: "#d97706" },
  max: { fill: null, stroke: "#7c3aed" },
  hover: { fill: null, stroke: "#111827" },
};

const TINTS = { grey: [255, 255, 255], red: [235, 64, 52], green: [40, 190, 90], blue: [60, 120, 245] };

/** [r, g, b] of value v under a scale {kind: "diverging", absMax} or {kind: tint, lo, hi}. */
export function colourOf(v, scale) {
  if (scale.kind === "diverging") return diverging(v, scale.absMax);
  const span = scale.hi - scale.lo;
  const t = Math.max(0, Math.min(1, span > 0 ? (v - scale.lo) / span : 0.5));
  const tint = TINTS[scale.kind] || TINTS.grey;
  return tint.map((c) => Math.round(c * t));
}

/** A value rounded to fit a cell: fixed decimals, never an exponent; "0.00" marks a tiny
 * non-zero (either sign: no "−0.00", the cell's colour still shows the sign). */
export function cellText(v, digits) {
  if (v === 0) return "0";
  const s = v.toFixed(digits);
  if (/^-?0\.0+$/.test(s)) return s.replace("-", "");
  return fmt(v, digits);
}

/** WCAG relative luminance of an sRGB colour (0-255 channels). */
function luminance(rgb) {
  const [r, g, b] = rgb.map((v) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** Black or white, whichever contrasts more with this cell colour (at least 4.58:1 on any colour). */
export function inkFor(rgb) {
  const bg = luminance(rgb);
  return (bg + 0.05) / 0.05 >= 1.05 / (bg + 0.05) ? "#000000" : "#ffffff";
}

let hatch = null;

/** The hatching that marks padding cells in pixel mode, as a pattern of `ctx`. */
export function hatchPattern(ctx) {
  if (!hatch) {
    hatch = document.createElement("canvas");
    hatch.width = 6;
    hatch.height = 6;
    const h = hatch.getContext("2d");
    h.fillStyle = "#e5e7eb";
    h.fillRect(0, 0, 6, 6);
    h.strokeStyle = "#9ca3af";
    h.lineWidth = 1;
    h.beginPath();
    h.moveTo(0, 6);
    h.lineTo(6, 0);
    h.stroke();
  }
  return ctx.createPattern(hatch, "repeat");
}
