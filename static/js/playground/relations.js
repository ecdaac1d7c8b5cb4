// Lookups only (no geometry): which input cells an output cell reads and which outputs an
// input cell feeds, from the API's `windows` (one list per output row and column, and their
// inverses; see engine/explain/windows.py). A window is every pair of a listed row and a
// listed column.

/** Every [row, column] with the row in `rows` and the column in `cols`. */
function cells(rows, cols) {
  return rows.flatMap((r) => cols.map((c) => [r, c]));
}

export class ConvGeometry {
  /** out: [ho, wo]; windows: the API's answer, in padded input coordinates. */
  constructor(out, windows) {
    this.out = out;
    this.windows = windows;
    this.padded = windows.size;
  }

  get positions() {
    return this.out[0] * this.out[1];
  }

  /** Step index (row-major over the output) -> [i, j]. */
  position(step) {
    return [Math.floor(step / this.out[1]), step % this.out[1]];
  }

  step(i, j) {
    return i * this.out[1] + j;
  }

  /** The padded input cells under the window of output (i, j). */
  window(i, j) {
    return cells(this.windows.rows[i] || [], this.windows.cols[j] || []);
  }

  /** Every output (i, j) whose window covers padded input cell (r, c). */
  feeds(r, c) {
    return cells(this.windows.feeds_rows[r] || [], this.windows.feeds_cols[c] || []);
  }
}

/** The map cells under pooling window (i, j), from a /api/pool answer's `windows`. */
export function poolWindow(windows, i, j) {
  return cells(windows.rows[i] || [], windows.cols[j] || []);
}
