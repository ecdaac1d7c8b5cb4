// Pure drawing functions: canvas + data in, pixels out. Feature maps are drawn at
// native size and scaled up by CSS with smoothing off (class "pixels").

/** Diverging colour for v in [-absMax, absMax]: blue (negative) - white - orange (positive). */
export function diverging(v, absMax) {
  const t = absMax > 0 ? Math.max(-1, Math.min(1, v / absMax)) : 0;
  if (t >= 0) return [255 - 61 * t, 255 - 190 * t, 255 - 243 * t]; // -> #c2410c
  const u = -t;
  return [255 - 226 * u, 255 - 177 * u, 255 - 39 * u]; // -> #1d4ed8
}

/** Grey for v in [lo, hi]: lo black, hi white (or inverted). */
export function grey(v, lo, hi, invert = false) {
  const t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
  const g = Math.round(255 * Math.max(0, Math.min(1, invert ? 1 - t : t)));
  return [g, g, g];
}

/**
 * Draw one (h x w) map from `data` (row-major, starting at `offset`) into `canvas`.
 * options.scale: "diverging" (centred on 0, range +-max|min..max|) or "grey".
 * options.min / options.max: the range (defaults to the data's own).
 */
export function drawMap(canvas, data, h, w, options = {}) {
  const { offset = 0, scale = "diverging", invert = false } = options;
  let { min, max } = options;
  if (min === undefined || max === undefined) {
    min = Infinity; max = -Infinity;
    for (let i = 0; i < h * w; i++) {
      const v = data[offset + i];
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  const absMax = Math.max(Math.abs(min), Math.abs(max));
  for (let i = 0; i < h * w; i++) {
    const v = data[offset + i];
    const [r, g, b] = scale === "grey" ? grey(v, min, max, invert) : diverging(v, absMax);
    img.data[4 * i] = r;
    img.data[4 * i + 1] = g;
    img.data[4 * i + 2] = b;
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return { min, max };
}

/** Draw an RGB image (3, h, w) with values in [0, 1] (or 0..255 with `range: 255`). */
export function drawRGB(canvas, data, h, w, { range = 1 } = {}) {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, h);
  const plane = h * w;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      img.data[4 * i + c] = Math.max(0, Math.min(255, Math.round((data[c * plane + i] / range) * 255)));
    }
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** A legend strip for the diverging scale, drawn into a small canvas. */
export function drawLegend(canvas, min, max) {
  const w = 120;
  canvas.width = w;
  canvas.height = 1;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(w, 1);
  const absMax = Math.max(Math.abs(min), Math.abs(max));
  for (let x = 0; x < w; x++) {
    const v = -absMax + (2 * absMax * x) / (w - 1);
    const [r, g, b] = diverging(v, absMax);
    img.data.set([r, g, b, 255], 4 * x);
  }
  ctx.putImageData(img, 0, 0);
}
