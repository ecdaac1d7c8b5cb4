// The calculator's window diagrams, drawn from a /api/output-size answer: the padded grid
// with one window and its output cell, and one row with every window position. Where the
// windows sit (`axes`: window starts, tap offsets, span, the last cell reached) and which
// cells are never read (`unread`) come from the API; this module only lays them out.

import { $, square, svgEl } from "../util.js";

const GRID_MAX = 40; // padded cells per side drawn in the 2-D grid
const LANES_MAX = 12; // rows of bars under the strip, however many windows overlap

export function clearDiagrams() {
  $("grid-svg").replaceChildren();
  $("strip-svg").replaceChildren();
  $("win-pos-text").textContent = "";
  $("strip-label").textContent = "";
  $("grid-note").hidden = true;
}

/** Both diagrams for output position `pos` (row-major); `v`: the form's numbers. */
export function drawDiagrams(v, res, pos) {
  const [oh, ow] = res.output_size;
  const i = Math.floor(pos / ow);
  const j = pos % ow;
  $("win-pos-text").textContent = `output row ${i}, column ${j} (of ${square(oh, ow)})`;
  drawGrid(v, res, i, j);
  drawStrip(v, res, j);
}

function drawGrid(v, res, i, j) {
  const svg = $("grid-svg");
  svg.replaceChildren();
  const [pt, pl, pb, pr] = res.pads;
  const [oh, ow] = res.output_size;
  const { rows, columns } = res.axes;
  const hp = rows.padded;
  const wp = columns.padded;
  const note = $("grid-note");
  if (hp > GRID_MAX || wp > GRID_MAX || oh > GRID_MAX || ow > GRID_MAX) {
    note.hidden = false;
    note.textContent = `The grid is drawn for inputs up to ${GRID_MAX} cells a side (this one is ${square(hp, wp)} with padding); the row below shows every window position.`;
    svg.setAttribute("width", "0");
    svg.setAttribute("height", "0");
    return;
  }
  note.hidden = true;
  const avail = Math.max(280, Math.min(620, svg.closest(".diagrams").clientWidth - 8));
  const cs = Math.max(10, Math.min(34, Math.floor(avail / (wp + 3 + ow)), Math.floor(440 / hp)));
  const gap = 3 * cs;
  const top = 22;
  const width = Math.max(wp * cs + gap + ow * cs + 2, wp * cs + gap + 96);
  const height = top + Math.max(hp, oh) * cs + 2;
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.append(svgEl("text", { x: 0, y: 14, class: "lbl" }, `input ${square(v.h, v.w)}${pt + pl + pb + pr ? " + padding" : ""}`));
  svg.append(svgEl("text", { x: wp * cs + gap, y: 14, class: "lbl" }, `output ${square(oh, ow)}`));
  // A cell is read when its row and its column are both read by some tap.
  const rowsUnread = new Set(res.unread.rows);
  const colsUnread = new Set(res.unread.columns);
  for (let r = 0; r < hp; r++) {
    for (let c = 0; c < wp; c++) {
      const pad = r < pt || r >= pt + v.h || c < pl || c >= pl + v.w;
      const missed = rowsUnread.has(r) || colsUnread.has(c);
      let cls = pad ? "cell pad" : "cell";
      if (missed) cls += " missed";
      svg.append(svgEl("rect", { x: c * cs + 1, y: top + r * cs + 1, width: cs - 1, height: cs - 1, class: cls }));
    }
  }
  // The window of output (i, j): its taps (every D-th cell when dilated) and its outline.
  const r0 = rows.starts[i];
  const c0 = columns.starts[j];
  for (const a of rows.taps) {
    for (const b of columns.taps) {
      svg.append(svgEl("rect", {
        x: (c0 + b) * cs + 1, y: top + (r0 + a) * cs + 1, width: cs - 1, height: cs - 1, class: "tap",
      }));
    }
  }
  svg.append(svgEl("rect", {
    x: c0 * cs + 0.5, y: top + r0 * cs + 0.5, width: columns.span * cs, height: rows.span * cs, class: "window",
  }));
  const ox = wp * cs + gap;
  for (let r = 0; r < oh; r++) {
    for (let c = 0; c < ow; c++) {
      const on = r === i && c === j;
      svg.append(svgEl("rect", {
        x: ox + c * cs + 1, y: top + r * cs + 1, width: cs - 1, height: cs - 1,
        class: on ? "cell out on" : "cell out",
      }));
    }
  }
  // The arrow from the window to its output cell.
  svg.append(svgEl("line", {
    x1: (c0 + columns.span) * cs + 4, y1: top + (r0 + rows.span / 2) * cs,
    x2: ox + j * cs - 2, y2: top + (i + 0.5) * cs, class: "arrow",
  }));
}

function drawStrip(v, res, j) {
  const svg = $("strip-svg");
  svg.replaceChildren();
  const [, pl, , pr] = res.pads;
  const ax = res.axes.columns;
  const ow = res.output_size[1];
  const total = ax.padded;
  const shown = Math.min(total, res.axes.cap);
  const avail = Math.max(300, svg.parentElement.clientWidth - 8);
  const cs = Math.max(8, Math.min(36, Math.floor(avail / shown)));
  const lanes = Math.max(1, Math.min(LANES_MAX, ax.overlap));
  const laneH = 14;
  const rowY = 2;
  const barsY = rowY + cs + 10;
  const height = barsY + lanes * laneH + 22;
  const uncovered = ax.last < total - 1 && ax.last < shown; // cells after the last window, drawn
  const colsUnread = new Set(res.unread.columns);
  const width = Math.max(shown * cs + 2, uncovered ? (ax.last + 1) * cs + 100 : 0);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const span = ax.span;
  $("strip-label").textContent = `One row: ${pl ? `${pl} padding + ` : ""}${v.w} input${pr ? ` + ${pr} padding` : ""} = ${total} cells; the window (${span} cell${span > 1 ? "s" : ""} wide, stride ${v.s}) stops at ${ow} positions${shown < total ? ` (the first ${shown} cells are drawn)` : ""}.`;
  for (let c = 0; c < shown; c++) {
    const pad = c < pl || c >= pl + v.w;
    const cls = `cell${pad ? " pad" : ""}${colsUnread.has(c) ? " missed" : ""}`;
    svg.append(svgEl("rect", { x: c * cs + 1, y: rowY, width: cs - 1, height: cs, class: cls }));
    if (cs >= 18 && !pad) {
      svg.append(svgEl("text", { x: c * cs + cs / 2 + 0.5, y: rowY + cs / 2 + 4, class: "idx" }, String(c - pl)));
    }
  }
  ax.starts.forEach((x0, q) => {
    if (x0 >= shown) return;
    const y = barsY + (q % lanes) * laneH;
    const w = Math.min(span, shown - x0) * cs - 1;
    svg.append(svgEl("rect", { x: x0 * cs + 1, y, width: w, height: laneH - 5, rx: 3, class: q === j ? "bar on" : "bar" }));
    if (v.d > 1) { // dilated: a tick on each cell the window reads
      for (const t of ax.taps) {
        if (x0 + t >= shown) break;
        svg.append(svgEl("rect", { x: (x0 + t) * cs + cs / 2 - 1, y: y + 2, width: 3, height: laneH - 9, class: "tick" }));
      }
    }
  });
  if (uncovered) {
    svg.append(svgEl("text", { x: (ax.last + 1) * cs + 2, y: height - 6, class: "lbl bad" }, "never covered"));
  }
}
