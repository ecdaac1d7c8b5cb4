// The connections of one selected feature map: lines from it to the maps of the layer it
// was computed from, and a sentence that says which. What reads what comes from the API
// (each layer's `reads`: "all", "same", or per output map a range of input channels);
// this module only finds the thumbnails on the page and draws lines between their boxes.

import { svgEl } from "../util.js";
import { layerTitle } from "./network.js";

const SVG_CLASS = "reads-svg";

function clear(strips) {
  for (const strip of strips) {
    strip.querySelector(`.${SVG_CLASS}`)?.remove();
    for (const n of strip.querySelectorAll(".reads-from, .reads-thumb, .is-selected")) {
      n.classList.remove("reads-from", "reads-thumb", "is-selected");
    }
    for (const b of strip.querySelectorAll('.thumb[aria-pressed="true"]')) b.setAttribute("aria-pressed", "false");
  }
}

/** Input channels of `channel` for one entry of `reads`: [first, last], or null. */
function channelRange(read, channel, count) {
  if (read.channels === "all") return [0, count - 1];
  if (read.channels === "same") return [channel, channel];
  const r = read.channels.per_map ? read.channels.per_map[channel] : null;
  return r || null;
}

function channelCount(body, name) {
  if (name === "input") return body.input.shape[1];
  const layer = body.layers.find((l) => l.name === name);
  const s = layer && layer.output_shape;
  return s && s.length === 4 ? s[1] : s ? s[s.length - 1] : 0;
}

function mapsText(range, count, title) {
  if (!range) return null;
  const [a, b] = range;
  if (a === 0 && b === count - 1 && count > 1) return `all ${count} maps of ${title}`;
  if (a === b) return count === 1 ? title : `map ${a} of ${title}`;
  return `maps ${a}–${b} of ${title}`;
}

function box(el, strip) {
  const r = el.getBoundingClientRect();
  const s = strip.getBoundingClientRect();
  const x = r.left - s.left + strip.scrollLeft;
  const y = r.top - s.top + strip.scrollTop;
  return { left: x, right: x + r.width, mid: y + r.height / 2 };
}

function draw(strip, from, targets) {
  const svg = svgEl("svg", { class: SVG_CLASS, "aria-hidden": "true", width: strip.scrollWidth, height: strip.scrollHeight });
  const a = box(from, strip);
  for (const t of targets) {
    const b = box(t, strip);
    const dx = Math.max(20, (a.left - b.right) / 2);
    svg.append(svgEl("path", { d: `M${a.left},${a.mid} C${a.left - dx},${a.mid} ${b.right + dx},${b.mid} ${b.right},${b.mid}` }));
  }
  strip.append(svg);
}

/**
 * Select map `channel` of `layer`: mark its thumbnail and column, mark and connect the maps
 * it reads, and return a sentence saying what it was computed from.
 * @param {HTMLElement[]} strips  the containers of the columns (main branch, second branch)
 */
export function showReads(strips, body, layer, channel) {
  clear(strips);
  if (!layer) return "";
  const strip = strips.find((s) => s.querySelector(`.layer-col[data-layer="${CSS.escape(layer.name)}"]`));
  if (!strip) return "";
  const col = strip.querySelector(`.layer-col[data-layer="${CSS.escape(layer.name)}"]`);
  col.classList.add("is-selected");
  const thumb = col.querySelector(`.thumb[data-ch="${channel}"]`);
  if (thumb) thumb.setAttribute("aria-pressed", "true");
  const byName = new Map(body.layers.map((l) => [l.name, l]));
  const parts = [];
  const targets = [];
  for (const read of layer.reads || []) {
    const count = channelCount(body, read.from);
    const range = channelRange(read, channel, count);
    const title = read.from === "input" ? "the input image" : layerTitle(byName.get(read.from));
    const text = mapsText(range, count, title);
    if (!text) continue;
    parts.push(text);
    const source = strips.map((s) => s.querySelector(`.layer-col[data-layer="${CSS.escape(read.from)}"]`)).find(Boolean);
    if (!source) continue;
    source.classList.add("reads-from");
    const thumbs = [...source.querySelectorAll(".thumb")].filter((b) => {
      const c = Number(b.dataset.ch);
      return c >= range[0] && c <= range[1];
    });
    thumbs.forEach((b) => b.classList.add("reads-thumb"));
    if (strip.contains(source)) {
      const shown = thumbs.length ? thumbs : [source.querySelector(".input-thumb, canvas.strip") || source];
      targets.push(...shown);
    }
  }
  if (thumb && targets.length) draw(strip, thumb, targets);
  const what = `${layerTitle(layer)}, map ${channel}`;
  if (!parts.length) return `${what}.`;
  const hidden = parts.length && targets.length === 0 ? " (in the other strip)" : "";
  return `${what} is computed from ${parts.join(" and ")}${hidden} (the lines); click it for the arithmetic.`;
}

/** Scroll a strip sideways (only) so that the column of `name` is in view. */
export function revealColumn(strips, name) {
  for (const strip of strips) {
    const col = strip.querySelector(`.layer-col[data-layer="${CSS.escape(name)}"]`);
    if (!col) continue;
    const left = col.offsetLeft; // the strip is the columns' offset parent (position: relative)
    if (left < strip.scrollLeft || left + col.offsetWidth > strip.scrollLeft + strip.clientWidth) {
      strip.scrollLeft = Math.max(0, left - 140);
    }
  }
}
