// Index bookkeeping only (no arithmetic on values): which input cells an output cell
// reads, and which output cells an input cell feeds. Coordinates of the input are in
// the padded input, as in the API's trace ("rows", "cols").

export class ConvGeometry {
  /** kernel [kh, kw], stride [sh, sw], dilation [dh, dw], out [ho, wo], padded [hp, wp]. */
  constructor({ kernel, stride, dilation, out, padded }) {
    Object.assign(this, { kernel, stride, dilation, out, padded });
    this._feeds = null;
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
    const [kh, kw] = this.kernel;
    const [sh, sw] = this.stride;
    const [dh, dw] = this.dilation;
    const cells = [];
    for (let p = 0; p < kh; p++) {
      for (let q = 0; q < kw; q++) cells.push([i * sh + p * dh, j * sw + q * dw]);
    }
    return cells;
  }

  /** Every output (i, j) whose window covers padded input cell (r, c); built once. */
  feeds(r, c) {
    if (!this._feeds) {
      this._feeds = new Map();
      for (let i = 0; i < this.out[0]; i++) {
        for (let j = 0; j < this.out[1]; j++) {
          for (const [y, x] of this.window(i, j)) {
            const key = y * this.padded[1] + x;
            if (!this._feeds.has(key)) this._feeds.set(key, []);
            this._feeds.get(key).push([i, j]);
          }
        }
      }
    }
    return this._feeds.get(r * this.padded[1] + c) || [];
  }
}

/** The cells of a (h x w) map under pooling window (i, j): size k, stride s, padding p. */
export function poolWindow(i, j, { k, s, p, h, w }) {
  const cells = [];
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) {
      const r = i * s - p + a;
      const c = j * s - p + b;
      if (r >= 0 && c >= 0 && r < h && c < w) cells.push([r, c]);
    }
  }
  return cells;
}
