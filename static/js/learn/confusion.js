// The confusion matrix as a table of buttons (one per cell: its count, shaded by size,
// the diagonal outlined), moved through with the arrow keys (one cell in the Tab order).
// Pressing a cell lists the validation images in it.

import { el, int } from "../util.js";

/**
 * `confusion`: {matrix: [true][predicted] counts, images, cells: [true][predicted] id lists}.
 * `onOpen(t, p)` opens a cell; `open` ([t, p] or null) marks the one shown now.
 */
export function drawConfusion(node, confusion, { classes, open, onOpen }) {
  const m = confusion.matrix;
  const k = m.length;
  const rowSums = m.map((row) => row.reduce((a, b) => a + b, 0));
  let focusAt = open || [0, 0];
  const head = el("tr", {}, el("td", { class: "ln-cm-corner" }),
    classes.map((c) => el("th", { scope: "col" }, short(c))));
  const rows = m.map((row, t) => el("tr", {},
    el("th", { scope: "row" }, short(classes[t])),
    row.map((n, p) => {
      const share = rowSums[t] ? n / rowSums[t] : 0;
      const diag = t === p;
      const isOpen = open && open[0] === t && open[1] === p;
      const button = el("button", {
        type: "button",
        class: `ln-cm-cell${diag ? " is-diag" : ""}${n === 0 ? " is-zero" : ""}`,
        tabindex: focusAt[0] === t && focusAt[1] === p ? "0" : "-1",
        "aria-pressed": isOpen ? "true" : "false",
        "aria-label": `True ${classes[t]}, said ${classes[p]}: ${n} image${n === 1 ? "" : "s"}${diag ? " (right)" : ""}`,
        dataset: { t, p },
        onclick: () => onOpen(t, p),
      }, String(n));
      // Shade by the share of the true class's images: darker = more (the count is printed too).
      button.style.setProperty("--share", share.toFixed(3));
      return el("td", {}, button);
    })));
  const table = el("table", { class: "ln-cm" },
    el("caption", { class: "small muted" }, `Rows: true class ↓; columns: said →. Over the first ${int(confusion.images)} validation images; arrow keys move between cells.`),
    el("thead", {}, head), el("tbody", {}, rows));
  table.addEventListener("keydown", (evt) => {
    const cell = evt.target.closest(".ln-cm-cell");
    if (!cell) return;
    const move = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1], Home: [0, -k], End: [0, k] }[evt.key];
    if (!move) return;
    evt.preventDefault();
    const t = Math.max(0, Math.min(k - 1, Number(cell.dataset.t) + move[0]));
    const p = Math.max(0, Math.min(k - 1, Number(cell.dataset.p) + move[1]));
    const next = table.querySelector(`.ln-cm-cell[data-t="${t}"][data-p="${p}"]`);
    cell.tabIndex = -1;
    next.tabIndex = 0;
    focusAt = [t, p];
    next.focus();
  });
  // Keep keyboard focus on the same cell across a redraw.
  const hadFocus = node.contains(document.activeElement) && document.activeElement.classList.contains("ln-cm-cell");
  const focused = hadFocus ? [Number(document.activeElement.dataset.t), Number(document.activeElement.dataset.p)] : null;
  node.replaceChildren(table);
  if (focused) {
    const again = table.querySelector(`.ln-cm-cell[data-t="${focused[0]}"][data-p="${focused[1]}"]`);
    table.querySelectorAll(".ln-cm-cell").forEach((b) => { b.tabIndex = -1; });
    again.tabIndex = 0;
    again.focus();
  }
}

function short(name) {
  return String(name).length > 5 ? `${String(name).slice(0, 4)}.` : String(name);
}

/** List the images of cell (t, p) in `box` (its heading and list inside). */
export function drawCell(box, confusion, t, p, { classes, imageFor }) {
  const ids = confusion.cells[t][p];
  const n = confusion.matrix[t][p];
  const title = box.querySelector("h4");
  const list = box.querySelector("ul");
  const shown = ids.length < n ? ` (the first ${ids.length} shown)` : "";
  title.textContent = `True ${classes[t]}, said ${classes[p]}: ${n} image${n === 1 ? "" : "s"}${shown}`;
  list.replaceChildren(...ids.map((id) => el("li", {},
    el("img", { class: "pixels", src: imageFor(id), alt: `Validation image ${id}: a ${classes[t]}, predicted ${classes[p]}`, width: 48, height: 48 }),
    el("span", { class: "small muted" }, `#${id}`))));
  if (!ids.length) list.append(el("li", { class: "small muted ln-cell-none" }, "No images in this cell."));
  box.hidden = false;
}
