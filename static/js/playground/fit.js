// The step view on one screen (issue 18): the filter choice, the player, the input, the
// filter, the feature map and the arithmetic of the current value, all without scrolling.
// The layout does most of it (RGB channels side by side, the arithmetic's totals beside its
// products); what is still too large for the window is scaled down here, as little as
// needed and never below a size that still reads. Three CSS variables on #step-view carry
// the factors (playground.css): --fit-px (pixel images, which read well small), --fit-cell
// (numbered cells) and --fit-arith (the arithmetic's tables).
//
// Fitted again from full size when the settings, the filter shown or the window size change;
// while stepping through one layer it only ever shrinks further (when a wider value
// appears), so the view does not jump from one step to the next. On a narrow screen (a
// phone) the step view is a column that scrolls and nothing is scaled.

import { redrawBeam } from "./beam.js";

/** The scales tried, largest first. */
const SCALES = [1, 0.92, 0.85, 0.78, 0.72, 0.66, 0.6, 0.55, 0.5, 0.45];
/** Numbered cells and the arithmetic's tables go no smaller than this (about 10 px type). */
const TEXT_MIN = 0.75;
/** Below this width the page is one column (playground.css, max-width: 640px). */
const NARROW = 640;

const FULL = { px: 1, cell: 1, arith: 1 };
let current = { ...FULL };
let fresh = true;

/** The next fit starts again from full size (new settings, another filter, a resize). */
export function refit() {
  fresh = true;
}

function apply(view, f) {
  view.style.setProperty("--fit-px", String(f.px));
  view.style.setProperty("--fit-cell", String(f.cell));
  view.style.setProperty("--fit-arith", String(Math.min(f.cell, f.arith)));
  view.dataset.fit = `${f.px},${f.cell},${Math.min(f.cell, f.arith)}`;
}

/** A box that scrolls sideways does not fit. */
function overflows(node) {
  return !!node && node.scrollWidth > node.clientWidth + 1;
}

/** The arithmetic reads in one glance: its products are not cut off and its totals sit beside them. */
function arithFits() {
  const rows = document.querySelector("#arith .arith-rows");
  const totals = document.querySelector("#arith .arith-totals");
  if (!rows || !totals) return true;
  return !overflows(rows) && totals.getBoundingClientRect().top < rows.getBoundingClientRect().bottom;
}

/** Where scrolling to the section puts its top, and the bottom of what is seen then: the
 * window's, or that of the element that scrolls the page (presenter mode's <main>), less the
 * section's scroll margin (it clears a sticky header). */
function room(view) {
  let top = 0;
  let bottom = window.innerHeight;
  for (let n = view.parentElement; n && n !== document.body; n = n.parentElement) {
    const oy = getComputedStyle(n).overflowY;
    if ((oy === "auto" || oy === "scroll") && n.scrollHeight > n.clientHeight) {
      const box = n.getBoundingClientRect();
      top = Math.max(top, box.top);
      bottom = Math.min(bottom, box.bottom);
      break;
    }
  }
  const box = view.getBoundingClientRect();
  const zoom = box.width / (view.offsetWidth || box.width || 1) || 1; // presenter mode's CSS zoom
  const margin = (parseFloat(getComputedStyle(view).scrollMarginTop) || 0) * zoom;
  return bottom - top - margin;
}

/** From its top to the end of the arithmetic the step view fits what is seen, and nothing in
 * it scrolls sideways. */
function fits(view) {
  const arith = document.getElementById("arith");
  if (overflows(document.getElementById("stage")) || overflows(arith.querySelector(".arith-rows"))) return false;
  return arith.getBoundingClientRect().bottom - view.getBoundingClientRect().top <= room(view);
}

/** Scale the step view down as little as needed to fit one screen (see above). */
export function fitStepView() {
  const view = document.getElementById("step-view");
  if (!view) return;
  const cap = fresh ? FULL : current; // while stepping: never larger than now
  fresh = false;
  if (window.innerWidth <= NARROW || view.offsetParent === null) {
    current = { ...FULL };
    apply(view, current);
    redrawBeam();
    return;
  }
  const f = { ...cap };
  // The arithmetic's tables alone first, until its totals fit beside its products.
  for (const s of SCALES.filter((v) => v <= cap.arith && v >= TEXT_MIN)) {
    f.arith = s;
    apply(view, f);
    if (arithFits()) break;
  }
  // Then everything together, pixel images further than text...
  let found = false;
  for (const s of SCALES) {
    f.px = Math.min(cap.px, s);
    f.cell = Math.min(cap.cell, Math.max(TEXT_MIN, s));
    apply(view, f);
    if (fits(view)) {
      found = true;
      break;
    }
  }
  // ...and the images back up as far as they still fit, when the numbered cells were the
  // larger part (a 7×7 filter beside a photo).
  if (found) {
    for (const s of SCALES.filter((v) => v > f.px && v <= cap.px)) {
      apply(view, { ...f, px: s });
      if (fits(view)) {
        f.px = s;
        break;
      }
    }
  }
  current = f;
  apply(view, current);
  redrawBeam();
}

let resizing = null;
window.addEventListener("resize", () => {
  cancelAnimationFrame(resizing);
  resizing = requestAnimationFrame(() => {
    refit();
    fitStepView();
  });
});
