// The bands that link the window in the input to the output cell it computes (CNN
// Explainer's and conv_arithmetic's picture): one band from the window to the filter (the
// window meets the filter), one from the filter to the current cell (and gives this value).
// Each joins two neighbours side by side, so no band crosses the filter; no band is painted
// over a caption. On a narrow
// screen the figures stack, each caption between its grid and the figure above: there the
// bands are left out and the orange window and orange cell say the same. Layout only: the
// boxes are the grids' own (MatrixView.boxOf); no geometry of the convolution.

import { svgEl } from "../util.js";
import { ui } from "./model.js";

let last = null;

function clear(svg) {
  svg.replaceChildren();
  svg.dataset.from = "";
  svg.dataset.to = "";
}

/** A band from the right edge of box `a` to the left edge of box `b`, in stage coordinates. */
function band(a, b, x, y) {
  const points = [[x(a.right), y(a.top)], [x(b.left), y(b.top)], [x(b.left), y(b.bottom)], [x(a.right), y(a.bottom)]];
  return [
    svgEl("polygon", { points: points.map((p) => p.join(",")).join(" "), class: "beam-band" }),
    svgEl("line", { x1: points[0][0], y1: points[0][1], x2: points[1][0], y2: points[1][1], class: "beam-edge" }),
    svgEl("line", { x1: points[3][0], y1: points[3][1], x2: points[2][0], y2: points[2][1], class: "beam-edge" }),
  ];
}

/** The box around the elements `els` (the filter's slices), in viewport pixels. */
function unionBox(els) {
  if (!els.length) return null;
  const boxes = els.map((e) => e.getBoundingClientRect());
  return {
    left: Math.min(...boxes.map((r) => r.left)), top: Math.min(...boxes.map((r) => r.top)),
    right: Math.max(...boxes.map((r) => r.right)), bottom: Math.max(...boxes.map((r) => r.bottom)),
  };
}

/** Draw the bands from the input window `cells` ([[r, c], ...], padded) to output [i, j]. */
export function drawBeam(cells, out) {
  last = cells && out ? [cells, out] : null;
  const svg = document.getElementById("beam");
  if (!svg) return;
  const stage = svg.parentElement;
  // The channel next to the filter (the last of R, G, B side by side) sends the band.
  const input = ui.inputViews[ui.inputViews.length - 1];
  const filter = document.getElementById("w-grids");
  if (!last || !input || !ui.outView || !filter || stage.offsetParent === null) {
    clear(svg);
    return;
  }
  const a = input.boxOf(cells);
  const w = unionBox([...filter.querySelectorAll(".mgrid")]);
  const b = ui.outView.boxOf([out]);
  // Only between neighbours side by side: input | filter | feature map.
  if (!a || !b || !w || w.left < a.right || b.left < w.right) {
    clear(svg);
    return;
  }
  const s = stage.getBoundingClientRect();
  // Boxes are in viewport pixels; the SVG draws in the stage's own CSS pixels (they differ
  // by the page's CSS zoom, e.g. presenter mode's 1.25).
  const zoom = s.width / (stage.offsetWidth || s.width || 1) || 1;
  const x = (v) => (v - s.left) / zoom + stage.scrollLeft;
  const y = (v) => (v - s.top) / zoom + stage.scrollTop;
  // No band over a caption or a channel's name: they are cut out of what the bands may paint
  // (a band may pass behind a grid, whose cells are opaque, but never over its words).
  const holes = [...stage.querySelectorAll("figcaption, .pg-chname")]
    .map((e) => e.getBoundingClientRect())
    .filter((r) => r.width > 0 && r.height > 0)
    .map((r) => `M${x(r.left)},${y(r.top)}H${x(r.right)}V${y(r.bottom)}H${x(r.left)}Z`);
  const clip = svgEl("clipPath", { id: "beam-clip" });
  clip.append(svgEl("path", { d: `M-1e5,-1e5H1e5V1e5H-1e5Z${holes.join("")}`, "clip-rule": "evenodd" }));
  const defs = svgEl("defs");
  defs.append(clip);
  const bands = svgEl("g", { "clip-path": "url(#beam-clip)" });
  bands.append(...band(a, w, x, y), ...band(w, b, x, y));
  svg.replaceChildren(defs, bands);
  svg.dataset.from = cells.length ? `${cells[0][0]},${cells[0][1]}` : "";
  svg.dataset.to = out.join(",");
}

/** Redraw after the layout changed (a resize, presenter mode, the step view refitted). */
export function redrawBeam() {
  if (last) drawBeam(...last);
}

window.addEventListener("resize", () => requestAnimationFrame(redrawBeam));
