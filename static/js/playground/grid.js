// A matrix on screen: small ones as cells with their numbers, large ones as pixels.
// Coordinates are those of the *padded* matrix (row 0 is the first padding row).
// Marks ("win", "rf", "feeds", "cur", "hover", "max", "pwin") highlight sets of cells;
// in cell mode they are CSS classes, in pixel mode they are drawn over the pixels.
// A map that builds up step by step shows only the cells `reveal` lets through: the others
// are empty ("pending": no number, no colour) until the window has reached them.

import { MARK_STYLE, PENDING_RGB, cellText, colourOf, hatchPattern, inkFor } from "./cell-colours.js";

export class MatrixView {
  /**
   * @param {HTMLElement} root  container (emptied)
   * @param {object} opts  label (accessible name), interactive (output cells are
   *   focusable and selectable), onHover(r, c | null), onSelect(r, c),
   *   cellsMax (largest padded side drawn as numbered cells), pixelWidth (px), fit (the
   *   pixel image is scaled by the step view's --fit-px, ./fit.js)
   */
  constructor(root, opts = {}) {
    this.root = root;
    this.opts = { cellsMax: 16, pixelWidth: 420, digits: 2, ...opts };
    this.marks = {};
    this.root.classList.add("mview");
  }

  get mode() {
    return this._mode;
  }

  /** data: flat array; offset: index of (0, 0); h, w: unpadded size; pads [t, l, b, r]. */
  render({ data, offset = 0, h, w, pads = [0, 0, 0, 0], scale, digits }) {
    const [pt, pl, pb, pr] = pads;
    this.h = h;
    this.w = w;
    this.pads = pads;
    this.hp = h + pt + pb;
    this.wp = w + pl + pr;
    this.scale = scale;
    this.data = data;
    this.offset = offset;
    this.digits = digits ?? this.opts.digits;
    this.marks = {};
    this.shown = null;
    this._mode = Math.max(this.hp, this.wp) <= this.opts.cellsMax ? "cells" : "pixels";
    this.root.dataset.mode = this._mode;
    this.root.dataset.h = String(h);
    this.root.dataset.w = String(w);
    this.root.replaceChildren();
    if (this._mode === "cells") this._renderCells();
    else this._renderPixels();
  }

  /** The value at padded (r, c), or null on padding. */
  valueAt(r, c) {
    const [pt, pl] = this.pads;
    const y = r - pt;
    const x = c - pl;
    if (y < 0 || x < 0 || y >= this.h || x >= this.w) return null;
    return this.data[this.offset + y * this.w + x];
  }

  _renderCells() {
    const grid = document.createElement("div");
    grid.className = "mgrid";
    const side = Math.max(this.hp, this.wp);
    grid.classList.add(side <= 8 ? "m-lg" : side <= 12 ? "m-md" : "m-sm");
    grid.style.gridTemplateColumns = `repeat(${this.wp}, var(--cell))`;
    // An image to assistive technology, unless its cells are buttons: then a labelled group.
    grid.setAttribute("role", this.opts.interactive ? "group" : "img");
    grid.setAttribute("aria-label", `${this.opts.label || "matrix"}: ${this.h} × ${this.w}`);
    this.cells = [];
    for (let r = 0; r < this.hp; r++) {
      for (let c = 0; c < this.wp; c++) {
        const cell = document.createElement("span");
        cell.className = "mcell";
        cell.dataset.r = String(r);
        cell.dataset.c = String(c);
        const v = this.valueAt(r, c);
        if (v === null) {
          cell.classList.add("pad");
          cell.textContent = "0";
        } else {
          const rgb = colourOf(v, this.scale);
          cell.style.background = `rgb(${rgb.join(",")})`;
          cell.style.color = inkFor(rgb);
          cell.textContent = cellText(v, this.digits);
        }
        cell.dataset.text = cell.textContent;
        if (this.opts.interactive) {
          // One tab stop per matrix; the arrow keys move between cells (roving tabindex).
          cell.tabIndex = r === 0 && c === 0 ? 0 : -1;
          cell.setAttribute("role", "button");
          cell.setAttribute("aria-label", `row ${r}, column ${c}: ${cell.textContent}`);
        }
        this.cells.push(cell);
        grid.append(cell);
      }
    }
    const at = (evt) => {
      const cell = evt.target.closest(".mcell");
      return cell ? [Number(cell.dataset.r), Number(cell.dataset.c)] : null;
    };
    const { onHover, onSelect } = this.opts;
    if (onHover) {
      grid.addEventListener("pointerover", (e) => {
        const p = at(e);
        if (p) onHover(...p);
      });
      grid.addEventListener("pointerleave", () => onHover(null));
      grid.addEventListener("focusin", (e) => {
        const p = at(e);
        if (p) onHover(...p);
      });
      grid.addEventListener("focusout", () => onHover(null));
    }
    const MOVES = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (this.opts.interactive) {
      grid.addEventListener("keydown", (e) => {
        const move = MOVES[e.key];
        const p = at(e);
        if (!move || !p || e.altKey || e.ctrlKey || e.metaKey) return; // leave browser shortcuts alone
        e.preventDefault();
        const r = Math.max(0, Math.min(this.hp - 1, p[0] + move[0]));
        const c = Math.max(0, Math.min(this.wp - 1, p[1] + move[1]));
        e.target.tabIndex = -1;
        const next = this.cells[r * this.wp + c];
        next.tabIndex = 0;
        next.focus();
      });
    }
    if (onSelect) {
      grid.addEventListener("click", (e) => {
        const p = at(e);
        if (p) onSelect(...p);
      });
      grid.addEventListener("keydown", (e) => {
        if (e.key !== "Enter" && e.key !== " ") return;
        const p = at(e);
        if (p) {
          e.preventDefault();
          onSelect(...p);
        }
      });
    }
    this.root.append(grid);
  }

  _renderPixels() {
    const cellPx = Math.max(2, Math.min(24, Math.floor(this.opts.pixelWidth / this.wp)));
    this.cellPx = cellPx;
    this.base = document.createElement("canvas");
    this.base.width = this.wp;
    this.base.height = this.hp;
    this._paintBase();
    const canvas = document.createElement("canvas");
    canvas.className = "mpixels";
    canvas.width = this.wp * cellPx;
    canvas.height = this.hp * cellPx;
    if (this.opts.fit) canvas.style.width = `calc(${canvas.width}px * var(--fit-px, 1))`;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `${this.opts.label || "matrix"}: ${this.h} × ${this.w}`);
    this.canvas = canvas;
    const { onHover, onSelect } = this.opts;
    const at = (e) => {
      const rect = canvas.getBoundingClientRect();
      const c = Math.floor(((e.clientX - rect.left) / rect.width) * this.wp);
      const r = Math.floor(((e.clientY - rect.top) / rect.height) * this.hp);
      return r >= 0 && c >= 0 && r < this.hp && c < this.wp ? [r, c] : null;
    };
    if (onHover) {
      let last = "";
      canvas.addEventListener("pointermove", (e) => {
        const p = at(e);
        const key = p ? p.join(",") : "";
        if (key === last) return;
        last = key;
        onHover(...(p || [null]));
      });
      canvas.addEventListener("pointerleave", () => {
        last = "";
        onHover(null);
      });
    }
    if (onSelect) {
      canvas.addEventListener("click", (e) => {
        const p = at(e);
        if (p) onSelect(...p);
      });
    }
    this.root.append(canvas);
    this._draw();
  }

  _paintBase() {
    const bctx = this.base.getContext("2d");
    const img = bctx.createImageData(this.wp, this.hp);
    for (let r = 0; r < this.hp; r++) {
      for (let c = 0; c < this.wp; c++) {
        const v = this.valueAt(r, c);
        const rgb = v === null ? [229, 231, 235] : this.shown && !this.shown(r, c) ? PENDING_RGB : colourOf(v, this.scale);
        img.data.set([rgb[0], rgb[1], rgb[2], 255], 4 * (r * this.wp + c));
      }
    }
    bctx.putImageData(img, 0, 0);
  }

  /** Show only the cells (r, c) with `shown(r, c)` true (null: every cell); sets data-filled. */
  reveal(shown) {
    this.shown = shown;
    let filled = 0;
    for (let r = 0; r < this.hp; r++) {
      for (let c = 0; c < this.wp; c++) {
        const on = this.valueAt(r, c) !== null && (!shown || shown(r, c));
        filled += on ? 1 : 0;
        const cell = this._mode === "cells" ? this.cells[r * this.wp + c] : null;
        if (!cell || cell.classList.contains("pad")) continue;
        cell.classList.toggle("pending", !on);
        cell.textContent = on ? cell.dataset.text : "";
        if (this.opts.interactive) {
          cell.setAttribute("aria-label", `row ${r}, column ${c}: ${on ? cell.dataset.text : "not computed yet"}`);
        }
      }
    }
    this.root.dataset.filled = String(filled);
    if (this._mode === "pixels" && this.canvas) {
      this._paintBase();
      this._draw();
    }
  }

  /** The box, in viewport coordinates, around the padded cells `cells` ([[r, c], ...]). */
  boxOf(cells) {
    if (!cells.length) return null;
    const rs = cells.map((p) => p[0]);
    const cs = cells.map((p) => p[1]);
    const [r0, r1, c0, c1] = [Math.min(...rs), Math.max(...rs), Math.min(...cs), Math.max(...cs)];
    if (this._mode === "cells") {
      const a = this.cells[r0 * this.wp + c0].getBoundingClientRect();
      const b = this.cells[r1 * this.wp + c1].getBoundingClientRect();
      return { left: a.left, top: a.top, right: b.right, bottom: b.bottom };
    }
    const rect = this.canvas.getBoundingClientRect();
    const sx = rect.width / this.wp;
    const sy = rect.height / this.hp;
    return { left: rect.left + c0 * sx, top: rect.top + r0 * sy, right: rect.left + (c1 + 1) * sx, bottom: rect.top + (r1 + 1) * sy };
  }

  _draw() {
    const ctx = this.canvas.getContext("2d");
    const s = this.cellPx;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.base, 0, 0, this.wp * s, this.hp * s);
    const [pt, pl, pb, pr] = this.pads;
    if (pt + pl + pb + pr > 0) {
      ctx.fillStyle = hatchPattern(ctx);
      ctx.fillRect(0, 0, this.wp * s, pt * s);
      ctx.fillRect(0, (this.hp - pb) * s, this.wp * s, pb * s);
      ctx.fillRect(0, pt * s, pl * s, (this.hp - pt - pb) * s);
      ctx.fillRect((this.wp - pr) * s, pt * s, pr * s, (this.hp - pt - pb) * s);
    }
    for (const [name, style] of Object.entries(MARK_STYLE)) {
      const cells = this.marks[name];
      if (!cells || !cells.length) continue;
      ctx.lineWidth = Math.max(1, Math.min(3, s / 4));
      for (const [r, c] of cells) {
        if (style.fill) {
          ctx.fillStyle = style.fill;
          ctx.fillRect(c * s, r * s, s, s);
        }
      }
      if (s >= 6 || cells.length === 1) {
        ctx.strokeStyle = style.stroke;
        for (const [r, c] of cells) ctx.strokeRect(c * s + 0.5, r * s + 0.5, s - 1, s - 1);
      }
      if (name === "win" || name === "rf") {
        // The window's outline: one box around all its taps.
        const rs = cells.map((p) => p[0]);
        const cs = cells.map((p) => p[1]);
        const r0 = Math.min(...rs);
        const c0 = Math.min(...cs);
        ctx.strokeStyle = style.stroke;
        ctx.lineWidth = 2;
        ctx.strokeRect(c0 * s + 1, r0 * s + 1, (Math.max(...cs) - c0 + 1) * s - 2, (Math.max(...rs) - r0 + 1) * s - 2);
      }
    }
  }

  /** Highlight `cells` (array of [r, c] padded coordinates) as `name`; null clears. */
  mark(name, cells) {
    const list = (cells || []).filter(([r, c]) => r >= 0 && c >= 0 && r < this.hp && c < this.wp);
    if (this._mode === "cells") {
      for (const [r, c] of this.marks[name] || []) this.cells[r * this.wp + c].classList.remove(name);
      for (const [r, c] of list) this.cells[r * this.wp + c].classList.add(name);
    }
    this.marks[name] = list;
    this.root.dataset[`mark${name[0].toUpperCase()}${name.slice(1)}`] = String(list.length);
    if (this._mode === "pixels" && this.canvas) this._draw();
  }

  /** The cell element at padded (r, c) in cell mode (to scroll it into view). */
  cellAt(r, c) {
    return this._mode === "cells" ? this.cells[r * this.wp + c] : null;
  }
}
