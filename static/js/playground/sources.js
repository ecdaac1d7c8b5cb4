// Where the playground's numbers come from: the input image (a sample, a drawing or an
// upload, converted by the server) and the filter presets. Caches every reply; keeps a
// drawing or upload in sessionStorage so a reload of the tab shows it again.

import { getJSON, postForm } from "../api.js";

export const CUSTOM_TEXT = "Your own weights: edit any cell. (Your weights keep their values when the filter size changes: centred, and cut off or padded with zeros.)";
// A preset with no version at some size is shown as the closest one that has (the state
// keeps its name, so going back to a size where it exists brings it back).
const STAND_INS = {
  laplacian: ["outline", "sharpen", "gaussian_blur"], diagonal: ["emboss", "gaussian_blur"],
  vertical: ["prewitt_x", "box_blur"], sobel_x: ["prewitt_x", "box_blur"], sobel_y: ["prewitt_y", "box_blur"],
  prewitt_x: ["sobel_x", "box_blur"], prewitt_y: ["sobel_y", "box_blur"], identity: ["gaussian_blur"],
  sharpen: ["gaussian_blur"], emboss: ["gaussian_blur"], outline: ["gaussian_blur"],
};
const STORE = { draw: "convlab.playground.draw", upload: "convlab.playground.upload" };

/** The last drawing or upload kept for this tab: {key, entry} or null. */
export function stored(src) {
  try {
    return JSON.parse(sessionStorage.getItem(STORE[src]) || "null");
  } catch {
    return null;
  }
}

function store(src, key, entry) {
  try {
    sessionStorage.setItem(STORE[src], JSON.stringify({ key, entry }));
  } catch {
    // Storage full or disabled: the input still works, it just is not kept on reload.
  }
}

export class InputSource {
  /** @param drawing  the drawable canvas (toBlob) from draw/canvas-input.js */
  constructor(drawing) {
    this.drawing = drawing;
    this.cache = new Map();
    this.drawVersion = 0;
    this.drawTouched = false;
    this.uploadFile = null;
  }

  /** The drawing changed: the next load sends it again. */
  drawn() {
    this.drawTouched = true;
    this.drawVersion += 1;
  }

  /** {tensor: {shape: [C, H, W], data}, title, label} for state `s` (src, sample, channels, size). */
  async load(s) {
    const cache = this.cache;
    if (s.src === "sample") {
      const key = `sample|${s.sample}|${s.channels}|${s.size}`;
      if (!cache.has(key)) {
        const body = await getJSON(`/api/samples/${encodeURIComponent(s.sample)}?channels=${s.channels}&size=${s.size}`);
        cache.set(key, { tensor: body.tensor, title: body.title, label: body.label });
      }
      return cache.get(key);
    }
    const query = `channels=${s.channels}&size=${s.size}`;
    if (s.src === "draw") {
      const key = `draw|${this.drawVersion}|${query}`;
      if (!this.drawTouched) {
        const kept = stored("draw");
        if (kept && kept.key === query) return kept.entry;
      }
      if (!cache.has(key)) {
        const blob = await this.drawing.toBlob();
        const body = await postForm(`/api/image?${query}`, { file: blob });
        const entry = { tensor: body.tensor, title: "Your drawing", label: null };
        cache.set(key, entry);
        store("draw", query, entry);
      }
      return cache.get(key);
    }
    const file = this.uploadFile;
    if (file) {
      const key = `upload|${file.name}|${file.lastModified}|${file.size}|${query}`;
      if (!cache.has(key)) {
        const body = await postForm(`/api/image?${query}`, { file });
        const o = body.original;
        const entry = { tensor: body.tensor, title: `${file.name} (${o.format}, ${o.width}×${o.height})`, label: null };
        cache.set(key, entry);
        store("upload", query, entry);
      }
      return cache.get(key);
    }
    const kept = stored("upload");
    if (kept) {
      if (kept.key !== query) {
        throw new Error("Choose the image file again to change its size or channels (the browser keeps only the converted image).");
      }
      return kept.entry;
    }
    throw new Error("Choose an image file to upload.");
  }
}

const presetCache = new Map();

/** The presets at size F for C channels: {list, byName}, each with weights (C, F, F). */
export async function loadPresets(size, channels) {
  const key = `${size}|${channels}`;
  if (!presetCache.has(key)) {
    const body = await getJSON(`/api/filters?kernel_size=${size}&channels=${channels === 3 ? "RGB" : "L"}`);
    const byName = {};
    for (const f of body.filters) byName[f.name] = f;
    presetCache.set(key, { list: body.filters, byName });
  }
  return presetCache.get(key);
}

/** Custom weights `arr` as C x F x F: copies slices and centres a smaller/larger kernel. */
export function fitWeights(arr, C, F) {
  let srcC = 0;
  let srcF = 0;
  for (const c of [C, 1, 3]) {
    const f = Math.round(Math.sqrt(arr.length / c));
    if (f * f * c === arr.length) {
      srcC = c;
      srcF = f;
      break;
    }
  }
  const out = new Array(C * F * F).fill(0);
  if (!srcC) return out;
  const shift = Math.floor((srcF - F) / 2);
  for (let c = 0; c < C; c++) {
    const sc = Math.min(c, srcC - 1);
    for (let p = 0; p < F; p++) {
      for (let q = 0; q < F; q++) {
        const y = p + shift;
        const x = q + shift;
        if (y >= 0 && x >= 0 && y < srcF && x < srcF) out[(c * F + p) * F + q] = arr[(sc * srcF + y) * srcF + x];
      }
    }
  }
  return out;
}

/** The title of preset `name` at any size loaded so far (or its name). */
function presetTitle(name) {
  for (const p of presetCache.values()) if (p.byName[name]) return p.byName[name].title;
  return name;
}

/** Each filter of state `s` as {name, title, description, weights (C*F*F), bias}; a preset
 * with no version at this size is replaced by its stand-in (`standsFor`: the name kept). */
export function resolveFilters(s, presets, C) {
  return s.filters.map((f, n) => {
    const bias = s.bias[n] ?? 0;
    if (typeof f === "string") {
      const p = presets.byName[f];
      if (p) return { name: f, title: p.title, description: p.description, weights: p.weights.data, bias };
      const sub = [...(STAND_INS[f] || []), "gaussian_blur", "box_blur"].map((x) => presets.byName[x]).find(Boolean);
      const size = `${s.ksize}×${s.ksize}`;
      const was = presetTitle(f);
      return {
        name: sub.name, title: `${sub.title} (for ${was})`, bias, weights: sub.weights.data, standsFor: f,
        description: `${was} has no ${size} version, so the ${size} ${sub.title} stands in for it. ${sub.description}`,
      };
    }
    return { name: "custom", title: "Custom", description: CUSTOM_TEXT, weights: fitWeights(f, C, s.ksize), bias };
  });
}
