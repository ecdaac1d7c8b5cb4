// The band that links the window in the input to the output cell it computes (CNN
// Explainer's and conv_arithmetic's picture): an orange band from the window to the
// current cell, drawn behind the filter in the step view. Layout only:
// the boxes are the grids' own (MatrixView.boxOf); no geometry of the convolution.

import { svgEl } from "../util.js";
import { ui } from "./model.js";

let last = null;

/** Draw the band from the input window `cells` ([[r, c], ...], padded) to output [i, j]. */
export function drawBeam(cells, out) {
  last = cells && out ? [cells, out] : null;
  const svg = document.getElementById("beam");
  if (!svg) return;
  const stage = svg.parentElement;
  const input = ui.inputViews[0];
  if (!last || !input || !ui.outView || stage.offsetParent === null) {
    svg.replaceChildren();
    return;
  }
  const a = input.boxOf(cells);
  const b = ui.outView.boxOf([out]);
  if (!a || !b) {
    svg.replaceChildren();
    return;
  }
  const s = stage.getBoundingClientRect();
  // Boxes are in viewport pixels; the SVG draws in the stage's own CSS pixels (they differ
  // by the page's CSS zoom, e.g. presenter mode's 1.25).
  const zoom = s.width / (stage.offsetWidth || s.width || 1) || 1;
  const x = (v) => (v - s.left) / zoom + stage.scrollLeft;
  const y = (v) => (v - s.top) / zoom + stage.scrollTop;
  // Side by side: from the window's right edge to the cell's left edge; stacked (a phone):
  // from the window's bottom edge to the cell's top edge.
  const band = b.left >= a.right
    ? [[x(a.right), y(a.top)], [x(b.left), y(b.top)], [x(b.left), y(b.bottom)], [x(a.right), y(a.bottom)]]
    : [[x(a.left), y(a.bottom)], [x(b.left), y(b.top)], [x(b.right), y(b.top)], [x(a.right), y(a.bottom)]];
  svg.replaceChildren(
    svgEl("polygon", { points: band.map((p) => p.join(",")).join(" "), class: "beam-band" }),
    svgEl("line", { x1: band[0][0], y1: band[0][1], x2: band[1][0], y2: band[1][1], class: "beam-edge" }),
    svgEl("line", { x1: band[3][0], y1: band[3][1], x2: band[2][0], y2: band[2][1], class: "beam-edge" }),
  );
  svg.dataset.from = cells.length ? `${cells[0][0]},${cells[0][1]}` : "";
  svg.dataset.to = out.join(",");
}

/** Redraw after the layout changed (a resize, presenter mode). */
export function redrawBeam() {
  if (last) drawBeam(...last);
}

window.addEventListener("resize", () => requestAnimationFrame(redrawBeam));
